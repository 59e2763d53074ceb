//! Kernel matrices K(X, Z), self matrices K(X, X) and matrix-free products K(X, Z)·W, fused in one
//! pass on the CPU (blocked faer GEMM + transform in cache, rayon over tiles) and on CUDA (tiled
//! handwritten kernels in `cuda/kernels.cu`).
//!
//! Every kernel here is a function of ‖x‖², ‖z‖² and xᵀz:
//!
//! | kernel | k(x, z) | source |
//! |---|---|---|
//! | [`KernelKind::Laplace`] | exp(−‖x−z‖/σ) | EigenPro-pytorch@2613356 `kernel.py` |
//! | [`KernelKind::Gaussian`] | exp(−‖x−z‖²/(2σ²)) | idem |
//! | [`KernelKind::Dispersal`] | exp(−‖x−z‖^γ/σ), γ ∈ (0, 2] | idem |
//! | [`KernelKind::ReluNngp`] | ‖x̃‖‖z̃‖·(ξ(π − arccos ξ) + √(1−ξ²))/π | arc-cosine kernel of order 1 (Cho & Saul 2009; `DoubleDescentTutorial.ipynb`) |
//! | [`KernelKind::ReluNtk`] | NNGP + x̃ᵀz̃·(π − arccos ξ)/π | 1-hidden-layer ReLU NTK (Jacot et al. 2018; `NTKAnalysis.ipynb`) |
//!
//! with ξ = x̃ᵀz̃/(‖x̃‖‖z̃‖) clamped to [−1, 1], and x̃ = [x; 1] when `bias` is set (the first-layer
//! bias of the tutorial's networks), x̃ = x otherwise. These are the depth-1 members (`depth: 1`)
//! of the infinite-width kernels of depth-L ReLU networks (see [Deep arc-cosine
//! kernels](#deep-arc-cosine-kernels)).
//!
//! # Deep arc-cosine kernels
//!
//! The network of the tutorial (`DoubleDescentTutorialPart2.ipynb`, `Net`), with L hidden layers:
//!
//! ```text
//! h¹ = W¹x + b¹,   hˡ⁺¹ = Wˡ⁺¹·√(2/k)·relu(hˡ) + bˡ⁺¹,   f(x) = Wᴸ⁺¹·√(2/k)·relu(hᴸ)
//! ```
//!
//! with every weight and bias N(0, 1) and no output bias (b = 0 everywhere when `bias` is off).
//! As the widths k → ∞ its NNGP Σ and NTK Θ follow the arc-cosine recursion (Cho & Saul 2009;
//! Jacot et al. 2018; Arora et al. 2019, arXiv 1904.11955, §3), with b = 1 or 0:
//!
//! ```text
//! Σ¹(x, z) = xᵀz + b,                        Θ¹ = Σ¹
//! F(Σ)     = √(ΣₓₓΣ_zz)·(ξ(π − arccos ξ) + √(1−ξ²))/π,   F′(Σ) = (π − arccos ξ)/π,   ξ = Σₓ_z/√(ΣₓₓΣ_zz)
//! Σˡ⁺¹     = F(Σˡ) + b,                      Θˡ⁺¹ = Θˡ·F′(Σˡ) + Σˡ⁺¹
//! NNGP     = F(Σᴸ),                          NTK  = Θᴸ·F′(Σᴸ) + F(Σᴸ)
//! ```
//!
//! Since F(Σ)ₓₓ = Σₓₓ, the diagonals are closed forms: Σˡₓₓ = ‖x‖² + l·b, so the NNGP's k(x, x) is
//! ‖x‖² + L·b and the NTK's (L + 1)‖x‖² + b·L(L + 3)/2. The recursion runs per entry inside the
//! fused tile on both backends (`dd_transform` in `cuda/kernels.cu`); at L = 1 it is the one-layer
//! formula operation for operation, so the results are bit-identical to it. Squared distances are computed as
//! ‖x‖² + ‖z‖² − 2xᵀz and clamped at 0 before the square root or power, so rounding never gives a
//! NaN (the original `dispersal` did not clamp, and gave NaN for nearly equal points). Self matrices have exactly
//! k(x, x) on the diagonal (1 for the distance kernels, ‖x̃‖² and 2‖x̃‖² for NNGP and NTK), and
//! are exactly symmetric.
//!
//! Data are row-major matrices X (n×d), Z (m×d), passed as faer views ([`rows`] makes one from a
//! slice), in `f32` or `f64`; results are faer matrices.
//!
//! ```
//! use doubledescent::backend::Device;
//! use doubledescent::kernels::{Kernel, rows};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let x = [0.0f64, 0.0, 3.0, 4.0]; // two points in R², row-major
//! let k = Kernel::laplace(5.0)?;
//! let kxx = k.self_matrix(rows(&x, 2, 2)?, &Device::cpu())?;
//! assert_eq!(kxx[(0, 0)], 1.0);
//! assert!((kxx[(0, 1)] - (-1.0f64).exp()).abs() < 1e-15); // ‖x − z‖ = 5 = σ
//! # Ok(())
//! # }
//! ```

mod cpu;
pub mod nystrom;

use std::fmt;

use faer::{Mat, MatMut, MatRef};
use rayon::prelude::*;

pub use nystrom::{EigenMethod, NystromEigen, nystrom_eigen};

pub(crate) use crate::backend::abi::{KernelId, KernelParams as Params};
use crate::backend::{Compute, Device, Float, cuda};
use crate::check::{check_alloc, check_finite_mat};
use crate::error::{Error, Result};

/// A positive-definite kernel k(x, z) with validated constants. Built by [`Kernel::laplace`],
/// [`Kernel::gaussian`], [`Kernel::dispersal`], [`Kernel::relu_nngp`], [`Kernel::relu_ntk`] or
/// from a [`KernelKind`] with `Kernel::try_from`; the constants are checked once, there, and
/// [`Kernel::kind`] reads them back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kernel(KernelKind);

/// The kinds of kernel used in the double-descent papers, with their constants (unchecked: turn
/// one into a [`Kernel`] to use it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KernelKind {
    /// exp(−‖x−z‖/σ).
    Laplace {
        /// σ > 0.
        bandwidth: f64,
    },
    /// exp(−‖x−z‖²/(2σ²)).
    Gaussian {
        /// σ > 0.
        bandwidth: f64,
    },
    /// exp(−‖x−z‖^γ/σ): Laplace at γ = 1; at γ = 2 a Gaussian of variance σ/2.
    Dispersal {
        /// σ > 0.
        bandwidth: f64,
        /// γ ∈ (0, 2].
        gamma: f64,
    },
    /// The infinite-width NNGP of a ReLU network with `depth` hidden layers, N(0, 1) weights and
    /// the √(2/k) scaling. At depth 1: the order-1 arc-cosine kernel, normalised so that
    /// k(x, x) = ‖x̃‖².
    ReluNngp {
        /// Number of hidden layers L ≥ 1.
        depth: u32,
        /// N(0, 1) biases in every hidden layer (at depth 1: append a constant 1 to every input).
        bias: bool,
    },
    /// The infinite-width NTK of the same network; at depth 1, NNGP + x̃ᵀz̃·(π − arccos ξ)/π.
    ReluNtk {
        /// Number of hidden layers L ≥ 1.
        depth: u32,
        /// N(0, 1) biases in every hidden layer.
        bias: bool,
    },
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            KernelKind::Laplace { bandwidth } => write!(f, "Laplace(σ={bandwidth})"),
            KernelKind::Gaussian { bandwidth } => write!(f, "Gaussian(σ={bandwidth})"),
            KernelKind::Dispersal { bandwidth, gamma } => {
                write!(f, "dispersal(σ={bandwidth}, γ={gamma})")
            }
            KernelKind::ReluNngp { depth, bias } => {
                write!(f, "ReLU NNGP(depth={depth}, bias={bias})")
            }
            KernelKind::ReluNtk { depth, bias } => {
                write!(f, "ReLU NTK(depth={depth}, bias={bias})")
            }
        }
    }
}

impl TryFrom<KernelKind> for Kernel {
    type Error = Error;

    /// Checks the constants: bandwidths finite and > 0, γ ∈ (0, 2], depth in 1 ..= [`MAX_DEPTH`].
    fn try_from(kind: KernelKind) -> Result<Kernel> {
        match kind {
            KernelKind::Laplace { bandwidth } => {
                positive("bandwidth", bandwidth)?;
                at_least("bandwidth", bandwidth, MIN_BANDWIDTH)?;
            }
            KernelKind::Gaussian { bandwidth } => {
                positive("bandwidth", bandwidth)?;
                at_least("bandwidth", bandwidth, MIN_GAUSSIAN_BANDWIDTH)?;
            }
            KernelKind::Dispersal { bandwidth, gamma } => {
                positive("bandwidth", bandwidth)?;
                at_least("bandwidth", bandwidth, MIN_BANDWIDTH)?;
                if !(gamma.is_finite() && gamma > 0.0 && gamma <= 2.0) {
                    return Err(Error::invalid("gamma", gamma, "must lie in (0, 2]"));
                }
            }
            KernelKind::ReluNngp { depth, .. } | KernelKind::ReluNtk { depth, .. } => {
                if !(1..=MAX_DEPTH).contains(&depth) {
                    return Err(Error::invalid(
                        "depth",
                        depth,
                        format!("must lie in 1..={MAX_DEPTH}"),
                    ));
                }
            }
        }
        Ok(Kernel(kind))
    }
}

/// The deepest arc-cosine kernel accepted. The recursion converges to a constant correlation as
/// L grows, so deeper kernels carry no more information; the cap bounds the per-entry work.
pub const MAX_DEPTH: u32 = 1000;

/// The formulas both backends evaluate (`dd_transform` in `cuda/kernels.cu`).
impl<T: Float> Params<T> {
    /// k from nx = ‖x‖², nz = ‖z‖², g = xᵀz (the formula of `dd_transform` in `cuda/kernels.cu`).
    #[inline(always)]
    pub fn value(&self, nx: T, nz: T, g: T) -> T {
        match self.kind {
            KernelId::Laplace => laplace(self.p1, distance2(nx, nz, g)),
            KernelId::Gaussian => gaussian(self.p1, distance2(nx, nz, g)),
            KernelId::Dispersal => dispersal(self.p1, self.p2, distance2(nx, nz, g)),
            KernelId::Nngp => arccos::<T, false>(self.depth, self.bias, nx, nz, g),
            KernelId::Ntk => arccos::<T, true>(self.depth, self.bias, nx, nz, g),
        }
    }

    /// k(x, x) in closed form.
    #[inline(always)]
    pub fn diagonal(&self, nx: T) -> T {
        let ntk = match self.kind {
            KernelId::Laplace | KernelId::Gaussian | KernelId::Dispersal => return T::ONE,
            KernelId::Nngp => false,
            KernelId::Ntk => true,
        };
        let (l, b) = (T::of(f64::from(self.depth)), self.bias);
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
        if !(nx + b > T::ZERO) {
            T::ZERO
        } else if self.depth == 1 {
            // The one-layer forms, written as the recursion evaluates them.
            let r = nx + b;
            if ntk { r + r } else { r }
        } else if !ntk {
            nx + l * b
        } else {
            (l + T::ONE) * nx + b * l * (l + T::of(3.0)) / T::of(2.0)
        }
    }
}

/// max(‖x‖² + ‖z‖² − 2xᵀz, 0).
#[inline(always)]
pub(crate) fn distance2<T: Float>(nx: T, nz: T, g: T) -> T {
    (nx + nz - (g + g)).max(T::ZERO)
}

#[inline(always)]
pub(crate) fn laplace<T: Float>(inv_bw: T, d2: T) -> T {
    (-(d2.sqrt() * inv_bw)).exp_nonpositive()
}

#[inline(always)]
pub(crate) fn gaussian<T: Float>(inv_2bw2: T, d2: T) -> T {
    (-(d2 * inv_2bw2)).exp_nonpositive()
}

#[inline(always)]
pub(crate) fn dispersal<T: Float>(inv_bw: T, half_gamma: T, d2: T) -> T {
    (-(d2.powf(half_gamma) * inv_bw)).exp_nonpositive()
}

/// The depth-L arc-cosine NNGP (`NTK = false`) or NTK (`NTK = true`) value by the recursion of
/// the module docs; 0 when ‖x̃‖‖z̃‖ = 0. The NTK carries Θˡ as r·ξ (the clamped Σˡₓ_z) at the
/// first layer, so that depth 1 is the one-layer formula operation for operation.
#[inline(always)]
pub(crate) fn arccos<T: Float, const NTK: bool>(depth: u32, bias: T, nx: T, nz: T, g: T) -> T {
    let (mut sxx, mut szz, mut sxz) = (nx + bias, nz + bias, g + bias);
    let mut theta = T::ZERO;
    let mut l = 1;
    loop {
        let (r, xi, a, nngp) = arccos_level(sxx, szz, sxz);
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
        if !(r > T::ZERO) {
            return T::ZERO;
        }
        if l == 1 {
            theta = r * xi;
        }
        if l >= depth {
            return if NTK { nngp + theta * a } else { nngp };
        }
        sxz = nngp + bias;
        sxx += bias;
        szz += bias;
        if NTK {
            theta = theta * a + sxz;
        }
        l += 1;
    }
}

/// One level of the arc-cosine recursion from Σₓₓ, Σ_zz and Σₓ_z: r = √(ΣₓₓΣ_zz), the clamped
/// correlation ξ = Σₓ_z/r, a = (π − arccos ξ)/π and the next NNGP value r·(ξa + √(1 − ξ²)/π).
/// Shared by the per-entry recursion and the CPU tiles, so both do the same operations.
#[inline(always)]
pub(crate) fn arccos_level<T: Float>(sxx: T, szz: T, sxz: T) -> (T, T, T, T) {
    let pi = T::of(std::f64::consts::PI);
    let inv_pi = T::of(std::f64::consts::FRAC_1_PI);
    let r = (sxx * szz).sqrt();
    let xi = (sxz / r).max(-T::ONE).min(T::ONE);
    let a = (pi - xi.acos_fast()) * inv_pi;
    (r, xi, a, r * (xi * a + (T::ONE - xi * xi).sqrt() * inv_pi))
}

/// The smallest Laplace or dispersal bandwidth σ: 1/σ must be finite in f32, where both
/// backends evaluate exp(−d/σ) (below it K is the identity matrix to every digit).
pub const MIN_BANDWIDTH: f64 = 1e-30;

/// The smallest Gaussian bandwidth σ: 1/(2σ²) must be finite in f32.
pub const MIN_GAUSSIAN_BANDWIDTH: f64 = 1e-15;

fn at_least(name: &'static str, v: f64, min: f64) -> Result<()> {
    if v >= min {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            v,
            format!("must be at least {min:e} (its inverse must be finite in f32)"),
        ))
    }
}

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, v, "must be finite and > 0"))
    }
}

impl Kernel {
    /// exp(−‖x−z‖/σ); errors unless σ is finite and positive.
    pub fn laplace(bandwidth: f64) -> Result<Kernel> {
        Kernel::try_from(KernelKind::Laplace { bandwidth })
    }

    /// exp(−‖x−z‖²/(2σ²)); errors unless σ is finite and positive.
    pub fn gaussian(bandwidth: f64) -> Result<Kernel> {
        Kernel::try_from(KernelKind::Gaussian { bandwidth })
    }

    /// exp(−‖x−z‖^γ/σ); errors unless σ > 0 and γ ∈ (0, 2] (the range where it is positive
    /// definite).
    pub fn dispersal(bandwidth: f64, gamma: f64) -> Result<Kernel> {
        Kernel::try_from(KernelKind::Dispersal { bandwidth, gamma })
    }

    /// The ReLU NNGP (arc-cosine order 1), with or without the first-layer bias.
    pub fn relu_nngp(bias: bool) -> Kernel {
        Kernel(KernelKind::ReluNngp { depth: 1, bias })
    }

    /// The 1-hidden-layer ReLU NTK, with or without the first-layer bias.
    pub fn relu_ntk(bias: bool) -> Kernel {
        Kernel(KernelKind::ReluNtk { depth: 1, bias })
    }

    /// The NNGP of a ReLU network with `depth` hidden layers (the recursion of the module docs);
    /// errors unless 1 ≤ depth ≤ [`MAX_DEPTH`].
    pub fn deep_relu_nngp(depth: u32, bias: bool) -> Result<Kernel> {
        Kernel::try_from(KernelKind::ReluNngp { depth, bias })
    }

    /// The NTK of a ReLU network with `depth` hidden layers; errors unless
    /// 1 ≤ depth ≤ [`MAX_DEPTH`].
    pub fn deep_relu_ntk(depth: u32, bias: bool) -> Result<Kernel> {
        Kernel::try_from(KernelKind::ReluNtk { depth, bias })
    }

    /// The kind and its (validated) constants.
    pub fn kind(&self) -> KernelKind {
        self.0
    }

    pub(crate) fn params<T: Float>(&self) -> Params<T> {
        let (kind, p1, p2, bias, depth) = match self.0 {
            KernelKind::Laplace { bandwidth } => {
                (KernelId::Laplace, 1.0 / bandwidth, 0.0, false, 1)
            }
            KernelKind::Gaussian { bandwidth } => (
                KernelId::Gaussian,
                1.0 / (2.0 * bandwidth * bandwidth),
                0.0,
                false,
                1,
            ),
            KernelKind::Dispersal { bandwidth, gamma } => {
                (KernelId::Dispersal, 1.0 / bandwidth, gamma / 2.0, false, 1)
            }
            KernelKind::ReluNngp { depth, bias } => (KernelId::Nngp, 0.0, 0.0, bias, depth),
            KernelKind::ReluNtk { depth, bias } => (KernelId::Ntk, 0.0, 0.0, bias, depth),
        };
        Params {
            kind,
            p1: T::of(p1),
            p2: T::of(p2),
            bias: if bias { T::ONE } else { T::ZERO },
            depth,
        }
    }

    /// k(x, z) for one pair, in f64.
    pub fn eval(&self, x: &[f64], z: &[f64]) -> Result<f64> {
        if x.len() != z.len() {
            return Err(Error::ShapeMismatch {
                what: "kernel arguments x and z".into(),
                expected: format!("{} entries", x.len()),
                got: format!("{} entries", z.len()),
            });
        }
        crate::check::check_finite("x", x.iter().copied())?;
        crate::check::check_finite("z", z.iter().copied())?;
        let norm2 = |a: &[f64]| a.iter().map(|v| v * v).sum::<f64>();
        check_norms("x", "f64", f64::MAX, std::iter::once(norm2(x)))?;
        check_norms("z", "f64", f64::MAX, std::iter::once(norm2(z)))?;
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
        Ok(self.params::<f64>().value(dot(x, x), dot(z, z), dot(x, z)))
    }

    /// The n×m matrix K(X, Z)ᵢⱼ = k(xᵢ, zⱼ).
    pub fn matrix<T: Float>(
        &self,
        x: MatRef<'_, T>,
        z: MatRef<'_, T>,
        device: &Device,
    ) -> Result<Mat<T>> {
        check_pair(x, z)?;
        check_alloc::<T>(
            &format!("the kernel matrix K(x, z) ({}x{})", x.nrows(), z.nrows()),
            x.nrows(),
            z.nrows(),
        )?;
        match device.compute() {
            Compute::Cpu => Ok(cpu::matrix(&self.params(), x, z)),
            Compute::Cuda(rt) => cuda::kernels::matrix(rt, &self.params(), x, Some(z)),
        }
    }

    /// K(X, Z) written into `out` (n×m, column-major, e.g. `Mat::as_mut()`), reusing its
    /// memory: repeated evaluations skip the allocation and the page faults of a fresh n×m
    /// matrix, which at n = m = 4096 and small d cost as much as the kernel itself.
    pub fn matrix_into<T: Float>(
        &self,
        x: MatRef<'_, T>,
        z: MatRef<'_, T>,
        mut out: MatMut<'_, T>,
        device: &Device,
    ) -> Result<()> {
        check_pair(x, z)?;
        if out.nrows() != x.nrows() || out.ncols() != z.nrows() {
            return Err(Error::ShapeMismatch {
                what: "out against the rows of x and z".into(),
                expected: format!("{}x{}", x.nrows(), z.nrows()),
                got: format!("{}x{}", out.nrows(), out.ncols()),
            });
        }
        if out.row_stride() != 1 {
            return Err(Error::invalid(
                "out",
                format!("row stride {}", out.row_stride()),
                "must be column-major (row stride 1)",
            ));
        }
        match device.compute() {
            Compute::Cpu => cpu::matrix_into(&self.params(), x, z, out),
            Compute::Cuda(rt) => {
                out.copy_from(cuda::kernels::matrix(rt, &self.params(), x, Some(z))?)
            }
        }
        Ok(())
    }

    /// The n×n matrix K(X, X): each pair computed once, exactly symmetric, with the exact
    /// diagonal k(x, x).
    pub fn self_matrix<T: Float>(&self, x: MatRef<'_, T>, device: &Device) -> Result<Mat<T>> {
        check_data("x", x)?;
        let n = x.nrows();
        check_alloc::<T>(&format!("the kernel matrix K(x, x) ({n}x{n})"), n, n)?;
        match device.compute() {
            Compute::Cpu => Ok(cpu::self_matrix(&self.params(), x)),
            Compute::Cuda(rt) => cuda::kernels::matrix(rt, &self.params(), x, None),
        }
    }

    /// K(X, Z)·W for W of shape m×c, without forming K: each worker holds one tile of K at a time
    /// (the product EigenPro and Nyström need when n is large).
    pub fn apply<T: Float>(
        &self,
        x: MatRef<'_, T>,
        z: MatRef<'_, T>,
        w: MatRef<'_, T>,
        device: &Device,
    ) -> Result<Mat<T>> {
        check_pair(x, z)?;
        if w.nrows() != z.nrows() {
            return Err(Error::ShapeMismatch {
                what: "rows of w against rows of z".into(),
                expected: format!("{} rows", z.nrows()),
                got: format!("{}x{}", w.nrows(), w.ncols()),
            });
        }
        if w.ncols() == 0 {
            return Err(Error::invalid(
                "w",
                "0 columns",
                "needs at least one column",
            ));
        }
        check_finite_mat("w", w)?;
        check_alloc::<T>(
            &format!("the product K(x, z)·w ({}x{})", x.nrows(), w.ncols()),
            x.nrows(),
            w.ncols(),
        )?;
        match device.compute() {
            Compute::Cpu => Ok(cpu::apply(&self.params(), x, z, w)),
            Compute::Cuda(rt) => cuda::kernels::apply(rt, &self.params(), x, z, w),
        }
    }

    /// K(X, Z)·W on the CPU without the argument checks, for callers that validated the data
    /// once and apply the kernel many times (matrix-free eigensolvers).
    pub(crate) fn apply_cpu_unchecked<T: Float>(
        &self,
        x: MatRef<'_, T>,
        z: MatRef<'_, T>,
        w: MatRef<'_, T>,
    ) -> Mat<T> {
        cpu::apply(&self.params(), x, z, w)
    }
}

/// The checks shared by the two-argument operations: non-empty finite data, same d.
fn check_pair<T: Float>(x: MatRef<'_, T>, z: MatRef<'_, T>) -> Result<()> {
    check_data("x", x)?;
    check_data("z", z)?;
    check_same_features(x, z)
}

/// A row-major view of `data` as an n×d matrix (n points in R^d), checking the length.
pub fn rows<T>(data: &[T], n: usize, d: usize) -> Result<MatRef<'_, T>> {
    match n.checked_mul(d) {
        Some(len) if len == data.len() => Ok(MatRef::from_row_major_slice(data, n, d)),
        _ => Err(Error::ShapeMismatch {
            what: "data length against n·d".into(),
            expected: format!("{n}·{d} entries"),
            got: format!("{} entries", data.len()),
        }),
    }
}

fn check_data<T: Float>(name: &'static str, a: MatRef<'_, T>) -> Result<()> {
    if a.nrows() == 0 || a.ncols() == 0 {
        return Err(Error::invalid(
            name,
            format!("{}x{} matrix", a.nrows(), a.ncols()),
            "needs at least one point and one feature",
        ));
    }
    // One parallel pass over the rows (contiguous when x is row-major): the squared norms in
    // f64; a NaN or ±∞ anywhere makes its row's sum non-finite, and only then is the matrix
    // scanned for the first one (the message names it).
    let norms2: Vec<f64> = (0..a.nrows())
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let row = a.row(i);
            match row.try_as_row_major() {
                Some(r) => r.as_slice().iter().map(|v| v.to_f64() * v.to_f64()).sum(),
                None => row.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>(),
            }
        })
        .collect();
    if norms2.iter().any(|v| !v.is_finite()) {
        check_finite_mat(name, a)?;
    }
    check_norms(name, T::NAME, T::MAX, norms2.into_iter())
}

/// Largest squared norm ‖x‖² accepted, as a fraction of the largest value of the precision:
/// every kernel value is computed from ‖x‖², ‖z‖² and xᵀz (|xᵀz| ≤ ‖x‖‖z‖), and the deepest NTK
/// diagonal is (L + 1)‖x‖² plus a constant, so this headroom keeps every intermediate finite.
const NORM2_HEADROOM: f64 = 1e-4;

/// Fails when a squared norm of `norms2` exceeds [`NORM2_HEADROOM`]·`max`: the squared norms
/// and distances would overflow the working precision (for example x = 1e200 in f64 or 1e20 in
/// f32), and every kernel value would be NaN or wrong. The kernels reject such data instead of
/// rescaling it, because only the bias-free arc-cosine kernels are homogeneous.
fn check_norms(
    name: &'static str,
    precision: &str,
    max: f64,
    norms2: impl Iterator<Item = f64>,
) -> Result<()> {
    let limit = NORM2_HEADROOM * max;
    for (i, n2) in norms2.enumerate() {
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
        if !(n2 <= limit) {
            return Err(Error::invalid(
                name,
                format!("row {i} with ‖x‖ = {:e}", n2.sqrt()),
                format!(
                    "squared norms must stay below {limit:e} in {precision} (rescale the data)"
                ),
            ));
        }
    }
    Ok(())
}

fn check_same_features<T>(x: MatRef<'_, T>, z: MatRef<'_, T>) -> Result<()> {
    if x.ncols() != z.ncols() {
        return Err(Error::ShapeMismatch {
            what: "features (columns) of x and z".into(),
            expected: format!("{} columns", x.ncols()),
            got: format!("{} columns", z.ncols()),
        });
    }
    Ok(())
}
