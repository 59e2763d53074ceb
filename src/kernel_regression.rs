//! Direct kernel interpolation and kernel ridge regression: solve (K(X, X) + λI) A = Y once, then
//! predict f(z) = K(z, X) A. The reference that iterative solvers ([`crate::eigenpro`]) must
//! converge to, and the tutorial's infinite-width baselines (dd_tutorial spec §1.3, §1.6, §2.4:
//! `y @ pinv(K)` and `solve(K, y)`).

use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};

use crate::device::Device;
use crate::error::{Error, Result, check_finite_mat, first_non_finite};
use crate::kernels::Kernel;
use crate::lstsq::{Cutoff, min_norm_lstsq};
use crate::scalar::Float;

/// How to solve (K + λI) A = Y.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Solver {
    /// Cholesky (K + λI must be positive definite; fails with [`Error::Singular`] otherwise).
    Cholesky,
    /// LU with partial pivoting (`numpy.linalg.solve`).
    Lu,
    /// Minimum-norm solution through the SVD (`pinv`), with the given cutoff.
    Pinv(Cutoff),
}

/// A fitted kernel regressor f(z) = Σ_j k(z, x_j) a_j.
#[derive(Clone, Debug)]
pub struct KernelRegression<T> {
    kernel: Kernel,
    centers: Mat<T>,
    coef: Mat<T>,
}

impl<T: Float> KernelRegression<T> {
    /// Fits on `x` (n × d) and `y` (n × c) with ridge `ridge` ≥ 0 (0 = interpolation); the kernel
    /// matrix is built on `device`, the solve runs on the CPU (faer, all cores).
    pub fn fit(
        kernel: Kernel,
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        ridge: f64,
        solver: Solver,
        device: &Device,
    ) -> Result<Self> {
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(Error::invalid("ridge", ridge, "must be finite and >= 0"));
        }
        if y.nrows() != x.nrows() || y.ncols() == 0 {
            return Err(Error::ShapeMismatch {
                what: "labels y against rows of x".into(),
                expected: format!("{} rows and at least one column", x.nrows()),
                got: format!("{}x{}", y.nrows(), y.ncols()),
            });
        }
        check_finite_mat("y", y)?;
        let mut k = kernel.self_matrix(x, device)?;
        if ridge > 0.0 {
            for i in 0..k.nrows() {
                k[(i, i)] += T::of(ridge);
            }
        }
        let coef = Self::solve(k, y, solver)?;
        Ok(KernelRegression {
            kernel,
            centers: x.to_owned(),
            coef,
        })
    }

    /// Solves K A = Y with an already formed (and ridged) kernel matrix K.
    pub fn solve(k: Mat<T>, y: MatRef<'_, T>, solver: Solver) -> Result<Mat<T>> {
        let n = k.nrows();
        let coef = match solver {
            Solver::Cholesky => {
                let llt = k.llt(Side::Lower).map_err(|e| {
                    Error::Singular(format!(
                        "Cholesky of the {n}x{n} kernel matrix failed ({e:?}): it is not \
                         numerically positive definite; add a ridge or use Solver::Lu/Pinv"
                    ))
                })?;
                llt.solve(y)
            }
            Solver::Lu => k.partial_piv_lu().solve(y),
            Solver::Pinv(cutoff) => min_norm_lstsq(k.as_ref(), y, cutoff)?.coef,
        };
        if let Some((i, j)) = first_non_finite(coef.as_ref()) {
            return Err(Error::Singular(format!(
                "the {n}x{n} kernel system is singular in {} (coefficient {i},{j} is {}); \
                 add a ridge or use Solver::Pinv",
                T::NAME,
                coef[(i, j)]
            )));
        }
        Ok(coef)
    }

    /// Predictions K(z, X)·A (n_z × c), matrix-free on `device`.
    pub fn predict(&self, z: MatRef<'_, T>, device: &Device) -> Result<Mat<T>> {
        self.kernel
            .apply(z, self.centers.as_ref(), self.coef.as_ref(), device)
    }

    /// The dual coefficients A (n × c).
    pub fn coef(&self) -> MatRef<'_, T> {
        self.coef.as_ref()
    }

    /// The kernel.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }
}
