//! The update rules of the training loops, interchangeable behind one [`Stepper`] trait: plain
//! gradient steps ([`Sgd`], full-batch gradient descent or minibatch SGD) and [`Adam`] with
//! coupled weight decay. The adaptive gradient flow ([`Integrator`](super::Integrator)) steps
//! any [`Objective`](super::Objective), a model's loss included
//! ([`ModelObjective`](super::ModelObjective)).

use crate::backend::Float;
use crate::error::{Error, Result};

/// One update of the parameters from the gradient of the loss at them.
pub trait Stepper<T: Float> {
    /// w ← update(w, ∇L(w)).
    fn update(&mut self, w: &mut [T], grad: &[T]);
}

/// The plain gradient step w ← w − η∇L(w), in the working precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    lr: f64,
}

impl Sgd {
    /// Steps of size η (finite, > 0).
    pub fn new(lr: f64) -> Result<Sgd> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::invalid("lr", lr, "must be finite and > 0"));
        }
        Ok(Sgd { lr })
    }

    /// The step size η.
    pub fn lr(&self) -> f64 {
        self.lr
    }
}

impl<T: Float> Stepper<T> for Sgd {
    fn update(&mut self, w: &mut [T], grad: &[T]) {
        let lr = T::of(self.lr);
        for (wi, &gi) in w.iter_mut().zip(grad) {
            *wi -= lr * gi;
        }
    }
}

/// Adam (Kingma & Ba 2015) exactly as `torch.optim.Adam`: the weight decay λ is added to the
/// gradient (g ← g + λw, coupled, not AdamW), m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
/// w ← w − lr·(m/(1 − β₁ᵗ))/(√(v/(1 − β₂ᵗ)) + ε). The moments are kept in f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    t: u64,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    /// Adam with PyTorch's defaults β = (0.9, 0.999), ε = 10⁻⁸, for `params` parameters.
    pub fn new(lr: f64, weight_decay: f64, params: usize) -> Result<Adam> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::invalid("lr", lr, "must be finite and > 0"));
        }
        if !(weight_decay.is_finite() && weight_decay >= 0.0) {
            return Err(Error::invalid(
                "weight_decay",
                weight_decay,
                "must be finite and >= 0",
            ));
        }
        crate::check::check_alloc::<f64>("Adam's moments", params, 2)?;
        Ok(Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            t: 0,
            m: vec![0.0; params],
            v: vec![0.0; params],
        })
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.t
    }
}

impl<T: Float> Stepper<T> for Adam {
    /// One update of `w` with gradient `grad` (same length as at construction).
    fn update(&mut self, w: &mut [T], grad: &[T]) {
        debug_assert_eq!(w.len(), self.m.len());
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t.min(i32::MAX as u64) as i32);
        let c2 = 1.0 - b2.powi(self.t.min(i32::MAX as u64) as i32);
        let step = self.lr / c1;
        let c2s = c2.sqrt();
        for (((wi, &gi), m), v) in w.iter_mut().zip(grad).zip(&mut self.m).zip(&mut self.v) {
            let g = gi.to_f64() + self.weight_decay * wi.to_f64();
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let update = step * *m / ((*v).sqrt() / c2s + self.eps);
            *wi = T::of(wi.to_f64() - update);
        }
    }
}
