//! The localised tempered potential U(w) = nβ·L(w) + (γ/2)‖w − w*‖² and the Metropolis–Hastings
//! acceptance of a Langevin move under it (Lau et al., arXiv 2308.12108, appendix on MALA;
//! `validating_lambdahat/sgld_utils.py`, function `mala_acceptance_probability`).

use faer::MatRef;

use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::{Model, Scratch};

/// The localised tempered potential U(w) = nβ·L_B(w) + (γ/2)‖w − w*‖².
pub(crate) struct Local<'a, T: Float = f64> {
    pub(crate) w_star: &'a [T],
    pub(crate) nbeta: f64,
    pub(crate) gamma: f64,
}

impl<T: Float> Local<'_, T> {
    /// U(w) and ∇U (into `grad`) on the batch (x, y); also returns L_B(w).
    pub(crate) fn potential<M: Model<T> + ?Sized>(
        &self,
        model: &M,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> (f64, f64) {
        let loss = model.loss_grad_in(scratch, w, x, y, grad);
        (self.with_data_gradient(w, loss, grad), loss)
    }

    /// Turns the data gradient in `grad` into ∇U = nβ∇L_B + γ(w − w*) and returns U for the
    /// batch loss `loss`.
    pub(crate) fn with_data_gradient(&self, w: &[T], loss: f64, grad: &mut [T]) -> f64 {
        let mut local = 0.0;
        for ((g, wi), ws) in grad.iter_mut().zip(w).zip(self.w_star) {
            let dw = wi.to_f64() - ws.to_f64();
            *g = T::of(self.nbeta * g.to_f64() + self.gamma * dw);
            local += dw * dw;
        }
        self.nbeta * loss + 0.5 * self.gamma * local
    }
}

/// The MALA acceptance probability of the move w → w′ under potential U with step ε:
/// min(1, exp(log q(w | w′) − log q(w′ | w) + U(w) − U(w′))), q(b | a) = N(b; a − (ε/2)∇U(a), εI),
/// accumulated in f64 whatever the precision of the parameters.
pub fn mala_acceptance<T: Float>(
    w: &[T],
    w_new: &[T],
    u: f64,
    u_new: f64,
    grad: &[T],
    grad_new: &[T],
    epsilon: f64,
) -> Result<f64> {
    let n = w.len();
    if w_new.len() != n || grad.len() != n || grad_new.len() != n {
        return Err(Error::ShapeMismatch {
            what: "lengths of w_new, grad and grad_new against w".into(),
            expected: n.to_string(),
            got: format!("{}, {} and {}", w_new.len(), grad.len(), grad_new.len()),
        });
    }
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(Error::invalid("epsilon", epsilon, "must be finite and > 0"));
    }
    let mut back = 0.0; // ‖w − w′ + (ε/2)∇U(w′)‖²
    let mut fwd = 0.0; // ‖w′ − w + (ε/2)∇U(w)‖²
    for i in 0..w.len() {
        let (wi, wn) = (w[i].to_f64(), w_new[i].to_f64());
        let b = wi - wn + 0.5 * epsilon * grad_new[i].to_f64();
        let f = wn - wi + 0.5 * epsilon * grad[i].to_f64();
        back += b * b;
        fwd += f * f;
    }
    let log_ratio = (fwd - back) / (2.0 * epsilon) + u - u_new;
    // A NaN ratio (a non-finite potential or gradient) rejects the move.
    Ok(if log_ratio.is_nan() {
        0.0
    } else {
        log_ratio.min(0.0).exp()
    })
}
