//! The fast–slow approximation ("Eqs. 12, 14"; original `lib/analytical.py::analytical_results`).
//!
//! Two blocks of features, the fast one (fraction H₁ = p/d, theory singular value s₁ = 0.5) and
//! the slow one (H₂ = (d − p)/d, s₂ = 0.5/κ), with early stopping acting as a ridge
//! λ_eff = 1/t + λ. For block i, α_i = n/(H_i d), λ_i = λ_eff/(H_i s_i²) and
//!
//!   a_i = (1 + α_i + λ_i + √((1 − α_i − λ_i)² + 4λ_i)) / 2      (the larger root of
//!         a² − (1 + α_i + λ_i)a + α_i = 0; stable form of the code's expression),
//!   R_i = (n/d)/a_i,  b_i = α_i/(a_i² − α_i),
//!   c₁ = 1 + σ² − 2R₂ − ((2 − a₁)/a₁)(n/d),  c₂ = 1 + σ² − 2R₁ − ((2 − a₂)/a₂)(n/d),
//!   Q₁ = b₁(c₁ + Q₂),  Q₂ = b₂(c₂ + Q₁)  (a 2×2 linear system),
//!   R = R₁ + R₂,  Q = Q₁ + Q₂,  E_G = ½(1 + σ² − 2R + Q).
//!
//! The system for Q has a solution only while b₁b₂ < 1. Each b_i falls as λ_eff grows, so the
//! binding case is t → ∞, where (λ = 0) b_i → 1/(α_i − 1) for α_i > 1 and α_i/(1 − α_i) for α_i < 1:
//! near an interpolation threshold (for example n = 19, d = 20, p = 16) the approximation breaks
//! down and the functions return [`Error::Singular`] rather than a negative Q.

use super::Config;
use crate::error::{Error, Result};

/// Early end of the original analytical grid (t = 10⁻³): where "fast features only" freezes the slow block.
pub const FREEZE_EARLY: f64 = 1e-3;
/// Late end of the original analytical grid (t = 10⁸): where "slow features only" freezes the fast block.
pub const FREEZE_LATE: f64 = 1e8;

/// Which blocks learn over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freeze {
    /// Both blocks evolve: the full approximation.
    None,
    /// Only the fast block evolves; the slow block stays at its early-time value (not learned).
    FastOnly,
    /// Only the slow block evolves; the fast block stays at its late-time value (already learned).
    SlowOnly,
}

/// The approximate curves on a time grid.
#[derive(Clone, Debug)]
pub struct ApproxCurves {
    /// Training times t.
    pub times: Vec<f64>,
    /// R(t).
    pub r: Vec<f64>,
    /// Q(t).
    pub q: Vec<f64>,
    /// E_G(t) = ½(1 + σ² − 2R + Q).
    pub eg: Vec<f64>,
}

/// Theory singular value of the fast block.
const S1: f64 = 0.5;
/// Theory singular value of the slow block times κ.
const S2_TIMES_KAPPA: f64 = 0.5;

/// The stable form a = (1 + α + λ + √((1 − α − λ)² + 4λ))/2.
pub fn a_stable(alpha: f64, lambda: f64) -> f64 {
    let x = 1.0 - alpha - lambda;
    0.5 * (1.0 + alpha + lambda + x.hypot(2.0 * lambda.sqrt()))
}

/// The original code's form a = 1 + 2λ/(1 − α − λ + √((1 − α − λ)² + 4λ)); cancels for large λ.
pub fn a_original(alpha: f64, lambda: f64) -> f64 {
    let x = 1.0 - alpha - lambda;
    1.0 + 2.0 * lambda / (x + (x * x + 4.0 * lambda).sqrt())
}

struct Blocks {
    nd: f64,
    alpha: [f64; 2],
    weight: [f64; 2],
    noise2: f64,
    ridge: f64,
}

impl Blocks {
    fn new(cfg: &Config) -> Result<Self> {
        cfg.validate()?;
        let (n, d, p) = (cfg.n, cfg.d, cfg.p);
        if p == 0 || p == d {
            return Err(Error::invalid(
                "p",
                p,
                format!("the fast–slow approximation needs both blocks: 0 < p < d = {d}"),
            ));
        }
        if n == p {
            return Err(Error::Singular(format!(
                "n = p = {n}: the fast block sits at its interpolation threshold (α₁ = 1), where b₁ diverges"
            )));
        }
        if n == d - p {
            return Err(Error::Singular(format!(
                "n = d − p = {n}: the slow block sits at its interpolation threshold (α₂ = 1), where b₂ diverges"
            )));
        }
        let h1 = p as f64 / d as f64;
        let h2 = (d - p) as f64 / d as f64;
        let s2 = S2_TIMES_KAPPA / cfg.kappa;
        Ok(Blocks {
            nd: n as f64 / d as f64,
            alpha: [n as f64 / p as f64, n as f64 / (d - p) as f64],
            weight: [h1 * S1 * S1, h2 * s2 * s2],
            noise2: cfg.noise * cfg.noise,
            ridge: cfg.ridge,
        })
    }

    fn a(&self, block: usize, t: f64) -> f64 {
        let lam_eff = 1.0 / t + self.ridge;
        a_stable(self.alpha[block], lam_eff / self.weight[block])
    }

    /// (R, Q) from the two a's.
    fn rq(&self, a1: f64, a2: f64, t: f64) -> Result<(f64, f64)> {
        let (al1, al2) = (self.alpha[0], self.alpha[1]);
        let r1 = self.nd / a1;
        let r2 = self.nd / a2;
        let b1 = al1 / (a1 * a1 - al1);
        let b2 = al2 / (a2 * a2 - al2);
        let c1 = 1.0 + self.noise2 - 2.0 * r2 - (2.0 / a1 - 1.0) * self.nd;
        let c2 = 1.0 + self.noise2 - 2.0 * r1 - (2.0 / a2 - 1.0) * self.nd;
        let det = 1.0 - b1 * b2;
        if !(det.is_finite() && det > 1e-12) {
            return Err(Error::Singular(format!(
                "1 − b₁b₂ = {det:e} at t = {t:e}: the fast–slow approximation has no solution here \
                 (α₁ = n/p = {al1:.4}, α₂ = n/(d−p) = {al2:.4}; a block is too close to its \
                 interpolation threshold α = 1 for this ridge)"
            )));
        }
        let q1 = b1 * (c1 + b2 * c2) / det;
        let q2 = b2 * (c2 + b1 * c1) / det;
        let (r, q) = (r1 + r2, q1 + q2);
        if !(r.is_finite() && q.is_finite()) {
            return Err(Error::Numerical(format!(
                "non-finite R = {r}, Q = {q} at t = {t:e}"
            )));
        }
        Ok((r, q))
    }
}

/// The fast–slow approximation on `times`, freezing at the grid ends as the original code does
/// (the slow block at `times[0]`, the fast block at the last time).
pub fn fast_slow(cfg: &Config, times: &[f64], freeze: Freeze) -> Result<ApproxCurves> {
    let (early, late) = match (times.first(), times.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => {
            return Err(Error::invalid(
                "times",
                "[]",
                "need at least one time point",
            ));
        }
    };
    fast_slow_at(cfg, times, freeze, early, late)
}

/// The fast–slow approximation with explicit freezing times: [`Freeze::FastOnly`] holds the slow
/// block at t = `early`, [`Freeze::SlowOnly`] holds the fast block at t = `late`.
/// Use [`FREEZE_EARLY`] and [`FREEZE_LATE`] for the original grid's ends.
pub fn fast_slow_at(
    cfg: &Config,
    times: &[f64],
    freeze: Freeze,
    early: f64,
    late: f64,
) -> Result<ApproxCurves> {
    let blocks = Blocks::new(cfg)?;
    if times.is_empty() {
        return Err(Error::invalid(
            "times",
            "[]",
            "need at least one time point",
        ));
    }
    for (name, t) in times
        .iter()
        .map(|t| ("times", *t))
        .chain([("early", early), ("late", late)])
    {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::invalid(
                name,
                t,
                "training times must be finite and > 0",
            ));
        }
    }
    let a2_frozen = blocks.a(1, early);
    let a1_frozen = blocks.a(0, late);
    let mut out = ApproxCurves {
        times: times.to_vec(),
        r: Vec::with_capacity(times.len()),
        q: Vec::with_capacity(times.len()),
        eg: Vec::with_capacity(times.len()),
    };
    for &t in times {
        let a1 = if freeze == Freeze::SlowOnly {
            a1_frozen
        } else {
            blocks.a(0, t)
        };
        let a2 = if freeze == Freeze::FastOnly {
            a2_frozen
        } else {
            blocks.a(1, t)
        };
        let (r, q) = blocks.rq(a1, a2, t)?;
        out.r.push(r);
        out.q.push(q);
        out.eg.push(0.5 * (1.0 + blocks.noise2 - 2.0 * r + q));
    }
    Ok(out)
}
