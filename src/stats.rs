//! Summaries of a quantity over repeats: mean, median, spread and the 95% bootstrap interval of
//! the mean that seaborn's `lineplot` draws (1000 resamples, percentile interval).

use rand::RngExt;

use crate::check::check_finite;
use crate::error::{Error, Result};
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

/// The mean and standard deviation of `values`, with `ddof` subtracted from the count in the
/// variance's denominator (NumPy's `std(ddof=...)`: 0 for the population, 1 for the sample
/// standard deviation). The deviation is 0 when there are no more than `ddof` values.
pub fn mean_std(values: &[f64], ddof: usize) -> Result<(f64, f64)> {
    if values.is_empty() {
        return Err(Error::invalid("values", "[]", "need at least one value"));
    }
    check_finite("values", values.iter().copied())?;
    let (mean, std) = mean_std_unchecked(values, ddof);
    if mean.is_finite() && std.is_finite() {
        return Ok((mean, std));
    }
    // Values near the largest float: the same sums on values divided by the largest magnitude
    // (a power of two, so exact), scaled back.
    let amax = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let scale = amax.log2().floor().exp2();
    let scaled: Vec<f64> = values.iter().map(|v| v / scale).collect();
    let (m, s) = mean_std_unchecked(&scaled, ddof);
    let (mean, std) = (m * scale, s * scale);
    if !(mean.is_finite() && std.is_finite()) {
        return Err(Error::Numerical(format!(
            "the mean ({mean:e}) or standard deviation ({std:e}) of values up to {amax:e} \
             overflows f64"
        )));
    }
    Ok((mean, std))
}

pub(crate) fn mean_std_unchecked(values: &[f64], ddof: usize) -> (f64, f64) {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if n <= ddof {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - ddof) as f64;
    (mean, var.sqrt())
}

/// Column-wise mean and standard deviation (with `ddof`, as [`mean_std`]) of equal-length rows:
/// the average over seeds of curves stored one seed per row. Empty input gives empty columns.
pub(crate) fn column_mean_std(rows: &[&[f64]], ddof: usize) -> (Vec<f64>, Vec<f64>) {
    let len = rows.first().map_or(0, |r| r.len());
    let mut col = vec![0.0; rows.len()];
    (0..len)
        .map(|j| {
            for (c, r) in col.iter_mut().zip(rows) {
                *c = r[j];
            }
            mean_std_unchecked(&col, ddof)
        })
        .unzip()
}

/// The q-quantile (0 ≤ q ≤ 1) of sorted values, linear interpolation between order statistics
/// (NumPy's default `linear` method). Errors on an empty slice, q outside [0, 1] or unsorted or
/// non-finite values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Result<f64> {
    if sorted.is_empty() {
        return Err(Error::invalid("sorted", "[]", "need at least one value"));
    }
    if !(0.0..=1.0).contains(&q) {
        return Err(Error::invalid("q", q, "must lie in [0, 1]"));
    }
    check_finite("sorted", sorted.iter().copied())?;
    if let Some(i) = (1..sorted.len()).find(|&i| sorted[i] < sorted[i - 1]) {
        return Err(Error::invalid(
            "sorted",
            format!("{} before {} at index {i}", sorted[i - 1], sorted[i]),
            "values must be in ascending order",
        ));
    }
    Ok(quantile_unchecked(sorted, q))
}

fn quantile_unchecked(sorted: &[f64], q: f64) -> f64 {
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
    let (mean, std) = mean_std_unchecked(values, 1);
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
        median: quantile_unchecked(&sorted, 0.5),
        std,
        min: sorted[0],
        max: sorted[n - 1],
        ci_low: quantile_unchecked(&means, 0.025),
        ci_high: quantile_unchecked(&means, 0.975),
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
