//! The kernel-regime predictor of a trained network (`NTKAnalysis.ipynb`, cells 7–11 of
//! `aradha5772/deep_learning_theory_tutorial@f2750a9`; Jacot et al. 2018, Lee et al. 2019).
//!
//! Gradient descent on the squared error of a network linearised at its initialisation w₀,
//! f̃(w, x) = f(w₀, x) + ∇f(w₀, x)ᵀ(w − w₀), converges to
//!
//! ```text
//! f̂(x) = K(x, X) K⁺ (y − f₀(X)) + f₀(x)
//! ```
//!
//! with K the tangent kernel on the training inputs (empirical at w₀, or its infinite-width
//! limit) and f₀ the network at initialisation: the *offset-corrected* predictor. Without the
//! offset (f₀ = 0) it is plain kernel regression, f̂(x) = K(x, X) K⁺ y, which ignores that the
//! trained network keeps its random initial function. K⁺ is the pseudo-inverse with NumPy's
//! `pinv` cutoff (10⁻¹⁵ relative), as in the notebook.

use faer::{Mat, MatRef};

use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::linalg::{Cutoff, min_norm_lstsq};

/// A fitted kernel-regime predictor: α = K⁺(y − f₀(X)), whether an offset was used.
#[derive(Clone, Debug)]
pub struct Linearized {
    coef: Mat<f64>,
    offset: bool,
    rank: usize,
}

impl Linearized {
    /// Fits α = K⁺(y − f₀(X)) from the n×n kernel on the training inputs, the n×c targets and,
    /// for the corrected predictor, the n×c outputs of the network at initialisation.
    pub fn fit(
        k_train: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        f0_train: Option<MatRef<'_, f64>>,
    ) -> Result<Linearized> {
        let n = k_train.nrows();
        if k_train.ncols() != n {
            return Err(Error::ShapeMismatch {
                what: "training kernel (must be square)".into(),
                expected: format!("{n}x{n}"),
                got: format!("{}x{}", n, k_train.ncols()),
            });
        }
        same_shape("targets y", y, n, None)?;
        check_finite_mat("y", y)?;
        let target = match f0_train {
            Some(f0) => {
                same_shape("f0_train", f0, n, Some(y.ncols()))?;
                check_finite_mat("f0_train", f0)?;
                Mat::from_fn(n, y.ncols(), |i, j| y[(i, j)] - f0[(i, j)])
            }
            None => y.to_owned(),
        };
        let ls = min_norm_lstsq(k_train, target.as_ref(), Cutoff::numpy_pinv())?;
        Ok(Linearized {
            coef: ls.coef,
            offset: f0_train.is_some(),
            rank: ls.rank,
        })
    }

    /// f̂ = K(X, x)ᵀ α + f₀(x) for the n×m cross kernel K(X, x) (training rows, test columns);
    /// `f0_test` (m×c) is required exactly when the fit used an offset.
    pub fn predict(
        &self,
        k_cross: MatRef<'_, f64>,
        f0_test: Option<MatRef<'_, f64>>,
    ) -> Result<Mat<f64>> {
        let (n, c) = (self.coef.nrows(), self.coef.ncols());
        if k_cross.nrows() != n {
            return Err(Error::ShapeMismatch {
                what: "rows of the cross kernel K(X, x) against the training points".into(),
                expected: format!("{n} rows"),
                got: format!("{}x{}", k_cross.nrows(), k_cross.ncols()),
            });
        }
        check_finite_mat("k_cross", k_cross)?;
        let m = k_cross.ncols();
        let mut out =
            crate::linalg::mul(k_cross.transpose(), self.coef.as_ref(), faer::Par::rayon(0));
        match (self.offset, f0_test) {
            (true, Some(f0)) => {
                same_shape("f0_test", f0, m, Some(c))?;
                check_finite_mat("f0_test", f0)?;
                for j in 0..c {
                    for i in 0..m {
                        out[(i, j)] += f0[(i, j)];
                    }
                }
            }
            (false, None) => {}
            (true, None) => {
                return Err(Error::invalid(
                    "f0_test",
                    "None",
                    "the predictor was fitted with an offset f0_train",
                ));
            }
            (false, Some(_)) => {
                return Err(Error::invalid(
                    "f0_test",
                    "Some",
                    "the predictor was fitted without an offset",
                ));
            }
        }
        Ok(out)
    }

    /// α = K⁺(y − f₀(X)) (n×c).
    pub fn coef(&self) -> MatRef<'_, f64> {
        self.coef.as_ref()
    }

    /// The numerical rank of K kept by the cutoff.
    pub fn rank(&self) -> usize {
        self.rank
    }
}

fn same_shape(
    name: &'static str,
    a: MatRef<'_, f64>,
    rows: usize,
    cols: Option<usize>,
) -> Result<()> {
    if a.nrows() != rows || cols.is_some_and(|c| c != a.ncols()) || a.ncols() == 0 {
        return Err(Error::ShapeMismatch {
            what: format!("{name} against the training kernel"),
            expected: match cols {
                Some(c) => format!("{rows}x{c}"),
                None => format!("{rows} rows, at least one column"),
            },
            got: format!("{}x{}", a.nrows(), a.ncols()),
        });
    }
    Ok(())
}
