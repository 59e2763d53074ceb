//! Convergence diagnostics of several chains of one scalar (the LLC's loss traces): split R̂ and
//! the effective sample size, as in Gelman et al., *Bayesian Data Analysis* (3rd ed., §11.4–11.5)
//! and the Stan reference manual ("Effective sample size", `compute_effective_sample_size` in
//! `stan/analyze/mcmc/compute_effective_sample_size.hpp`).
//!
//! * Split R̂: every chain is cut into halves (the middle draw of an odd length dropped), so
//!   m = 2C sequences of n draws. With W the mean within-sequence variance and B/n the variance
//!   of the sequence means, var⁺ = (n − 1)/n·W + B/n and R̂ = √(var⁺/W). It tends to 1 as the
//!   chains mix; 1.01 is the usual threshold.
//! * ESS = m·n/τ̂ over the same split sequences, with τ̂ = −1 + 2·Σ ρ̂_t the integrated
//!   autocorrelation time, ρ̂_t = 1 − (W − mean autocovariance at lag t)/var⁺, summed by Geyer's
//!   initial positive and monotone sequence (pairs ρ̂_{2k} + ρ̂_{2k+1} while positive, made
//!   non-increasing) with Stan's closing term (the positive even ρ̂ after the last pair): the
//!   same number as ArviZ's `ess(method="mean")` (the Python package's tests compare them).
//!   Constant draws are an error here, where ArviZ returns m·n.
//!
//! [`check_chain`] turns a chain that stopped exploring or gave an impossible estimate into
//! [`Error::ChainFailed`].

use crate::error::{Error, Result};

/// Below this mean MALA acceptance a chain counts as collapsed (it no longer moves).
pub const COLLAPSED_ACCEPTANCE: f64 = 1e-3;

/// Fails with [`Error::ChainFailed`] when chain `index` (step size `epsilon`, `steps` steps, of a
/// model with `num_params` parameters) has collapsed or gave an absurd estimate:
///
/// * `acceptance`, its (step, MALA acceptance) records, average below
///   [`COLLAPSED_ACCEPTANCE`] (the step named is the first of the final run of records below it);
/// * its λ̂ `llc` exceeds `num_params`: the learning coefficient is at most d/2 (Watanabe, *Algebraic
///   Geometry and Statistical Learning Theory*, 2009, Thm. 7.1), so an estimate above d means
///   the chain left the neighbourhood of w* (ε too large) rather than a measurement.
pub fn check_chain(
    process: &'static str,
    index: usize,
    epsilon: f64,
    steps: usize,
    acceptance: &[(usize, f64)],
    llc: f64,
    num_params: usize,
) -> Result<()> {
    if !acceptance.is_empty() {
        let mean = acceptance.iter().map(|a| a.1).sum::<f64>() / acceptance.len() as f64;
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
        if !(mean >= COLLAPSED_ACCEPTANCE) {
            let first_low = acceptance
                .iter()
                .rposition(|a| a.1 >= COLLAPSED_ACCEPTANCE || a.1.is_nan())
                .map_or(0, |i| i + 1)
                .min(acceptance.len() - 1);
            return Err(Error::ChainFailed {
                process,
                index,
                step: acceptance[first_low].0,
                epsilon,
                reason: format!(
                    "the MALA acceptance collapsed (mean {mean:.2e} over {} records, below {:e})",
                    acceptance.len(),
                    COLLAPSED_ACCEPTANCE
                ),
            });
        }
    }
    if llc > num_params as f64 {
        return Err(Error::ChainFailed {
            process,
            index,
            step: steps,
            epsilon,
            reason: format!(
                "its estimate λ̂ = {llc:.4e} exceeds the number of parameters d = {num_params} \
                 (λ ≤ d/2)"
            ),
        });
    }
    Ok(())
}

/// The halves of every chain (the middle draw dropped when the length is odd).
fn split_halves<'a>(chains: &[&'a [f64]]) -> Result<Vec<&'a [f64]>> {
    let len = chains.first().map_or(0, |c| c.len());
    if chains.is_empty() || chains.iter().any(|c| c.len() != len) {
        return Err(Error::invalid(
            "chains",
            format!("{} chains", chains.len()),
            "need at least one chain, all of the same length",
        ));
    }
    if len < 4 {
        return Err(Error::invalid(
            "chains",
            format!("{len} draws per chain"),
            "need at least 4 draws per chain",
        ));
    }
    if let Some(v) = chains
        .iter()
        .flat_map(|c| c.iter())
        .find(|v| !v.is_finite())
    {
        return Err(Error::NonFinite {
            name: "chains",
            location: "a draw".into(),
            value: *v,
        });
    }
    let n = len / 2;
    Ok(chains
        .iter()
        .flat_map(|c| [&c[..n], &c[len - n..]])
        .collect())
}

/// Means and variances (ddof 1) of the sequences, W and var⁺.
struct Moments {
    means: Vec<f64>,
    w: f64,
    var_plus: f64,
}

fn moments(seqs: &[&[f64]]) -> Result<Moments> {
    for s in seqs {
        crate::check::check_finite("chains", s.iter().copied())?;
    }
    let n = seqs[0].len() as f64;
    let means: Vec<f64> = seqs.iter().map(|s| s.iter().sum::<f64>() / n).collect();
    let w = seqs
        .iter()
        .zip(&means)
        .map(|(s, m)| s.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / seqs.len() as f64;
    let grand = means.iter().sum::<f64>() / means.len() as f64;
    let b_over_n = if means.len() > 1 {
        means.iter().map(|m| (m - grand).powi(2)).sum::<f64>() / (means.len() - 1) as f64
    } else {
        0.0
    };
    if w.is_nan() || w <= 0.0 {
        return Err(Error::invalid(
            "chains",
            "constant draws",
            "R-hat and ESS need draws that vary within chains",
        ));
    }
    let var_plus = (n - 1.0) / n * w + b_over_n;
    if !(w.is_finite() && var_plus.is_finite()) {
        return Err(Error::Numerical(format!(
            "the variances of the draws overflow f64 (within {w:e}, total {var_plus:e})"
        )));
    }
    Ok(Moments { means, w, var_plus })
}

/// Split R̂ of chains of equal length (at least 4 draws each).
pub fn split_rhat(chains: &[&[f64]]) -> Result<f64> {
    let seqs = split_halves(chains)?;
    let m = moments(&seqs)?;
    Ok((m.var_plus / m.w).sqrt())
}

/// The effective sample size of chains of equal length (at least 4 draws each), over split
/// chains with Geyer's initial monotone sequence (Stan's estimator). At most m·n·log₁₀(m·n).
pub fn effective_sample_size(chains: &[&[f64]]) -> Result<f64> {
    let seqs = split_halves(chains)?;
    let mo = moments(&seqs)?;
    let n = seqs[0].len();
    let total = (seqs.len() * n) as f64;
    // Mean over sequences of the biased autocovariance at lag t.
    let acov = |t: usize| -> f64 {
        seqs.iter()
            .zip(&mo.means)
            .map(|(s, m)| (0..n - t).map(|i| (s[i] - m) * (s[i + t] - m)).sum::<f64>() / n as f64)
            .sum::<f64>()
            / seqs.len() as f64
    };
    let rho = |t: usize| 1.0 - (mo.w - acov(t)) / mo.var_plus;
    // Geyer's initial positive sequence over pairs (ρ̂_{t+1}, ρ̂_{t+2}) of odd t, exactly as
    // Stan's `compute_effective_sample_size` (2.18 and later) and ArviZ's `_ess`: pairs are kept
    // while their sum is positive (and t < n − 3); the even member of the first pair that is not
    // is kept too when it is positive; then the kept pairs are made monotone (a pair larger than
    // the previous one becomes that pair's mean).
    let n_i = n as i64;
    let mut rho_t = vec![0.0; n];
    rho_t[0] = 1.0;
    let (mut even, mut odd) = (1.0, rho(1));
    rho_t[1] = odd;
    let mut t: i64 = 1;
    while t < n_i - 3 && even + odd > 0.0 {
        even = rho(t as usize + 1);
        odd = rho(t as usize + 2);
        if even + odd >= 0.0 {
            rho_t[t as usize + 1] = even;
            rho_t[t as usize + 2] = odd;
        }
        t += 2;
    }
    let max_t = t - 2;
    let next = (max_t + 1) as usize; // max_t ≥ −1
    if even > 0.0 {
        rho_t[next] = even;
    }
    let mut t = 1;
    while t + 2 <= max_t {
        let k = t as usize;
        if rho_t[k + 1] + rho_t[k + 2] > rho_t[k - 1] + rho_t[k] {
            let v = (rho_t[k - 1] + rho_t[k]) / 2.0;
            rho_t[k + 1] = v;
            rho_t[k + 2] = v;
        }
        t += 2;
    }
    let head: f64 = rho_t[..next].iter().sum();
    let extra = rho_t.get(next).copied().unwrap_or(0.0);
    let tau = (-1.0 + 2.0 * head + extra).max(1.0 / total.log10());
    Ok(total / tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_ragged_or_constant_chains_are_errors() {
        let a = [1.0, 2.0, 3.0];
        assert!(split_rhat(&[&a]).is_err());
        let b = [1.0, 2.0, 3.0, 4.0, 5.0];
        let c = [1.0, 2.0, 3.0, 4.0];
        assert!(effective_sample_size(&[&b, &c]).is_err());
        assert!(split_rhat(&[&[2.0; 8]]).is_err());
        assert!(split_rhat(&[]).is_err());
        assert!(split_rhat(&[&[1.0, f64::NAN, 2.0, 3.0]]).is_err());
    }
}
