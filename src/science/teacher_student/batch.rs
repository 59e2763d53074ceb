//! Many seeds at once: the exact general case ("Eq. 9") and the simulated test error.
//!
//! [`map_seeds`] runs rayon over seeds (each seed sequential inside); the per-seed SVDs of
//! [`seed_average`] go through [`batched_svd()`] on the chosen device.

use faer::{Mat, Par};
use rayon::prelude::*;

use super::{Config, Dynamics, Instance, Student, generalization_error};
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::linalg;
use crate::linalg::batched_svd;

/// Runs `f` for every seed in parallel (rayon) and returns the results in seed order.
/// Stops at the first error. Each call of `f` should run sequentially (`Par::Seq`).
pub fn map_seeds<T, F>(seeds: &[u64], f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(u64) -> Result<T> + Sync + Send,
{
    seeds.par_iter().map(|&s| f(s)).collect()
}

/// One time grid to evaluate, with its dynamics and whether to measure the test error.
#[derive(Clone, Debug)]
pub struct CurveRequest {
    /// Training times t (≥ 0).
    pub times: Vec<f64>,
    /// Discrete GD or gradient flow.
    pub dynamics: Dynamics,
    /// Also compute the empirical test error on the instance's test points.
    pub test_error: bool,
}

impl CurveRequest {
    /// A request for R and Q only.
    pub fn new(times: Vec<f64>, dynamics: Dynamics) -> Self {
        CurveRequest {
            times,
            dynamics,
            test_error: false,
        }
    }

    /// Adds the empirical test error.
    pub fn with_test_error(mut self) -> Self {
        self.test_error = true;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.times.is_empty() {
            return Err(Error::invalid(
                "times",
                "[]",
                "need at least one time point",
            ));
        }
        if let Some(t) = self.times.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
            return Err(Error::invalid("times", t, "times must be finite and >= 0"));
        }
        Ok(())
    }
}

/// The curves of one seed on one grid.
#[derive(Clone, Debug)]
pub struct SeedCurves {
    /// R(t) = (Fŵ)ᵀw/d.
    pub r: Vec<f64>,
    /// Q(t) = ‖Fŵ‖²/d.
    pub q: Vec<f64>,
    /// ‖w‖²/d of this seed's teacher.
    pub teacher_norm2: f64,
    /// ½·mean((X_test ŵ − y_test)²), when requested.
    pub test_error: Option<Vec<f64>>,
}

/// Evaluates R, Q (and the test error) of a fitted student on each requested grid.
///
/// With M = F V diag(h) and the mode gains G (k × T), Fŵ(t) = M G: one GEMM per grid; the test
/// residual X_test ŵ − y_test = Z_test (Fŵ − w) needs no test inputs.
pub fn seed_curves(
    instance: &Instance,
    student: &Student,
    requests: &[CurveRequest],
) -> Result<Vec<SeedCurves>> {
    let d = instance.w.len();
    let k = student.s.len();
    let mut m = linalg::mul(instance.f.as_ref(), student.v.as_ref(), Par::Seq);
    for (i, h) in student.coef.iter().enumerate() {
        for r in 0..d {
            m[(r, i)] *= h;
        }
    }
    let teacher_norm2 = instance.teacher_norm2();
    let mut out = Vec::with_capacity(requests.len());
    for req in requests {
        req.validate()?;
        let nt = req.times.len();
        let gains = Mat::from_fn(k, nt, |i, j| student.gain(i, req.times[j], req.dynamics));
        let mut fw = linalg::mul(m.as_ref(), gains.as_ref(), Par::Seq);
        let mut r = vec![0.0; nt];
        let mut q = vec![0.0; nt];
        for j in 0..nt {
            let col = fw.col(j);
            let (mut rr, mut qq) = (0.0, 0.0);
            for i in 0..d {
                rr += col[i] * instance.w[i];
                qq += col[i] * col[i];
            }
            r[j] = rr / d as f64;
            q[j] = qq / d as f64;
        }
        let test_error = if req.test_error {
            for j in 0..nt {
                for i in 0..d {
                    fw[(i, j)] -= instance.w[i];
                }
            }
            let resid = linalg::mul(instance.z_test.as_ref(), fw.as_ref(), Par::Seq);
            let m_test = resid.nrows().max(1) as f64;
            Some(
                (0..nt)
                    .map(|j| 0.5 * resid.col(j).iter().map(|v| v * v).sum::<f64>() / m_test)
                    .collect(),
            )
        } else {
            None
        };
        out.push(SeedCurves {
            r,
            q,
            teacher_norm2,
            test_error,
        });
    }
    Ok(out)
}

/// Moves one seed's curves out, leaving an empty placeholder (each grid is read once).
fn take(s: &mut SeedCurves) -> SeedCurves {
    std::mem::replace(
        s,
        SeedCurves {
            r: vec![],
            q: vec![],
            teacher_norm2: 0.0,
            test_error: None,
        },
    )
}

/// Seed-averaged curves on one grid.
#[derive(Clone, Debug)]
pub struct SeedAverage {
    /// The time grid.
    pub times: Vec<f64>,
    /// Mean of R(t) over seeds.
    pub r_mean: Vec<f64>,
    /// Mean of Q(t) over seeds.
    pub q_mean: Vec<f64>,
    /// The original "Eq. 9" curve: mean over seeds of ½(1 − 2R + Q).
    pub eg_paper: Vec<f64>,
    /// Mean over seeds of ½(‖w‖²/d − 2R + Q), the exact test error of each seed's student.
    pub eg_teacher_mean: Vec<f64>,
    /// Mean of the empirical test error, when requested.
    pub test_mean: Option<Vec<f64>>,
    /// Standard deviation over seeds (ddof = 0, as NumPy) of the empirical test error.
    pub test_std: Option<Vec<f64>>,
    /// Every seed's curves, in seed order.
    pub per_seed: Vec<SeedCurves>,
}

/// Column means of equal-length rows.
fn mean(rows: &[&[f64]]) -> Vec<f64> {
    crate::stats::column_mean_std(rows, 0).0
}

/// Seeds whose instances are held in memory at once.
const SEED_CHUNK: usize = 512;

/// The exact general case and the simulated test error, averaged over `seeds`.
///
/// For every seed: sample an [`Instance`], fit the [`Student`] through the thin SVD of X (one
/// [`batched_svd()`] per chunk of seeds on `device`), and evaluate every request. `on_seed` is
/// called once per finished seed (for progress bars).
pub fn seed_average(
    cfg: &Config,
    seeds: &[u64],
    requests: &[CurveRequest],
    on_seed: &(dyn Fn() + Sync),
    device: &Device,
) -> Result<Vec<SeedAverage>> {
    cfg.validate()?;
    if seeds.is_empty() {
        return Err(Error::invalid("seeds", "[]", "need at least one seed"));
    }
    if requests.is_empty() {
        return Err(Error::invalid(
            "requests",
            "[]",
            "need at least one time grid",
        ));
    }
    for req in requests {
        req.validate()?;
    }
    let points: u128 = requests.iter().map(|r| r.times.len() as u128).sum();
    crate::check::check_bytes(
        format!("{} seeds: their curves (4 per time point)", seeds.len()),
        seeds.len() as u128 * points * 4 * 8,
    )?;
    let mut per_seed: Vec<Vec<SeedCurves>> = Vec::with_capacity(seeds.len());
    for chunk in seeds.chunks(SEED_CHUNK) {
        let instances = map_seeds(chunk, |seed| Instance::sample(cfg, seed))?;
        let xs: Vec<_> = instances.iter().map(|inst| inst.x.as_ref()).collect();
        let svds = batched_svd(&xs, device)?;
        let curves: Vec<Vec<SeedCurves>> = instances
            .par_iter()
            .zip(svds)
            .map(|(inst, svd)| {
                let student = Student::from_svd(svd, &inst.y, cfg.ridge)?;
                let curves = seed_curves(inst, &student, requests)?;
                on_seed();
                Ok(curves)
            })
            .collect::<Result<_>>()?;
        per_seed.extend(curves);
    }
    let mut out = Vec::with_capacity(requests.len());
    for (g, req) in requests.iter().enumerate() {
        let seeds_g: Vec<SeedCurves> = per_seed.iter_mut().map(|s| take(&mut s[g])).collect();
        let rs: Vec<&[f64]> = seeds_g.iter().map(|s| s.r.as_slice()).collect();
        let qs: Vec<&[f64]> = seeds_g.iter().map(|s| s.q.as_slice()).collect();
        let r_mean = mean(&rs);
        let q_mean = mean(&qs);
        let nt = req.times.len();
        let ns = seeds_g.len() as f64;
        let eg_paper = (0..nt)
            .map(|j| generalization_error(1.0, r_mean[j], q_mean[j]))
            .collect();
        let eg_teacher_mean = (0..nt)
            .map(|j| {
                seeds_g
                    .iter()
                    .map(|s| generalization_error(s.teacher_norm2, s.r[j], s.q[j]))
                    .sum::<f64>()
                    / ns
            })
            .collect();
        let (test_mean, test_std) = if req.test_error {
            let ts: Vec<&[f64]> = seeds_g
                .iter()
                .map(|s| s.test_error.as_deref().unwrap_or(&[]))
                .collect();
            let (m, s) = crate::stats::column_mean_std(&ts, 0);
            (Some(m), Some(s))
        } else {
            (None, None)
        };
        out.push(SeedAverage {
            times: req.times.clone(),
            r_mean,
            q_mean,
            eg_paper,
            eg_teacher_mean,
            test_mean,
            test_std,
            per_seed: seeds_g,
        });
    }
    Ok(out)
}
