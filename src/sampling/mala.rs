//! Full-batch MALA (Roberts & Tweedie 1996) on the localised potential, and λ̂ from its draws
//! (Lau et al., arXiv 2308.12108; `validating_lambdahat/MALA_vs_SGLD.ipynb`).

use faer::MatRef;
use rayon::prelude::*;

use super::potential::{Local, mala_acceptance};
use crate::error::{Error, Result};
use crate::models::Model;
use crate::random::{self, philox};

/// A full-batch MALA chain.
#[derive(Clone, Debug)]
pub struct MalaChain {
    /// Full-data loss L_n of every sample (after the accept/reject step).
    pub losses: Vec<f64>,
    /// Fraction of accepted proposals.
    pub acceptance_rate: f64,
}

/// Full-batch MALA settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MalaConfig {
    /// Step size ε (the proposal is N(w − (ε/2)∇U(w), εI)).
    pub epsilon: f64,
    /// Localisation strength γ.
    pub gamma: f64,
    /// nβ (for example [`NBeta::resolve`](super::NBeta::resolve) of the SGLD run it is compared
    /// with).
    pub nbeta: f64,
    /// Number of steps T.
    pub steps: usize,
    /// Seed of the proposals' noise and of the accept/reject draws.
    pub seed: u64,
}

impl MalaConfig {
    fn validate(&self) -> Result<()> {
        super::check_step(self.epsilon, self.gamma, self.steps)?;
        if !(self.nbeta.is_finite() && self.nbeta > 0.0) {
            return Err(Error::invalid(
                "nbeta",
                self.nbeta,
                "must be finite and > 0",
            ));
        }
        Ok(())
    }
}

/// Full-batch MALA from w* on U(w) = nβ L_n(w) + (γ/2)‖w − w*‖² (the notebook's numpyro HMC with
/// one leapfrog step of size √ε is this sampler). Chain `chain` draws its proposal noise from
/// Philox (seed, chain, step) and its accept/reject uniforms from its own substream.
pub fn mala_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &MalaConfig,
    chain: u32,
) -> Result<MalaChain> {
    crate::models::check_inputs(model, w_star, x, y)?;
    cfg.validate()?;
    run_chain(model, w_star, x, y, cfg, chain)
}

/// One MALA chain; the inputs were checked by the caller.
fn run_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &MalaConfig,
    chain: u32,
) -> Result<MalaChain> {
    let MalaConfig {
        epsilon,
        gamma,
        nbeta,
        steps,
        seed,
    } = *cfg;
    let d = w_star.len();
    let mut rng = random::substream(seed ^ 0x4d41_4c41, chain as u64);
    let mut w = w_star.to_vec();
    let mut grad = vec![0.0; d];
    let mut scratch = crate::models::Scratch::new();
    let local = Local {
        w_star,
        nbeta,
        gamma,
    };
    let (mut u, mut loss) = local.potential(model, &mut scratch, &w, x, y, &mut grad);
    let mut w_new = vec![0.0; d];
    let mut grad_new = vec![0.0; d];
    let mut losses = Vec::with_capacity(steps);
    let mut accepted = 0usize;
    for t in 0..steps {
        for p in 0..d.div_ceil(2) {
            let (z0, z1) = philox::normal_pair(seed, chain, t as u64, p as u32);
            for (k, z) in [(2 * p, z0), (2 * p + 1, z1)] {
                if k < d {
                    w_new[k] = w[k] - 0.5 * epsilon * grad[k] + epsilon.sqrt() * z;
                }
            }
        }
        let (u_new, loss_new) = local.potential(model, &mut scratch, &w_new, x, y, &mut grad_new);
        let a = mala_acceptance(&w, &w_new, u, u_new, &grad, &grad_new, epsilon)?;
        if rand::RngExt::random::<f64>(&mut rng) < a {
            std::mem::swap(&mut w, &mut w_new);
            std::mem::swap(&mut grad, &mut grad_new);
            u = u_new;
            loss = loss_new;
            accepted += 1;
        }
        if !loss.is_finite() {
            return Err(Error::Diverged {
                process: "MALA chain",
                index: chain as usize,
                step: t,
                loss,
            });
        }
        losses.push(loss);
    }
    Ok(MalaChain {
        losses,
        acceptance_rate: accepted as f64 / steps as f64,
    })
}

/// λ̂ from full-batch MALA chains, with no burn-in.
#[derive(Clone, Debug)]
pub struct MalaLlc {
    /// Mean of the per-chain estimates.
    pub llc_mean: f64,
    /// Their sample standard deviation (ddof = 1; 0 for one chain).
    pub llc_std: f64,
    /// nβ·(mean loss of chain c − L_n(w*)) for every chain.
    pub llc_per_chain: Vec<f64>,
    /// Mean acceptance rate over the chains.
    pub acceptance_rate: f64,
    /// L_n(w*).
    pub init_loss: f64,
}

/// `chains` full-batch MALA chains from w* (rayon over chains) and the LLC estimate
/// λ̂ = nβ·(mean of the draws' losses − L_n(w*)) of each (`MALA_vs_SGLD.ipynb`).
pub fn mala_llc<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &MalaConfig,
    chains: usize,
) -> Result<MalaLlc> {
    if chains == 0 {
        return Err(Error::invalid("chains", 0, "need at least one chain"));
    }
    crate::models::check_inputs(model, w_star, x, y)?;
    cfg.validate()?;
    let init_loss = super::llc::baseline_loss(model, w_star, x, y)?;
    let runs: Vec<MalaChain> = (0..chains as u32)
        .into_par_iter()
        .map(|c| run_chain(model, w_star, x, y, cfg, c))
        .collect::<Result<_>>()?;
    let llc_per_chain: Vec<f64> = runs
        .iter()
        .map(|r| super::llc::llc_from_losses(&r.losses, init_loss, cfg.nbeta))
        .collect::<Result<_>>()?;
    for (c, (run, &llc)) in runs.iter().zip(&llc_per_chain).enumerate() {
        super::diagnostics::check_chain(
            "MALA chain",
            c,
            cfg.epsilon,
            cfg.steps,
            &[(0, run.acceptance_rate)],
            llc,
            w_star.len(),
        )?;
    }
    let (llc_mean, llc_std) = crate::stats::mean_std(&llc_per_chain, 1)?;
    Ok(MalaLlc {
        llc_mean,
        llc_std,
        acceptance_rate: runs.iter().map(|r| r.acceptance_rate).sum::<f64>() / chains as f64,
        llc_per_chain,
        init_loss,
    })
}
