//! Small dense models with hand-written gradients, seen by the samplers as one flat parameter
//! vector: [`DeepLinearNetwork`] (f(x) = x W₁ ⋯ W_L) and [`Mlp`] (ReLU hidden layers with
//! biases). Losses are means over the batch (and, for squared error, over output coordinates),
//! as in `validating_lambdahat` (`dln.py`: `jnp.mean((pred − y)²)`; llc spec §1.1).
//!
//! Data are row-major batches: X is b × N, Y is b × M (faer matrices).

mod dln;
mod mlp;

pub use dln::{DeepLinearNetwork, TrueParam};
pub use mlp::{Loss, Mlp};

use faer::{Mat, MatRef};

use crate::error::{Error, Result};

/// What a sampler needs of a model.
pub trait Model: Sync {
    /// Length d of the flat parameter vector.
    fn num_params(&self) -> usize;
    /// Input dimension N.
    fn input_dim(&self) -> usize;
    /// Output dimension M.
    fn output_dim(&self) -> usize;
    /// Model outputs for the rows of `x` (b × M).
    fn forward(&self, w: &[f64], x: MatRef<'_, f64>) -> Mat<f64>;
    /// Mean loss on the batch.
    fn loss(&self, w: &[f64], x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64;
    /// Mean loss on the batch, with its gradient written into `grad` (length d).
    fn loss_grad(&self, w: &[f64], x: MatRef<'_, f64>, y: MatRef<'_, f64>, grad: &mut [f64])
    -> f64;
}

/// Checks a parameter vector and a data set against a model.
pub(crate) fn check_model_data<M: Model + ?Sized>(
    model: &M,
    w: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
) -> Result<()> {
    if w.len() != model.num_params() {
        return Err(Error::ShapeMismatch {
            what: "parameter vector against the model".into(),
            expected: format!("{} parameters", model.num_params()),
            got: format!("{}", w.len()),
        });
    }
    crate::error::check_finite("w", w.iter().copied())?;
    if x.nrows() == 0 {
        return Err(Error::invalid("x", "0 rows", "need at least one sample"));
    }
    if x.ncols() != model.input_dim() || y.ncols() != model.output_dim() || y.nrows() != x.nrows() {
        return Err(Error::ShapeMismatch {
            what: "data against the model's input and output dimensions".into(),
            expected: format!("x: n×{}, y: n×{}", model.input_dim(), model.output_dim()),
            got: format!(
                "x: {}×{}, y: {}×{}",
                x.nrows(),
                x.ncols(),
                y.nrows(),
                y.ncols()
            ),
        });
    }
    crate::error::check_finite_mat("x", x)?;
    crate::error::check_finite_mat("y", y)
}

/// The full-data mean loss, evaluated in batches of 1024 rows (as the original's
/// `batched_loss_fn`) and weighted by batch size.
pub fn full_loss<M: Model + ?Sized>(
    model: &M,
    w: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
) -> f64 {
    let n = x.nrows();
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let len = (n - start).min(1024);
        total += model.loss(w, x.subrows(start, len), y.subrows(start, len)) * len as f64;
        start += len;
    }
    total / n as f64
}
