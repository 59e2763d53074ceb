//! The training objective of the jamming / feature–lazy experiments (`mariogeiger/feature_lazy@3e50d5c`,
//! `main.py: run_regular` with `--f0 1`): a one-output [`Dense`] network with the initial outputs
//! subtracted, f̃ = f(w, x) − f(w₀, x), and the mean [`MarginLoss`] of αf̃,
//!
//! ```text
//! L(w) = (1/P) Σ_μ φ(α y_μ f̃_μ) / α.
//! ```
//!
//! Outputs seen by the integrator are f̃ (not multiplied by α).

use faer::MatRef;

use super::Objective;
use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::{Dense, MarginLoss, Workspace};

/// A network, its training set, α and the loss.
#[derive(Debug)]
pub struct MarginObjective<'a, T: Float> {
    net: &'a Dense,
    x: MatRef<'a, T>,
    y: &'a [T],
    f0: Vec<T>,
    alpha: T,
    loss: MarginLoss,
    ws: Workspace<T>,
}

impl<'a, T: Float> MarginObjective<'a, T> {
    /// The objective for inputs `x` (P × d) and labels `y` (±1), with f₀ = f(w₀, x). Checks every
    /// argument; `threads` is passed to the network's [`Workspace::parallel`].
    pub fn new(
        net: &'a Dense,
        w0: &[T],
        x: MatRef<'a, T>,
        y: &'a [T],
        alpha: f64,
        loss: MarginLoss,
        threads: usize,
    ) -> Result<Self> {
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(Error::invalid(
                "alpha",
                alpha,
                "must be positive and finite",
            ));
        }
        let loss = loss.check()?;
        net.check(w0, x)?;
        if net.output_dim() != 1 {
            return Err(Error::invalid(
                "net",
                format!("{} outputs", net.output_dim()),
                "the margin objective trains a network with one output",
            ));
        }
        if y.len() != x.nrows() {
            return Err(Error::ShapeMismatch {
                what: "labels against inputs".into(),
                expected: format!("{}", x.nrows()),
                got: format!("{}", y.len()),
            });
        }
        if let Some((i, v)) = y
            .iter()
            .enumerate()
            .find(|(_, v)| v.to_f64() != 1.0 && v.to_f64() != -1.0)
        {
            return Err(Error::invalid(
                "y",
                format!("{v} at index {i}"),
                "labels must be +1 or −1",
            ));
        }
        let mut ws = Workspace::new().parallel(threads);
        net.forward(w0, x, &mut ws)?;
        let f0 = ws.output(0).to_vec();
        Ok(MarginObjective {
            net,
            x,
            y,
            f0,
            alpha: T::of(alpha),
            loss,
            ws,
        })
    }

    /// The initial outputs f(w₀, x).
    pub fn initial_outputs(&self) -> &[T] {
        &self.f0
    }

    /// The mean loss of given outputs f̃.
    pub fn loss_of(&self, fdiff: &[T]) -> f64 {
        mean_loss(self.loss, fdiff, self.y, self.alpha)
    }
}

/// (1/P) Σ φ(α y f̃)/α, accumulated in f64.
pub(crate) fn mean_loss<T: Float>(loss: MarginLoss, fdiff: &[T], y: &[T], alpha: T) -> f64 {
    fdiff
        .iter()
        .zip(y)
        .map(|(&o, &y)| loss.value(o, y, alpha).to_f64())
        .sum::<f64>()
        / fdiff.len().max(1) as f64
}

impl<T: Float> Objective<T> for MarginObjective<'_, T> {
    fn num_params(&self) -> usize {
        self.net.num_params()
    }
    fn num_outputs(&self) -> usize {
        self.f0.len()
    }
    fn evaluate(&mut self, w: &[T], out: &mut [T], grad: &mut [T]) -> Result<f64> {
        self.net.forward(w, self.x, &mut self.ws)?;
        let (f, gout) = self.ws.output_and_gradient(0);
        let y = self.y;
        let loss =
            self.loss
                .mean_with_gradient(self.alpha, f, &self.f0, |i| y[i], Some(out), Some(gout));
        self.net.backward(w, self.x, &mut self.ws, grad);
        Ok(loss)
    }
}
