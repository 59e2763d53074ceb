//! Minibatches, row gathering and seeded input data: what the training loops and samplers draw
//! their batches and inputs from.

use faer::{Mat, MatRef};
use rand::RngExt;
use rand::seq::SliceRandom;

use crate::error::{Error, Result};
use crate::random::Rng;

/// Minibatches of size b over n samples as the original code draws them (`create_minibatches`,
/// `validating_lambdahat/sgld_utils.py`): a fresh permutation at the start of every epoch (or the samples in order when
/// not shuffling), consecutive slices of b, the last partial batch dropped.
#[derive(Clone, Debug)]
pub struct Minibatches {
    order: Vec<usize>,
    batch: usize,
    slot: usize,
    shuffle: bool,
}

impl Minibatches {
    /// Batches of `batch` (1 ≤ batch ≤ n) over `n` samples.
    pub fn new(n: usize, batch: usize, shuffle: bool) -> Result<Self> {
        if batch == 0 || batch > n {
            return Err(Error::invalid(
                "batch_size",
                batch,
                format!("must lie in 1..={n} (the number of samples)"),
            ));
        }
        Ok(Minibatches {
            order: (0..n).collect(),
            batch,
            slot: 0,
            shuffle,
        })
    }

    /// The indices of the next batch, reshuffling with `rng` at each epoch start.
    pub fn next_batch(&mut self, rng: &mut Rng) -> &[usize] {
        let per_epoch = self.order.len() / self.batch;
        if self.slot == per_epoch {
            self.slot = 0;
        }
        if self.slot == 0 && self.shuffle {
            self.order.shuffle(rng);
        }
        let s = self.slot * self.batch;
        self.slot += 1;
        &self.order[s..s + self.batch]
    }
}

/// Rows `idx` of `a`.
pub fn gather_rows(a: MatRef<'_, f64>, idx: &[usize]) -> Mat<f64> {
    Mat::from_fn(idx.len(), a.ncols(), |i, j| a[(idx[i], j)])
}

/// An n × d matrix of independent draws from U(lo, hi), drawn from `rng` in the order
/// `Mat::from_fn` visits the entries (the inputs of
/// the LLC experiments: x ~ U(−10, 10)^d in `validating_lambdahat/expt_dln.py` and
/// `MALA_vs_SGLD.ipynb`).
pub fn uniform_inputs(n: usize, d: usize, lo: f64, hi: f64, rng: &mut Rng) -> Result<Mat<f64>> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(Error::invalid(
            "lo/hi",
            format!("{lo}/{hi}"),
            "need finite bounds with lo < hi",
        ));
    }
    crate::check::check_alloc::<f64>("uniform_inputs", n, d)?;
    let width = hi - lo;
    Ok(Mat::from_fn(n, d, |_, _| rng.random::<f64>() * width + lo))
}
