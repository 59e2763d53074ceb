//! Small dense models with hand-written gradients, seen by the samplers as one flat parameter
//! vector: [`DeepLinearNetwork`] (f(x) = x W₁ ⋯ W_L), [`Mlp`] (ReLU hidden layers with
//! biases) and [`FullyConnected`] (the NTK-scaled networks of the jamming / feature–lazy phase
//! diagram, f32 or f64, with their [`Activation`]s, [`MarginLoss`]es and tangent kernels) and
//! [`ReluNetwork`] (the tutorial's NTK-parametrised ReLU networks with several outputs, whose
//! infinite-width limits are the deep arc-cosine kernels). Losses are means over the batch (and, for squared error, over output coordinates),
//! as in `edmundlth/validating_lambdahat@375e6fa` (`dln.py`: `jnp.mean((pred − y)²)`).
//!
//! Data are row-major batches: X is b × N, Y is b × M (faer matrices).

mod activation;
mod dln;
mod fully_connected;
mod margin_loss;
mod mlp;
mod relu_network;

pub use activation::{Activation, SWISH_CONSTANT};
pub use dln::{ChainOrder, DeepLinearNetwork, TrueParam};
pub use fully_connected::{FullyConnected, Workspace};
pub use margin_loss::MarginLoss;
pub use mlp::{Loss, Mlp};
pub use relu_network::{OutputLoss, ReluNetwork, ReluWorkspace};

use faer::{Mat, MatRef};

use crate::backend::Float;
use crate::data::gather_rows;
use crate::error::{Error, Result};

/// What a sampler needs of a model.
///
/// The methods run on the samplers' hot path and do not re-check their arguments: `w` must have
/// [`Model::num_params`] entries and the batches [`Model::input_dim`] and [`Model::output_dim`]
/// columns. [`check_inputs`] checks all of that (and finiteness) once and returns a clear error;
/// the samplers and the estimator call it before their first step.
///
/// A model may run in f32 as well as f64 (`Model<f32>`, as [`DeepLinearNetwork`] does); losses
/// are returned in f64 whatever the precision. The `_in` methods take a [`Scratch`] that the
/// model grows once and reuses, so a sampler's steps allocate nothing; by default they call the
/// allocating methods.
pub trait Model<T: Float = f64>: Sync {
    /// Length d of the flat parameter vector.
    fn num_params(&self) -> usize;
    /// Input dimension N.
    fn input_dim(&self) -> usize;
    /// Output dimension M.
    fn output_dim(&self) -> usize;
    /// Model outputs for the rows of `x` (b × M).
    fn forward(&self, w: &[T], x: MatRef<'_, T>) -> Mat<T>;
    /// Mean loss on the batch.
    fn loss(&self, w: &[T], x: MatRef<'_, T>, y: MatRef<'_, T>) -> f64;
    /// Mean loss on the batch, with its gradient written into `grad` (length d).
    fn loss_grad(&self, w: &[T], x: MatRef<'_, T>, y: MatRef<'_, T>, grad: &mut [T]) -> f64;
    /// [`Model::loss`] with scratch space.
    fn loss_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> f64 {
        let _ = scratch;
        self.loss(w, x, y)
    }
    /// [`Model::loss_grad`] with scratch space.
    fn loss_grad_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> f64 {
        let _ = scratch;
        self.loss_grad(w, x, y, grad)
    }
}

/// Reusable scratch memory for [`Model::loss_in`] and [`Model::loss_grad_in`]: one buffer that a
/// model carves into its intermediates, grown on first use and then kept.
#[derive(Clone, Debug, Default)]
pub struct Scratch<T> {
    buf: Vec<T>,
}

impl<T: Float> Scratch<T> {
    /// Empty scratch (it grows on first use).
    pub fn new() -> Self {
        Scratch { buf: Vec::new() }
    }

    /// `len` values (contents unspecified), growing the buffer when it is shorter.
    pub(crate) fn take(&mut self, len: usize) -> &mut [T] {
        if self.buf.len() < len {
            self.buf.resize(len, T::ZERO);
        }
        &mut self.buf[..len]
    }
}

/// Layer sizes [N, hidden…, M] and the offset of each layer's parameters in the flat vector, with
/// `per_layer(h_in, h_out)` parameters per layer; errors on a zero size.
pub(crate) fn layer_layout(
    input_dim: usize,
    hidden: &[usize],
    output_dim: usize,
    per_layer: impl Fn(usize, usize) -> usize,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut sizes = vec![input_dim];
    sizes.extend_from_slice(hidden);
    sizes.push(output_dim);
    if sizes.contains(&0) {
        return Err(Error::invalid(
            "layer sizes",
            format!("{sizes:?}"),
            "every size must be positive",
        ));
    }
    // Parameter counts in u128 (no wrap), checked against memory before anything is sized by
    // them: a layer of 1e10 × 1e10 is an error, not an abort.
    let mut total: u128 = 0;
    for k in 0..sizes.len() - 1 {
        let (a, b) = (sizes[k] as u128, sizes[k + 1] as u128);
        total += a * b + b;
    }
    crate::error::check_bytes(
        format!("network parameters of layer sizes {sizes:?}"),
        total * 8,
    )?;
    let mut offsets = vec![0];
    for k in 0..sizes.len() - 1 {
        offsets.push(offsets[k] + per_layer(sizes[k], sizes[k + 1]));
    }
    Ok((sizes, offsets))
}

/// Checks a parameter vector and a data set against a model: lengths, shapes, no NaN or ∞.
pub fn check_inputs<T: Float, M: Model<T> + ?Sized>(
    model: &M,
    w: &[T],
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
) -> Result<()> {
    if w.len() != model.num_params() {
        return Err(Error::ShapeMismatch {
            what: "parameter vector against the model".into(),
            expected: format!("{} parameters", model.num_params()),
            got: format!("{}", w.len()),
        });
    }
    crate::error::check_finite("w", w.iter().map(|v| v.to_f64()))?;
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
/// `batched_loss_fn`) and weighted by batch size. Checks the parameters and data
/// ([`check_inputs`]: lengths, shapes, no NaN or ∞, at least one row) and fails with
/// [`Error::Numerical`] when the loss overflows.
pub fn full_loss<T: Float, M: Model<T> + ?Sized>(
    model: &M,
    w: &[T],
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
) -> Result<f64> {
    check_inputs(model, w, x, y)?;
    if x.nrows() == 0 {
        return Err(Error::invalid(
            "x",
            "0 rows",
            "the full-data loss needs at least one row",
        ));
    }
    let loss = full_loss_unchecked(model, w, x, y);
    if !loss.is_finite() {
        return Err(Error::Numerical(format!(
            "the full-data loss is {loss} at these parameters (it overflows)"
        )));
    }
    Ok(loss)
}

/// [`full_loss`] without the checks, for callers that checked the inputs once and name a
/// non-finite loss themselves (a diverged chain or run); NaN on no rows.
pub(crate) fn full_loss_unchecked<T: Float, M: Model<T> + ?Sized>(
    model: &M,
    w: &[T],
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
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

/// One plain SGD step w ← w − lr·∇L_B(w) on the batch `idx` of (x, y); returns L_B(w) before the
/// step. `grad` is scratch of length d.
pub fn sgd_step<M: Model + ?Sized>(
    model: &M,
    w: &mut [f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    idx: &[usize],
    lr: f64,
    grad: &mut [f64],
) -> f64 {
    let (xb, yb) = (gather_rows(x, idx), gather_rows(y, idx));
    let loss = model.loss_grad(w, xb.as_ref(), yb.as_ref(), grad);
    for (wi, g) in w.iter_mut().zip(grad.iter()) {
        *wi -= lr * g;
    }
    loss
}
