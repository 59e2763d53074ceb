//! The linear student trained by full-batch gradient descent from ŵ = 0.

use faer::{MatRef, Par};

use crate::check::{check_finite, check_finite_mat};
use crate::error::{Error, Result};
use crate::linalg::{self, ThinSvd};

/// How training time t maps to the learned fraction of each eigenmode.
///
/// With X = U S Vᵀ, L_i = S_i², η = 1/(L_max + λ), the student at time t is
/// ŵ(t) = V diag(g_i(t) · S_i / (L_i + λ)) Uᵀ y, where g_i(t) is
/// * [`Dynamics::GradientDescent`]: 1 − |1 − η(L_i + λ)|^t, exact for t integer GD steps on
///   ½‖Xŵ − y‖² + ½λ‖ŵ‖² (ICML `fig3.py`; real t interpolates);
/// * [`Dynamics::GradientFlow`]: 1 − exp(−η(L_i + λ)t), the continuous-time limit used by the
///   original `gradient_descent_np` and `analytical_results_general_case` (which drop λ from
///   the rate; irrelevant there since λ = 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dynamics {
    /// Discrete steps, factor (1 − ηL)^t.
    GradientDescent,
    /// Gradient flow, factor e^{−ηLt}.
    GradientFlow,
}

/// A fitted student: the spectral data of X needed to evaluate ŵ(t) at any t.
#[derive(Clone, Debug)]
pub struct Student {
    /// Singular values S_i of X, descending (length min(n, d)).
    pub s: Vec<f64>,
    /// Right singular vectors V of X, `d × min(n, d)`.
    pub v: faer::Mat<f64>,
    /// Mode coefficients h_i = S_i (Uᵀy)_i / (S_i² + λ): ŵ(∞) = V h (0 on numerically null modes).
    pub coef: Vec<f64>,
    /// Learning rate η = 1/(L_max + λ).
    pub eta: f64,
    /// Ridge coefficient λ.
    pub ridge: f64,
}

impl Student {
    /// Fits the spectral form of the student for inputs `x` (n × d) and labels `y` (length n).
    pub fn fit(x: MatRef<'_, f64>, y: &[f64], ridge: f64) -> Result<Self> {
        let (n, d) = x.shape();
        if n == 0 || d == 0 {
            return Err(Error::invalid(
                "x",
                format!("{n}×{d}"),
                "needs at least one row and one column",
            ));
        }
        if y.len() != n {
            return Err(Error::ShapeMismatch {
                what: "labels y vs rows of x".into(),
                expected: n.to_string(),
                got: y.len().to_string(),
            });
        }
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(Error::invalid("ridge", ridge, "must be finite and >= 0"));
        }
        check_finite("y", y.iter().copied())?;
        check_finite_mat("x", x)?;
        let svd = linalg::thin_svd(x, Par::Seq)?;
        Student::from_svd(svd, y, ridge)
    }

    /// The student from a precomputed thin SVD of X (n × d), for example one of a
    /// [`batched_svd()`](crate::linalg::batched_svd()); `y` and `ridge` as in [`Student::fit`] (both
    /// are checked, with the shapes and the singular values).
    pub fn from_svd(svd: ThinSvd, y: &[f64], ridge: f64) -> Result<Self> {
        let ThinSvd { u, s, v } = svd;
        let (n, d) = (u.nrows(), v.nrows());
        if y.len() != n {
            return Err(Error::ShapeMismatch {
                what: "labels y vs rows of U".into(),
                expected: n.to_string(),
                got: y.len().to_string(),
            });
        }
        if s.is_empty() || s.len() != u.ncols() || s.len() != v.ncols() {
            return Err(Error::ShapeMismatch {
                what: "singular values of svd against its U and V".into(),
                expected: format!("{} = {} (non-zero)", u.ncols(), v.ncols()),
                got: s.len().to_string(),
            });
        }
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(Error::invalid("ridge", ridge, "must be finite and >= 0"));
        }
        check_finite("y", y.iter().copied())?;
        check_finite("svd.s", s.iter().copied())?;
        let s_max = s[0];
        if s_max == 0.0 && ridge == 0.0 {
            return Err(Error::Singular("x is the zero matrix and ridge = 0".into()));
        }
        // Pseudo-inverse rule for λ = 0: modes below max(n, d)·ε·S_max are the null space.
        let cutoff = s_max * (n.max(d) as f64) * f64::EPSILON;
        let coef = (0..s.len())
            .map(|i| {
                let uty: f64 = (0..n).map(|r| u[(r, i)] * y[r]).sum();
                if ridge == 0.0 && s[i] <= cutoff {
                    0.0
                } else {
                    s[i] * uty / (s[i] * s[i] + ridge)
                }
            })
            .collect();
        let eta = 1.0 / (s_max * s_max + ridge);
        Ok(Student {
            s,
            v,
            coef,
            eta,
            ridge,
        })
    }

    /// Fraction g_i(t) ∈ [0, 1] of mode i learned at time t.
    pub fn gain(&self, i: usize, t: f64, dynamics: Dynamics) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let rate = self.eta * (self.s[i] * self.s[i] + self.ridge);
        match dynamics {
            // 1 − e^{−x} without cancellation for small x.
            Dynamics::GradientFlow => -(-rate * t).exp_m1(),
            Dynamics::GradientDescent => {
                let r = (1.0 - rate).abs();
                if r == 0.0 {
                    1.0
                } else {
                    -(t * r.ln()).exp_m1()
                }
            }
        }
    }

    /// Mode amplitudes a_i(t) = g_i(t) h_i, so that ŵ(t) = V a(t).
    pub fn amplitudes(&self, t: f64, dynamics: Dynamics) -> Vec<f64> {
        (0..self.s.len())
            .map(|i| self.gain(i, t, dynamics) * self.coef[i])
            .collect()
    }

    /// The student weights ŵ(t).
    pub fn weights(&self, t: f64, dynamics: Dynamics) -> Vec<f64> {
        self.weights_from_amplitudes(&self.amplitudes(t, dynamics))
    }

    /// The t → ∞ limit ŵ(∞) = (XᵀX + λI)⁺ Xᵀ y (minimum-norm when λ = 0).
    pub fn limit_weights(&self) -> Vec<f64> {
        self.weights_from_amplitudes(&self.coef)
    }

    fn weights_from_amplitudes(&self, a: &[f64]) -> Vec<f64> {
        let d = self.v.nrows();
        (0..d)
            .map(|r| (0..a.len()).map(|i| self.v[(r, i)] * a[i]).sum())
            .collect()
    }
}

/// Iterated full-batch gradient descent ŵ ← ŵ − η(Xᵀ(Xŵ − y) + λŵ) from ŵ = 0, recording ŵ after
/// each step count in `record_at` (strictly increasing; 0 records the initial point).
///
/// This is the original `gradient_descent_torch` loop; it serves as the reference for the
/// closed forms of [`Student`].
pub fn gradient_descent(
    x: MatRef<'_, f64>,
    y: &[f64],
    ridge: f64,
    eta: f64,
    record_at: &[u64],
) -> Result<Vec<Vec<f64>>> {
    let (n, d) = x.shape();
    if y.len() != n {
        return Err(Error::ShapeMismatch {
            what: "labels y vs rows of x".into(),
            expected: n.to_string(),
            got: y.len().to_string(),
        });
    }
    if !(eta.is_finite() && eta > 0.0) {
        return Err(Error::invalid(
            "eta",
            eta,
            "learning rate must be finite and > 0",
        ));
    }
    if !(ridge.is_finite() && ridge >= 0.0) {
        return Err(Error::invalid("ridge", ridge, "must be finite and >= 0"));
    }
    if record_at.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::invalid(
            "record_at",
            format!("{record_at:?}"),
            "step counts must be strictly increasing",
        ));
    }
    check_finite_mat("x", x)?;
    check_finite("y", y.iter().copied())?;
    let xtx = linalg::mul(x.transpose(), x, Par::Seq);
    let xty: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| x[(i, j)] * y[i]).sum())
        .collect();
    let mut w = vec![0.0; d];
    let mut grad = vec![0.0; d];
    let mut out = Vec::with_capacity(record_at.len());
    let mut step = 0u64;
    for &target in record_at {
        while step < target {
            for (j, g) in grad.iter_mut().enumerate() {
                let col = xtx.col(j);
                let mut acc = -xty[j] + ridge * w[j];
                for (k, wk) in w.iter().enumerate() {
                    acc += col[k] * wk;
                }
                *g = acc;
            }
            for (wj, g) in w.iter_mut().zip(&grad) {
                *wj -= eta * g;
            }
            step += 1;
        }
        if w.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!(
                "gradient descent diverged before step {step} (eta = {eta})"
            )));
        }
        out.push(w.clone());
    }
    Ok(out)
}
