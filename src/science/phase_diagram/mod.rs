//! The phase diagram of deep learning of Geiger, Petrini & Wyart ("Perspective: A phase diagram
//! for deep learning unifying jamming, feature learning and lazy training", arXiv 2012.15110;
//! building on Geiger, Spigler, Jacot & Wyart, arXiv 1906.08034): the analyses of the review's two
//! figures, as functions over a set of [`RunRecord`]s (`mariogeiger/feature_lazy@3e50d5c`, the
//! README's plotting code and `jamming.py`, `feature_lazy.py`).
//!
//! * [`error_vs_width`]: Fig. 1, test error against width h at one α̃: each seed's final error,
//!   the seed mean, the ensemble error of the seed-averaged output and the jamming band.
//! * [`ensemble_grid`]: the background of Fig. 2, the ensemble error over the (h, α̃) plane.
//! * [`crossover_line`]: the feature/lazy crossover, where ‖ΔΘ‖/‖Θ₀‖ crosses c.
//! * [`jamming_line`]: the width below which no run fits the training set within a budget.
//!
//! Every threshold of the original is a field of [`Rules`] with the original's value as
//! [`Rules::ORIGINAL`], so that scaled-down sweeps (fewer seeds, coarser grids) can relax them
//! explicitly.

mod crossover;
mod ensemble;
mod jamming;

pub use crossover::{CrossoverPoint, crossover_line};
pub use ensemble::{ErrorCurve, GridPoint, ensemble_error, ensemble_grid, error_vs_width};
pub use jamming::{BudgetAxis, JammingPoint, jamming_band, jamming_line};

use crate::training::{RunRecord, StopReason};

/// The thresholds of the figures' analyses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rules {
    /// Fig. 1: keep runs whose final training error is below this (0.4).
    pub max_train_err: f64,
    /// Fig. 1: skip an α̃ with at most this many runs (5).
    pub min_group_exclusive: usize,
    /// Fig. 1: the jamming band needs this many runs ending fitted / unfitted at a width (2).
    pub band_min_runs: usize,
    /// Fig. 1: ensemble size n is the run count at position ⌊q·#h⌋ of the per-width counts
    /// sorted in decreasing order (q = 0.9).
    pub ensemble_quantile: f64,
    /// Fig. 2 background: keep runs with final nd ≤ this fraction of P (0.05).
    pub grid_max_nd_fraction: f64,
    /// Fig. 2 crossover: runs needed at an (h, α̃) (4).
    pub crossover_min_runs: usize,
    /// Fig. 2 crossover: accept a bracket (a1, a2) with a2/a1 below this (3).
    pub crossover_max_ratio: f64,
    /// Fig. 2 jamming: runs needed to call a width jammed (3).
    pub jamming_min_runs: usize,
    /// Fig. 2 jamming: accept a bracket (h1, h2) with h2 − h1 at most this (2).
    pub jamming_max_gap: usize,
}

impl Rules {
    /// The original's thresholds.
    pub const ORIGINAL: Rules = Rules {
        max_train_err: 0.4,
        min_group_exclusive: 5,
        band_min_runs: 2,
        ensemble_quantile: 0.9,
        grid_max_nd_fraction: 0.05,
        crossover_min_runs: 4,
        crossover_max_ratio: 3.0,
        jamming_min_runs: 3,
        jamming_max_gap: 2,
    };
}

/// Runs finished in the original's sense: every stop except a NaN or a collapsed step (a run
/// stopped by its wall clock is "finished").
pub(crate) fn finished(r: &RunRecord) -> bool {
    !matches!(r.stop, StopReason::Nan | StopReason::StepCollapsed)
}

/// The distinct values of `key` over `runs`, sorted.
pub(crate) fn distinct<K: PartialOrd + Copy>(
    runs: &[&RunRecord],
    key: impl Fn(&RunRecord) -> K,
) -> Vec<K> {
    let mut v: Vec<K> = vec![];
    for r in runs {
        let k = key(r);
        if !v.contains(&k) {
            v.push(k);
        }
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v
}

/// Same α̃ up to rounding (records store α as written).
pub(crate) fn same_alpha(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}
