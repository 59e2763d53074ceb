//! The learning coefficient of a deep linear network in closed form (M. Aoyagi, "Consideration on
//! the learning efficiency of multiple-layered neural networks with linear units", Neural Networks
//! 2024), exactly as `true_dln_learning_coefficient` of `validating_lambdahat/dln.py` computes it
//! (`true_dln_learning_coefficient` of `validating_lambdahat/dln.py`). For one hidden layer it reduces to Aoyagi & Watanabe's (2005) reduced-rank
//! regression formula; for N = M and hidden widths ≥ 2N it is N²/2 whatever the rank.

use crate::error::{Error, Result};

/// λ and the multiplicity m = a(ℓ − a) + 1 (the latter as the original returns it, unverified).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearningCoefficient {
    /// The learning coefficient λ.
    pub lambda: f64,
    /// The multiplicity the original code returns.
    pub multiplicity: usize,
}

/// λ of a DLN with layer sizes `sizes` = [N, H₂, …, H_L, M] at a true parameter whose end-to-end
/// product has rank `rank` (≤ every size).
///
/// With M_j = H_j − r: the set Σ of the k smallest M_j for the first k = 1, 2, … such that
/// (a) max_Σ M < min_Σᶜ M, (b) Σ_Σ M ≥ ℓ·max_Σ M and (c) Σ_Σ M < ℓ·min_Σᶜ M (ℓ = |Σ| − 1;
/// (a) and (c) only when Σᶜ ≠ ∅); then with S = Σ_Σ M, M̄ = ⌈S/ℓ⌉, a = S − (M̄ − 1)ℓ:
/// λ = (−r² + r(N + M))/2 + a(ℓ − a)/(4ℓ) − ℓ(ℓ − 1)/4·(S/ℓ)² + ½ Σ_{i<j∈Σ} M_i M_j.
pub fn dln_learning_coefficient(sizes: &[usize], rank: usize) -> Result<LearningCoefficient> {
    if sizes.len() < 2 {
        return Err(Error::invalid(
            "sizes",
            format!("{sizes:?}"),
            "need at least an input and an output size",
        ));
    }
    let min = *sizes.iter().min().expect("non-empty");
    if rank > min {
        return Err(Error::invalid(
            "rank",
            rank,
            format!("the product of layers of sizes {sizes:?} has rank at most {min}"),
        ));
    }
    let (n_in, n_out) = (sizes[0] as f64, *sizes.last().expect("non-empty") as f64);
    let m: Vec<f64> = sizes.iter().map(|&h| (h - rank) as f64).collect();
    let mut order: Vec<usize> = (0..m.len()).collect();
    order.sort_by(|&a, &b| m[a].total_cmp(&m[b]));
    let r = rank as f64;
    for k in 1..=m.len() {
        let sigma: Vec<f64> = order[..k].iter().map(|&i| m[i]).collect();
        let rest: Vec<f64> = order[k..].iter().map(|&i| m[i]).collect();
        let ell = (k - 1) as f64;
        let max_s = sigma.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum_s: f64 = sigma.iter().sum();
        let min_rest = rest.iter().cloned().fold(f64::INFINITY, f64::min);
        let a_ok = rest.is_empty() || max_s < min_rest;
        let b_ok = sum_s >= ell * max_s;
        let c_ok = rest.is_empty() || sum_s < ell * min_rest;
        if !(a_ok && b_ok && c_ok) {
            continue;
        }
        if k == 1 {
            // Only a one-layer "network" (no Σᶜ) gets here; ℓ = 0 has no formula.
            return Err(Error::invalid(
                "sizes",
                format!("{sizes:?}"),
                "need at least one weight matrix",
            ));
        }
        let mbar = (sum_s / ell).ceil();
        let a = sum_s - (mbar - 1.0) * ell;
        let mut pairs = 0.0;
        for i in 0..k {
            for j in i + 1..k {
                pairs += sigma[i] * sigma[j];
            }
        }
        // ℓ(ℓ − 1)/4·(S/ℓ)² written as (ℓ − 1)S²/(4ℓ): integers until the one division.
        let lambda = (-r * r + r * (n_in + n_out)) / 2.0
            + (a * (ell - a) - (ell - 1.0) * sum_s * sum_s) / (4.0 * ell)
            + pairs / 2.0;
        return Ok(LearningCoefficient {
            lambda,
            multiplicity: (a * (ell - a)) as usize + 1,
        });
    }
    Err(Error::Numerical(format!(
        "no index set satisfies Aoyagi's conditions for sizes {sizes:?}, rank {rank}"
    )))
}
