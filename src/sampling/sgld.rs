//! SGLD chains (Welling & Teh 2011) as the LLC paper runs them (Lau et al., arXiv 2308.12108;
//! `validating_lambdahat/sgld_utils.py`, function `sgld`).

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::potential::{Local, mala_acceptance};
use super::update::{Step, sgld_update_chains, update_chain};
use super::{LossTrace, NBeta};
use crate::backend::{Backend, Device};
use crate::data::{Minibatches, gather_rows};
use crate::error::{Error, Result};
use crate::models::{Model, full_loss};
use crate::random;

/// SGLD settings. `Default` gives the DLN defaults of `expt_dln.py` (ε = 1e-5, γ = 10, batch 100,
/// 5000 steps) with nβ = n/log n.
#[derive(Clone, Debug)]
pub struct SgldConfig {
    /// Step size ε.
    pub epsilon: f64,
    /// Localisation strength γ.
    pub gamma: f64,
    /// nβ.
    pub nbeta: NBeta,
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
            gamma: 10.0,
            nbeta: NBeta::DatasetLog,
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
        super::check_step(self.epsilon, self.gamma, self.steps)?;
        if self.batch_size == 0 || self.batch_size > n {
            return Err(Error::invalid(
                "batch_size",
                self.batch_size,
                format!("must lie in 1..={n} (the number of samples)"),
            ));
        }
        if let NBeta::Value(v) = self.nbeta {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid("nbeta", v, "must be finite and > 0"));
            }
        }
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

/// One SGLD chain.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The recorded loss after every step.
    pub losses: Vec<f64>,
    /// (step, MALA acceptance probability) every `mala_every` steps.
    pub mala: Vec<(usize, f64)>,
    /// The last parameter.
    pub last: Vec<f64>,
}

/// The running state of one SGLD chain: its batch order, current parameter, scratch and records.
/// A step is split in two around the update, so that many chains can share one fused update
/// ([`sgld_update_chains`]) between the halves.
struct ChainState<'a, M: Model + ?Sized> {
    model: &'a M,
    x: MatRef<'a, f64>,
    y: MatRef<'a, f64>,
    w_star: &'a [f64],
    cfg: &'a SgldConfig,
    nbeta: f64,
    chain: u32,
    rng: random::Rng,
    batches: Minibatches,
    w: Vec<f64>,
    w_new: Vec<f64>,
    grad: Vec<f64>,
    grad_new: Vec<f64>,
    batch: Option<(Mat<f64>, Mat<f64>, f64)>,
    losses: Vec<f64>,
    mala: Vec<(usize, f64)>,
}

impl<'a, M: Model + ?Sized> ChainState<'a, M> {
    fn new(
        model: &'a M,
        w_star: &'a [f64],
        x: MatRef<'a, f64>,
        y: MatRef<'a, f64>,
        cfg: &'a SgldConfig,
        chain: u32,
    ) -> Result<Self> {
        let (n, d) = (x.nrows(), w_star.len());
        Ok(ChainState {
            model,
            x,
            y,
            w_star,
            cfg,
            nbeta: cfg.nbeta.resolve(n, cfg.batch_size),
            chain,
            rng: random::substream(cfg.seed, chain as u64),
            batches: Minibatches::new(n, cfg.batch_size, cfg.shuffle)?,
            w: w_star.to_vec(),
            w_new: vec![0.0; d],
            grad: vec![0.0; d],
            grad_new: vec![0.0; d],
            batch: None,
            losses: Vec::with_capacity(cfg.steps),
            mala: Vec::new(),
        })
    }

    fn step_constants(&self, t: usize) -> Step {
        Step {
            epsilon: self.cfg.epsilon,
            nbeta: self.nbeta,
            gamma: self.cfg.gamma,
            seed: self.cfg.seed,
            step: t as u64,
        }
    }

    /// First half of step t: draws the batch, computes ∇L_B(w) into `grad` and copies w into
    /// `w_new` for the update.
    fn before_update(&mut self) {
        let idx = self.batches.next_batch(&mut self.rng);
        let xb = gather_rows(self.x, idx);
        let yb = gather_rows(self.y, idx);
        let loss_w = self
            .model
            .loss_grad(&self.w, xb.as_ref(), yb.as_ref(), &mut self.grad);
        self.w_new.copy_from_slice(&self.w);
        self.batch = Some((xb, yb, loss_w));
    }

    /// Second half of step t, once `w_new` holds the updated parameter: the MALA diagnostic, the
    /// recorded loss and the divergence check.
    fn after_update(&mut self, t: usize) -> Result<()> {
        let (xb, yb, loss_w) = self.batch.take().expect("before_update runs first");
        let (model, cfg) = (self.model, self.cfg);
        let record_mala = cfg.mala_every.is_some_and(|m| t % m == 0);
        let batch_loss = if record_mala {
            let local = Local {
                w_star: self.w_star,
                nbeta: self.nbeta,
                gamma: cfg.gamma,
            };
            let u = local.with_data_gradient(&self.w, loss_w, &mut self.grad);
            let (u_new, l) = local.potential(
                model,
                &self.w_new,
                xb.as_ref(),
                yb.as_ref(),
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
                ),
            ));
            l
        } else {
            model.loss(&self.w_new, xb.as_ref(), yb.as_ref())
        };
        let loss = match cfg.loss_trace {
            LossTrace::Minibatch => batch_loss,
            LossTrace::FullData => full_loss(model, &self.w_new, self.x, self.y),
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

    fn finish(self) -> Chain {
        Chain {
            losses: self.losses,
            mala: self.mala,
            last: self.w,
        }
    }
}

/// Runs SGLD chain number `chain` from w* on data (x, y) (n × N, n × M), on the CPU.
pub fn sgld_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chain: u32,
) -> Result<Chain> {
    crate::models::check_inputs(model, w_star, x, y)?;
    cfg.validate(x.nrows(), w_star.len())?;
    run_chain(model, w_star, x, y, cfg, chain)
}

/// One chain on its own, with the update on the CPU; the inputs were checked by the caller.
fn run_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chain: u32,
) -> Result<Chain> {
    let mut state = ChainState::new(model, w_star, x, y, cfg, chain)?;
    for t in 0..cfg.steps {
        state.before_update();
        let step = state.step_constants(t);
        update_chain(
            &mut state.w_new,
            &state.grad,
            w_star,
            cfg.preconditioner.as_deref(),
            &step,
            chain,
        );
        state.after_update(t)?;
    }
    Ok(state.finish())
}

/// Runs chains 0, 1, …, `chains` − 1 from w*. On the CPU each chain runs on its own (rayon over
/// chains); on CUDA the chains advance in lockstep and every step updates all of them in one
/// launch of the fused update (`cuda/sgld.cu`), with the gradients computed on the CPU. Both draw
/// the same noise (Philox keyed by seed, chain and step) and the same batches.
pub fn sgld_chains<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chains: usize,
    device: &Device,
) -> Result<Vec<Chain>> {
    let chains = check_chains(model, w_star, x, y, cfg, chains)?;
    chains_checked(model, w_star, x, y, cfg, chains, device)
}

/// [`sgld_chains`] once the inputs have been checked (by it, or by the LLC estimator).
pub(crate) fn chains_checked<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chains: u32,
    device: &Device,
) -> Result<Vec<Chain>> {
    if device.backend() == Backend::Cpu {
        return (0..chains)
            .into_par_iter()
            .map(|c| run_chain(model, w_star, x, y, cfg, c))
            .collect();
    }
    lockstep(model, w_star, x, y, cfg, chains, device)
}

/// The checks shared by the multi-chain drivers; the chain count as the noise counter's type.
pub(crate) fn check_chains<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chains: usize,
) -> Result<u32> {
    crate::models::check_inputs(model, w_star, x, y)?;
    cfg.validate(x.nrows(), w_star.len())?;
    u32::try_from(chains).map_err(|_| Error::invalid("chains", chains, "must fit in 32 bits"))
}

/// The lockstep driver behind [`sgld_chains`] on CUDA, on any device: all chains advance one
/// step at a time and share one fused update per step. On the CPU it gives the same chains as
/// [`sgld_chain`] run one by one (the tests check this), so the CUDA path differs from the CPU
/// path only in the update's arithmetic.
pub fn sgld_chains_lockstep<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chains: usize,
    device: &Device,
) -> Result<Vec<Chain>> {
    let chains = check_chains(model, w_star, x, y, cfg, chains)?;
    lockstep(model, w_star, x, y, cfg, chains, device)
}

fn lockstep<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chains: u32,
    device: &Device,
) -> Result<Vec<Chain>> {
    let d = w_star.len();
    let mut states: Vec<ChainState<'_, M>> = (0..chains)
        .map(|c| ChainState::new(model, w_star, x, y, cfg, c))
        .collect::<Result<_>>()?;
    let mut w_all = vec![0.0; chains as usize * d];
    let mut g_all = vec![0.0; chains as usize * d];
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
                cfg.preconditioner.as_deref(),
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
