//! Langevin sampling of the localised, tempered posterior
//! p(w) ∝ exp(−nβ L_n(w) − (γ/2)‖w − w*‖²) around a parameter w*, and the local learning
//! coefficient it estimates (Lau, Furman, Wang, Murfet, Wei, arXiv 2308.12108; repository
//! `validating_lambdahat`, file `sgld_utils.py`).
//!
//! * [`posterior`]: the [`LocalPosterior`] (model, w*, data, γ, nβ) every sampler draws from,
//!   and the [`Sampler`] interface that SGLD, MALA and SGNHT implement.
//! * [`sgld`]: SGLD exactly as the paper, w ← w − (ε/2)[nβ ∇L_B(w) + γ(w − w*)] + N(0, εI),
//!   minibatches from a fresh permutation each epoch with the last partial batch dropped, and the
//!   minibatch loss recorded after each update on the same batch (the version that produced the
//!   paper's runs). An optional diagonal preconditioner p gives Δ = −(εp/2)g + N(0, εp).
//! * [`update`]: the fused SGLD step of many chains at once, on the CPU or in one CUDA launch.
//! * [`potential`]: the localised potential and the Metropolis–Hastings acceptance of a Langevin
//!   move, the per-step diagnostic recorded along SGLD chains.
//! * [`mala`]: full-batch MALA (proposal N(w − (ε/2)∇U(w), εI), accepted with that probability).
//! * [`sgnht`]: the stochastic-gradient Nosé–Hoover thermostat (Ding et al. 2014), devinterp's
//!   third sampler.
//! * [`llc`]: the estimator λ̂ = nβ(E\[L\] − L_n(w*)) over the chains of any sampler.
//! * [`trajectory`]: minibatch SGD training with λ̂ measured at checkpoints.
//! * [`preconditioner`]: the rescaling-equivariant preconditioner of ReLU networks.
//! * [`calibrate`]: ε from short pilot runs, the largest that keeps the MALA acceptance at a
//!   target.
//! * [`diagnostics`]: split R̂ and the effective sample size of the chains' loss traces.
//! * [`aoyagi`]: Aoyagi's closed-form learning coefficient of deep linear networks.
//! * [`random_dln`]: one point of the paper's DLN sweeps (a random architecture and rank, λ̂
//!   against Aoyagi's λ), drawn from its own seed stream.
//!
//! The Gaussian noise is Philox4x32-10 keyed by the seed with counter (pair, chain, step), the same
//! stream `cuda/sgld.cu` draws ([`crate::random::philox`]); batch orders come from the chain's own
//! seeded generator. The same seed gives the same chain whatever the number of threads.

pub mod aoyagi;
pub mod calibrate;
pub mod diagnostics;
pub mod llc;
pub mod mala;
pub mod posterior;
pub mod potential;
pub mod preconditioner;
pub mod random_dln;
pub mod sgld;
pub mod sgnht;
pub mod trajectory;
pub mod update;

pub use aoyagi::{LearningCoefficient, dln_learning_coefficient};
pub use calibrate::{EpsilonCalibration, EpsilonSearch, calibrate_epsilon};
pub use diagnostics::{effective_sample_size, split_rhat};
pub use llc::{BurnIn, LlcConfig, LlcSummary, estimate_llc, llc_from_losses};
pub use mala::{MalaConfig, mala_chain};
pub use posterior::{Chain, LocalPosterior, Localisation, Sampler, sample};
pub use potential::mala_acceptance;
pub use preconditioner::{Rescaled, rescale_hidden_layer};
pub use random_dln::{DlnLlcPoint, DlnProblem, RandomDln};
pub use sgld::{SgldConfig, sgld_chain, sgld_chains_lockstep};
pub use sgnht::{SgnhtConfig, sgnht_chain};
pub use trajectory::{
    Checkpoint, CheckpointSeed, LlcCheckpoints, LlcTarget, SgdConfig, llc_over_training,
};
pub use update::{Step, sgld_update_chains};

/// The inverse temperature times n.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NBeta {
    /// n/log n with n the dataset size (the paper; β* = 1/log n).
    DatasetLog,
    /// b/log b with b the batch size (devinterp's `default_nbeta`).
    BatchLog,
    /// A given value.
    Value(f64),
}

impl NBeta {
    /// The value for dataset size `n` and batch size `b`.
    pub fn resolve(self, n: usize, b: usize) -> f64 {
        let log_ratio = |m: usize| {
            if m <= 1 {
                1.0
            } else {
                m as f64 / (m as f64).ln()
            }
        };
        match self {
            NBeta::DatasetLog => log_ratio(n),
            NBeta::BatchLog => log_ratio(b),
            NBeta::Value(v) => v,
        }
    }
}

/// Which loss the chain records at each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossTrace {
    /// The minibatch loss after the update, on the same batch (the paper's default).
    Minibatch,
    /// The full-data loss L_n(w_t) (the rescaling notebook; n forward passes per step).
    FullData,
}

/// The checks every Langevin sampler makes of its step: ε finite and > 0, at least one step.
pub(crate) fn check_step(epsilon: f64, steps: usize) -> crate::Result<()> {
    use crate::Error;
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(Error::invalid("epsilon", epsilon, "must be finite and > 0"));
    }
    if steps == 0 {
        return Err(Error::invalid("steps", 0, "need at least one step"));
    }
    // Every chain records one loss per step.
    crate::check::check_alloc::<f64>(&format!("`steps` = {steps} (the loss trace)"), steps, 1)?;
    Ok(())
}

/// The minibatch size of a sampler: 1 ≤ b ≤ n.
pub(crate) fn check_batch(batch_size: usize, n: usize) -> crate::Result<()> {
    if batch_size == 0 || batch_size > n {
        return Err(crate::Error::invalid(
            "batch_size",
            batch_size,
            format!("must lie in 1..={n} (the number of samples)"),
        ));
    }
    Ok(())
}
