//! The ICML "Eqs. 9, 10" closed form: R(t), Q(t) in expectation over teacher and label noise.
//!
//! For X = U_x S Vᵀ (n ≥ d), L_i = S_i², K_i = g_i(t) L_i/(L_i + λ) and F̃ = F V:
//!
//!   R(t) = (1/d) Σ_i K_i,
//!   Q(t) = (1/d) tr(AᵀA) + σ² (1/d) Σ_i (g_i S_i/(L_i + λ))² ‖F̃ e_i‖²,  A = F̃ diag(K) F̃⁻¹.
//!
//! With F = U_F diag(f) V_Fᵀ and O = V_Fᵀ V: tr(AᵀA) = kᵀ (G ∘ H) k, G = Oᵀ diag(f²) O,
//! H = Oᵀ diag(f⁻²) O = G⁻¹, so no inverse is formed (cancellation is ~κ²·ε relative).

use faer::{Mat, Par};

use super::{Config, Dynamics, Instance, Student, map_seeds};
use crate::error::{Error, Result};
use crate::linalg;

/// Seed-averaged expected curves.
#[derive(Clone, Debug)]
pub struct ExpectedCurves {
    /// The time grid.
    pub times: Vec<f64>,
    /// Mean over seeds of E[R(t)].
    pub r: Vec<f64>,
    /// Mean over seeds of E[Q(t)].
    pub q: Vec<f64>,
    /// ½(1 − 2R + Q).
    pub eg: Vec<f64>,
}

/// E[R(t)] and E[Q(t)] over teacher w ~ N(0, I) and label noise N(0, σ²) for the inputs of
/// `instance` (its own teacher is ignored). Needs n ≥ d so that XᵀX is invertible.
pub fn expected_seed_curves(
    instance: &Instance,
    student: &Student,
    noise: f64,
    times: &[f64],
    dynamics: Dynamics,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let d = instance.w.len();
    let k = student.s.len();
    if k < d || student.s[d - 1] <= 0.0 {
        return Err(Error::Singular(format!(
            "the expectation form needs XᵀX invertible (n >= d); got rank {} < d = {d}",
            student.s.iter().filter(|s| **s > 0.0).count()
        )));
    }
    if let Some(f) = instance.f_s.iter().find(|f| **f <= 0.0) {
        return Err(Error::invalid(
            "f_s",
            f,
            "modulation matrix must be invertible",
        ));
    }
    let o = linalg::mul(instance.f_vt.as_ref(), student.v.as_ref(), Par::Seq);
    let scaled = |pow: i32| {
        let mut so = o.clone();
        for j in 0..d {
            for i in 0..d {
                so[(i, j)] *= instance.f_s[i].powi(pow);
            }
        }
        linalg::mul(so.transpose(), so.as_ref(), Par::Seq)
    };
    let g = scaled(1);
    let h = scaled(-1);
    let w = Mat::from_fn(d, d, |i, j| g[(i, j)] * h[(i, j)]);
    let lam = student.ridge;
    let mut r = Vec::with_capacity(times.len());
    let mut q = Vec::with_capacity(times.len());
    let mut kk = vec![0.0; d];
    for &t in times {
        let mut noise_term = 0.0;
        for i in 0..d {
            let l = student.s[i] * student.s[i];
            let gi = student.gain(i, t, dynamics);
            kk[i] = gi * l / (l + lam);
            noise_term += (gi * student.s[i] / (l + lam)).powi(2) * g[(i, i)];
        }
        let mut quad = 0.0;
        for j in 0..d {
            let col = w.col(j);
            let mut acc = 0.0;
            for i in 0..d {
                acc += col[i] * kk[i];
            }
            quad += kk[j] * acc;
        }
        r.push(kk.iter().sum::<f64>() / d as f64);
        q.push((quad + noise * noise * noise_term) / d as f64);
    }
    Ok((r, q))
}

/// The ICML expectation curves averaged over `seeds` (each seed draws X and F).
pub fn expected_curves(
    cfg: &Config,
    seeds: &[u64],
    times: &[f64],
    dynamics: Dynamics,
) -> Result<ExpectedCurves> {
    cfg.validate()?;
    if cfg.n < cfg.d {
        return Err(Error::invalid(
            "n",
            cfg.n,
            format!("the expectation form needs n >= d = {}", cfg.d),
        ));
    }
    if seeds.is_empty() {
        return Err(Error::invalid("seeds", "[]", "need at least one seed"));
    }
    if let Some(t) = times.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
        return Err(Error::invalid("times", t, "times must be finite and >= 0"));
    }
    let per_seed = map_seeds(seeds, |seed| {
        let inst = Instance::sample(cfg, seed)?;
        let student = Student::fit(inst.x.as_ref(), &inst.y, cfg.ridge)?;
        expected_seed_curves(&inst, &student, cfg.noise, times, dynamics)
    })?;
    let ns = seeds.len() as f64;
    let r: Vec<f64> = (0..times.len())
        .map(|j| per_seed.iter().map(|(r, _)| r[j]).sum::<f64>() / ns)
        .collect();
    let q: Vec<f64> = (0..times.len())
        .map(|j| per_seed.iter().map(|(_, q)| q[j]).sum::<f64>() / ns)
        .collect();
    let eg = r
        .iter()
        .zip(&q)
        .map(|(r, q)| super::generalization_error(1.0, *r, *q))
        .collect();
    Ok(ExpectedCurves {
        times: times.to_vec(),
        r,
        q,
        eg,
    })
}
