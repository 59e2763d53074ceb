//! Full-batch MALA (Roberts & Tweedie 1996) on the localised potential, in f32 or f64 (Lau et
//! al., arXiv 2308.12108; `validating_lambdahat/MALA_vs_SGLD.ipynb`).

use rayon::prelude::*;

use super::posterior::{Chain, LocalPosterior, Sampler, check_run};
use super::potential::{Local, mala_acceptance};
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::models::{Model, Scratch};
use crate::random::{self, philox};

/// Full-batch MALA settings (the localisation γ and nβ belong to the [`LocalPosterior`]; MALA
/// resolves nβ with the whole data set as its batch).
#[derive(Clone, Debug, PartialEq)]
pub struct MalaConfig {
    /// Step size ε (the proposal is N(w − (ε/2)∇U(w), εI)).
    pub epsilon: f64,
    /// Number of steps T.
    pub steps: usize,
    /// Seed of the proposals' noise and of the accept/reject draws.
    pub seed: u64,
}

/// Full-batch MALA from w* on U(w) = nβ L_n(w) + (γ/2)‖w − w*‖² (the notebook's numpyro HMC with
/// one leapfrog step of size √ε is this sampler). Chain c draws its proposal noise from Philox
/// (seed, c, step) and its accept/reject uniforms from its own substream; the acceptance is
/// computed in f64 whatever the precision. The recorded loss is L_n of the chain's state after
/// the accept/reject step, and [`Chain::acceptance_rate`] the fraction of accepted proposals.
impl Sampler for MalaConfig {
    fn process(&self) -> &'static str {
        "MALA chain"
    }
    fn steps(&self) -> usize {
        self.steps
    }
    fn epsilon(&self) -> f64 {
        self.epsilon
    }
    fn batch_size(&self, n: usize) -> usize {
        n
    }
    fn check(&self, _n: usize, _d: usize) -> Result<()> {
        super::check_step(self.epsilon, self.steps)
    }
    fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        post: &LocalPosterior<'_, T, M>,
        chains: u32,
        _device: &Device,
    ) -> Result<Vec<Chain<T>>> {
        (0..chains)
            .into_par_iter()
            .map(|c| run_chain(post, self, c))
            .collect()
    }
}

/// MALA chain number `chain` of `post` (checked first).
pub fn mala_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &MalaConfig,
    chain: u32,
) -> Result<Chain<T>> {
    check_run(cfg, post, 1)?;
    run_chain(post, cfg, chain)
}

/// One MALA chain; the inputs were checked by the caller.
fn run_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &MalaConfig,
    chain: u32,
) -> Result<Chain<T>> {
    let MalaConfig {
        epsilon,
        steps,
        seed,
    } = *cfg;
    let (model, w_star, x, y) = (post.model(), post.w_star(), post.x(), post.y());
    let d = w_star.len();
    let mut rng = random::substream(seed ^ 0x4d41_4c41, chain as u64);
    let mut w = w_star.to_vec();
    let mut grad = vec![T::ZERO; d];
    let mut scratch = Scratch::new();
    model.prepare(&mut scratch, x.nrows())?;
    let local = Local {
        w_star,
        nbeta: post.nbeta(x.nrows()),
        gamma: post.gamma(),
    };
    let (mut u, mut loss) = local.potential(model, &mut scratch, &w, x, y, &mut grad);
    let mut w_new = vec![T::ZERO; d];
    let mut grad_new = vec![T::ZERO; d];
    let mut losses = Vec::with_capacity(steps);
    let mut accepted = 0usize;
    let root = epsilon.sqrt();
    for t in 0..steps {
        philox::map_with_normals(seed, chain, t as u64, &mut w_new, |k, _, z| {
            T::of(w[k].to_f64() - 0.5 * epsilon * grad[k].to_f64() + root * z)
        });
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
    Ok(Chain {
        losses,
        mala: Vec::new(),
        acceptance_rate: Some(accepted as f64 / steps as f64),
        last: w,
    })
}
