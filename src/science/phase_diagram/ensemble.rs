//! Test error against width and the ensemble error of the seed-averaged output (the review's
//! Fig. 1, `enserr` in the README of `mariogeiger/feature_lazy@3e50d5c`):
//!
//! ```text
//! enserr = mean_μ [ ( mean_runs f̃_μ ) · y_μ < 0 ]
//! ```
//!
//! the error of sign(f̄) with f̄ the output averaged over initialisations, on the test set.

use super::jamming::jamming_band;
use super::{Rules, distinct, finished, same_alpha};
use crate::error::{Error, Result};
use crate::training::RunRecord;

/// The ensemble error of a group of runs (same α̃, same h, same test set) from their final test
/// outputs. Errors when a run kept no final outputs or the test sets differ.
pub fn ensemble_error(runs: &[&RunRecord]) -> Result<f64> {
    let first = runs
        .first()
        .ok_or_else(|| Error::invalid("runs", 0, "need at least one run"))?;
    let n = first.test_labels.len();
    let mut mean = vec![0.0; n];
    for r in runs {
        let out = r.last().test.outputs.as_ref().ok_or_else(|| {
            Error::invalid(
                "runs",
                r.file_name(),
                "the final checkpoint kept no test outputs",
            )
        })?;
        if out.len() != n || r.test_labels != first.test_labels {
            return Err(Error::ShapeMismatch {
                what: "test sets of an ensemble".into(),
                expected: format!("{n} points with the first run's labels"),
                got: format!("{} points in {}", out.len(), r.file_name()),
            });
        }
        for (m, o) in mean.iter_mut().zip(out) {
            *m += o / runs.len() as f64;
        }
    }
    let wrong = mean
        .iter()
        .zip(&first.test_labels)
        .filter(|(o, y)| *o * *y < 0.0)
        .count();
    Ok(wrong as f64 / n.max(1) as f64)
}

/// Fig. 1 at one α̃.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorCurve {
    /// α̃.
    pub alpha: f64,
    /// Widths with runs, increasing.
    pub h: Vec<usize>,
    /// Final test error of every kept run: (h, error).
    pub dots: Vec<(usize, f64)>,
    /// Seed-mean test error at each width.
    pub seed_mean: Vec<f64>,
    /// Runs at each width.
    pub runs: Vec<usize>,
    /// Ensemble error at each width that has at least `ensemble_size` runs.
    pub ensemble: Vec<Option<f64>>,
    /// Runs per ensemble.
    pub ensemble_size: usize,
    /// The jamming band (h1, h2), when both ends exist.
    pub band: Option<(usize, usize)>,
}

/// Fig. 1 at `alpha`: keep runs with final train error below `max_train_err` and finite aloss;
/// `None` when at most `min_group_exclusive` runs remain.
pub fn error_vs_width(runs: &[RunRecord], alpha: f64, rules: &Rules) -> Result<Option<ErrorCurve>> {
    let kept: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| same_alpha(r.config.alpha, alpha))
        .filter(|r| r.last().train.err < rules.max_train_err && r.last().train.aloss.is_finite())
        .collect();
    if kept.len() <= rules.min_group_exclusive {
        return Ok(None);
    }
    let hs = distinct(&kept, |r| r.config.h);
    let at = |h: usize| -> Vec<&RunRecord> {
        kept.iter().copied().filter(|r| r.config.h == h).collect()
    };
    let mut dots = vec![];
    let mut seed_mean = vec![];
    let mut counts = vec![];
    for &h in &hs {
        let g = at(h);
        let errs: Vec<f64> = g.iter().map(|r| r.last().test.err).collect();
        dots.extend(errs.iter().map(|&e| (h, e)));
        seed_mean.push(errs.iter().sum::<f64>() / errs.len() as f64);
        counts.push(g.len());
    }
    // Ensemble size: runs with final test outputs, count at position ⌊q·#h⌋ in decreasing order.
    let with_out = |h: usize| -> Vec<&RunRecord> {
        at(h)
            .into_iter()
            .filter(|r| r.last().test.outputs.is_some())
            .collect()
    };
    let mut sorted: Vec<usize> = hs.iter().map(|&h| with_out(h).len()).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let pos = ((rules.ensemble_quantile * hs.len() as f64).floor() as usize).min(sorted.len() - 1);
    let n = sorted[pos].max(1);
    let mut ensemble = vec![];
    for &h in &hs {
        let g = with_out(h);
        ensemble.push(if g.len() >= n {
            Some(ensemble_error(&g[..n])?)
        } else {
            None
        });
    }
    Ok(Some(ErrorCurve {
        alpha,
        band: jamming_band(&kept, rules.band_min_runs),
        h: hs,
        dots,
        seed_mean,
        runs: counts,
        ensemble,
        ensemble_size: n,
    }))
}

/// One cell of the Fig. 2 background.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridPoint {
    /// Width.
    pub h: usize,
    /// α̃.
    pub alpha: f64,
    /// Ensemble test error.
    pub error: f64,
    /// Runs in the ensemble.
    pub runs: usize,
}

/// The Fig. 2 background: finished runs with final nd ≤ `grid_max_nd_fraction`·P, grouped by
/// (h, α̃); the ensemble size is the most common group size and only groups of that size are kept
/// (their first runs, in the order given).
pub fn ensemble_grid(runs: &[RunRecord], rules: &Rules) -> Result<Vec<GridPoint>> {
    let kept: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| finished(r))
        .filter(|r| (r.last().train.nd as f64) <= rules.grid_max_nd_fraction * r.data.train as f64)
        .collect();
    let hs = distinct(&kept, |r| r.config.h);
    let alphas = distinct(&kept, |r| r.config.alpha);
    let mut groups = vec![];
    for &h in &hs {
        for &a in &alphas {
            let g: Vec<&RunRecord> = kept
                .iter()
                .copied()
                .filter(|r| r.config.h == h && same_alpha(r.config.alpha, a))
                .collect();
            if !g.is_empty() {
                groups.push((h, a, g));
            }
        }
    }
    // Most common size (the larger one on a tie).
    let mut sizes: Vec<usize> = groups.iter().map(|g| g.2.len()).collect();
    sizes.sort_unstable();
    let mut best = (0, 0);
    for &s in &sizes {
        let c = sizes.iter().filter(|&&t| t == s).count();
        if c > best.1 || (c == best.1 && s > best.0) {
            best = (s, c);
        }
    }
    let nens = best.0;
    groups
        .into_iter()
        .filter(|g| g.2.len() == nens)
        .map(|(h, alpha, g)| {
            Ok(GridPoint {
                h,
                alpha,
                error: ensemble_error(&g)?,
                runs: nens,
            })
        })
        .collect()
}
