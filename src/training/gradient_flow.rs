//! Full-batch training dynamics: the adaptive gradient flow of `mariogeiger/gradientflow@0875a20`
//! (`gradientflow/backprop.py`, used by `mariogeiger/feature_lazy@3e50d5c`, `main.py:
//! run_regular`) and plain gradient descent with a fixed step.
//!
//! Adaptive flow, from dt = 1:
//!
//! ```text
//! w′ = w − dt ∇L(w);  o′ = outputs(w′);  g′ = ∇L(w′)
//! dout  = max_μ |o_μ − o′_μ|
//! dgrad = ‖g − g′‖² / (‖g‖ ‖g′‖)            (0 when a norm is 0)
//! accept (t += dt) if dgrad < max_dgrad and dout < max_dout,
//!        then dt ← 1.1 dt if also dgrad < max_dgrad/2 and dout < max_dout/2;
//! else   dt ← dt/10 and retry from the same w.
//! ```
//!
//! The original passes max_dgrad = 1e-4 and max_dout = 0.1/α (the α-scaled output αf̃ moves by less
//! than 0.1 per step). Every trial costs one forward and backward pass over the whole batch.

use serde::{Deserialize, Serialize};

use crate::backend::Float;
use crate::error::{Error, Result};

/// A differentiable training objective seen by the integrators: outputs o(w) (whose change limits
/// the adaptive step) and the loss with its gradient.
pub trait Objective<T: Float> {
    /// Number of parameters.
    fn num_params(&self) -> usize;
    /// Number of outputs (training points).
    fn num_outputs(&self) -> usize;
    /// Writes o(w) into `out` and ∇L(w) into `grad`; returns L(w).
    fn evaluate(&mut self, w: &[T], out: &mut [T], grad: &mut [T]) -> Result<f64>;
}

/// How the weights move.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// The adaptive gradient flow (see the module documentation).
    AdaptiveFlow {
        /// Limit on the change of gradient direction per step (original: 1e-4).
        max_dgrad: f64,
        /// Limit on the largest change of an output per step (original: 0.1/α).
        max_dout: f64,
    },
    /// Gradient descent w ← w − lr·∇L(w), every step accepted.
    GradientDescent {
        /// The step size.
        lr: f64,
    },
}

impl Method {
    /// The original's adaptive flow for a given α: max_dgrad = 1e-4, max_dout = 0.1/α.
    pub fn original(alpha: f64) -> Method {
        Method::AdaptiveFlow {
            max_dgrad: 1e-4,
            max_dout: 0.1 / alpha,
        }
    }

    /// Checks the limits or the step size.
    pub fn check(self) -> Result<Self> {
        let ok = |v: f64| v > 0.0 && v.is_finite();
        match self {
            Method::AdaptiveFlow { max_dgrad, .. } if !ok(max_dgrad) => Err(Error::invalid(
                "max_dgrad",
                max_dgrad,
                "must be positive and finite",
            )),
            Method::AdaptiveFlow { max_dout, .. } if !ok(max_dout) => Err(Error::invalid(
                "max_dout",
                max_dout,
                "must be positive and finite",
            )),
            Method::GradientDescent { lr } if !ok(lr) => {
                Err(Error::invalid("lr", lr, "must be positive and finite"))
            }
            _ => Ok(self),
        }
    }
}

/// What one accepted step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The step taken.
    pub dt: f64,
    /// Its change of gradient direction.
    pub dgrad: f64,
    /// Its largest output change.
    pub dout: f64,
    /// Trials rejected before it.
    pub rejected: usize,
}

/// Rejections in a row after which the adaptive flow gives up (dt has shrunk by 10⁶⁰).
const MAX_REJECTIONS: usize = 60;

/// The state of a training run: weights, outputs, gradient and the continuous time.
#[derive(Clone, Debug)]
pub struct Integrator<T: Float> {
    method: Method,
    w: Vec<T>,
    out: Vec<T>,
    grad: Vec<T>,
    /// ‖grad‖, kept with it so that each trial computes only the new gradient's norm.
    grad_norm: f64,
    loss: f64,
    trial_w: Vec<T>,
    trial_out: Vec<T>,
    trial_grad: Vec<T>,
    t: f64,
    dt: f64,
    steps: u64,
    last: Option<StepInfo>,
}

fn norm<T: Float>(v: &[T]) -> f64 {
    v.iter()
        .map(|x| x.to_f64() * x.to_f64())
        .sum::<f64>()
        .sqrt()
}

impl<T: Float> Integrator<T> {
    /// Starts at `w0` (evaluates the objective there).
    pub fn new<O: Objective<T>>(objective: &mut O, w0: Vec<T>, method: Method) -> Result<Self> {
        let method = method.check()?;
        let np = objective.num_params();
        if w0.len() != np {
            return Err(Error::ShapeMismatch {
                what: "initial parameters against the objective".into(),
                expected: format!("{np}"),
                got: format!("{}", w0.len()),
            });
        }
        let no = objective.num_outputs();
        let mut out = vec![T::ZERO; no];
        let mut grad = vec![T::ZERO; np];
        let loss = objective.evaluate(&w0, &mut out, &mut grad)?;
        Ok(Integrator {
            grad_norm: norm(&grad),
            method,
            trial_w: w0.clone(),
            trial_out: out.clone(),
            trial_grad: grad.clone(),
            w: w0,
            out,
            grad,
            loss,
            t: 0.0,
            dt: 1.0,
            steps: 0,
            last: None,
        })
    }

    /// Current weights.
    pub fn weights(&self) -> &[T] {
        &self.w
    }
    /// Current outputs.
    pub fn outputs(&self) -> &[T] {
        &self.out
    }
    /// Current gradient.
    pub fn gradient(&self) -> &[T] {
        &self.grad
    }
    /// Current loss.
    pub fn loss(&self) -> f64 {
        self.loss
    }
    /// Continuous time t (the sum of accepted steps).
    pub fn time(&self) -> f64 {
        self.t
    }
    /// The step the next trial will use.
    pub fn next_dt(&self) -> f64 {
        self.dt
    }
    /// Accepted steps so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// The last accepted step.
    pub fn last_step(&self) -> Option<StepInfo> {
        self.last
    }
    /// ‖∇L‖.
    pub fn grad_norm(&self) -> f64 {
        self.grad_norm
    }

    /// Takes one accepted step (retrying with smaller dt as the adaptive rule demands). Rejected
    /// trials leave the state unchanged. Errors when the step collapses (60 rejections in a row).
    pub fn step<O: Objective<T>>(&mut self, objective: &mut O) -> Result<StepInfo> {
        let mut rejected = 0;
        loop {
            let dt = match self.method {
                Method::AdaptiveFlow { .. } => self.dt,
                Method::GradientDescent { lr } => lr,
            };
            let dtt = T::of(dt);
            for ((tw, &w), &g) in self.trial_w.iter_mut().zip(&self.w).zip(&self.grad) {
                *tw = w - dtt * g;
            }
            let loss =
                objective.evaluate(&self.trial_w, &mut self.trial_out, &mut self.trial_grad)?;
            let dout = self
                .out
                .iter()
                .zip(&self.trial_out)
                .map(|(a, b)| (a.to_f64() - b.to_f64()).abs())
                .fold(0.0, f64::max);
            let (n0, n1) = (self.grad_norm, norm(&self.trial_grad));
            let dgrad = if n0 == 0.0 || n1 == 0.0 {
                0.0
            } else {
                self.grad
                    .iter()
                    .zip(&self.trial_grad)
                    .map(|(a, b)| {
                        let d = a.to_f64() - b.to_f64();
                        d * d
                    })
                    .sum::<f64>()
                    / (n0 * n1)
            };
            let accept = match self.method {
                Method::AdaptiveFlow {
                    max_dgrad,
                    max_dout,
                } => {
                    let ok = dgrad < max_dgrad && dout < max_dout;
                    if ok {
                        if dgrad < max_dgrad / 2.0 && dout < max_dout / 2.0 {
                            self.dt = dt * 1.1;
                        }
                    } else {
                        self.dt = dt / 10.0;
                    }
                    ok
                }
                Method::GradientDescent { .. } => true,
            };
            if accept {
                std::mem::swap(&mut self.w, &mut self.trial_w);
                std::mem::swap(&mut self.out, &mut self.trial_out);
                std::mem::swap(&mut self.grad, &mut self.trial_grad);
                self.loss = loss;
                self.grad_norm = n1;
                self.t += dt;
                self.steps += 1;
                let info = StepInfo {
                    dt,
                    dgrad,
                    dout,
                    rejected,
                };
                self.last = Some(info);
                return Ok(info);
            }
            rejected += 1;
            if rejected >= MAX_REJECTIONS {
                return Err(Error::Numerical(format!(
                    "adaptive gradient flow: {rejected} rejected steps in a row at step {} \
                     (dt = {:.3e}, dgrad = {dgrad:.3e}, dout = {dout:.3e})",
                    self.steps, self.dt
                )));
            }
        }
    }
}
