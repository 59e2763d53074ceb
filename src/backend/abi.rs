//! The argument structs that the CPU path and the CUDA kernels evaluate alike: one definition of
//! what a kernel-matrix launch and a fused SGLD step take, so that both backends read the same
//! numbers from the same fields.

/// A kernel function of ‖x‖², ‖z‖² and xᵀz in the working precision: the `kind, p1, p2, bias`
/// arguments of `dd_kmat` and `dd_kw` in `cuda/kernels.cu`. Built by
/// [`Kernel`](crate::kernels::Kernel) from its validated constants; the formulas are in
/// [`crate::kernels`].
#[derive(Clone, Copy, Debug)]
pub struct KernelParams<T> {
    /// The formula.
    pub kind: KernelId,
    /// 1/σ (Laplace, dispersal) or 1/(2σ²) (Gaussian).
    pub p1: T,
    /// γ/2 for dispersal.
    pub p2: T,
    /// 1 with the first-layer bias (arc-cosine kernels), 0 without.
    pub bias: T,
    /// Number of hidden layers L of the arc-cosine kernels (1 for the others).
    pub depth: u32,
}

/// The kernel formulas both backends evaluate. The CUDA side takes them as the integer ids of
/// `cuda/kernels.cu` (`dd_transform`'s `kind`), mapped here and nowhere else
/// ([`KernelId::cuda_id`]); every Rust `match` on a kind is exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelId {
    /// exp(−‖x−z‖/σ).
    Laplace,
    /// exp(−‖x−z‖²/(2σ²)).
    Gaussian,
    /// exp(−‖x−z‖^γ/σ).
    Dispersal,
    /// ReLU NNGP (arc-cosine of order 1, depth-L recursion).
    Nngp,
    /// ReLU NTK (depth-L recursion).
    Ntk,
}

impl KernelId {
    /// The id `cuda/kernels.cu` switches on.
    pub const fn cuda_id(self) -> i32 {
        match self {
            KernelId::Laplace => 0,
            KernelId::Gaussian => 1,
            KernelId::Dispersal => 2,
            KernelId::Nngp => 3,
            KernelId::Ntk => 4,
        }
    }
}

/// The constants of one SGLD step shared by all chains: the scalar arguments of `dd_sgld_update`
/// in `cuda/sgld.cu`.
#[derive(Clone, Copy, Debug)]
pub struct SgldStep {
    /// Step size ε.
    pub epsilon: f64,
    /// nβ.
    pub nbeta: f64,
    /// Localisation γ.
    pub gamma: f64,
    /// Noise seed.
    pub seed: u64,
    /// Step index t (the noise counter).
    pub step: u64,
}
