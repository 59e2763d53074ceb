//! Step-size calibration for SGLD from short pilot runs: the largest ε (on a log grid refined by
//! bisection) whose pilot chains keep the mean MALA acceptance of their moves at or above a
//! target. The acceptance is the Metropolis–Hastings probability the LLC paper records along its
//! chains as a check of ε (Lau et al., arXiv 2308.12108, appendix on MALA;
//! `validating_lambdahat/sgld_utils.py`, `mala_acceptance_probability`); the paper's guidance is
//! to keep it high (≈ 0.9 and above), since SGLD does not correct for it.

use super::posterior::{LocalPosterior, Sampler, check_run};
use super::sgld::SgldConfig;
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::models::Model;

/// What the calibration searches.
#[derive(Clone, Debug)]
pub struct EpsilonSearch {
    /// Mean MALA acceptance the chosen ε must reach (default 0.9).
    pub target_acceptance: f64,
    /// Steps of every pilot chain (default 200).
    pub pilot_steps: usize,
    /// Pilot chains per trial (default 2).
    pub chains: usize,
    /// The bracket [lo, hi] of ε (default [1e-9, 1e-2]).
    pub lo: f64,
    /// Upper end of the bracket.
    pub hi: f64,
    /// Bisection steps in log ε after the bracket's ends (default 10: a factor 10^(7/1024)).
    pub iterations: usize,
}

impl Default for EpsilonSearch {
    fn default() -> Self {
        EpsilonSearch {
            target_acceptance: 0.9,
            pilot_steps: 200,
            chains: 2,
            lo: 1e-9,
            hi: 1e-2,
            iterations: 10,
        }
    }
}

/// The chosen ε and the pilot runs behind it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpsilonCalibration {
    /// The largest ε tried whose pilot acceptance reached the target.
    pub epsilon: f64,
    /// Its mean pilot acceptance.
    pub acceptance: f64,
    /// (ε, mean acceptance) of every pilot, in the order run; a diverged pilot counts as 0.
    pub trials: Vec<(f64, f64)>,
}

impl EpsilonSearch {
    fn check(&self) -> Result<()> {
        let t = self.target_acceptance;
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::invalid("target_acceptance", t, "must lie in (0, 1)"));
        }
        if !(self.lo.is_finite() && self.lo > 0.0 && self.hi.is_finite() && self.hi > self.lo) {
            return Err(Error::invalid(
                "lo/hi",
                format!("{}/{}", self.lo, self.hi),
                "need finite 0 < lo < hi",
            ));
        }
        if self.pilot_steps == 0 || self.chains == 0 {
            return Err(Error::invalid(
                "pilot_steps/chains",
                format!("{}/{}", self.pilot_steps, self.chains),
                "need at least one step and one chain",
            ));
        }
        Ok(())
    }
}

/// Picks ε for SGLD with the settings `base` (its ε is ignored) at w* on (x, y): pilot chains
/// of `search.pilot_steps` steps record the MALA acceptance at every step; the bracket's ends
/// are tried first, then log ε is bisected. Errors when even `lo` misses the target.
pub fn calibrate_epsilon<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    base: &SgldConfig,
    search: &EpsilonSearch,
    device: &Device,
) -> Result<EpsilonCalibration> {
    search.check()?;
    let pilot = SgldConfig {
        steps: search.pilot_steps,
        mala_every: Some(1),
        ..base.clone()
    };
    let chains = check_run(&pilot, post, search.chains)?;
    let mut trials = Vec::new();
    let mut acceptance = |epsilon: f64| -> Result<f64> {
        let cfg = SgldConfig {
            epsilon,
            ..pilot.clone()
        };
        let a = match cfg.run(post, chains, device) {
            Ok(runs) => {
                let all: Vec<f64> = runs
                    .iter()
                    .flat_map(|c| c.mala.iter().map(|m| m.1))
                    .collect();
                all.iter().sum::<f64>() / all.len().max(1) as f64
            }
            Err(Error::Diverged { .. }) => 0.0,
            Err(e) => return Err(e),
        };
        trials.push((epsilon, a));
        Ok(a)
    };
    let target = search.target_acceptance;
    let (mut lo, mut hi) = (search.lo, search.hi);
    let a_hi = acceptance(hi)?;
    if a_hi >= target {
        return Ok(EpsilonCalibration {
            epsilon: hi,
            acceptance: a_hi,
            trials,
        });
    }
    let mut a_lo = acceptance(lo)?;
    if a_lo < target {
        return Err(Error::invalid(
            "lo",
            lo,
            format!("its pilot acceptance {a_lo:.3} is below the target {target}; lower lo"),
        ));
    }
    for _ in 0..search.iterations {
        let mid = (lo.ln() + 0.5 * (hi.ln() - lo.ln())).exp();
        let a = acceptance(mid)?;
        if a >= target {
            (lo, a_lo) = (mid, a);
        } else {
            hi = mid;
        }
    }
    Ok(EpsilonCalibration {
        epsilon: lo,
        acceptance: a_lo,
        trials,
    })
}
