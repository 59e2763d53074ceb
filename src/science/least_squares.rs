//! Double descent of minimum-norm least squares and its three ablations ("Double Descent
//! Demystified", Schaeffer et al., arXiv 2303.14151; dd_demystified spec §1–3, §6).
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
//! and two adversarial constructions make it worse (spec §3): a test datum moved by α·v_min and
//! training targets moved by α·u_min, where (u_min, σ_min, v_min) is the last singular triple.
//! A singular pair is defined only up to a joint sign, and the original takes whichever sign
//! LAPACK returns; here both signs are scored and the one with the larger test error is kept,
//! so the construction is adversarial by definition and the same on every backend.
//!
//! All fits of one dataset go through [`crate::linalg::batched_svd`] in one call. The scoring is
//! fused: with Z = X V, every prediction above is a partial sum Σ_{i<k} Z_ti c_i of one row of Z
//! against a coefficient vector, so one pass over the rows scores all ablations at once.
//! Everything runs in f64: at N = D the training matrices are nearly singular.
//!
//! ```
//! use doubledescent::{Device, data, ls_double_descent::{SweepConfig, sweep}};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let table = data::diabetes()?;
//! let mut cfg = SweepConfig::original(&table.name);
//! cfg.sizes = vec![5, 10, 20];
//! cfg.repeats = 5;
//! let result = sweep(&table, &cfg, &Device::cpu())?;
//! let test = result.summary(|f| f.test_mse)?;
//! assert!(test[1].mean > test[0].mean && test[1].mean > test[2].mean); // the spike at N = D = 10
//! # Ok(())
//! # }
//! ```

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use crate::backend::Device;
use crate::data::RegressionData;
use crate::data::gather_rows;
use crate::error::{Error, Result, check_finite};
use crate::linalg::batched_svd;
use crate::linalg::{self, ThinSvd};
use crate::linalg::{Cutoff, min_norm_lstsq};
use crate::random::numpy::RandomState;
use crate::stats::{RepeatStats, group_stats};

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
    /// The original's settings (HEAD `23c73b2`): N = 1..39, 50 repeats, cutoffs
    /// `logspace(-3, 0, 7)`, k = 5, 10, …, 25 for "Student-Teacher" and 1..10 otherwise,
    /// prefactors α ∈ {0, 0.1, 0.316, 1, 3.16, 10, 31.6}.
    pub fn original(dataset: &str) -> Self {
        let alphas = vec![0.0, 0.1, 0.316, 1.0, 3.16, 10.0, 31.6];
        SweepConfig {
            sizes: (1..40).collect(),
            repeats: 50,
            cutoffs: linalg::logspace(-3.0, 0.0, 7),
            leading_modes: if dataset == "Student-Teacher" {
                vec![5, 10, 15, 20, 25]
            } else {
                (1..=10).collect()
            },
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
pub struct Fit {
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
    pub fits: Vec<Fit>,
}

impl Sweep {
    /// The repeats at size index `s` (of `config.sizes`).
    pub fn at(&self, s: usize) -> &[Fit] {
        let r = self.config.repeats;
        &self.fits[s * r..(s + 1) * r]
    }

    /// One quantity summarised over repeats, per size. The bootstrap seed is the size index.
    pub fn summary(&self, f: impl Fn(&Fit) -> f64) -> Result<Vec<RepeatStats>> {
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

struct Context<'a> {
    data: &'a RegressionData,
    cfg: &'a SweepConfig,
    ideal: &'a [f64],
    yhat_ideal: &'a [f64],
}

/// `min(S[S > 0])`, or 0 when every singular value is zero.
fn smallest_nonzero(s: &[f64]) -> f64 {
    let m = s
        .iter()
        .copied()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if m.is_finite() { m } else { 0.0 }
}

/// Number of leading (descending) singular values for which `keep` holds.
fn count_leading(s: &[f64], keep: impl Fn(f64) -> bool) -> usize {
    s.iter().take_while(|&&v| keep(v)).count()
}

impl Context<'_> {
    fn score(
        &self,
        n: usize,
        repeat: usize,
        train: &[usize],
        test: &[usize],
        svd: &ThinSvd<f64>,
    ) -> Fit {
        let (cfg, x) = (self.cfg, self.data.x.as_ref());
        let y = &self.data.y;
        let s = &svd.s;
        let r0 = s.len();
        let last = r0 - 1;
        // S⁺ with only exact zeros dropped (1/S = ∞ → 0), as the original.
        let inv: Vec<f64> = s
            .iter()
            .map(|&v| if (1.0 / v).is_finite() { 1.0 / v } else { 0.0 })
            .collect();
        let rank = inv.iter().filter(|&&v| v != 0.0).count();
        let smallest = smallest_nonzero(s);
        let utb = |b: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..r0)
                .map(|i| inv[i] * (0..n).map(|p| svd.u[(p, i)] * b(p)).sum::<f64>())
                .collect()
        };
        let c_y = utb(&|p| y[train[p]]);
        let c_ideal = utb(&|p| self.yhat_ideal[train[p]]);
        let w_ideal: Vec<f64> = (0..r0)
            .map(|i| {
                (0..self.data.dim())
                    .map(|j| svd.v[(j, i)] * self.ideal[j])
                    .sum()
            })
            .collect();
        // Prefix lengths of each ablation.
        let top = s[0];
        let k_pinv = count_leading(s, |v| v > PINV_RCOND * top);
        let k_bias = count_leading(s, |v| v * v > PINV_RCOND * top * top);
        let k_cut: Vec<usize> = cfg
            .cutoffs
            .iter()
            .map(|&c| count_leading(s, |v| v >= c && v > 0.0))
            .collect();
        let k_modes: Vec<usize> = cfg.leading_modes.iter().map(|&k| k.min(k_pinv)).collect();
        // Adversarial training data shift β̂ by α/σ_min · v_min when pinv keeps the last mode.
        let adv_train_scale = if k_pinv == r0 { 1.0 / s[last] } else { 0.0 };
        let z = linalg::mul(x, svd.v.as_ref(), Par::Seq);

        let mut prefix = vec![0.0; r0 + 1];
        let fill = |prefix: &mut [f64], t: usize, c: &[f64]| {
            for i in 0..r0 {
                prefix[i + 1] = prefix[i] + z[(t, i)] * c[i];
            }
        };
        let nc = cfg.cutoffs.len();
        let na = cfg.adversarial_train.len();
        // Train: unablated, cutoffs, no residuals, adversarial training data.
        let mut tr = vec![0.0; 2 + nc];
        // Adversarial training data, both signs of the last singular pair: [sign][alpha].
        let mut tr_adv = [vec![0.0; na], vec![0.0; na]];
        for (p, &t) in train.iter().enumerate() {
            fill(&mut prefix, t, &c_y);
            let full = prefix[r0];
            tr[0] += (y[t] - full).powi(2);
            for (j, &k) in k_cut.iter().enumerate() {
                tr[1 + j] += (y[t] - prefix[k]).powi(2);
            }
            for (j, &a) in cfg.adversarial_train.iter().enumerate() {
                for (acc, sign) in tr_adv.iter_mut().zip([1.0, -1.0]) {
                    let target = y[t] + sign * a * svd.u[(p, last)];
                    let pred = prefix[k_pinv] + sign * a * adv_train_scale * z[(t, last)];
                    acc[j] += (target - pred).powi(2);
                }
            }
            let nores: f64 = (0..r0).map(|i| z[(t, i)] * c_ideal[i]).sum();
            tr[1 + nc] += (self.yhat_ideal[t] - nores).powi(2);
        }
        // Test: the same plus leading modes, adversarial test datum and the signed bias.
        let nm = cfg.leading_modes.len();
        let nt = cfg.adversarial_test.len();
        let mut te = vec![0.0; 2 + nc + nm];
        let mut te_adv_test = [vec![0.0; nt], vec![0.0; nt]];
        let mut te_adv = [vec![0.0; na], vec![0.0; na]];
        let mut bias = 0.0;
        for &t in test {
            fill(&mut prefix, t, &c_y);
            let full = prefix[r0];
            te[0] += (y[t] - full).powi(2);
            for (j, &k) in k_cut.iter().enumerate() {
                te[1 + j] += (y[t] - prefix[k]).powi(2);
            }
            for (j, &k) in k_modes.iter().enumerate() {
                te[1 + nc + j] += (y[t] - prefix[k]).powi(2);
            }
            // x + α v_min moves the prediction by α (v_min·β̂) = α c_min.
            for (j, &a) in cfg.adversarial_test.iter().enumerate() {
                for (acc, sign) in te_adv_test.iter_mut().zip([1.0, -1.0]) {
                    acc[j] += (y[t] - full - sign * a * c_y[last]).powi(2);
                }
            }
            for (j, &a) in cfg.adversarial_train.iter().enumerate() {
                for (acc, sign) in te_adv.iter_mut().zip([1.0, -1.0]) {
                    let pred = prefix[k_pinv] + sign * a * adv_train_scale * z[(t, last)];
                    acc[j] += (y[t] - pred).powi(2);
                }
            }
            let nores: f64 = (0..r0).map(|i| z[(t, i)] * c_ideal[i]).sum();
            te[1 + nc + nm] += (self.yhat_ideal[t] - nores).powi(2);
            let proj: f64 = (0..k_bias).map(|i| z[(t, i)] * w_ideal[i]).sum();
            bias += proj - self.yhat_ideal[t];
        }
        let (ntr, nte) = (n as f64, test.len() as f64);
        let bias = bias / nte;
        Fit {
            n,
            repeat,
            rank,
            smallest_singular_value: smallest,
            train_mse: tr[0] / ntr,
            test_mse: te[0] / nte,
            test_bias_squared: bias * bias,
            cutoffs: (0..nc)
                .map(|j| Mse {
                    train: tr[1 + j] / ntr,
                    test: te[1 + j] / nte,
                })
                .collect(),
            leading_modes: (0..nm).map(|j| te[1 + nc + j] / nte).collect(),
            adversarial_test: (0..nt)
                .map(|j| te_adv_test[0][j].max(te_adv_test[1][j]) / nte)
                .collect(),
            adversarial_train: (0..na)
                .map(|j| {
                    let worse = usize::from(te_adv[1][j] > te_adv[0][j]);
                    Mse {
                        train: tr_adv[worse][j] / ntr,
                        test: te_adv[worse][j] / nte,
                    }
                })
                .collect(),
            no_residuals: Mse {
                train: tr[1 + nc] / ntr,
                test: te[1 + nc + nm] / nte,
            },
        }
    }
}

/// Monte-Carlo law of the smallest non-zero singular value of an n × d matrix with i.i.d.
/// N(0, Σ) rows, for each n in `sizes` (spec §4, supplementary check): `draws` matrices per n,
/// every SVD in one batched call. Draw k of size index s uses the stream `substream(seed, ·)`, so
/// results do not depend on the thread count. The minimum over n sits at n = d: each new row
/// shares directions with the earlier ones until the d-th, which gets the least variance.
pub fn gaussian_smallest_singular_values(
    cov: MatRef<'_, f64>,
    sizes: &[usize],
    draws: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<RepeatStats>> {
    let d = cov.nrows();
    if d == 0 || cov.ncols() != d {
        return Err(Error::invalid(
            "cov",
            format!("{}x{} matrix", cov.nrows(), cov.ncols()),
            "need a non-empty square covariance",
        ));
    }
    crate::error::check_finite_mat("cov", cov)?;
    for i in 0..d {
        for j in 0..i {
            let (a, b) = (cov[(i, j)], cov[(j, i)]);
            if (a - b).abs() > 1e-12 * a.abs().max(b.abs()).max(1.0) {
                return Err(Error::invalid(
                    "cov",
                    format!("cov[{i},{j}] = {a} vs cov[{j},{i}] = {b}"),
                    "must be symmetric",
                ));
            }
        }
    }
    // Σ = U diag(S) Uᵀ; positive definite iff every S_i > 0 with u_i·v_i > 0.
    let eig = linalg::thin_svd(cov, Par::Seq)?;
    for i in 0..d {
        let uv: f64 = (0..d).map(|j| eig.u[(j, i)] * eig.v[(j, i)]).sum();
        if !(eig.s[i] > 0.0 && uv > 0.0) {
            return Err(Error::invalid(
                "cov",
                format!("eigenvalue {}", if uv > 0.0 { eig.s[i] } else { -eig.s[i] }),
                "must be positive definite",
            ));
        }
    }
    let root = Mat::from_fn(d, d, |i, j| eig.u[(i, j)] * eig.s[j].sqrt());
    if sizes.is_empty() || sizes.contains(&0) {
        return Err(Error::invalid(
            "sizes",
            format!("{sizes:?}"),
            "need at least one size, each >= 1",
        ));
    }
    if draws == 0 {
        return Err(Error::invalid("draws", 0, "must be >= 1"));
    }
    let mats: Vec<Mat<f64>> = (0..sizes.len() * draws)
        .into_par_iter()
        .map(|k| {
            let n = sizes[k / draws];
            let mut rng = crate::random::substream(seed, k as u64);
            let z = crate::random::gaussian_matrix(&mut rng, n, d, 1.0);
            linalg::mul(z.as_ref(), root.as_ref().transpose(), Par::Seq)
        })
        .collect();
    let views: Vec<MatRef<'_, f64>> = mats.iter().map(|m| m.as_ref()).collect();
    let svds = batched_svd(&views, device)?;
    group_stats(&svds, draws, |svd| smallest_nonzero(&svd.s))
}
