//! The stochastic-gradient Nosé–Hoover thermostat (SGNHT; Ding, Fang, Babbush, Chen, Skeel and
//! Neven, *Bayesian Sampling Using Stochastic Gradient Thermostats*, NeurIPS 2014, Algorithm 1),
//! the third sampler of devinterp (`devinterp/optim/sgnht.py`), on the localised potential
//! U(w) = nβ L(w) + (γ/2)‖w − w*‖².
//!
//! In devinterp's parameterisation (step ε = h², momentum u = p·h, diffusion A = A_Ding·h), one
//! step on a minibatch B is
//!
//! ```text
//! u ← u − ε ∇U_B(w) − ξ u + √(2Aε) η,   η ~ N(0, I)
//! w ← w + u
//! ξ ← ξ + ‖u‖²/d − ε
//! ```
//!
//! from u₀ ~ N(0, εI) and ξ₀ = A. The thermostat ξ adapts the friction until the kinetic energy
//! matches the temperature (mean u² = ε), which absorbs the unknown variance of the minibatch
//! gradients: the stationary law of w is exp(−U) without a Metropolis correction. The update is
//! Ding et al.'s symplectic order (the momentum first, then the position with the new momentum).

use rayon::prelude::*;

use super::posterior::{Chain, LocalPosterior, Rows, Sampler, check_run};
use super::potential::Local;
use crate::backend::{Device, Float};
use crate::data::Minibatches;
use crate::error::{Error, Result};
use crate::models::{Model, Scratch};
use crate::random::{self, philox};

/// SGNHT settings (the localisation γ and nβ belong to the [`LocalPosterior`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SgnhtConfig {
    /// Step size ε (devinterp's `lr`).
    pub epsilon: f64,
    /// Diffusion A (devinterp's `diffusion_factor`, default 0.01): the thermostat's start and the
    /// injected noise.
    pub diffusion: f64,
    /// Minibatch size b.
    pub batch_size: usize,
    /// Number of steps T.
    pub steps: usize,
    /// Seed of the noise, the initial momenta and the batch orders.
    pub seed: u64,
}

impl Default for SgnhtConfig {
    fn default() -> Self {
        SgnhtConfig {
            epsilon: 1e-5,
            diffusion: 0.01,
            batch_size: 100,
            steps: 5000,
            seed: 0,
        }
    }
}

/// SGNHT chains. Chain c draws its noise from Philox (seed, c, step), its initial momentum from
/// Philox (seed ⊕ "SGNH", c, 0) and its batches from its own substream (as SGLD: a fresh
/// permutation every epoch, the last partial batch dropped). The recorded loss of step t is the
/// minibatch loss at wₜ, computed with its gradient (as devinterp records it).
impl Sampler for SgnhtConfig {
    fn process(&self) -> &'static str {
        "SGNHT chain"
    }
    fn steps(&self) -> usize {
        self.steps
    }
    fn epsilon(&self) -> f64 {
        self.epsilon
    }
    fn batch_size(&self, _n: usize) -> usize {
        self.batch_size
    }
    fn check(&self, n: usize, _d: usize) -> Result<()> {
        super::check_step(self.epsilon, self.steps)?;
        if !(self.diffusion.is_finite() && self.diffusion >= 0.0) {
            return Err(Error::invalid(
                "diffusion",
                self.diffusion,
                "must be finite and >= 0",
            ));
        }
        super::check_batch(self.batch_size, n)
    }
    fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        post: &LocalPosterior<'_, T, M>,
        chains: u32,
        _device: &Device,
    ) -> Result<Vec<Chain<T>>> {
        let data = Rows::new(post.x(), post.y());
        (0..chains)
            .into_par_iter()
            .map(|c| run_chain(post, &data, self, c))
            .collect()
    }
}

/// SGNHT chain number `chain` of `post` (checked first).
pub fn sgnht_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &SgnhtConfig,
    chain: u32,
) -> Result<Chain<T>> {
    check_run(cfg, post, 1)?;
    run_chain(post, &Rows::new(post.x(), post.y()), cfg, chain)
}

fn run_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    data: &Rows<'_, T>,
    cfg: &SgnhtConfig,
    chain: u32,
) -> Result<Chain<T>> {
    let (model, w_star) = (post.model(), post.w_star());
    let (n, d, b) = (post.n(), w_star.len(), cfg.batch_size);
    let (eps, a) = (cfg.epsilon, cfg.diffusion);
    let local = Local {
        w_star,
        nbeta: post.nbeta(b),
        gamma: post.gamma(),
    };
    let mut rng = random::substream(cfg.seed, chain as u64);
    let mut batches = Minibatches::new(n, b, true)?;
    let mut scratch = Scratch::new();
    model.prepare(&mut scratch, b)?;
    let (mut xb, mut yb) = (
        vec![T::ZERO; b * data.x.ncols()],
        vec![T::ZERO; b * data.y.ncols()],
    );
    let mut w = w_star.to_vec();
    let mut grad = vec![T::ZERO; d];
    let mut u = vec![0.0f64; d];
    let root = eps.sqrt();
    philox::map_with_normals(cfg.seed ^ 0x5347_4e48, chain, 0, &mut u, |_, _, z| root * z);
    let mut xi = a;
    let noise = (2.0 * a * eps).sqrt();
    let mut losses = Vec::with_capacity(cfg.steps);
    for t in 0..cfg.steps {
        let idx = batches.next_batch(&mut rng);
        data.gather(idx, &mut xb, &mut yb);
        let (x, y) = data.batch(&xb, &yb);
        let loss = local.potential(model, &mut scratch, &w, x, y, &mut grad).1;
        if !loss.is_finite() || !xi.is_finite() {
            return Err(Error::Diverged {
                process: "SGNHT chain",
                index: chain as usize,
                step: t,
                loss: if loss.is_finite() { xi } else { loss },
            });
        }
        losses.push(loss);
        philox::map_with_normals(cfg.seed, chain, t as u64, &mut u, |k, uk, z| {
            uk - eps * grad[k].to_f64() - xi * uk + noise * z
        });
        let mut kinetic = 0.0;
        for (wk, &uk) in w.iter_mut().zip(&u) {
            *wk = T::of(wk.to_f64() + uk);
            kinetic += uk * uk;
        }
        xi += kinetic / d as f64 - eps;
    }
    Ok(Chain {
        losses,
        mala: Vec::new(),
        acceptance_rate: None,
        last: w,
    })
}
