//! Losses of binary classification with the α trick of Geiger, Petrini & Wyart (arXiv 2012.15110;
//! `mariogeiger/feature_lazy@3e50d5c`, `main.py: loss_func`).
//!
//! The trained function is F = α·f̃ with f̃ = f(w, x) − f(w₀, x), so F is exactly 0 at
//! initialisation for every α. With the margin m = yF, each loss is φ(m)/α:
//!
//! | loss | φ(m) |
//! |---|---|
//! | soft hinge (β) | softplus_β(1 − m) = log(1 + e^{β(1−m)})/β |
//! | hinge | (1 − m)₊ |
//! | quadratic hinge | ½(1 − m)₊² |
//! | MSE | ½(F − y)² (= ½(1 − m)² for y = ±1) |
//!
//! The derivative with respect to f̃ is y·φ′(m) (the α of F and the 1/α of the loss cancel), or
//! F − y for MSE.

use serde::{Deserialize, Serialize};

use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::activation::{sigmoid, softplus};

/// A per-sample loss of the scaled output F = α f̃ against a label y ∈ {−1, +1}.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MarginLoss {
    /// softplus_β(1 − yF)/α (the original's default `softhinge`, β = 20).
    SoftHinge {
        /// Sharpness β > 0.
        beta: f64,
    },
    /// (1 − yF)₊/α.
    Hinge,
    /// ½(1 − yF)₊²/α.
    QuadraticHinge,
    /// ½(F − y)²/α.
    Mse,
}

impl MarginLoss {
    /// The original's default: the soft hinge with β = 20.
    pub const ORIGINAL: MarginLoss = MarginLoss::SoftHinge { beta: 20.0 };

    /// Checks the parameter: β must be positive and finite.
    pub fn check(self) -> Result<Self> {
        match self {
            MarginLoss::SoftHinge { beta } if !(beta > 0.0 && beta.is_finite()) => Err(
                Error::invalid("loss beta", beta, "must be positive and finite"),
            ),
            _ => Ok(self),
        }
    }

    /// φ evaluated at the scaled output `big_f` = αf̃ with label `y`, i.e. α × the loss.
    #[inline(always)]
    pub fn scaled_value<T: Float>(self, big_f: T, y: T) -> T {
        let m = y * big_f;
        let one = T::ONE;
        match self {
            MarginLoss::SoftHinge { beta } => softplus(one - m, T::of(beta)),
            MarginLoss::Hinge => (one - m).max(T::ZERO),
            MarginLoss::QuadraticHinge => {
                let r = (one - m).max(T::ZERO);
                T::of(0.5) * r * r
            }
            MarginLoss::Mse => {
                let r = big_f - y;
                T::of(0.5) * r * r
            }
        }
    }

    /// The loss φ(yαf̃)/α of one sample.
    #[inline(always)]
    pub fn value<T: Float>(self, fdiff: T, y: T, alpha: T) -> T {
        self.scaled_value(alpha * fdiff, y) / alpha
    }

    /// d/df̃ of the loss of one sample.
    #[inline(always)]
    pub fn derivative<T: Float>(self, fdiff: T, y: T, alpha: T) -> T {
        let big_f = alpha * fdiff;
        let m = y * big_f;
        let one = T::ONE;
        match self {
            MarginLoss::SoftHinge { beta } => -y * sigmoid(T::of(beta) * (one - m)),
            MarginLoss::Hinge => {
                if m < one {
                    -y
                } else {
                    T::ZERO
                }
            }
            MarginLoss::QuadraticHinge => -y * (one - m).max(T::ZERO),
            MarginLoss::Mse => big_f - y,
        }
    }

    /// The mean loss (1/n) Σᵢ φ(α yᵢ f̃ᵢ)/α of the outputs f̃ᵢ = fᵢ − f0ᵢ, summed in f64 in row
    /// order; f̃ goes into `fdiff` and d(mean loss)/dfᵢ = φ′/n into `grad` when they are given.
    /// The one loop of the α-trick objective, for training
    /// ([`MarginObjective`](crate::training::MarginObjective)) and sampling
    /// ([`MarginNetwork`](crate::models::MarginNetwork)).
    pub fn mean_with_gradient<T: Float>(
        self,
        alpha: T,
        f: &[T],
        f0: &[T],
        y: impl Fn(usize) -> T,
        mut fdiff: Option<&mut [T]>,
        mut grad: Option<&mut [T]>,
    ) -> f64 {
        let n = f.len();
        let inv_n = T::ONE / T::of(n as f64);
        let mut total = 0.0;
        for i in 0..n {
            let o = f[i] - f0[i];
            let yi = y(i);
            if let Some(d) = fdiff.as_deref_mut() {
                d[i] = o;
            }
            total += self.value(o, yi, alpha).to_f64();
            if let Some(g) = grad.as_deref_mut() {
                g[i] = self.derivative(o, yi, alpha) * inv_n;
            }
        }
        total / n as f64
    }
}
