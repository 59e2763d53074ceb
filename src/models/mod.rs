//! The crate's networks, with hand-written gradients, seen by the samplers and the training
//! loops as one flat parameter vector:
//!
//! * [`Dense`]: every dense network of the five sources, one type: the tutorial's ReLU networks
//!   (infinite-width limits: the deep arc-cosine kernels), the NTK-scaled networks of the jamming /
//!   feature–lazy phase diagram with their normalised [`Activation`]s, and the plain MLPs of the
//!   LLC paper; f32 or f64, with per-sample gradients and tangent kernels.
//! * [`DeepLinearNetwork`]: f(x) = x W₁ ⋯ W_L, whose learning coefficient has Aoyagi's closed
//!   form.
//! * [`MarginNetwork`]: the phase diagram's α-trick objective of a dense network as a model, so
//!   that its LLC can be sampled.
//! * [`loss`]: the supervised losses ([`Loss`]: squared error, cross-entropy) and the margin
//!   losses with the α trick ([`MarginLoss`]).
//!
//! Losses are means over the batch (and, for squared error, over output coordinates), as in
//! `edmundlth/validating_lambdahat@375e6fa` (`dln.py`: `jnp.mean((pred − y)²)`). Data are
//! row-major batches: X is b × N, Y is b × M (faer matrices).

mod activation;
pub mod dense;
mod dln;
pub mod loss;
mod margin_network;

pub use activation::{Activation, SWISH_CONSTANT};
pub use dense::{Bias, Dense, Parameterisation, Workspace};
pub use dln::{ChainOrder, DeepLinearNetwork, TrueParam};
pub use loss::{Loss, MarginLoss, output_loss};
pub use margin_network::MarginNetwork;

use faer::{Mat, MatRef};

use crate::backend::Float;
use crate::error::{Error, Result};

/// What a sampler needs of a model.
///
/// The methods run on the samplers' hot path and do not re-check their arguments: `w` must have
/// [`Model::num_params`] entries and the batches [`Model::input_dim`] and [`Model::output_dim`]
/// columns. [`check_inputs`] checks all of that (and finiteness) once and returns a clear error;
/// the samplers and the estimator call it before their first step.
///
/// A model may run in f32 as well as f64 (`Model<f32>`, as [`DeepLinearNetwork`] and [`Dense`]
/// do); losses are returned in f64 whatever the precision. A model implements the `_in` methods,
/// which take a [`Scratch`] that it grows once and reuses, so a sampler's steps allocate nothing;
/// the plain methods call them with fresh scratch.
pub trait Model<T: Float = f64>: Sync {
    /// Length d of the flat parameter vector.
    fn num_params(&self) -> usize;
    /// Input dimension N.
    fn input_dim(&self) -> usize;
    /// Output dimension M.
    fn output_dim(&self) -> usize;
    /// Model outputs for the rows of `x` (b × M).
    fn forward(&self, w: &[T], x: MatRef<'_, T>) -> Mat<T>;
    /// Mean loss on the batch, with scratch space the model grows once and reuses.
    fn loss_in(&self, scratch: &mut Scratch<T>, w: &[T], x: MatRef<'_, T>, y: MatRef<'_, T>)
    -> f64;
    /// Mean loss on the batch, with its gradient written into `grad` (length d), with scratch
    /// space.
    fn loss_grad_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> f64;
    /// Sizes the model's buffers in `scratch` for batches of `rows` rows, so that a memory
    /// budget error comes out here rather than as a NaN loss on the hot path.
    fn prepare(&self, scratch: &mut Scratch<T>, rows: usize) -> Result<()> {
        let _ = (scratch, rows);
        Ok(())
    }
    /// [`Model::loss_in`] with fresh scratch (allocates).
    fn loss(&self, w: &[T], x: MatRef<'_, T>, y: MatRef<'_, T>) -> f64 {
        self.loss_in(&mut Scratch::new(), w, x, y)
    }
    /// [`Model::loss_grad_in`] with fresh scratch (allocates).
    fn loss_grad(&self, w: &[T], x: MatRef<'_, T>, y: MatRef<'_, T>, grad: &mut [T]) -> f64 {
        self.loss_grad_in(&mut Scratch::new(), w, x, y, grad)
    }
}

/// Reusable scratch memory for [`Model::loss_in`] and [`Model::loss_grad_in`]: one buffer that a
/// model carves into its intermediates, grown on first use and then kept.
pub struct Scratch<T> {
    buf: Vec<T>,
    /// A model's own buffers (a network's [`Workspace`]), made on first use.
    state: Option<Box<dyn std::any::Any + Send>>,
    /// Threads a model may use inside one call (1: the calling thread).
    threads: usize,
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch {
            buf: Vec::new(),
            state: None,
            threads: 1,
        }
    }
}

/// A clone starts empty, with the same thread count: scratch contents are never read before they
/// are written.
impl<T> Clone for Scratch<T> {
    fn clone(&self) -> Self {
        Scratch {
            threads: self.threads,
            ..Scratch::default()
        }
    }
}

impl<T> std::fmt::Debug for Scratch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("len", &self.buf.len())
            .field("state", &self.state.is_some())
            .finish()
    }
}

impl<T: Float> Scratch<T> {
    /// Empty scratch (it grows on first use) for calls on the calling thread.
    pub fn new() -> Self {
        Scratch::default()
    }

    /// Empty scratch whose model may run each call on `threads` rayon threads (1: the calling
    /// thread, the right choice when many chains or runs go in parallel; 0: all of rayon's).
    pub fn parallel(threads: usize) -> Self {
        Scratch {
            threads,
            ..Scratch::default()
        }
    }

    /// The model's buffers of type `S`, made by `make(threads)` on first use and kept (replaced
    /// if a model of another type used this scratch before).
    pub(crate) fn state<S: std::any::Any + Send>(
        &mut self,
        make: impl FnOnce(usize) -> S,
    ) -> &mut S {
        if !self.state.as_ref().is_some_and(|s| s.is::<S>()) {
            self.state = Some(Box::new(make(self.threads)));
        }
        self.state
            .as_mut()
            .and_then(|s| s.downcast_mut::<S>())
            .expect("the state was just made with this type")
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
    crate::check::check_bytes(
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
    check_params(model.num_params(), w)?;
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
    crate::check::check_finite_mat("x", x)?;
    crate::check::check_finite_mat("y", y)
}

/// Checks a parameter vector: `num_params` entries, no NaN or ∞.
pub(crate) fn check_params<T: Float>(num_params: usize, w: &[T]) -> Result<()> {
    if w.len() != num_params {
        return Err(Error::ShapeMismatch {
            what: "parameter vector against the model".into(),
            expected: format!("{num_params} parameters"),
            got: format!("{}", w.len()),
        });
    }
    crate::check::check_finite("w", w.iter().map(|v| v.to_f64()))
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
    full_loss_in(model, &mut FullLossScratch::default(), w, x, y)
}

/// Scratch of [`full_loss_in`]: one for the 1024-row blocks, one for the last, shorter block, so
/// that neither is resized from one evaluation to the next.
#[derive(Debug)]
pub(crate) struct FullLossScratch<T> {
    blocks: Scratch<T>,
    tail: Scratch<T>,
}

impl<T> Default for FullLossScratch<T> {
    fn default() -> Self {
        FullLossScratch {
            blocks: Scratch::default(),
            tail: Scratch::default(),
        }
    }
}

/// [`full_loss_unchecked`] with reused scratch (a chain that records the full-data loss at every
/// step allocates nothing): the same blocks, in the same order.
pub(crate) fn full_loss_in<T: Float, M: Model<T> + ?Sized>(
    model: &M,
    scratch: &mut FullLossScratch<T>,
    w: &[T],
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
) -> f64 {
    let n = x.nrows();
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let len = (n - start).min(1024);
        let s = if len == 1024 {
            &mut scratch.blocks
        } else {
            &mut scratch.tail
        };
        total += model.loss_in(s, w, x.subrows(start, len), y.subrows(start, len)) * len as f64;
        start += len;
    }
    total / n as f64
}
