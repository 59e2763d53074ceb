//! Langevin samplers of the localised, tempered posterior
//! p(w) ∝ exp(−nβ L_n(w) − (γ/2)‖w − w*‖²) around a parameter w* (Lau, Furman, Wang, Murfet, Wei,
//! arXiv 2308.12108; `validating_lambdahat/sgld_utils.py`; llc spec §1–§4).
//!
//! * [`sgld_chain`]: SGLD exactly as the paper, w ← w − (ε/2)[nβ ∇L_B(w) + γ(w − w*)] + N(0, εI),
//!   minibatches from a fresh permutation each epoch with the last partial batch dropped, and the
//!   minibatch loss recorded after each update on the same batch (the version that produced the
//!   paper's runs). An optional diagonal preconditioner p gives Δ = −(εp/2)g + N(0, εp).
//! * [`mala_acceptance`]: the Metropolis–Hastings acceptance of a Langevin move (spec §4.1), the
//!   per-step diagnostic recorded along SGLD chains.
//! * [`mala_chain`]: full-batch MALA (proposal N(w − (ε/2)∇U(w), εI), accepted with that
//!   probability).
//!
//! The Gaussian noise is Philox4x32-10 keyed by the seed with counter (pair, chain, step), the same
//! stream `cuda/sgld.cu` draws ([`crate::random::philox`]); batch orders come from the chain's own
//! seeded generator. The same seed gives the same chain whatever the number of threads.

use faer::MatRef;

use rayon::prelude::*;

use crate::device::{Backend, Device};
use crate::error::{Error, Result};
use crate::models::{Minibatches, Model, full_loss, gather_rows};
use crate::random::{self, philox};
use crate::scalar::Float;

#[cfg(feature = "cuda")]
mod gpu;

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
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(Error::invalid(
                "epsilon",
                self.epsilon,
                "must be finite and > 0",
            ));
        }
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return Err(Error::invalid(
                "gamma",
                self.gamma,
                "must be finite and >= 0",
            ));
        }
        if self.batch_size == 0 || self.batch_size > n {
            return Err(Error::invalid(
                "batch_size",
                self.batch_size,
                format!("must lie in 1..={n} (the number of samples)"),
            ));
        }
        if self.steps == 0 {
            return Err(Error::invalid("steps", 0, "need at least one step"));
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

/// The localised tempered potential U(w) = nβ·L_B(w) + (γ/2)‖w − w*‖².
struct Local<'a> {
    w_star: &'a [f64],
    nbeta: f64,
    gamma: f64,
}

impl Local<'_> {
    /// U(w) and ∇U (into `grad`) on the batch (x, y); also returns L_B(w).
    fn potential<M: Model + ?Sized>(
        &self,
        model: &M,
        w: &[f64],
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        grad: &mut [f64],
    ) -> (f64, f64) {
        let loss = model.loss_grad(w, x, y, grad);
        (self.with_data_gradient(w, loss, grad), loss)
    }

    /// Turns the data gradient in `grad` into ∇U = nβ∇L_B + γ(w − w*) and returns U for the
    /// batch loss `loss`.
    fn with_data_gradient(&self, w: &[f64], loss: f64, grad: &mut [f64]) -> f64 {
        let mut local = 0.0;
        for ((g, wi), ws) in grad.iter_mut().zip(w).zip(self.w_star) {
            let dw = wi - ws;
            *g = self.nbeta * *g + self.gamma * dw;
            local += dw * dw;
        }
        self.nbeta * loss + 0.5 * self.gamma * local
    }
}

/// The MALA acceptance probability of the move w → w′ under potential U with step ε:
/// min(1, exp(log q(w | w′) − log q(w′ | w) + U(w) − U(w′))), q(b | a) = N(b; a − (ε/2)∇U(a), εI).
pub fn mala_acceptance(
    w: &[f64],
    w_new: &[f64],
    u: f64,
    u_new: f64,
    grad: &[f64],
    grad_new: &[f64],
    epsilon: f64,
) -> f64 {
    let mut back = 0.0; // ‖w − w′ + (ε/2)∇U(w′)‖²
    let mut fwd = 0.0; // ‖w′ − w + (ε/2)∇U(w)‖²
    for i in 0..w.len() {
        let b = w[i] - w_new[i] + 0.5 * epsilon * grad_new[i];
        let f = w_new[i] - w[i] + 0.5 * epsilon * grad[i];
        back += b * b;
        fwd += f * f;
    }
    let log_ratio = (fwd - back) / (2.0 * epsilon) + u - u_new;
    if log_ratio.is_nan() {
        0.0
    } else {
        log_ratio.min(0.0).exp()
    }
}

/// The constants of one SGLD step shared by all chains.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Step size ε.
    pub epsilon: f64,
    /// nβ.
    pub nbeta: f64,
    /// Localisation γ.
    pub gamma: f64,
    /// Noise seed.
    pub seed: u64,
    /// Step index t (the noise counter).
    pub step: u64,
}

/// w ← w − (εp/2)(nβ g + γ(w − w*)) + √(εp)·ξ for one chain, ξ from Philox (seed, chain, step):
/// the arithmetic of `cuda/sgld.cu`.
fn update_chain<T: Float>(
    w: &mut [T],
    g: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    s: &Step,
    chain: u32,
) {
    let d = w.len();
    for p in 0..d.div_ceil(2) {
        let (z0, z1) = philox::normal_pair(s.seed, chain, s.step, p as u32);
        for (k, z) in [(2 * p, z0), (2 * p + 1, z1)] {
            if k < d {
                let pk = precond.map_or(1.0, |pc| pc[k].to_f64());
                let wk = w[k].to_f64();
                let drift = s.nbeta * g[k].to_f64() + s.gamma * (wk - w_star[k].to_f64());
                w[k] = T::of(wk - 0.5 * s.epsilon * pk * drift + (s.epsilon * pk).sqrt() * z);
            }
        }
    }
}

/// One SGLD step for C chains at once (the fused update of `cuda/sgld.cu`, one launch on CUDA;
/// rayon over chains on the CPU). `w` and `grads` are C × d row-major (chain c at c·d): the
/// parameters and the gradients of the minibatch mean losses; chain c draws its noise from
/// Philox (seed, c, step), so both backends draw the same numbers.
pub fn sgld_update_chains<T: Float>(
    w: &mut [T],
    grads: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    step: &Step,
    device: &Device,
) -> Result<()> {
    let d = w_star.len();
    if d == 0 || w.len() % d != 0 || grads.len() != w.len() {
        return Err(Error::ShapeMismatch {
            what: "chains' parameters and gradients against w*".into(),
            expected: format!("C·{d} values each"),
            got: format!("{} and {}", w.len(), grads.len()),
        });
    }
    if let Some(p) = precond {
        if p.len() != d {
            return Err(Error::ShapeMismatch {
                what: "preconditioner against w*".into(),
                expected: format!("{d}"),
                got: format!("{}", p.len()),
            });
        }
    }
    crate::error::check_finite("grads", grads.iter().map(|v| v.to_f64()))?;
    match device.backend() {
        Backend::Cpu => {
            w.par_chunks_mut(d)
                .zip(grads.par_chunks(d))
                .enumerate()
                .for_each(|(c, (wc, gc))| update_chain(wc, gc, w_star, precond, step, c as u32));
            Ok(())
        }
        Backend::Cuda => {
            #[cfg(feature = "cuda")]
            {
                let rt = device
                    .cuda_runtime()
                    .expect("a CUDA device holds a runtime");
                gpu::sgld_update(rt, w, grads, w_star, precond, step)
            }
            #[cfg(not(feature = "cuda"))]
            unreachable!("no CUDA device exists in a build without the cuda feature")
        }
    }
}

/// Runs SGLD chain number `chain` from w* on data (x, y) (n × N, n × M).
pub fn sgld_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    cfg: &SgldConfig,
    chain: u32,
) -> Result<Chain> {
    crate::models::check_inputs(model, w_star, x, y)?;
    let (n, d) = (x.nrows(), w_star.len());
    cfg.validate(n, d)?;
    let b = cfg.batch_size;
    let nbeta = cfg.nbeta.resolve(n, b);
    let eps = cfg.epsilon;
    let mut rng = random::substream(cfg.seed, chain as u64);
    let mut batches = Minibatches::new(n, b, cfg.shuffle)?;
    let mut w = w_star.to_vec();
    let mut w_new = vec![0.0; d];
    let mut grad = vec![0.0; d];
    let mut grad_new = vec![0.0; d];
    let mut losses = Vec::with_capacity(cfg.steps);
    let mut mala = Vec::new();
    for t in 0..cfg.steps {
        let idx = batches.next_batch(&mut rng);
        let xb = gather_rows(x, idx);
        let yb = gather_rows(y, idx);
        let loss_w = model.loss_grad(&w, xb.as_ref(), yb.as_ref(), &mut grad);
        w_new.copy_from_slice(&w);
        let step = Step {
            epsilon: eps,
            nbeta,
            gamma: cfg.gamma,
            seed: cfg.seed,
            step: t as u64,
        };
        update_chain(
            &mut w_new,
            &grad,
            w_star,
            cfg.preconditioner.as_deref(),
            &step,
            chain,
        );
        let record_mala = cfg.mala_every.is_some_and(|m| t % m == 0);
        let batch_loss = if record_mala {
            let local = Local {
                w_star,
                nbeta,
                gamma: cfg.gamma,
            };
            let u = local.with_data_gradient(&w, loss_w, &mut grad);
            let (u_new, l) =
                local.potential(model, &w_new, xb.as_ref(), yb.as_ref(), &mut grad_new);
            mala.push((
                t,
                mala_acceptance(&w, &w_new, u, u_new, &grad, &grad_new, eps),
            ));
            l
        } else {
            model.loss(&w_new, xb.as_ref(), yb.as_ref())
        };
        let loss = match cfg.loss_trace {
            LossTrace::Minibatch => batch_loss,
            LossTrace::FullData => full_loss(model, &w_new, x, y),
        };
        if !loss.is_finite() {
            return Err(Error::Numerical(format!(
                "chain {chain} diverged at step {t}: loss = {loss} (epsilon = {eps:e}, nbeta = \
                 {nbeta:.1}); lower epsilon"
            )));
        }
        losses.push(loss);
        std::mem::swap(&mut w, &mut w_new);
    }
    Ok(Chain {
        losses,
        mala,
        last: w,
    })
}

/// A full-batch MALA chain.
#[derive(Clone, Debug)]
pub struct MalaChain {
    /// Full-data loss L_n of every sample (after the accept/reject step).
    pub losses: Vec<f64>,
    /// Fraction of accepted proposals.
    pub acceptance_rate: f64,
}

/// Full-batch MALA from w* with step ε on U(w) = nβ L_n(w) + (γ/2)‖w − w*‖² (`T` steps; the
/// notebook's numpyro HMC with one leapfrog step of size √ε is this sampler).
#[allow(clippy::too_many_arguments)]
pub fn mala_chain<M: Model + ?Sized>(
    model: &M,
    w_star: &[f64],
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    epsilon: f64,
    gamma: f64,
    nbeta: f64,
    steps: usize,
    seed: u64,
    chain: u32,
) -> Result<MalaChain> {
    crate::models::check_inputs(model, w_star, x, y)?;
    let cfg = SgldConfig {
        epsilon,
        gamma,
        nbeta: NBeta::Value(nbeta),
        batch_size: x.nrows(),
        steps,
        ..Default::default()
    };
    let d = w_star.len();
    cfg.validate(x.nrows(), d)?;
    let mut rng = random::substream(seed ^ 0x4d41_4c41, chain as u64);
    let mut w = w_star.to_vec();
    let mut grad = vec![0.0; d];
    let local = Local {
        w_star,
        nbeta,
        gamma,
    };
    let (mut u, mut loss) = local.potential(model, &w, x, y, &mut grad);
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
        let (u_new, loss_new) = local.potential(model, &w_new, x, y, &mut grad_new);
        let a = mala_acceptance(&w, &w_new, u, u_new, &grad, &grad_new, epsilon);
        if rand::RngExt::random::<f64>(&mut rng) < a {
            std::mem::swap(&mut w, &mut w_new);
            std::mem::swap(&mut grad, &mut grad_new);
            u = u_new;
            loss = loss_new;
            accepted += 1;
        }
        if !loss.is_finite() {
            return Err(Error::Numerical(format!(
                "MALA chain {chain} diverged at step {t}: loss = {loss}"
            )));
        }
        losses.push(loss);
    }
    Ok(MalaChain {
        losses,
        acceptance_rate: accepted as f64 / steps as f64,
    })
}
