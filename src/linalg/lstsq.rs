//! Minimum-norm least squares and the pseudo-inverse through the thin SVD, with an explicit rule
//! for which singular values count as zero.
//!
//! For A = U diag(S) Vᵀ (m × n) and the r singular values above the cutoff,
//! x = V_r diag(1/S_r) U_rᵀ b is the least-squares solution of minimum norm (the limit of gradient
//! descent from x = 0), and A⁺ = V_r diag(1/S_r) U_rᵀ. The cutoff keeps S_i when
//! S_i > max(absolute, relative · S_1); the default relative cutoff is ε·max(m, n) (LAPACK's
//! `gelsd` and `numpy.linalg.lstsq`), [`Cutoff::numpy_pinv`] gives `numpy.linalg.pinv`'s 1e-15.

use faer::{Mat, MatRef, Par};

use crate::backend::Float;
use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::linalg::{self, ThinSvd};

/// Which singular values are treated as zero: S_i is kept when S_i > max(absolute, relative·S_1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cutoff {
    /// Absolute threshold (≥ 0).
    pub absolute: f64,
    /// Relative threshold; `None` means ε·max(m, n) in the working precision.
    pub relative: Option<f64>,
}

impl Default for Cutoff {
    fn default() -> Self {
        Cutoff {
            absolute: 0.0,
            relative: None,
        }
    }
}

impl Cutoff {
    /// Keep S_i > `relative`·S_1.
    pub fn relative(relative: f64) -> Cutoff {
        Cutoff {
            absolute: 0.0,
            relative: Some(relative),
        }
    }

    /// Keep S_i > `absolute`.
    pub fn absolute(absolute: f64) -> Cutoff {
        Cutoff {
            absolute,
            relative: Some(0.0),
        }
    }

    /// `numpy.linalg.pinv`'s default, `rcond = 1e-15` relative (what the tutorial notebooks use).
    pub fn numpy_pinv() -> Cutoff {
        Cutoff::relative(1e-15)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.absolute.is_finite() && self.absolute >= 0.0) {
            return Err(Error::invalid(
                "cutoff.absolute",
                self.absolute,
                "must be finite and >= 0",
            ));
        }
        if let Some(r) = self.relative
            && !(r.is_finite() && r >= 0.0)
        {
            return Err(Error::invalid(
                "cutoff.relative",
                r,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }

    /// The threshold for singular values `s` (descending) of an m × n matrix in precision `T`.
    pub fn threshold<T: Float>(&self, s: &[T], m: usize, n: usize) -> f64 {
        let rel = self.relative.unwrap_or(T::EPS * m.max(n) as f64);
        let top = s.first().map_or(0.0, |v| v.to_f64());
        self.absolute.max(rel * top)
    }
}

/// A minimum-norm least-squares solution.
#[derive(Clone, Debug)]
pub struct LeastSquares<T = f64> {
    /// The solution X (n × c) of min ‖A X − B‖ with the smallest Frobenius norm.
    pub coef: Mat<T>,
    /// All singular values of A, descending.
    pub singular_values: Vec<T>,
    /// How many singular values were used (the numerical rank).
    pub rank: usize,
    /// The threshold below which singular values were dropped.
    pub threshold: f64,
}

/// Minimum-norm least squares min ‖A X − B‖_F (A: m × n, B: m × c) through the SVD of A.
///
/// Errors on empty or non-finite input and on a shape mismatch; a zero matrix gives X = 0.
pub fn min_norm_lstsq<T: Float>(
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    cutoff: Cutoff,
) -> Result<LeastSquares<T>> {
    cutoff.validate()?;
    check("a", a)?;
    check("b", b)?;
    if b.nrows() != a.nrows() {
        return Err(Error::ShapeMismatch {
            what: "rows of b against rows of a".into(),
            expected: format!("{} rows", a.nrows()),
            got: format!("{}x{}", b.nrows(), b.ncols()),
        });
    }
    let svd = linalg::thin_svd(a, Par::rayon(0))?;
    let (m, n) = a.shape();
    let threshold = cutoff.threshold(&svd.s, m, n);
    let rank = svd.s.iter().take_while(|s| s.to_f64() > threshold).count();
    let coef = apply_pinv(&svd, rank, b);
    check_solution("the minimum-norm solution", coef.as_ref(), &svd.s, rank)?;
    Ok(LeastSquares {
        coef,
        singular_values: svd.s,
        rank,
        threshold,
    })
}

/// The pseudo-inverse A⁺ (n × m).
pub fn pinv<T: Float>(a: MatRef<'_, T>, cutoff: Cutoff) -> Result<Mat<T>> {
    cutoff.validate()?;
    check("a", a)?;
    let svd = linalg::thin_svd(a, Par::rayon(0))?;
    let (m, n) = a.shape();
    let threshold = cutoff.threshold(&svd.s, m, n);
    let rank = svd.s.iter().take_while(|s| s.to_f64() > threshold).count();
    let p = apply_pinv(&svd, rank, Mat::<T>::identity(m, m).as_ref());
    check_solution("the pseudo-inverse", p.as_ref(), &svd.s, rank)?;
    Ok(p)
}

/// A named error when `x` overflowed: the kept singular values are too small for the
/// precision (A⁺ scales as 1/S_r).
fn check_solution<T: Float>(what: &str, x: MatRef<'_, T>, s: &[T], rank: usize) -> Result<()> {
    if crate::check::first_non_finite(x).is_some() {
        return Err(Error::Numerical(format!(
            "{what} overflows {}: the smallest kept singular value is {:e}; raise the cutoff \
             or rescale the matrix",
            T::NAME,
            s[rank.saturating_sub(1)].to_f64()
        )));
    }
    Ok(())
}

/// V_r diag(1/S_r) U_rᵀ B.
pub(crate) fn apply_pinv<T: Float>(svd: &ThinSvd<T>, rank: usize, b: MatRef<'_, T>) -> Mat<T> {
    let n = svd.v.nrows();
    if rank == 0 {
        return Mat::zeros(n, b.ncols());
    }
    let ur = svd.u.as_ref().subcols(0, rank);
    let mut t = linalg::mul(ur.transpose(), b, Par::rayon(0));
    // Divided rather than multiplied by 1/S_i: 1/S_i overflows for S_i below 1/MAX (entries
    // near 1e-310), where Uᵀb/S_i may still be finite.
    for i in 0..rank {
        let s = svd.s[i];
        for j in 0..t.ncols() {
            t[(i, j)] /= s;
        }
    }
    linalg::mul(svd.v.as_ref().subcols(0, rank), t.as_ref(), Par::rayon(0))
}

fn check<T: Float>(name: &'static str, a: MatRef<'_, T>) -> Result<()> {
    if a.nrows() == 0 || a.ncols() == 0 {
        return Err(Error::invalid(
            name,
            format!("{}x{} matrix", a.nrows(), a.ncols()),
            "needs at least one row and one column",
        ));
    }
    check_finite_mat(name, a)
}
