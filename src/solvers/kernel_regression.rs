//! Direct kernel interpolation and kernel ridge regression: solve (K(X, X) + λI) A = Y once, then
//! predict f(z) = K(z, X) A. The reference that iterative solvers ([`crate::solvers::eigenpro`])
//! must converge to, and the tutorial's infinite-width baselines (Radhakrishnan, arXiv 2105.14368;
//! `y @ pinv(K)` and `numpy.linalg.solve(K, y)` in `DoubleDescentTutorial.ipynb` and
//! `NTKAnalysis.ipynb` of `aradha5772/deep_learning_theory_tutorial@f2750a9`).
//!
//! ```
//! use doubledescent::Device;
//! use doubledescent::kernels::Kernel;
//! use doubledescent::solvers::{Fit, KernelRidge, Predict, Solver};
//! use faer::Mat;
//!
//! # fn main() -> doubledescent::Result<()> {
//! let x = Mat::from_fn(20, 2, |i, j| if j == 0 { i as f64 / 20.0 } else { ((i * 7) % 20) as f64 / 20.0 });
//! let y = Mat::from_fn(20, 1, |i, _| x[(i, 0)] - x[(i, 1)]);
//! let model = KernelRidge::new(Kernel::laplace(1.0)?, 0.0, Solver::Lu, &Device::cpu())?
//!     .fit(x.as_ref(), y.as_ref())?;
//! let p = model.predict(x.as_ref())?;
//! assert!((p[(3, 0)] - y[(3, 0)]).abs() < 1e-8); // interpolates
//! # Ok(())
//! # }
//! ```

use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};

use super::{Fit, Predict};
use crate::backend::{Device, Float};
use crate::check::{check_finite_mat, first_non_finite};
use crate::error::{Error, Result};
use crate::kernels::Kernel;
use crate::linalg::{Cutoff, min_norm_lstsq};

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

/// An unfitted kernel ridge regressor: kernel, ridge λ ≥ 0 (0 = interpolation), linear solver
/// and the device the kernel matrices are built on (the solve runs on the CPU, faer, all cores).
#[derive(Clone, Debug)]
pub struct KernelRidge {
    kernel: Kernel,
    ridge: f64,
    solver: Solver,
    device: Device,
}

impl KernelRidge {
    /// Checks the ridge and the cutoff once.
    pub fn new(kernel: Kernel, ridge: f64, solver: Solver, device: &Device) -> Result<Self> {
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(Error::invalid("ridge", ridge, "must be finite and >= 0"));
        }
        if let Solver::Pinv(c) = solver {
            c.validate()?;
        }
        Ok(KernelRidge {
            kernel,
            ridge,
            solver,
            device: device.clone(),
        })
    }
}

/// A fitted kernel regressor f(z) = Σ_j k(z, x_j) a_j.
#[derive(Clone, Debug)]
pub struct KernelRegression<T> {
    kernel: Kernel,
    centers: Mat<T>,
    coef: Mat<T>,
    device: Device,
}

impl<T: Float> Fit<MatRef<'_, T>, MatRef<'_, T>> for KernelRidge {
    type Fitted = KernelRegression<T>;

    /// Fits on `x` (n × d) and `y` (n × c).
    fn fit(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<KernelRegression<T>> {
        if y.nrows() != x.nrows() || y.ncols() == 0 {
            return Err(Error::ShapeMismatch {
                what: "labels y against rows of x".into(),
                expected: format!("{} rows and at least one column", x.nrows()),
                got: format!("{}x{}", y.nrows(), y.ncols()),
            });
        }
        check_finite_mat("y", y)?;
        let mut k = self.kernel.self_matrix(x, &self.device)?;
        if self.ridge > 0.0 {
            for i in 0..k.nrows() {
                k[(i, i)] += T::of(self.ridge);
            }
        }
        let coef = KernelRegression::solve(k, y, self.solver)?;
        Ok(KernelRegression {
            kernel: self.kernel,
            centers: x.to_owned(),
            coef,
            device: self.device.clone(),
        })
    }
}

impl<T: Float> Predict<MatRef<'_, T>> for KernelRegression<T> {
    type Output = Mat<T>;

    /// Predictions K(z, X)·A (n_z × c), matrix-free on the fit's device.
    fn predict(&self, z: MatRef<'_, T>) -> Result<Mat<T>> {
        self.kernel
            .apply(z, self.centers.as_ref(), self.coef.as_ref(), &self.device)
    }
}

impl<T: Float> KernelRegression<T> {
    /// Largest relative residual ‖K A − Y‖_F / ‖Y‖_F that [`KernelRegression::solve`] accepts
    /// from the LU and Cholesky solvers (the pseudo-inverse returns a least-squares solution and
    /// is not checked).
    pub const MAX_RELATIVE_RESIDUAL: f64 = 1e-2;

    /// Solves K A = Y with an already formed (and ridged) square kernel matrix K (n × n) and
    /// Y (n × c). Fails with [`Error::Singular`] when the coefficients are not finite or when an
    /// LU or Cholesky solution leaves a relative residual above
    /// [`KernelRegression::MAX_RELATIVE_RESIDUAL`] (the system is numerically singular, as for
    /// repeated training points): no solution was found.
    pub fn solve(k: Mat<T>, y: MatRef<'_, T>, solver: Solver) -> Result<Mat<T>> {
        let n = k.nrows();
        if k.ncols() != n || n == 0 {
            return Err(Error::ShapeMismatch {
                what: "kernel matrix k".into(),
                expected: "a non-empty square matrix".into(),
                got: format!("{}x{}", k.nrows(), k.ncols()),
            });
        }
        if y.nrows() != n || y.ncols() == 0 {
            return Err(Error::ShapeMismatch {
                what: "right-hand side y against the kernel matrix k".into(),
                expected: format!("{n} rows and at least one column"),
                got: format!("{}x{}", y.nrows(), y.ncols()),
            });
        }
        check_finite_mat("k", k.as_ref())?;
        check_finite_mat("y", y)?;
        if let Solver::Pinv(c) = solver {
            c.validate()?;
        }
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
        if !matches!(solver, Solver::Pinv(_)) {
            let residual = relative_residual(k.as_ref(), coef.as_ref(), y);
            #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
            if !(residual <= Self::MAX_RELATIVE_RESIDUAL) {
                return Err(Error::Singular(format!(
                    "the {n}x{n} kernel system has no numerical solution in {}: the relative \
                     residual ‖KA − Y‖/‖Y‖ is {residual:.3e} (> {:e}); the kernel matrix is \
                     singular (repeated or near-duplicate points?); add a ridge or use \
                     Solver::Pinv",
                    T::NAME,
                    Self::MAX_RELATIVE_RESIDUAL
                )));
            }
        }
        Ok(coef)
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

/// ‖K A − Y‖_F / ‖Y‖_F in f64 (0 when Y = 0 and K A = 0).
fn relative_residual<T: Float>(k: MatRef<'_, T>, a: MatRef<'_, T>, y: MatRef<'_, T>) -> f64 {
    let ka = k * a;
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for j in 0..y.ncols() {
        for i in 0..y.nrows() {
            let (r, v) = (ka[(i, j)].to_f64() - y[(i, j)].to_f64(), y[(i, j)].to_f64());
            num += r * r;
            den += v * v;
        }
    }
    if num == 0.0 { 0.0 } else { (num / den).sqrt() }
}
