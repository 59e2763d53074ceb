//! Epoch-wise double descent of a trained network over (weight decay, training time): the
//! experiment of Fig. 2 (a, b) of Pezeshki, Mitra, Bengio & Lajoie, *Multi-scale Feature Learning
//! Dynamics: Insights for Double Descent* (ICML 2022, arXiv 2112.03215;
//! `mpezeshki/Epoch_wise_Double_Descent`, `ResNet_experiments/train.py` and `fig2_ab.py`).
//!
//! The original trains a ResNet-18 on CIFAR-10 with noisy labels by Adam (lr 10⁻⁴, batch 128,
//! `weight_decay` = λ = 10^(−ℓ) for ℓ ∈ linspace(0.1, 8, 100)) for 1000 epochs, five seeds per λ,
//! and records the 0-1 test error after every epoch: about 12 000 GPU hours. This module runs the
//! same protocol with any [`Dense`] and any data set: one run per λ from the same
//! initialisation, cross-entropy loss, minibatch Adam with coupled weight decay, the test error at
//! a chosen set of epochs.

use faer::MatRef;
use rayon::prelude::*;

use crate::backend::Float;
use crate::data::multiclass_error;
use crate::error::{Error, Result};
use crate::models::{Dense, Loss};
use crate::training::MinibatchAdam;

/// The settings of an epoch-wise heat map.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochWise {
    /// The network (its outputs must match the classes).
    pub net: Dense,
    /// ℓ of every column: λ = 10^(−ℓ).
    pub log_lambdas: Vec<f64>,
    /// Adam's learning rate.
    pub lr: f64,
    /// Batch size.
    pub batch: usize,
    /// Epochs to train.
    pub epochs: usize,
    /// Epochs (1 … `epochs`, increasing) after which the errors are recorded.
    pub record: Vec<usize>,
    /// Seed of the initialisation (shared by every column) and of the batch order.
    pub seed: u64,
}

/// Errors over (epoch, λ).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochWiseGrid {
    /// The recorded epochs (rows).
    pub epochs: Vec<usize>,
    /// ℓ of every column.
    pub log_lambdas: Vec<f64>,
    /// 0-1 test error, `test_err[row][column]`.
    pub test_err: Vec<Vec<f64>>,
    /// 0-1 error on the (noisy) training labels, same layout.
    pub train_err: Vec<Vec<f64>>,
}

impl EpochWiseGrid {
    /// The test-error curve of column `col` over the recorded epochs.
    pub fn column(&self, col: usize) -> Vec<f64> {
        self.test_err.iter().map(|r| r[col]).collect()
    }
}

/// Trains one network per λ on (x, y) (one-hot, possibly noisy, labels) and records the errors
/// on (x_test, y_test) and on the training labels after the epochs of `cfg.record`. Columns run
/// in parallel, one per thread, each sequential, so the grid does not depend on the number of
/// threads; `progress()` is called after every epoch of every column.
pub fn epoch_wise<T: Float>(
    cfg: &EpochWise,
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
    x_test: MatRef<'_, T>,
    y_test: MatRef<'_, T>,
    progress: &(dyn Fn() + Sync),
) -> Result<EpochWiseGrid> {
    if cfg.log_lambdas.is_empty() {
        return Err(Error::invalid("log_lambdas", "[]", "need at least one λ"));
    }
    if let Some(&l) = cfg.log_lambdas.iter().find(|l| !l.is_finite()) {
        return Err(Error::invalid("log_lambdas", l, "must be finite"));
    }
    if cfg.record.is_empty()
        || cfg.record[0] == 0
        || cfg.record.windows(2).any(|w| w[0] >= w[1])
        || *cfg.record.last().expect("not empty") > cfg.epochs
    {
        return Err(Error::invalid(
            "record",
            format!("{:?}", cfg.record),
            format!("must be increasing epochs in 1..={}", cfg.epochs),
        ));
    }
    cfg.net.check_targets(x, y)?;
    cfg.net.check_targets(x_test, y_test)?;
    let w0: Vec<T> = cfg.net.init(cfg.seed);
    cfg.net.check(&w0, x)?;
    cfg.net.check(&w0, x_test)?;
    let net = cfg.net.clone().with_loss(Loss::CrossEntropy);
    let columns: Vec<Result<(Vec<f64>, Vec<f64>)>> = cfg
        .log_lambdas
        .par_iter()
        .map(|&ell| {
            let mut w = w0.clone();
            let adam = MinibatchAdam {
                lr: cfg.lr,
                weight_decay: 10f64.powf(-ell),
                batch: cfg.batch,
                epochs: cfg.epochs,
                seed: cfg.seed,
                threads: 1,
            };
            let (mut te, mut tr) = (vec![], vec![]);
            let mut next = 0;
            adam.run(&net, &mut w, x, y, |epoch, w, _| {
                if next < cfg.record.len() && cfg.record[next] == epoch {
                    let pt = cfg.net.predict(w, x_test)?;
                    let p = cfg.net.predict(w, x)?;
                    te.push(multiclass_error(pt.as_ref(), y_test)?);
                    tr.push(multiclass_error(p.as_ref(), y)?);
                    next += 1;
                }
                progress();
                Ok(())
            })?;
            Ok((te, tr))
        })
        .collect();
    let columns = columns.into_iter().collect::<Result<Vec<_>>>()?;
    let rows = cfg.record.len();
    Ok(EpochWiseGrid {
        epochs: cfg.record.clone(),
        log_lambdas: cfg.log_lambdas.clone(),
        test_err: (0..rows)
            .map(|r| columns.iter().map(|c| c.0[r]).collect())
            .collect(),
        train_err: (0..rows)
            .map(|r| columns.iter().map(|c| c.1[r]).collect())
            .collect(),
    })
}
