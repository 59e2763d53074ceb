//! The phase diagram's training objective as a [`Model`]: a one-output [`Dense`] network with its
//! initial function subtracted and the α trick (Geiger, Petrini & Wyart, arXiv 2012.15110;
//! `mariogeiger/feature_lazy@3e50d5c`, `main.py: loss_func` with `--f0 1`),
//!
//! ```text
//! L(w; x, y) = (1/n) Σᵢ φ(α yᵢ (f(w, xᵢ) − f(w₀, xᵢ))) / α,   yᵢ = ±1,
//! ```
//!
//! so that the samplers and the LLC estimator see the loss the network was trained on. The
//! initial outputs f(w₀, x) are recomputed for each batch (one more forward pass), since a
//! minibatch carries its rows, not their indices.

use faer::{Mat, MatRef};

use super::dense::Workspace;
use super::{Dense, MarginLoss, Model, Scratch};
use crate::backend::Float;
use crate::error::{Error, Result};

/// A one-output network, its initialisation w₀, α and a margin loss.
#[derive(Clone, Debug)]
pub struct MarginNetwork<T: Float> {
    net: Dense,
    w0: Vec<T>,
    alpha: f64,
    loss: MarginLoss,
}

/// The two workspaces of a [`MarginNetwork`] evaluation (at w and at w₀).
struct Buffers<T: Float> {
    w: Workspace<T>,
    w0: Workspace<T>,
}

impl<T: Float> MarginNetwork<T> {
    /// The objective of `net` (one output) around its initialisation `w0`; α > 0 finite.
    pub fn new(net: Dense, w0: Vec<T>, alpha: f64, loss: MarginLoss) -> Result<Self> {
        if net.output_dim() != 1 {
            return Err(Error::invalid(
                "net",
                format!("{} outputs", net.output_dim()),
                "the margin objective needs one output",
            ));
        }
        if w0.len() != net.num_params() {
            return Err(Error::ShapeMismatch {
                what: "w0 against the network".into(),
                expected: format!("{} parameters", net.num_params()),
                got: w0.len().to_string(),
            });
        }
        crate::check::check_finite("w0", w0.iter().map(|v| v.to_f64()))?;
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(Error::invalid(
                "alpha",
                alpha,
                "must be positive and finite",
            ));
        }
        Ok(MarginNetwork {
            net,
            w0,
            alpha,
            loss: loss.check()?,
        })
    }

    /// The network.
    pub fn net(&self) -> &Dense {
        &self.net
    }

    /// f(w) − f(w₀) on the batch into `b.w`'s outputs, and the mean loss; ∂L/∂f into the output
    /// gradient when `grad` is asked for.
    fn evaluate(
        &self,
        b: &mut Buffers<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: bool,
    ) -> Result<f64> {
        self.net.forward(&self.w0, x, &mut b.w0)?;
        self.net.forward(w, x, &mut b.w)?;
        let (f, g) = b.w.output_and_gradient(0);
        Ok(self.loss.mean_with_gradient(
            T::of(self.alpha),
            f,
            b.w0.output(0),
            |i| y[(i, 0)],
            None,
            grad.then_some(g),
        ))
    }
}

fn buffers<T: Float>(scratch: &mut Scratch<T>) -> &mut Buffers<T> {
    scratch.state(|threads| Buffers {
        w: Workspace::new().parallel(threads),
        w0: Workspace::new().parallel(threads),
    })
}

/// The objective in f32 or f64; labels are the targets' single column (±1).
impl<T: Float> Model<T> for MarginNetwork<T> {
    fn num_params(&self) -> usize {
        self.net.num_params()
    }
    fn input_dim(&self) -> usize {
        self.net.input_dim()
    }
    fn output_dim(&self) -> usize {
        1
    }
    /// f(w, x) − f(w₀, x).
    fn forward(&self, w: &[T], x: MatRef<'_, T>) -> Mat<T> {
        let mut b = Buffers {
            w: Workspace::new(),
            w0: Workspace::new(),
        };
        let ok = self.net.forward(&self.w0, x, &mut b.w0).is_ok()
            && self.net.forward(w, x, &mut b.w).is_ok();
        Mat::from_fn(x.nrows(), 1, |i, _| {
            if ok {
                b.w.output(0)[i] - b.w0.output(0)[i]
            } else {
                T::of(f64::NAN)
            }
        })
    }
    fn prepare(&self, scratch: &mut Scratch<T>, rows: usize) -> Result<()> {
        let b = buffers(scratch);
        b.w.ensure(&self.net, rows)?;
        b.w0.ensure(&self.net, rows)
    }
    fn loss_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> f64 {
        self.evaluate(buffers(scratch), w, x, y, false)
            .unwrap_or(f64::NAN)
    }
    fn loss_grad_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> f64 {
        let b = buffers(scratch);
        match self.evaluate(b, w, x, y, true) {
            Ok(v) => {
                self.net.backward(w, x, &mut b.w, grad);
                v
            }
            Err(_) => f64::NAN,
        }
    }
}
