//! Double descent of minimum-norm least squares and its three ablations ("Double Descent
//! Demystified", Schaeffer et al., arXiv 2303.14151; repository
//! `RylanSchaeffer/Stanford-AI-Alignment-Double-Descent-Tutorial@23c73b2`,
//! `linear_regression_ablations.py` and `linear_regression_adversarial.py`).
//!
//! For each training-set size N and each repeat r, [`split`] draws N training rows the way
//! `train_test_split(random_state=r)` does and every other row is a test row. The fit is
//! β̂ = V diag(S⁺) Uᵀ y with X_train = U diag(S) Vᵀ (thin SVD) and S⁺_i = 1/S_i except that only
//! exact zeros are dropped (no rcond: a tolerance would itself ablate the spike). Writing
//! Y = Xβ* + E, the test error of both regimes contains Σ_r (1/σ_r)(x_test·v_r)(u_r·E), and each
//! factor of it is removed by one ablation:
//!
//! * (a) [`SweepConfig::cutoffs`]: singular values below an **absolute** cutoff set to zero;
//! * (b) [`SweepConfig::leading_modes`]: test features projected onto the leading k right singular
//!   vectors, x ↦ V_k V_kᵀ x, with the unablated β̂ and the original targets;
//! * (c) no residuals: targets replaced by Xβ_ideal, β_ideal the least-squares fit on the whole
//!   table ([`ideal_coefficients`]);
//!
//! and two adversarial constructions make it worse (`linear_regression_adversarial.py`): a test datum moved by α·v_min and
//! training targets moved by α·u_min, where (u_min, σ_min, v_min) is the last singular triple.
//! A singular pair is defined only up to a joint sign, and the original takes whichever sign
//! LAPACK returns; here both signs are scored and the one with the larger test error is kept,
//! so the construction is adversarial by definition and the same on every backend.
//!
//! All fits of one dataset go through [`crate::linalg::batched_svd()`] in one call. The scoring is
//! fused: with Z = X V, every prediction above is a partial sum Σ_{i<k} Z_ti c_i of one row of Z
//! against a coefficient vector, so one pass over the rows scores all ablations at once.
//! Everything runs in f64: at N = D the training matrices are nearly singular. The scoring is in
//! `scores.rs`; the Monte-Carlo law of the smallest singular value of Gaussian matrices in
//! `smallest_singular_value.rs`.
//!
//! ```
//! use doubledescent::{Device, data, science::least_squares::{SweepConfig, sweep}};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let table = data::diabetes()?;
//! let mut cfg = SweepConfig::original(SweepConfig::DIABETES_LEADING_MODES.to_vec());
//! cfg.sizes = vec![5, 10, 20];
//! cfg.repeats = 5;
//! let result = sweep(&table, &cfg, &Device::cpu())?;
//! let test = result.summary(|f| f.test_mse)?;
//! assert!(test[1].mean > test[0].mean && test[1].mean > test[2].mean); // the spike at N = D = 10
//! # Ok(())
//! # }
//! ```

mod scores;
mod smallest_singular_value;

use faer::{Mat, MatRef};
use rayon::prelude::*;

pub use smallest_singular_value::gaussian_smallest_singular_values;

use crate::backend::Device;
use crate::check::check_finite;
use crate::data::{RegressionData, gather_rows};
use crate::error::{Error, Result};
use crate::linalg::{self, Cutoff, batched_svd, min_norm_lstsq};
use crate::random::numpy::RandomState;
use crate::stats::{RepeatStats, group_stats};
use scores::Context;

/// `numpy.linalg.pinv`'s relative cutoff, used where the original calls `pinv` (ablation (b),
/// adversarial training data, the test-bias projection).
const PINV_RCOND: f64 = 1e-15;

/// What one sweep computes.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepConfig {
    /// Training-set sizes N (each in 1..n, so at least one test row is left).
    pub sizes: Vec<usize>,
    /// Repeats per size; repeat r uses split seed r.
    pub repeats: usize,
    /// Ablation (a): absolute singular-value cutoffs.
    pub cutoffs: Vec<f64>,
    /// Ablation (b): numbers k of leading singular modes the test features keep.
    pub leading_modes: Vec<usize>,
    /// Adversarial test datum: prefactors α of v_min added to every test row.
    pub adversarial_test: Vec<f64>,
    /// Adversarial training data: prefactors α of u_min added to the training targets.
    pub adversarial_train: Vec<f64>,
}

impl SweepConfig {
    /// The leading-mode counts k of ablation (b) the original uses for the diabetes table.
    pub const DIABETES_LEADING_MODES: [usize; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    /// The leading-mode counts k of ablation (b) the original uses for the student–teacher set.
    pub const STUDENT_TEACHER_LEADING_MODES: [usize; 5] = [5, 10, 15, 20, 25];

    /// The original's settings (HEAD `23c73b2`): N = 1..39, 50 repeats, cutoffs
    /// `logspace(-3, 0, 7)`, prefactors α ∈ {0, 0.1, 0.316, 1, 3.16, 10, 31.6}, with the
    /// table's leading-mode counts k of ablation (b) ([`Self::DIABETES_LEADING_MODES`],
    /// [`Self::STUDENT_TEACHER_LEADING_MODES`], or 1..=D for another table).
    pub fn original(leading_modes: Vec<usize>) -> Self {
        let alphas = vec![0.0, 0.1, 0.316, 1.0, 3.16, 10.0, 31.6];
        SweepConfig {
            sizes: (1..40).collect(),
            repeats: 50,
            cutoffs: linalg::logspace(-3.0, 0.0, 7),
            leading_modes,
            adversarial_test: alphas.clone(),
            adversarial_train: alphas,
        }
    }

    fn validate(&self, n_total: usize) -> Result<()> {
        if self.sizes.is_empty() {
            return Err(Error::invalid("sizes", "[]", "need at least one size"));
        }
        if let Some(&bad) = self.sizes.iter().find(|&&s| s == 0 || s >= n_total) {
            return Err(Error::invalid(
                "sizes",
                bad,
                format!(
                    "each training-set size must be in 1..{n_total} (the table has {n_total} rows and needs a test row)"
                ),
            ));
        }
        if self.repeats == 0 || self.repeats > u32::MAX as usize {
            return Err(Error::invalid(
                "repeats",
                self.repeats,
                "must be in 1..2^32",
            ));
        }
        if let Some(&bad) = self.cutoffs.iter().find(|c| !(c.is_finite() && **c >= 0.0)) {
            return Err(Error::invalid("cutoffs", bad, "must be finite and >= 0"));
        }
        if self.leading_modes.contains(&0) {
            return Err(Error::invalid("leading_modes", 0, "must be >= 1"));
        }
        check_finite("adversarial_test", self.adversarial_test.iter().copied())?;
        check_finite("adversarial_train", self.adversarial_train.iter().copied())?;
        Ok(())
    }
}

/// Train and test mean squared errors of one fit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse {
    /// Mean over the N training rows.
    pub train: f64,
    /// Mean over the held-out rows.
    pub test: f64,
}

/// Everything recorded for one (N, repeat) fit.
#[derive(Clone, Debug, PartialEq)]
pub struct FitRecord {
    /// Training-set size N.
    pub n: usize,
    /// Repeat index (= split seed).
    pub repeat: usize,
    /// Number of non-zero singular values of X_train.
    pub rank: usize,
    /// Smallest non-zero singular value of X_train (0 when X_train is zero).
    pub smallest_singular_value: f64,
    /// Unablated train MSE.
    pub train_mse: f64,
    /// Unablated test MSE.
    pub test_mse: f64,
    /// (mean over test rows of (P x − x)·β_ideal)², P the projection onto the row space of
    /// X_train: the square of the **mean signed** bias, as coded.
    pub test_bias_squared: f64,
    /// Ablation (a), one per [`SweepConfig::cutoffs`].
    pub cutoffs: Vec<Mse>,
    /// Ablation (b) test MSE, one per [`SweepConfig::leading_modes`] (train MSE is unablated).
    pub leading_modes: Vec<f64>,
    /// Ablation (c): train and test MSE against the targets Xβ_ideal.
    pub no_residuals: Mse,
    /// Adversarial test datum, test MSE per α with the worse sign of ±v_min (train MSE is
    /// unablated).
    pub adversarial_test: Vec<f64>,
    /// Adversarial training data per α with the worse sign of ±u_min: train MSE against the moved
    /// targets, test MSE against the original ones.
    pub adversarial_train: Vec<Mse>,
}

/// All fits of one sweep, size-major: fit (s, r) is `fits[s · repeats + r]`.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// Name of the table.
    pub dataset: String,
    /// Number of features D (= parameters P).
    pub dim: usize,
    /// Rows in the table.
    pub rows: usize,
    /// The settings.
    pub config: SweepConfig,
    /// β_ideal, the least-squares fit on the whole table.
    pub ideal: Vec<f64>,
    /// The fits.
    pub fits: Vec<FitRecord>,
}

impl Sweep {
    /// The repeats at size index `s` (of `config.sizes`).
    pub fn at(&self, s: usize) -> &[FitRecord] {
        let r = self.config.repeats;
        &self.fits[s * r..(s + 1) * r]
    }

    /// One quantity summarised over repeats, per size. The bootstrap seed is the size index.
    pub fn summary(&self, f: impl Fn(&FitRecord) -> f64) -> Result<Vec<RepeatStats>> {
        group_stats(&self.fits, self.config.repeats, f)
    }

    /// The parameter-to-sample ratios P/N = D/N of the sizes (the original's x axis).
    pub fn ratios(&self) -> Vec<f64> {
        self.config
            .sizes
            .iter()
            .map(|&n| self.dim as f64 / n as f64)
            .collect()
    }
}

/// scikit-learn's `train_test_split(…, test_size=rows − n_train, random_state=seed,
/// shuffle=True)`: p = `RandomState(seed).permutation(rows)`, test = p[..rows − n_train],
/// train = p[rows − n_train..]. Returns (train, test) row indices.
pub fn split(rows: usize, n_train: usize, seed: u32) -> Result<(Vec<usize>, Vec<usize>)> {
    if n_train == 0 || n_train >= rows {
        return Err(Error::invalid(
            "n_train",
            n_train,
            format!("must be in 1..{rows} so that train and test are non-empty"),
        ));
    }
    let p = RandomState::new(seed).permutation(rows);
    let n_test = rows - n_train;
    Ok((p[n_test..].to_vec(), p[..n_test].to_vec()))
}

/// β_ideal = (XᵀX)⁻¹Xᵀy on the whole table (the minimum-norm solution if XᵀX is singular).
pub fn ideal_coefficients(data: &RegressionData) -> Result<Vec<f64>> {
    let y = Mat::from_fn(data.len(), 1, |i, _| data.y[i]);
    let fit = min_norm_lstsq(data.x.as_ref(), y.as_ref(), Cutoff::default())?;
    Ok((0..data.dim()).map(|j| fit.coef[(j, 0)]).collect())
}

/// Runs the sweep: one batched SVD for all (N, repeat) training matrices on `device`, then the
/// fused scoring in parallel on the CPU.
pub fn sweep(data: &RegressionData, cfg: &SweepConfig, device: &Device) -> Result<Sweep> {
    let rows = data.len();
    cfg.validate(rows)?;
    // Everything is held at once: the permutations, and per (size, repeat) the split, the
    // training matrix and its thin SVD (about 3·N·D values) and the fits' numbers.
    let d = data.dim() as u128;
    let per_repeat: u128 = rows as u128
        + cfg
            .sizes
            .iter()
            .map(|&n| rows as u128 + 3 * n as u128 * d + 4 * d + 64)
            .sum::<u128>();
    crate::check::check_bytes(
        format!("`repeats` = {} (the splits and their fits)", cfg.repeats),
        per_repeat * cfg.repeats as u128 * 8,
    )?;
    let ideal = ideal_coefficients(data)?;
    let yhat_ideal: Vec<f64> = (0..rows)
        .map(|i| (0..data.dim()).map(|j| data.x[(i, j)] * ideal[j]).sum())
        .collect();
    // The split of repeat r is a cut of one permutation for every N (see [`split`]).
    let perms: Vec<Vec<usize>> = (0..cfg.repeats)
        .map(|r| RandomState::new(r as u32).permutation(rows))
        .collect();
    let mut splits = Vec::with_capacity(cfg.sizes.len() * cfg.repeats);
    for &n in &cfg.sizes {
        for (r, p) in perms.iter().enumerate() {
            let (test, train) = p.split_at(rows - n);
            splits.push((n, r, (train.to_vec(), test.to_vec())));
        }
    }
    let mats: Vec<Mat<f64>> = splits
        .iter()
        .map(|(_, _, (train, _))| gather_rows(data.x.as_ref(), train))
        .collect();
    let views: Vec<MatRef<'_, f64>> = mats.iter().map(|m| m.as_ref()).collect();
    let svds = batched_svd(&views, device)?;
    let ctx = Context {
        data,
        cfg,
        ideal: &ideal,
        yhat_ideal: &yhat_ideal,
    };
    let fits = splits
        .par_iter()
        .zip(svds.par_iter())
        .map(|((n, r, (train, test)), svd)| ctx.score(*n, *r, train, test, svd))
        .collect();
    Ok(Sweep {
        dataset: data.name.clone(),
        dim: data.dim(),
        rows,
        config: cfg.clone(),
        ideal,
        fits,
    })
}
