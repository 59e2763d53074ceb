//! The local learning coefficient estimator (Lau, Furman, Wang, Murfet, Wei, arXiv 2308.12108;
//! `validating_lambdahat/sgld_utils.py`, and devinterp's `estimate_learning_coeff`):
//! λ̂(w*) = nβ·(mean of the draws' losses − L_n(w*)), with the draws from C chains of any
//! [`Sampler`] (SGLD, MALA, SGNHT) started at w*, the baseline L_n(w*) on the full data, and a
//! burn-in dropped from the front of every chain. Shaped like devinterp's
//! `estimate_learning_coeff_with_summary`: per-chain values, their mean and standard deviation,
//! the loss traces and the MALA acceptance diagnostic.
//!
//! ```
//! use doubledescent::Device;
//! use doubledescent::models::DeepLinearNetwork;
//! use doubledescent::sampling::{BurnIn, LlcConfig, LocalPosterior, SgldConfig, estimate_llc};
//! use faer::Mat;
//!
//! # fn main() -> doubledescent::Result<()> {
//! // Linear regression y = x W* with 3 × 2 = 6 parameters: a regular model, λ = d/2 = 3.
//! let model = DeepLinearNetwork::new(3, &[], 2)?;
//! let w_star = vec![0.5, -1.0, 0.3, 0.8, 0.1, -0.4];
//! let x = Mat::from_fn(2000, 3, |i, j| (((i * 7 + j * 3) % 11) as f64 - 5.0) / 3.0);
//! let y = doubledescent::models::Model::forward(&model, &w_star, x.as_ref());
//! let post = LocalPosterior::new(&model, &w_star, x.as_ref(), y.as_ref())?.localised(1.0)?;
//! let cfg = LlcConfig {
//!     sampler: SgldConfig { epsilon: 1e-4, batch_size: 200, steps: 2000, ..Default::default() },
//!     chains: 4,
//!     burn_in: BurnIn::Fraction(0.5),
//! };
//! let s = estimate_llc(&post, &cfg, &Device::cpu())?;
//! assert!((s.llc_mean - 3.0).abs() < 0.6, "{}", s.llc_mean);
//! # Ok(())
//! # }
//! ```

use super::posterior::{LocalPosterior, Sampler, check_run};
use super::sgld::SgldConfig;
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::models::Model;

/// How much of the front of every chain to drop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BurnIn {
    /// A fraction in [0, 1) of the steps (the paper's figures: 0.9).
    Fraction(f64),
    /// A number of steps.
    Steps(usize),
}

/// Estimator settings.
#[derive(Clone, Debug)]
pub struct LlcConfig<S = SgldConfig> {
    /// The sampler.
    pub sampler: S,
    /// Number of independent chains C.
    pub chains: usize,
    /// Burn-in.
    pub burn_in: BurnIn,
}

/// The estimate and its diagnostics.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LlcSummary {
    /// Mean of the per-chain estimates.
    pub llc_mean: f64,
    /// Standard deviation of the per-chain estimates (ddof = 1, as `torch.std`; 0 for one chain).
    pub llc_std: f64,
    /// λ̂ of every chain.
    pub llc_per_chain: Vec<f64>,
    /// L_n(w*) on the full data.
    pub init_loss: f64,
    /// nβ used.
    pub nbeta: f64,
    /// Steps dropped from the front of every chain.
    pub burn_in_steps: usize,
    /// Recorded losses, chains × steps (burn-in included).
    pub loss_trace: Vec<Vec<f64>>,
    /// (step, acceptance) of the MALA diagnostic, per chain (SGLD; empty for the others).
    pub mala_acceptance: Vec<Vec<(usize, f64)>>,
    /// Mean MALA acceptance over chains and recorded steps: SGLD's recorded MH probabilities,
    /// or MALA's fraction of accepted proposals (`None` when not recorded).
    pub mala_mean: Option<f64>,
    /// Split R̂ of the kept loss draws across chains ([`super::diagnostics::split_rhat`]);
    /// `None` with fewer than 4 kept draws or constant draws.
    pub r_hat: Option<f64>,
    /// Effective sample size of the kept loss draws, all chains together
    /// ([`super::diagnostics::effective_sample_size`]); `None` as for `r_hat`.
    pub ess: Option<f64>,
}

/// λ̂ at w* of `post` from `cfg.chains` chains of `cfg.sampler` (rayon over chains on the CPU),
/// in the precision of the data (f32 as the original JAX code, or f64).
pub fn estimate_llc<T: Float, M: Model<T> + ?Sized, S: Sampler>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &LlcConfig<S>,
    device: &Device,
) -> Result<LlcSummary> {
    let chains = check_run(&cfg.sampler, post, cfg.chains)?;
    let steps = cfg.sampler.steps();
    let burn_in_steps = match cfg.burn_in {
        BurnIn::Fraction(f) if (0.0..1.0).contains(&f) => (f * steps as f64) as usize,
        BurnIn::Fraction(f) => {
            return Err(Error::invalid("burn_in", f, "fraction must lie in [0, 1)"));
        }
        BurnIn::Steps(s) if s < steps => s,
        BurnIn::Steps(s) => {
            return Err(Error::invalid(
                "burn_in",
                s,
                format!("must leave at least one of the {steps} steps"),
            ));
        }
    };
    let n = post.n();
    let nbeta = post.nbeta(cfg.sampler.batch_size(n));
    let init_loss = post.baseline_loss()?;
    let chains = cfg.sampler.run(post, chains, device)?;
    let llc_per_chain: Vec<f64> = chains
        .iter()
        .map(|c| llc_from_losses(&c.losses[burn_in_steps..], init_loss, nbeta))
        .collect::<Result<_>>()?;
    for (c, (chain, &llc)) in chains.iter().zip(&llc_per_chain).enumerate() {
        super::diagnostics::check_chain(
            cfg.sampler.process(),
            c,
            cfg.sampler.epsilon(),
            steps,
            &chain.kept_acceptance(burn_in_steps),
            llc,
            post.w_star().len(),
        )?;
    }
    let (llc_mean, llc_std) = crate::stats::mean_std(&llc_per_chain, 1)?;
    let kept: Vec<&[f64]> = chains.iter().map(|c| &c.losses[burn_in_steps..]).collect();
    let r_hat = super::diagnostics::split_rhat(&kept).ok();
    let ess = super::diagnostics::effective_sample_size(&kept).ok();
    let mala: Vec<f64> = chains
        .iter()
        .flat_map(|c| {
            c.acceptance_rate
                .into_iter()
                .chain(c.mala.iter().map(|p| p.1))
        })
        .collect();
    Ok(LlcSummary {
        llc_mean,
        llc_std,
        llc_per_chain,
        init_loss,
        nbeta,
        burn_in_steps,
        loss_trace: chains.iter().map(|c| c.losses.clone()).collect(),
        mala_acceptance: chains.into_iter().map(|c| c.mala).collect(),
        mala_mean: (!mala.is_empty()).then(|| mala.iter().sum::<f64>() / mala.len() as f64),
        r_hat,
        ess,
    })
}

/// λ̂ = nβ·(mean of `losses` − L_n(w*)) for the kept draws of one chain.
pub fn llc_from_losses(losses: &[f64], init_loss: f64, nbeta: f64) -> Result<f64> {
    if losses.is_empty() {
        return Err(Error::invalid("losses", "[]", "need at least one draw"));
    }
    let v = nbeta * (losses.iter().sum::<f64>() / losses.len() as f64 - init_loss);
    if !v.is_finite() {
        return Err(Error::NonFinite {
            name: "losses",
            location: "their mean".into(),
            value: v,
        });
    }
    Ok(v)
}
