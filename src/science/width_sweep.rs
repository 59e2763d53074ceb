//! Model-wise double descent of trained networks (`DoubleDescentTutorialPart2.ipynb` of
//! `aradha5772/deep_learning_theory_tutorial@f2750a9`, cell 5): one-hidden-layer ReLU networks
//! f(x) = a·√(2/k)·relu(Bx + b) of several widths k, every parameter N(0, 1), trained by
//! full-batch gradient descent on the mean squared error against one-hot labels, with the train
//! and test MSE and 0-1 errors (argmax) logged every `log_every` steps.
//!
//! The interpolation threshold is where the number of parameters, (d + 1 + c)·k, equals the
//! number of scalar targets n·c ([`interpolation_threshold`]; 40 000 in the notebook, between
//! widths 50 and 55). The notebook's test error has a local bump just past it (0.1366 at width 60
//! against 0.1249 at width 50) and then falls to 0.0729 at width 512.

use faer::MatRef;
use rand::RngExt;
use rayon::prelude::*;

use crate::backend::Float;
use crate::data::{mse, multiclass_error};
use crate::error::{Error, Result};
use crate::models::Dense;
use crate::random;
use crate::training::GradientDescent;

/// The settings of a width sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthSweep {
    /// Hidden widths k.
    pub widths: Vec<usize>,
    /// Gradient-descent steps per width.
    pub steps: usize,
    /// Step size (the notebook: 10).
    pub lr: f64,
    /// Log every this many steps (the notebook: 10 000), at the end, and at 1, 2, 5, 10, 20, …
    pub log_every: usize,
    /// Initialisations per width (the notebook: one).
    pub seeds: usize,
    /// Seed; repeat s of width i is initialised from substream i of seed + s.
    pub seed: u64,
}

impl WidthSweep {
    /// The notebook's settings: widths 16 … 512, 100 000 steps at lr 10, logs every 10 000 steps.
    pub fn notebook(seed: u64) -> WidthSweep {
        WidthSweep {
            widths: vec![16, 32, 40, 45, 50, 55, 60, 128, 256, 512],
            steps: 100_000,
            lr: 10.0,
            log_every: 10_000,
            seeds: 1,
            seed,
        }
    }
}

/// One logged step of one width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WidthLog {
    /// Gradient-descent step.
    pub step: usize,
    /// Mean squared error on the training set (the training loss).
    pub train_mse: f64,
    /// 0-1 error on the training set.
    pub train_err: f64,
    /// Mean squared error on the test set.
    pub test_mse: f64,
    /// 0-1 error on the test set.
    pub test_err: f64,
}

/// The logs of one width.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthRun {
    /// Hidden width k.
    pub width: usize,
    /// Which initialisation of this width (0 … seeds − 1).
    pub repeat: usize,
    /// Number of parameters, (d + 1 + c)·k.
    pub params: usize,
    /// Logged steps, in order; the last is the end of training.
    pub logs: Vec<WidthLog>,
    /// Wall time of the run in seconds.
    pub seconds: f64,
    /// The final parameters (in f64; the run's own precision rounds them back exactly).
    pub weights: Vec<f64>,
}

impl WidthRun {
    /// The notebook's reported line: the last log strictly before the end of training (step
    /// 90 000 of 100 000), or the final log when there is no earlier one.
    pub fn reported(&self) -> &WidthLog {
        let n = self.logs.len();
        if n >= 2 {
            &self.logs[n - 2]
        } else {
            &self.logs[n - 1]
        }
    }

    /// The log at the end of training.
    pub fn last(&self) -> &WidthLog {
        self.logs.last().expect("a run has at least one log")
    }
}

/// Whether step `step` is logged: every `log_every` steps, the end, and 1, 2, 5, 10, 20, 50, …
/// (so that curves on a log time axis have points early on).
fn logged(step: usize, cfg: &WidthSweep) -> bool {
    let log_spaced = || {
        let mut p = 1;
        while p <= step {
            if step == p || step == 2 * p || step == 5 * p {
                return true;
            }
            p *= 10;
        }
        false
    };
    step == cfg.steps || (cfg.log_every > 0 && step.is_multiple_of(cfg.log_every)) || log_spaced()
}

/// n·c: the number of parameters at which a network can first fit every scalar target.
pub fn interpolation_threshold(n: usize, classes: usize) -> usize {
    n * classes
}

/// Trains the tutorial's network at every width and initialisation of `cfg` on (x, y) with
/// one-hot targets y, evaluating on (x_test, y_test) at every log; the runs come back width by
/// width, repeats in order. Runs go in parallel, one per thread (each sequential, so the results
/// do not depend on the number of threads), widest first; `progress(width_index, step)` is
/// called at every log.
#[allow(clippy::too_many_arguments)]
pub fn width_sweep<T: Float>(
    cfg: &WidthSweep,
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
    x_test: MatRef<'_, T>,
    y_test: MatRef<'_, T>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<WidthRun>> {
    if cfg.widths.is_empty() {
        return Err(Error::invalid("widths", "[]", "need at least one width"));
    }
    if cfg.seeds == 0 {
        return Err(Error::invalid("seeds", 0, "must be positive"));
    }
    if let Some(&k) = cfg.widths.iter().find(|&&k| k == 0) {
        return Err(Error::invalid("widths", k, "every width must be positive"));
    }
    if y.ncols() != y_test.ncols() {
        return Err(Error::ShapeMismatch {
            what: "classes of the test targets against the training targets".into(),
            expected: format!("{} columns", y.ncols()),
            got: format!("{} columns", y_test.ncols()),
        });
    }
    let (d, c) = (x.ncols(), y.ncols());
    // Check every architecture (sizes, memory) before the first run starts.
    let nets = cfg
        .widths
        .iter()
        .map(|&k| Dense::tutorial(d, k, c))
        .collect::<Result<Vec<_>>>()?;
    nets[0].check_targets(x, y)?;
    nets[0].check_targets(x_test, y_test)?;
    // Every run's record (its log of a few hundred bytes and its final parameters) is kept until
    // the end.
    crate::check::check_bytes(
        format!("`seeds` = {} (the runs' records)", cfg.seeds),
        cfg.seeds as u128
            * nets
                .iter()
                .map(|n| {
                    std::mem::size_of::<WidthRun>() as u128 + 1024 + 8 * n.num_params() as u128
                })
                .sum::<u128>(),
    )?;
    let mut order: Vec<(usize, usize)> = (0..nets.len())
        .flat_map(|i| (0..cfg.seeds).map(move |s| (i, s)))
        .collect();
    order.sort_by_key(|&(i, s)| (std::cmp::Reverse(cfg.widths[i]), s));
    let mut runs: Vec<((usize, usize), Result<WidthRun>)> = order
        .into_par_iter()
        .map(|(i, rep)| {
            let net = &nets[i];
            let t0 = std::time::Instant::now();
            let seed =
                random::substream(cfg.seed.wrapping_add(rep as u64), i as u64).random::<u64>();
            let mut w: Vec<T> = net.init(seed);
            let gd = GradientDescent {
                lr: cfg.lr,
                steps: cfg.steps,
                log_every: 1,
                stop_below: None,
                threads: 1,
            };
            let mut logs = vec![];
            let r = gd.run(net, &mut w, x, y, |step, w, _| {
                if !logged(step, cfg) {
                    return Ok(());
                }
                let p = net.predict(w, x)?;
                let pt = net.predict(w, x_test)?;
                logs.push(WidthLog {
                    step,
                    train_mse: mse(p.as_ref(), y)?,
                    train_err: multiclass_error(p.as_ref(), y)?,
                    test_mse: mse(pt.as_ref(), y_test)?,
                    test_err: multiclass_error(pt.as_ref(), y_test)?,
                });
                progress(i, step);
                Ok(())
            });
            let run = r.map(|_| WidthRun {
                width: cfg.widths[i],
                repeat: rep,
                params: net.num_params(),
                logs,
                seconds: t0.elapsed().as_secs_f64(),
                weights: w.iter().map(|v| v.to_f64()).collect(),
            });
            ((i, rep), run)
        })
        .collect();
    runs.sort_by_key(|r| r.0);
    runs.into_iter().map(|r| r.1).collect()
}
