//! Many independent runs on one machine: every configuration trained on the same sets, in
//! parallel over rayon's threads (one run per thread, each run sequential, so the records do not
//! depend on the number of threads when the budget is in steps).

use rayon::prelude::*;

use super::run::{RunConfig, RunRecord, train_on_splits};
use crate::data::PcaSplits;
use crate::error::Result;

/// Trains every configuration on `splits` and returns the records in the order of `configs`.
/// The widest networks start first (they take longest). `progress(run, step)` is called at every
/// checkpoint of every run, and `progress(run, u64::MAX)` when a run ends.
pub fn train_all(
    configs: &[RunConfig],
    splits: &PcaSplits,
    name: &str,
    progress: &(dyn Fn(usize, u64) + Sync),
) -> Result<Vec<RunRecord>> {
    let mut order: Vec<usize> = (0..configs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(configs[i].h));
    let mut done: Vec<(usize, Result<RunRecord>)> = order
        .into_par_iter()
        .map(|i| {
            let r = train_on_splits(&configs[i], splits, name, &|s| progress(i, s));
            progress(i, u64::MAX);
            (i, r)
        })
        .collect();
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|d| d.1).collect()
}
