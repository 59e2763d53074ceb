//! Double descent in the number of features: minimum-norm regression on Legendre polynomials
//! P_1 … P_p (no constant term) of 15 points on [−1, 1], target 2x + cos(25x)
//! (`polynomial_regression.py` of "Double Descent Demystified",
//! `RylanSchaeffer/Stanford-AI-Alignment-Double-Descent-Tutorial@23c73b2`).
//!
//! The test error spikes by about ten orders of magnitude at p = N = 15 and falls below its best
//! under-parameterised value for p ≈ 30. The training points are drawn from NumPy's legacy
//! generator in the original's order (one global stream, a fresh draw for every (p, repeat)), so
//! seed 0 regenerates the original's data; all fits go through one batched SVD.
//!
//! ```
//! use doubledescent::Device;
//! use doubledescent::science::polynomial_regression::{PolynomialConfig, polynomial_sweep};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let mut cfg = PolynomialConfig::original();
//! cfg.num_features = vec![5, 15, 30];
//! cfg.repeats = 5;
//! let sweep = polynomial_sweep(&cfg, &Device::cpu())?;
//! let test = sweep.summary(|f| f.test_mse)?;
//! assert!(test[1].median > 100.0 * test[0].median.max(test[2].median));
//! # Ok(())
//! # }
//! ```

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use crate::backend::Device;
use crate::check::check_finite;
use crate::data::mse;
use crate::error::{Error, Result};
use crate::linalg::batched_svd;
use crate::linalg::{self, ThinSvd};
use crate::random::numpy::RandomState;
use crate::stats::{RepeatStats, group_stats};

/// `numpy.linalg.pinv`'s relative cutoff (the original fits with `np.linalg.pinv`).
const PINV_RCOND: f64 = 1e-15;

/// Legendre polynomials P_deg(x) for every point and degree: a `x.len() × degrees.len()` matrix,
/// by Bonnet's recurrence (n + 1)P_{n+1} = (2n + 1)x P_n − n P_{n−1}, stable on [−1, 1].
pub fn legendre_features(x: &[f64], degrees: &[usize]) -> Result<Mat<f64>> {
    check_finite("x", x.iter().copied())?;
    let max = degrees.iter().copied().max().unwrap_or(0);
    crate::check::check_alloc::<f64>("Legendre features", x.len(), degrees.len().max(max + 1))?;
    let mut out = Mat::zeros(x.len(), degrees.len());
    let mut p = vec![0.0; max + 1];
    for (i, &xi) in x.iter().enumerate() {
        p[0] = 1.0;
        if max >= 1 {
            p[1] = xi;
        }
        for n in 1..max {
            let nf = n as f64;
            p[n + 1] = ((2.0 * nf + 1.0) * xi * p[n] - nf * p[n - 1]) / (nf + 1.0);
        }
        for (j, &d) in degrees.iter().enumerate() {
            if !p[d].is_finite() {
                return Err(Error::invalid(
                    "x",
                    format!("{xi:e} at index {i}"),
                    format!(
                        "the Legendre polynomial P_{d} overflows there (|P_n(x)| grows as |x|^n)"
                    ),
                ));
            }
            out[(i, j)] = p[d];
        }
    }
    Ok(out)
}

/// The original's target, 2x + cos(25x).
pub fn original_target(x: f64) -> f64 {
    2.0 * x + (25.0 * x).cos()
}

/// Settings of the degree sweep.
#[derive(Clone, Debug)]
pub struct PolynomialConfig {
    /// Training points N per fit.
    pub num_data: usize,
    /// Feature counts p: the features are P_1 … P_p.
    pub num_features: Vec<usize>,
    /// Repeats per p.
    pub repeats: usize,
    /// Evenly spaced test points on [low, high].
    pub test_points: usize,
    /// Interval of the inputs.
    pub low: f64,
    /// Interval of the inputs.
    pub high: f64,
    /// The noiseless target function.
    pub target: fn(f64) -> f64,
    /// Seed of NumPy's legacy generator.
    pub seed: u32,
}

impl PolynomialConfig {
    /// The original's settings: N = 15, p ∈ {1..25, 30, 40, 50, 100, 200}, 30 repeats, 1000 test
    /// points on [−1, 1], target 2x + cos(25x), seed 0.
    pub fn original() -> Self {
        let mut num_features: Vec<usize> = (1..=25).collect();
        num_features.extend([30, 40, 50, 100, 200]);
        PolynomialConfig {
            num_data: 15,
            num_features,
            repeats: 30,
            test_points: 1000,
            low: -1.0,
            high: 1.0,
            target: original_target,
            seed: 0,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.num_data == 0 {
            return Err(Error::invalid("num_data", 0, "need at least one point"));
        }
        if self.num_features.is_empty() || self.num_features.contains(&0) {
            return Err(Error::invalid(
                "num_features",
                format!("{:?}", self.num_features),
                "need at least one feature count, each >= 1",
            ));
        }
        if self.repeats == 0 {
            return Err(Error::invalid("repeats", 0, "must be >= 1"));
        }
        if self.test_points < 2 {
            return Err(Error::invalid(
                "test_points",
                self.test_points,
                "must be >= 2",
            ));
        }
        if !(self.low.is_finite() && self.high.is_finite() && self.low < self.high) {
            return Err(Error::invalid(
                "low..high",
                format!("{}..{}", self.low, self.high),
                "need finite low < high",
            ));
        }
        // Every fit is held at once: its points, features (N × p) and thin SVD (about N × p
        // twice more), and the test features.
        let n = self.num_data as u128;
        let per_repeat: u128 = self
            .num_features
            .iter()
            .map(|&p| n * (1 + 3 * p as u128) + 4 * self.test_points as u128)
            .sum();
        let pmax = self.num_features.iter().copied().max().unwrap_or(1) as u128;
        crate::check::check_bytes(
            format!(
                "`num_data` = {} with `repeats` = {} (the fits)",
                self.num_data, self.repeats
            ),
            (per_repeat * self.repeats as u128 + self.test_points as u128 * pmax) * 8,
        )?;
        Ok(())
    }
}

/// One fit of the degree sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct PolynomialFit {
    /// Number of features p.
    pub p: usize,
    /// Repeat index.
    pub repeat: usize,
    /// Training inputs.
    pub x: Vec<f64>,
    /// Coefficients β̂ of P_1 … P_p.
    pub coef: Vec<f64>,
    /// Mean squared error on the training points.
    pub train_mse: f64,
    /// Mean squared error on the test grid.
    pub test_mse: f64,
}

/// All fits, p-major: fit (j, r) is `fits[j · repeats + r]`.
#[derive(Clone, Debug)]
pub struct PolynomialSweep {
    /// The settings.
    pub config: PolynomialConfig,
    /// The fits.
    pub fits: Vec<PolynomialFit>,
}

impl PolynomialSweep {
    /// The repeats of feature count index `j`.
    pub fn at(&self, j: usize) -> &[PolynomialFit] {
        let r = self.config.repeats;
        &self.fits[j * r..(j + 1) * r]
    }

    /// One quantity summarised over repeats, per feature count.
    pub fn summary(&self, f: impl Fn(&PolynomialFit) -> f64) -> Result<Vec<RepeatStats>> {
        group_stats(&self.fits, self.config.repeats, f)
    }

    /// Predictions of fit `fit` at the points `x`.
    pub fn predict(&self, fit: &PolynomialFit, x: &[f64]) -> Result<Vec<f64>> {
        let degrees: Vec<usize> = (1..=fit.p).collect();
        let phi = legendre_features(x, &degrees)?;
        Ok((0..x.len())
            .map(|i| (0..fit.p).map(|j| phi[(i, j)] * fit.coef[j]).sum())
            .collect())
    }
}

/// β̂ = pinv(Φ) y with NumPy's `rcond = 1e-15` relative cutoff.
fn pinv_solve(svd: &ThinSvd<f64>, y: &[f64]) -> Vec<f64> {
    let top = svd.s.first().copied().unwrap_or(0.0);
    let k = svd.s.iter().take_while(|&&v| v > PINV_RCOND * top).count();
    let mut coef = vec![0.0; svd.v.nrows()];
    for i in 0..k {
        let c = (0..y.len()).map(|p| svd.u[(p, i)] * y[p]).sum::<f64>() / svd.s[i];
        for (j, b) in coef.iter_mut().enumerate() {
            *b += svd.v[(j, i)] * c;
        }
    }
    coef
}

/// A slice as an n × 1 matrix view.
fn column(v: &[f64]) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(v, v.len(), 1)
}

/// Runs the degree sweep; the SVDs of all (p, repeat) feature matrices in one batched call.
pub fn polynomial_sweep(cfg: &PolynomialConfig, device: &Device) -> Result<PolynomialSweep> {
    cfg.validate()?;
    let x_test = linalg::linspace(cfg.low, cfg.high, cfg.test_points);
    let y_test: Vec<f64> = x_test.iter().map(|&x| (cfg.target)(x)).collect();
    check_finite("target(x_test)", y_test.iter().copied())?;
    let pmax = cfg.num_features.iter().copied().max().unwrap_or(1);
    let all_degrees: Vec<usize> = (1..=pmax).collect();
    let phi_test = legendre_features(&x_test, &all_degrees)?;

    let mut rs = RandomState::new(cfg.seed);
    let mut draws = Vec::new();
    let mut mats = Vec::new();
    for &p in &cfg.num_features {
        for r in 0..cfg.repeats {
            let x = rs.uniform(cfg.low, cfg.high, cfg.num_data);
            let phi = legendre_features(&x, &all_degrees[..p])?;
            draws.push((p, r, x));
            mats.push(phi);
        }
    }
    let views: Vec<MatRef<'_, f64>> = mats.iter().map(|m| m.as_ref()).collect();
    let svds = batched_svd(&views, device)?;
    let fits: Vec<PolynomialFit> = draws
        .into_par_iter()
        .zip(mats.par_iter().zip(svds.par_iter()))
        .map(|((p, repeat, x), (phi, svd))| {
            let y: Vec<f64> = x.iter().map(|&v| (cfg.target)(v)).collect();
            check_finite("target(x_train)", y.iter().copied())?;
            let coef = pinv_solve(svd, &y);
            let b = Mat::from_fn(p, 1, |j, _| coef[j]);
            let fit_train = linalg::mul(phi.as_ref(), b.as_ref(), Par::Seq);
            let fit_test = linalg::mul(phi_test.as_ref().subcols(0, p), b.as_ref(), Par::Seq);
            Ok(PolynomialFit {
                p,
                repeat,
                train_mse: mse(fit_train.as_ref(), column(&y))?,
                test_mse: mse(fit_test.as_ref(), column(&y_test))?,
                x,
                coef,
            })
        })
        .collect::<Result<_>>()?;
    Ok(PolynomialSweep {
        config: cfg.clone(),
        fits,
    })
}
