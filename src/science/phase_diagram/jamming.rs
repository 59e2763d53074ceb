//! Where gradient flow stops fitting the training set: the jamming band of Fig. 1 and the
//! jamming line of Fig. 2 (README plotting code and `jamming.py` of
//! `mariogeiger/feature_lazy@3e50d5c`).
//!
//! Below the jamming width h* the dynamics cannot bring every margin α y f̃ to 1 (nd > 0 at the
//! end); above it nd = 0. The measured h* depends on the training budget, because the dynamics
//! slows down critically near jamming.

use super::{distinct, finished, same_alpha};
use crate::training::{Checkpoint, RunRecord};

/// The budget at which a run's state is read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BudgetAxis {
    /// Seconds of wall clock (the original's 30, 60, 120 min).
    Wall(f64),
    /// Accepted steps (machine-independent).
    Steps(u64),
}

/// Fig. 1's jamming band (h1, h2): h1 the smallest width with at least `min_runs` runs ending
/// with nd = 0, h2 the largest width with at least `min_runs` runs ending with nd > 0.
pub fn jamming_band(runs: &[&RunRecord], min_runs: usize) -> Option<(usize, usize)> {
    let hs = distinct(runs, |r| r.config.h);
    let count = |h: usize, fitted: bool| {
        runs.iter()
            .filter(|r| r.config.h == h && (r.last().train.nd == 0) == fitted)
            .count()
    };
    let h1 = hs.iter().copied().find(|&h| count(h, true) >= min_runs)?;
    let h2 = hs
        .iter()
        .rev()
        .copied()
        .find(|&h| count(h, false) >= min_runs)?;
    Some((h1, h2))
}

/// A point of a jamming line: at α̃, jammed at h1 and not at the next width h2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JammingPoint {
    /// α̃.
    pub alpha: f64,
    /// The largest jammed width.
    pub h1: usize,
    /// The next width, not jammed.
    pub h2: usize,
}

impl JammingPoint {
    /// √(h1·h2), where the line is drawn.
    pub fn h_star(&self) -> f64 {
        ((self.h1 * self.h2) as f64).sqrt()
    }
}

/// A run's state at `budget`: its first checkpoint at or past the budget; a run that ended earlier
/// fitted counts with its final state, one that ended earlier unfitted is dropped (`None`).
fn state_at(r: &RunRecord, budget: BudgetAxis) -> Option<&Checkpoint> {
    let past = |c: &Checkpoint| match budget {
        BudgetAxis::Wall(w) => c.wall >= w,
        BudgetAxis::Steps(s) => c.step >= s,
    };
    match r.dynamics.iter().find(|c| past(c)) {
        Some(c) => Some(c),
        None if r.last().train.nd == 0 => Some(r.last()),
        None => None,
    }
}

/// Fig. 2's jamming line at one budget: for each α̃, h1 the largest jammed width (all of at least
/// `min_runs` runs with nd > 0 at the budget) and h2 the next width, not jammed; kept when
/// h2 − h1 ≤ `max_gap`.
pub fn jamming_line(
    runs: &[RunRecord],
    budget: BudgetAxis,
    min_runs: usize,
    max_gap: usize,
) -> Vec<JammingPoint> {
    let kept: Vec<&RunRecord> = runs.iter().filter(|r| finished(r)).collect();
    let alphas = distinct(&kept, |r| r.config.alpha);
    let mut line = vec![];
    for a in alphas {
        let group: Vec<&RunRecord> = kept
            .iter()
            .copied()
            .filter(|r| same_alpha(r.config.alpha, a))
            .collect();
        let hs = distinct(&group, |r| r.config.h);
        let states = |h: usize| -> Vec<&Checkpoint> {
            group
                .iter()
                .filter(|r| r.config.h == h)
                .filter_map(|r| state_at(r, budget))
                .collect()
        };
        let jammed = |h: usize| {
            let s = states(h);
            s.len() >= min_runs && s.iter().all(|c| c.train.nd > 0)
        };
        let Some(i1) = (0..hs.len()).rev().find(|&i| jammed(hs[i])) else {
            continue;
        };
        if let Some(&h2) = hs[i1 + 1..].iter().find(|&&h| !jammed(h))
            && h2 - hs[i1] <= max_gap
        {
            line.push(JammingPoint {
                alpha: a,
                h1: hs[i1],
                h2,
            });
        }
    }
    line
}
