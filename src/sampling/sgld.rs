//! SGLD chains (Welling & Teh 2011) as the LLC paper runs them (Lau et al., arXiv 2308.12108;
//! `validating_lambdahat/sgld_utils.py`, function `sgld`).

use rayon::prelude::*;

use super::LossTrace;
use super::posterior::{Chain, LocalPosterior, Rows, Sampler, check_run};
use super::potential::{Local, mala_acceptance};
use super::update::{Step, sgld_update_chains, update_chain};
use crate::backend::{Backend, Device, Float};
use crate::data::Minibatches;
use crate::error::{Error, Result};
use crate::models::{FullLossScratch, Model, Scratch, full_loss_in};
use crate::random;

/// SGLD settings (the localisation γ and nβ belong to the [`LocalPosterior`]). `Default` gives
/// the DLN defaults of `expt_dln.py` (ε = 1e-5, batch 100, 5000 steps).
#[derive(Clone, Debug)]
pub struct SgldConfig {
    /// Step size ε.
    pub epsilon: f64,
    /// Minibatch size b.
    pub batch_size: usize,
    /// Number of steps T.
    pub steps: usize,
    /// Seed of the noise and of the batch orders.
    pub seed: u64,
    /// Record the MALA acceptance every this many steps (the original: 20); `None` skips it.
    pub mala_every: Option<usize>,
    /// Shuffle the data every epoch (the default), or walk it in order.
    pub shuffle: bool,
    /// Which loss to record.
    pub loss_trace: LossTrace,
    /// Optional diagonal preconditioner p (length d, entries > 0).
    pub preconditioner: Option<Vec<f64>>,
}

impl Default for SgldConfig {
    fn default() -> Self {
        SgldConfig {
            epsilon: 1e-5,
            batch_size: 100,
            steps: 5000,
            seed: 0,
            mala_every: Some(20),
            shuffle: true,
            loss_trace: LossTrace::Minibatch,
            preconditioner: None,
        }
    }
}

impl SgldConfig {
    pub(crate) fn validate(&self, n: usize, d: usize) -> Result<()> {
        super::check_step(self.epsilon, self.steps)?;
        super::check_batch(self.batch_size, n)?;
        if self.mala_every == Some(0) {
            return Err(Error::invalid("mala_every", 0, "must be positive"));
        }
        if let Some(p) = &self.preconditioner {
            if p.len() != d {
                return Err(Error::ShapeMismatch {
                    what: "preconditioner against the parameters".into(),
                    expected: format!("{d}"),
                    got: format!("{}", p.len()),
                });
            }
            if let Some(v) = p.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                return Err(Error::invalid(
                    "preconditioner",
                    v,
                    "entries must be finite and > 0",
                ));
            }
        }
        Ok(())
    }
}

/// The running state of one SGLD chain: its batch order, current parameter, scratch and records.
/// Everything a step touches is allocated here once, so steps allocate nothing. A step is split
/// in two around the update, so that many chains can share one fused update
/// ([`sgld_update_chains`]) between the halves.
struct ChainState<'a, T: Float, M: Model<T> + ?Sized> {
    model: &'a M,
    data: &'a Rows<'a, T>,
    w_star: &'a [T],
    cfg: &'a SgldConfig,
    nbeta: f64,
    gamma: f64,
    chain: u32,
    rng: random::Rng,
    batches: Minibatches,
    w: Vec<T>,
    w_new: Vec<T>,
    grad: Vec<T>,
    grad_new: Vec<T>,
    xb: Vec<T>,
    yb: Vec<T>,
    loss_w: f64,
    scratch: Scratch<T>,
    /// Buffers of the full-data loss ([`LossTrace::FullData`]).
    full: FullLossScratch<T>,
    losses: Vec<f64>,
    mala: Vec<(usize, f64)>,
}

impl<'a, T: Float, M: Model<T> + ?Sized> ChainState<'a, T, M> {
    fn new(
        post: &LocalPosterior<'a, T, M>,
        data: &'a Rows<'a, T>,
        cfg: &'a SgldConfig,
        chain: u32,
    ) -> Result<Self> {
        let (x, y) = (data.x, data.y);
        let (n, d, b) = (x.nrows(), post.w_star().len(), cfg.batch_size);
        let (model, w_star) = (post.model(), post.w_star());
        let mut scratch = Scratch::new();
        model.prepare(&mut scratch, b)?;
        Ok(ChainState {
            model,
            data,
            w_star,
            cfg,
            nbeta: post.nbeta(b),
            gamma: post.gamma(),
            chain,
            rng: random::substream(cfg.seed, chain as u64),
            batches: Minibatches::new(n, b, cfg.shuffle)?,
            w: w_star.to_vec(),
            w_new: vec![T::ZERO; d],
            grad: vec![T::ZERO; d],
            grad_new: vec![T::ZERO; d],
            xb: vec![T::ZERO; b * x.ncols()],
            yb: vec![T::ZERO; b * y.ncols()],
            loss_w: 0.0,
            scratch,
            full: FullLossScratch::default(),
            losses: Vec::with_capacity(cfg.steps),
            mala: Vec::new(),
        })
    }

    fn step_constants(&self, t: usize) -> Step {
        Step {
            epsilon: self.cfg.epsilon,
            nbeta: self.nbeta,
            gamma: self.gamma,
            seed: self.cfg.seed,
            step: t as u64,
        }
    }

    /// First half of step t: draws the batch, computes ∇L_B(w) into `grad` and copies w into
    /// `w_new` for the update.
    fn before_update(&mut self) {
        let idx = self.batches.next_batch(&mut self.rng);
        self.data.gather(idx, &mut self.xb, &mut self.yb);
        let (xb, yb) = self.data.batch(&self.xb, &self.yb);
        self.loss_w = self
            .model
            .loss_grad_in(&mut self.scratch, &self.w, xb, yb, &mut self.grad);
        self.w_new.copy_from_slice(&self.w);
    }

    /// Second half of step t, once `w_new` holds the updated parameter: the MALA diagnostic, the
    /// recorded loss and the divergence check.
    fn after_update(&mut self, t: usize) -> Result<()> {
        let (model, cfg) = (self.model, self.cfg);
        let (xb, yb) = self.data.batch(&self.xb, &self.yb);
        let record_mala = cfg.mala_every.is_some_and(|m| t.is_multiple_of(m));
        let batch_loss = if record_mala {
            let local = Local {
                w_star: self.w_star,
                nbeta: self.nbeta,
                gamma: self.gamma,
            };
            let u = local.with_data_gradient(&self.w, self.loss_w, &mut self.grad);
            let (u_new, l) = local.potential(
                model,
                &mut self.scratch,
                &self.w_new,
                xb,
                yb,
                &mut self.grad_new,
            );
            self.mala.push((
                t,
                mala_acceptance(
                    &self.w,
                    &self.w_new,
                    u,
                    u_new,
                    &self.grad,
                    &self.grad_new,
                    cfg.epsilon,
                )?,
            ));
            l
        } else {
            model.loss_in(&mut self.scratch, &self.w_new, xb, yb)
        };
        let loss = match cfg.loss_trace {
            LossTrace::Minibatch => batch_loss,
            LossTrace::FullData => {
                full_loss_in(model, &mut self.full, &self.w_new, self.data.x, self.data.y)
            }
        };
        if !loss.is_finite() {
            return Err(Error::Diverged {
                process: "SGLD chain",
                index: self.chain as usize,
                step: t,
                loss,
            });
        }
        self.losses.push(loss);
        std::mem::swap(&mut self.w, &mut self.w_new);
        Ok(())
    }

    fn finish(self) -> Chain<T> {
        Chain {
            losses: self.losses,
            mala: self.mala,
            acceptance_rate: None,
            last: self.w,
        }
    }
}

/// The preconditioner of `cfg` in the chains' precision.
fn precond_in<T: Float>(cfg: &SgldConfig) -> Option<Vec<T>> {
    cfg.preconditioner
        .as_ref()
        .map(|p| p.iter().map(|&v| T::of(v)).collect())
}

/// Runs SGLD chain number `chain` of `post` on the CPU, in the precision of the data (f32 or
/// f64; the update and the recorded losses are computed in f64).
pub fn sgld_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &SgldConfig,
    chain: u32,
) -> Result<Chain<T>> {
    check_run(cfg, post, 1)?;
    let precond = precond_in::<T>(cfg);
    let data = Rows::new(post.x(), post.y());
    run_chain(post, &data, cfg, precond.as_deref(), chain)
}

/// One chain on its own, with the update on the CPU; the inputs were checked by the caller.
fn run_chain<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    data: &Rows<'_, T>,
    cfg: &SgldConfig,
    precond: Option<&[T]>,
    chain: u32,
) -> Result<Chain<T>> {
    let mut state = ChainState::new(post, data, cfg, chain)?;
    for t in 0..cfg.steps {
        state.before_update();
        let step = state.step_constants(t);
        update_chain(
            &mut state.w_new,
            &state.grad,
            post.w_star(),
            precond,
            &step,
            chain,
        );
        state.after_update(t)?;
    }
    Ok(state.finish())
}

/// SGLD chains of a posterior. On the CPU each chain runs on its own (rayon over chains); on CUDA
/// the chains advance in lockstep and every step updates all of them in one launch of the fused
/// update (`cuda/sgld.cu`), with the gradients computed on the CPU. Both draw the same noise
/// (Philox keyed by seed, chain and step) and the same batches.
impl Sampler for SgldConfig {
    fn process(&self) -> &'static str {
        "SGLD chain"
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
    fn check(&self, n: usize, d: usize) -> Result<()> {
        self.validate(n, d)
    }
    fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        post: &LocalPosterior<'_, T, M>,
        chains: u32,
        device: &Device,
    ) -> Result<Vec<Chain<T>>> {
        if device.backend() == Backend::Cpu {
            let precond = precond_in::<T>(self);
            let data = Rows::new(post.x(), post.y());
            return (0..chains)
                .into_par_iter()
                .map(|c| run_chain(post, &data, self, precond.as_deref(), c))
                .collect();
        }
        lockstep(post, self, chains, device)
    }
}

/// The lockstep driver behind SGLD on CUDA, on any device: all chains advance one step at a
/// time and share one fused update per step. On the CPU it gives the same chains as
/// [`sgld_chain`] run one by one (the tests check this), so the CUDA path differs from the CPU
/// path only in the update's arithmetic.
pub fn sgld_chains_lockstep<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &SgldConfig,
    chains: usize,
    device: &Device,
) -> Result<Vec<Chain<T>>> {
    let chains = check_run(cfg, post, chains)?;
    lockstep(post, cfg, chains, device)
}

fn lockstep<T: Float, M: Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &SgldConfig,
    chains: u32,
    device: &Device,
) -> Result<Vec<Chain<T>>> {
    let w_star = post.w_star();
    let d = w_star.len();
    let precond = precond_in::<T>(cfg);
    let data = Rows::new(post.x(), post.y());
    let mut states: Vec<ChainState<'_, T, M>> = (0..chains)
        .map(|c| ChainState::new(post, &data, cfg, c))
        .collect::<Result<_>>()?;
    let mut w_all = vec![T::ZERO; chains as usize * d];
    let mut g_all = vec![T::ZERO; chains as usize * d];
    for t in 0..cfg.steps {
        states.par_iter_mut().for_each(|s| s.before_update());
        for (c, s) in states.iter().enumerate() {
            w_all[c * d..(c + 1) * d].copy_from_slice(&s.w_new);
            g_all[c * d..(c + 1) * d].copy_from_slice(&s.grad);
        }
        if let Some(s) = states.first() {
            let step = s.step_constants(t);
            sgld_update_chains(
                &mut w_all,
                &g_all,
                w_star,
                precond.as_deref(),
                &step,
                device,
            )?;
        }
        for (c, s) in states.iter_mut().enumerate() {
            s.w_new.copy_from_slice(&w_all[c * d..(c + 1) * d]);
        }
        states
            .par_iter_mut()
            .map(|s| s.after_update(t))
            .collect::<Result<()>>()?;
    }
    Ok(states.into_iter().map(ChainState::finish).collect())
}
