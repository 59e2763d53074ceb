//! The feature/lazy crossover of Fig. 2 (README plotting code and `feature_lazy.py` of
//! `mariogeiger/feature_lazy@3e50d5c`): at each width, the α̃ where the tangent kernel stops
//! moving, ‖Θ_final − Θ₀‖_F / ‖Θ₀‖_F = c. Lazy training (α̃ ≫ 1) leaves the kernel almost at
//! Θ₀; the feature regime (α̃ ≪ 1) changes it by order one. Geiger et al. (arXiv 1906.08034)
//! predict α̃* = O(1) independent of h.

use super::{distinct, same_alpha};
use crate::training::RunRecord;

/// A crossover point at one width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossoverPoint {
    /// Width.
    pub h: usize,
    /// The largest α̃ that is not lazy.
    pub a1: f64,
    /// The smallest α̃ that is lazy.
    pub a2: f64,
}

impl CrossoverPoint {
    /// √(a1·a2), where the line is drawn.
    pub fn alpha_star(&self) -> f64 {
        (self.a1 * self.a2).sqrt()
    }
}

/// The line ‖ΔΘ‖ = c‖Θ₀‖: over runs that fitted (final nd = 0) and measured the kernel, at each
/// width consider the α̃ with at least `min_runs` runs; α̃ is lazy when the geometric mean of
/// ‖ΔΘ‖/‖Θ₀‖ is below `c`. When the largest α̃ is lazy and the smallest is not, a1 is the largest
/// non-lazy α̃ and a2 the smallest lazy one, kept when a2/a1 < `max_ratio`.
pub fn crossover_line(
    runs: &[RunRecord],
    c: f64,
    min_runs: usize,
    max_ratio: f64,
) -> Vec<CrossoverPoint> {
    let kept: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.last().train.nd == 0 && r.delta_kernel.is_some_and(|k| k.ratio() > 0.0))
        .collect();
    let mut line = vec![];
    for h in distinct(&kept, |r| r.config.h) {
        let at_h: Vec<&RunRecord> = kept.iter().copied().filter(|r| r.config.h == h).collect();
        let mut lazy: Vec<(f64, bool)> = vec![];
        for a in distinct(&at_h, |r| r.config.alpha) {
            let g: Vec<f64> = at_h
                .iter()
                .filter(|r| same_alpha(r.config.alpha, a))
                .map(|r| r.delta_kernel.unwrap().ratio().ln())
                .collect();
            if g.len() >= min_runs {
                let geo = (g.iter().sum::<f64>() / g.len() as f64).exp();
                lazy.push((a, geo < c));
            }
        }
        let (Some(first), Some(last)) = (lazy.first(), lazy.last()) else {
            continue;
        };
        if !last.1 || first.1 {
            continue;
        }
        let a1 = lazy
            .iter()
            .filter(|l| !l.1)
            .map(|l| l.0)
            .fold(f64::MIN, f64::max);
        let a2 = lazy
            .iter()
            .filter(|l| l.1)
            .map(|l| l.0)
            .fold(f64::MAX, f64::min);
        if a2 / a1 < max_ratio {
            line.push(CrossoverPoint { h, a1, a2 });
        }
    }
    line
}
