//! The argument structs that the CPU path and the CUDA kernels evaluate alike: one definition of
//! what a kernel-matrix launch and a fused SGLD step take, so that both backends read the same
//! numbers from the same fields.

/// A kernel function of ‖x‖², ‖z‖² and xᵀz in the working precision: the `kind, p1, p2, bias`
/// arguments of `dd_kmat` and `dd_kw` in `cuda/kernels.cu`. Built by
/// [`Kernel`](crate::kernels::Kernel) from its validated constants; the formulas are in
/// [`crate::kernels`].
#[derive(Clone, Copy, Debug)]
pub struct KernelParams<T> {
    /// One of the `KIND_*` constants below.
    pub kind: i32,
    /// 1/σ (Laplace, dispersal) or 1/(2σ²) (Gaussian).
    pub p1: T,
    /// γ/2 for dispersal.
    pub p2: T,
    /// 1 with the first-layer bias (arc-cosine kernels), 0 without.
    pub bias: T,
    /// Number of hidden layers L of the arc-cosine kernels (1 for the others).
    pub depth: u32,
}

/// exp(−‖x−z‖/σ).
pub const KIND_LAPLACE: i32 = 0;
/// exp(−‖x−z‖²/(2σ²)).
pub const KIND_GAUSSIAN: i32 = 1;
/// exp(−‖x−z‖^γ/σ).
pub const KIND_DISPERSAL: i32 = 2;
/// ReLU NNGP (arc-cosine of order 1, depth-L recursion).
pub const KIND_NNGP: i32 = 3;
/// ReLU NTK (depth-L recursion).
pub const KIND_NTK: i32 = 4;

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
