//! The LLC along a training run: plain minibatch SGD, with λ̂ estimated at chosen checkpoints
//! (Lau et al., arXiv 2308.12108: the saddle-to-saddle dynamics of deep linear networks, after
//! Jacot et al. 2021, in `validating_lambdahat/dln_saddle_dynamics.ipynb`; and the LLC of an MNIST
//! network over training, after Chen et al. 2023).
//!
//! SGD takes w ← w − η∇L_B(w) on batches drawn as [`Minibatches`] does. At each checkpoint (after
//! k updates) the full-data loss is recorded and λ̂(w_k) is estimated by SGLD, either on the
//! training data or on the network's own outputs y = f(x; w_k), which makes w_k an exact global
//! minimiser so that λ̂ measures the complexity of the function learnt so far.

use faer::MatRef;

use super::llc::{LlcConfig, LlcSummary, estimate_llc};
use super::posterior::{LocalPosterior, Localisation, Rows};
use crate::backend::Device;
use crate::data::Minibatches;
use crate::error::{Error, Result};
use crate::models::{Model, Scratch, check_inputs};
use crate::random::Rng;
use crate::training::{Sgd, Stepper};

/// Plain minibatch SGD.
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate η.
    pub learning_rate: f64,
    /// Batch size b.
    pub batch_size: usize,
    /// Number of updates.
    pub steps: usize,
}

/// Which targets λ̂ is estimated on at a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlcTarget {
    /// The training data (x, y).
    TrainingData,
    /// The network's own outputs y = f(x; w_k) (the saddle-to-saddle notebook's re-targeting).
    OwnOutputs,
}

/// The seed of the SGLD chains at a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointSeed {
    /// `llc.sgld.seed` at every checkpoint.
    Fixed,
    /// `llc.sgld.seed` XOR (k − 1), the index of the last SGD step taken before the checkpoint.
    XorLastStep,
}

/// λ̂ along a run: where, how and on what.
#[derive(Clone, Debug)]
pub struct LlcCheckpoints {
    /// Numbers of updates after which to measure (ascending, at most `steps`; 0 is the start).
    pub after: Vec<usize>,
    /// The estimator's settings.
    pub llc: LlcConfig,
    /// γ and nβ of the posterior at every checkpoint.
    pub localisation: Localisation,
    /// The targets of the estimate.
    pub target: LlcTarget,
    /// The chains' seed at each checkpoint.
    pub seed: CheckpointSeed,
}

/// One checkpoint of the run.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// Updates taken so far.
    pub updates: usize,
    /// Full training loss L_n(w_k).
    pub loss: f64,
    /// The LLC estimate at w_k.
    pub llc: LlcSummary,
}

/// Trains `w` in place by SGD on (x, y), drawing batches from `rng`, and estimates λ̂ at every
/// checkpoint on `device`. `on_checkpoint` sees each checkpoint with the parameters there (for
/// diagnostics such as ranks or test errors, and progress bars). Errors with
/// [`Error::Diverged`] when the training loss stops being finite.
#[allow(clippy::too_many_arguments)]
pub fn llc_over_training<M: Model + ?Sized>(
    model: &M,
    w: &mut [f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    sgd: &SgdConfig,
    checkpoints: &LlcCheckpoints,
    rng: &mut Rng,
    device: &Device,
    on_checkpoint: &mut dyn FnMut(&Checkpoint, &[f64]) -> Result<()>,
) -> Result<Vec<Checkpoint>> {
    check_inputs(model, w, x, y)?;
    if !(sgd.learning_rate.is_finite() && sgd.learning_rate > 0.0) {
        return Err(Error::invalid(
            "learning_rate",
            sgd.learning_rate,
            "must be finite and > 0",
        ));
    }
    let after = &checkpoints.after;
    if let Some(i) = (1..after.len()).find(|&i| after[i] <= after[i - 1]) {
        return Err(Error::invalid(
            "after",
            format!("{} then {}", after[i - 1], after[i]),
            "checkpoints must be strictly ascending",
        ));
    }
    if let Some(&last) = after.last()
        && last > sgd.steps
    {
        return Err(Error::invalid(
            "after",
            last,
            format!("checkpoints must not pass the {} steps", sgd.steps),
        ));
    }
    let mut batches = Minibatches::new(x.nrows(), sgd.batch_size, true)?;
    let mut grad = vec![0.0; w.len()];
    let mut stepper = Sgd::new(sgd.learning_rate)?;
    let rows = Rows::new(x, y);
    let b = sgd.batch_size;
    let (mut xb, mut yb) = (vec![0.0; b * x.ncols()], vec![0.0; b * y.ncols()]);
    let mut scratch = Scratch::new();
    model.prepare(&mut scratch, b)?;
    let mut out = Vec::with_capacity(after.len());
    let mut next = 0;
    for k in 0..=sgd.steps {
        if next < after.len() && after[next] == k {
            let loss = crate::models::full_loss_unchecked(model, w, x, y);
            if !loss.is_finite() {
                return Err(Error::Diverged {
                    process: "SGD run",
                    index: 0,
                    step: k,
                    loss,
                });
            }
            let mut cfg = checkpoints.llc.clone();
            if checkpoints.seed == CheckpointSeed::XorLastStep {
                cfg.sampler.seed ^= k.saturating_sub(1) as u64;
            }
            let post = LocalPosterior::new(model, w, x, y)?.localise(checkpoints.localisation)?;
            let llc = match checkpoints.target {
                LlcTarget::TrainingData => estimate_llc(&post, &cfg, device)?,
                LlcTarget::OwnOutputs => {
                    let y_k = model.forward(w, x);
                    estimate_llc(&post.with_targets(y_k.as_ref())?, &cfg, device)?
                }
            };
            let c = Checkpoint {
                updates: k,
                loss,
                llc,
            };
            on_checkpoint(&c, w)?;
            out.push(c);
            next += 1;
        }
        if k == sgd.steps {
            break;
        }
        rows.gather(batches.next_batch(rng), &mut xb, &mut yb);
        let (xk, yk) = rows.batch(&xb, &yb);
        model.loss_grad_in(&mut scratch, w, xk, yk, &mut grad);
        stepper.update(w, &grad);
    }
    Ok(out)
}
