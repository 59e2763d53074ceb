//! When a run saves its state: the log-linear step schedule of `mariogeiger/feature_lazy@3e50d5c`
//! (`main.py: loglinspace`),
//!
//! ```text
//! t₀ = 0,   t_{k+1} = ⌊t_k + 1 + step·(1 − e^{−t_k/τ})⌋
//! ```
//!
//! every step at first, then spacing that grows towards `step` (the original's `--ckpt_step 500`,
//! `--ckpt_tau 1e4`: checkpoints 0, 1, …, 21, 23, 25, …; #100 at step 1384, #150 at 10127, #200 at
//! 31006; about every 501 steps after that).

use crate::error::{Error, Result};

/// An endless iterator over the checkpoint steps.
#[derive(Clone, Debug)]
pub struct LogLinearSchedule {
    next: u64,
    step: f64,
    tau: f64,
}

impl LogLinearSchedule {
    /// The schedule with spacing `step` reached after about `tau` steps.
    pub fn new(step: f64, tau: f64) -> Result<Self> {
        if !(step >= 0.0 && step.is_finite()) {
            return Err(Error::invalid("ckpt_step", step, "must be finite and ≥ 0"));
        }
        if !(tau > 0.0 && tau.is_finite()) {
            return Err(Error::invalid(
                "ckpt_tau",
                tau,
                "must be positive and finite",
            ));
        }
        Ok(LogLinearSchedule { next: 0, step, tau })
    }

    /// The original's schedule: step 500, τ = 10⁴.
    pub fn original() -> Self {
        LogLinearSchedule {
            next: 0,
            step: 500.0,
            tau: 1e4,
        }
    }
}

impl Iterator for LogLinearSchedule {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        let t = self.next;
        let tf = t as f64;
        self.next = (tf + 1.0 + self.step * (1.0 - (-tf / self.tau).exp())).floor() as u64;
        Some(t)
    }
}
