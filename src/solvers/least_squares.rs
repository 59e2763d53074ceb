//! Minimum-norm least squares as a solver: [`MinNormLeastSquares`] (with its SVD cutoff) fits a
//! [`LeastSquares`] model X ↦ X·β through the SVD of the design matrix ([`crate::linalg::min_norm_lstsq`]),
//! the estimator of *Double Descent Demystified* (Schaeffer et al., arXiv 2303.14151; repository
//! `RylanSchaeffer/Stanford-AI-Alignment-Double-Descent-Tutorial@23c73b2`,
//! `linear_regression_ablations.py`).

use faer::{Mat, MatRef, Par};

use super::{Fit, Predict};
use crate::backend::Float;
use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::linalg::{self, Cutoff, LeastSquares, min_norm_lstsq};

/// An unfitted minimum-norm least-squares regressor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinNormLeastSquares {
    cutoff: Cutoff,
}

impl MinNormLeastSquares {
    /// A regressor that drops singular values at or below `cutoff`'s threshold (checked here).
    pub fn new(cutoff: Cutoff) -> Result<Self> {
        cutoff.validate()?;
        Ok(MinNormLeastSquares { cutoff })
    }
}

impl<T: Float> Fit<MatRef<'_, T>, MatRef<'_, T>> for MinNormLeastSquares {
    type Fitted = LeastSquares<T>;

    fn fit(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<LeastSquares<T>> {
        min_norm_lstsq(x, y, self.cutoff)
    }
}

/// The fitted linear model f(x) = xᵀβ, β = [`LeastSquares::coef`].
impl<T: Float> Predict<MatRef<'_, T>> for LeastSquares<T> {
    type Output = Mat<T>;

    fn predict(&self, x: MatRef<'_, T>) -> Result<Mat<T>> {
        if x.ncols() != self.coef.nrows() {
            return Err(Error::ShapeMismatch {
                what: "columns of x against the fitted coefficients".into(),
                expected: format!("{} columns", self.coef.nrows()),
                got: format!("{} columns", x.ncols()),
            });
        }
        check_finite_mat("x", x)?;
        Ok(linalg::mul(x, self.coef.as_ref(), Par::rayon(0)))
    }
}
