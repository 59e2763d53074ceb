//! Summaries of a quantity over repeats: mean, median, spread and the 95% bootstrap interval of
//! the mean that seaborn's `lineplot` draws (1000 resamples, percentile interval).

use rand::RngExt;

use crate::error::{Error, Result, check_finite};
use crate::random;

/// Resamples of the bootstrap interval (seaborn's `n_boot` default).
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// One quantity summarised over its repeats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepeatStats {
    /// Number of repeats.
    pub count: usize,
    /// Arithmetic mean (what the original plots draw).
    pub mean: f64,
    /// Median (robust to the few near-singular splits that dominate the mean at the threshold).
    pub median: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single repeat).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Lower end of the 95% percentile-bootstrap interval of the mean.
    pub ci_low: f64,
    /// Upper end of the 95% percentile-bootstrap interval of the mean.
    pub ci_high: f64,
}

/// The q-quantile (0 ≤ q ≤ 1) of sorted values, linear interpolation between order statistics
/// (NumPy's default `linear` method).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Summarises `values` (finite, at least one); the bootstrap draws from `seed`.
pub fn repeat_stats(values: &[f64], seed: u64) -> Result<RepeatStats> {
    if values.is_empty() {
        return Err(Error::invalid("values", "[]", "need at least one value"));
    }
    check_finite("values", values.iter().copied())?;
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut rng = random::seeded(seed);
    let mut means: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Ok(RepeatStats {
        count: n,
        mean,
        median: quantile_sorted(&sorted, 0.5),
        std,
        min: sorted[0],
        max: sorted[n - 1],
        ci_low: quantile_sorted(&means, 0.025),
        ci_high: quantile_sorted(&means, 0.975),
    })
}

/// [`repeat_stats`] of `f` over consecutive groups of `per_group` items (a sweep stored
/// setting-major, `per_group` repeats per setting); the bootstrap seed is the group index.
pub fn group_stats<T>(
    items: &[T],
    per_group: usize,
    f: impl Fn(&T) -> f64,
) -> Result<Vec<RepeatStats>> {
    if per_group == 0 {
        return Err(Error::invalid("per_group", 0, "must be >= 1"));
    }
    items
        .chunks(per_group)
        .enumerate()
        .map(|(g, chunk)| {
            let v: Vec<f64> = chunk.iter().map(&f).collect();
            repeat_stats(&v, g as u64)
        })
        .collect()
}
