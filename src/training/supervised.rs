//! Supervised training loops over any [`Model`] (its own loss: a [`Dense`](crate::models::Dense)
//! network's [`Loss`](crate::models::Loss)), each driving one [`Stepper`]: full-batch gradient
//! descent ([`Sgd`] steps) as in the tutorial's notebooks (`DoubleDescentTutorialPart2.ipynb` cell 5: `optim.SGD(lr=10)`
//! on all 4000 digits for 100 000 steps; `NTKAnalysis.ipynb` cell 6: lr 10⁻², stop when the loss
//! is below 10⁻¹⁰), and minibatch Adam with coupled weight decay as in the multi-scale paper's
//! ResNet runs (Pezeshki et al., ICML 2022; `mpezeshki/Epoch_wise_Double_Descent`,
//! `ResNet_experiments/train.py`: `optim.Adam(lr=1e-4, weight_decay=10^(−ℓ))`, batch 128).
//!
//! Both loops evaluate nothing themselves: a callback sees the parameters at the logged steps
//! (or after each epoch) and computes whatever the figure needs.

use faer::{Mat, MatRef};
use rand::seq::SliceRandom;

use super::steppers::{Adam, Sgd, Stepper};
use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::{Model, Scratch, check_inputs};
use crate::random;

/// Full-batch gradient descent w ← w − η∇L(w).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescent {
    /// Step size η > 0.
    pub lr: f64,
    /// Number of steps.
    pub steps: usize,
    /// Call the callback at steps 0, every, 2·every, … (and after the last step); 0: only at the
    /// start and the end.
    pub log_every: usize,
    /// Stop as soon as the training loss is below this value (`NTKAnalysis`: 10⁻¹⁰).
    pub stop_below: Option<f64>,
    /// Threads of the GEMMs (1: the calling thread, for runs trained in parallel; 0: all of
    /// rayon's threads).
    pub threads: usize,
}

/// Why a gradient-descent run ended, and where.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GdOutcome {
    /// Steps taken.
    pub steps: usize,
    /// The training loss at the final parameters.
    pub final_loss: f64,
    /// Whether the run stopped because the loss went below `stop_below`.
    pub converged: bool,
}

impl GradientDescent {
    /// Checks the step size and the stop value.
    pub fn check(&self) -> Result<()> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid("lr", self.lr, "must be finite and > 0"));
        }
        if let Some(s) = self.stop_below
            && !(s.is_finite() && s >= 0.0)
        {
            return Err(Error::invalid("stop_below", s, "must be finite and >= 0"));
        }
        Ok(())
    }

    /// Runs gradient descent on `loss` over (x, y) from `w` (updated in place). `on_log(step, w,
    /// train_loss)` runs at step 0, at every `log_every` steps (before that step's update, as the
    /// notebook logs at `i % 10000 == 0`) and at the end. A non-finite loss is
    /// [`Error::Diverged`].
    pub fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        model: &M,
        w: &mut [T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        mut on_log: impl FnMut(usize, &[T], f64) -> Result<()>,
    ) -> Result<GdOutcome> {
        self.check()?;
        check_inputs(model, w, x, y)?;
        let mut scratch = Scratch::parallel(self.threads);
        model.prepare(&mut scratch, x.nrows())?;
        let mut grad = vec![T::ZERO; w.len()];
        let mut sgd = Sgd::new(self.lr)?;
        for step in 0..=self.steps {
            let value = if step < self.steps {
                model.loss_grad_in(&mut scratch, w, x, y, &mut grad)
            } else {
                model.loss_in(&mut scratch, w, x, y)
            };
            if !value.is_finite() {
                return Err(Error::Diverged {
                    process: "gradient descent",
                    index: 0,
                    step,
                    loss: value,
                });
            }
            let converged = self.stop_below.is_some_and(|s| value < s);
            let logged = step == 0 || (self.log_every > 0 && step % self.log_every == 0);
            if step == self.steps || converged {
                on_log(step, w, value)?;
                return Ok(GdOutcome {
                    steps: step,
                    final_loss: value,
                    converged,
                });
            }
            if logged {
                on_log(step, w, value)?;
            }
            sgd.update(w, &grad);
        }
        unreachable!("the loop returns at step == steps")
    }
}

/// Minibatch training with [`Adam`]: each epoch visits the training rows once in a fresh seeded
/// order (epoch e uses substream e of `seed`), in batches of `batch` rows (the last one smaller,
/// as PyTorch's `DataLoader` without `drop_last`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinibatchAdam {
    /// Adam's learning rate.
    pub lr: f64,
    /// Coupled weight decay λ.
    pub weight_decay: f64,
    /// Batch size.
    pub batch: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Seed of the batch order.
    pub seed: u64,
    /// Threads of the GEMMs (1: the calling thread; 0: all of rayon's threads).
    pub threads: usize,
}

impl MinibatchAdam {
    /// Trains from `w` (updated in place); `on_epoch(epoch, w, mean_train_loss)` runs after every
    /// epoch (1, 2, …). A non-finite batch loss is [`Error::Diverged`].
    pub fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        model: &M,
        w: &mut [T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        mut on_epoch: impl FnMut(usize, &[T], f64) -> Result<()>,
    ) -> Result<()> {
        check_inputs(model, w, x, y)?;
        if self.batch == 0 {
            return Err(Error::invalid("batch", 0, "must be positive"));
        }
        let mut adam = Adam::new(self.lr, self.weight_decay, w.len())?;
        let n = x.nrows();
        let b = self.batch.min(n);
        let (d, c) = (x.ncols(), y.ncols());
        let mut xb = Mat::<T>::zeros(b, d);
        let mut yb = Mat::<T>::zeros(b, c);
        let mut xl = Mat::<T>::zeros(n % b, d);
        let mut yl = Mat::<T>::zeros(n % b, c);
        let mut ws_full = Scratch::parallel(self.threads);
        let mut ws_last = Scratch::parallel(self.threads);
        model.prepare(&mut ws_full, b)?;
        if n % b > 0 {
            model.prepare(&mut ws_last, n % b)?;
        }
        let mut grad = vec![T::ZERO; w.len()];
        let mut order: Vec<usize> = (0..n).collect();
        let mut step = 0;
        for epoch in 1..=self.epochs {
            order.sort_unstable();
            order.shuffle(&mut random::substream(self.seed, epoch as u64));
            let mut total = 0.0;
            for chunk in order.chunks(b) {
                let (xm, ym, ws) = if chunk.len() == b {
                    (&mut xb, &mut yb, &mut ws_full)
                } else {
                    (&mut xl, &mut yl, &mut ws_last)
                };
                for (r, &i) in chunk.iter().enumerate() {
                    for k in 0..d {
                        xm[(r, k)] = x[(i, k)];
                    }
                    for k in 0..c {
                        ym[(r, k)] = y[(i, k)];
                    }
                }
                let value = model.loss_grad_in(ws, w, xm.as_ref(), ym.as_ref(), &mut grad);
                if !value.is_finite() {
                    return Err(Error::Diverged {
                        process: "Adam run",
                        index: 0,
                        step,
                        loss: value,
                    });
                }
                total += value * chunk.len() as f64;
                adam.update(w, &grad);
                step += 1;
            }
            on_epoch(epoch, w, total / n as f64)?;
        }
        Ok(())
    }
}
