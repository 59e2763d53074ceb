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
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::random::Rng;

/// What a sampler needs of a model.
///
/// The methods run on the samplers' hot path and do not re-check their arguments: `w` must have
/// [`Model::num_params`] entries and the batches [`Model::input_dim`] and [`Model::output_dim`]
/// columns. [`check_inputs`] checks all of that (and finiteness) once and returns a clear error;
/// the samplers and the estimator call it before their first step.
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
    let mut offsets = vec![0];
    for k in 0..sizes.len() - 1 {
        offsets.push(offsets[k] + per_layer(sizes[k], sizes[k + 1]));
    }
    Ok((sizes, offsets))
}

/// Checks a parameter vector and a data set against a model: lengths, shapes, no NaN or ∞.
pub fn check_inputs<M: Model + ?Sized>(
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

/// Minibatches of size b over n samples as the original code draws them (`create_minibatches`,
/// llc spec §1.2): a fresh permutation at the start of every epoch (or the samples in order when
/// not shuffling), consecutive slices of b, the last partial batch dropped.
#[derive(Clone, Debug)]
pub struct Minibatches {
    order: Vec<usize>,
    batch: usize,
    slot: usize,
    shuffle: bool,
}

impl Minibatches {
    /// Batches of `batch` (1 ≤ batch ≤ n) over `n` samples.
    pub fn new(n: usize, batch: usize, shuffle: bool) -> Result<Self> {
        if batch == 0 || batch > n {
            return Err(Error::invalid(
                "batch_size",
                batch,
                format!("must lie in 1..={n} (the number of samples)"),
            ));
        }
        Ok(Minibatches {
            order: (0..n).collect(),
            batch,
            slot: 0,
            shuffle,
        })
    }

    /// The indices of the next batch, reshuffling with `rng` at each epoch start.
    pub fn next_batch(&mut self, rng: &mut Rng) -> &[usize] {
        let per_epoch = self.order.len() / self.batch;
        if self.slot == per_epoch {
            self.slot = 0;
        }
        if self.slot == 0 && self.shuffle {
            self.order.shuffle(rng);
        }
        let s = self.slot * self.batch;
        self.slot += 1;
        &self.order[s..s + self.batch]
    }
}

/// Rows `idx` of `a`.
pub fn gather_rows(a: MatRef<'_, f64>, idx: &[usize]) -> Mat<f64> {
    Mat::from_fn(idx.len(), a.ncols(), |i, j| a[(idx[i], j)])
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
