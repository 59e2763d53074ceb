//! The fused scoring of one (N, repeat) fit: with Z = X V and a coefficient vector c, every
//! prediction of the unablated fit, of ablations (a)–(c) and of the adversarial constructions is
//! a partial sum Σ_{i<k} Z_ti c_i, so one pass over the rows accumulates every squared error.

use faer::Par;

use super::{FitRecord, Mse, PINV_RCOND, SweepConfig};
use crate::data::RegressionData;
use crate::linalg::{self, ThinSvd};

/// What the scoring of every fit shares: the table, the settings, β_ideal and Xβ_ideal.
pub(super) struct Context<'a> {
    pub data: &'a RegressionData,
    pub cfg: &'a SweepConfig,
    pub ideal: &'a [f64],
    pub yhat_ideal: &'a [f64],
}

/// `min(S[S > 0])`, or 0 when every singular value is zero.
pub(super) fn smallest_nonzero(s: &[f64]) -> f64 {
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

/// Sums of squared errors over one set of rows (the training or the test rows), one field per
/// quantity of [`FitRecord`]. The adversarial sums are kept for both signs of the last singular
/// pair, `[+, −]`.
struct ErrorSums {
    /// The unablated fit.
    unablated: f64,
    /// Ablation (a), per cutoff.
    cutoffs: Vec<f64>,
    /// Ablation (b), per leading-mode count (test rows only).
    leading_modes: Vec<f64>,
    /// Ablation (c): targets Xβ_ideal.
    no_residuals: f64,
    /// The adversarial test datum, per α (test rows only).
    adversarial_test: [Vec<f64>; 2],
    /// Adversarial training data, per α.
    adversarial_train: [Vec<f64>; 2],
}

impl ErrorSums {
    fn new(cfg: &SweepConfig) -> Self {
        let (nt, na) = (cfg.adversarial_test.len(), cfg.adversarial_train.len());
        ErrorSums {
            unablated: 0.0,
            cutoffs: vec![0.0; cfg.cutoffs.len()],
            leading_modes: vec![0.0; cfg.leading_modes.len()],
            no_residuals: 0.0,
            adversarial_test: [vec![0.0; nt], vec![0.0; nt]],
            adversarial_train: [vec![0.0; na], vec![0.0; na]],
        }
    }
}

/// The per-fit quantities of the scoring: SVD-derived coefficient vectors and prefix lengths.
struct FitTerms {
    /// S⁺Uᵀy: the coefficients of β̂ in the basis V.
    c_y: Vec<f64>,
    /// S⁺Uᵀ(Xβ_ideal): the same for the targets without residuals.
    c_ideal: Vec<f64>,
    /// Vᵀβ_ideal.
    w_ideal: Vec<f64>,
    /// Modes pinv keeps (relative cutoff 1e-15).
    k_pinv: usize,
    /// Modes the test-bias projection keeps.
    k_bias: usize,
    /// Modes each absolute cutoff keeps.
    k_cut: Vec<usize>,
    /// Modes each leading-mode ablation keeps.
    k_modes: Vec<usize>,
    /// 1/σ_min when pinv keeps the last mode, else 0: adversarial training data shift β̂ by
    /// α/σ_min · v_min.
    adv_train_scale: f64,
}

impl Context<'_> {
    fn terms(&self, n: usize, train: &[usize], svd: &ThinSvd<f64>) -> FitTerms {
        let (cfg, y) = (self.cfg, &self.data.y);
        let s = &svd.s;
        let r0 = s.len();
        // S⁺ with only exact zeros dropped (1/S = ∞ → 0), as the original.
        let inv: Vec<f64> = s
            .iter()
            .map(|&v| if (1.0 / v).is_finite() { 1.0 / v } else { 0.0 })
            .collect();
        let utb = |b: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..r0)
                .map(|i| inv[i] * (0..n).map(|p| svd.u[(p, i)] * b(p)).sum::<f64>())
                .collect()
        };
        let top = s[0];
        let k_pinv = count_leading(s, |v| v > PINV_RCOND * top);
        FitTerms {
            c_y: utb(&|p| y[train[p]]),
            c_ideal: utb(&|p| self.yhat_ideal[train[p]]),
            w_ideal: (0..r0)
                .map(|i| {
                    (0..self.data.dim())
                        .map(|j| svd.v[(j, i)] * self.ideal[j])
                        .sum()
                })
                .collect(),
            k_pinv,
            k_bias: count_leading(s, |v| v * v > PINV_RCOND * top * top),
            k_cut: cfg
                .cutoffs
                .iter()
                .map(|&c| count_leading(s, |v| v >= c && v > 0.0))
                .collect(),
            k_modes: cfg.leading_modes.iter().map(|&k| k.min(k_pinv)).collect(),
            adv_train_scale: if k_pinv == r0 { 1.0 / s[r0 - 1] } else { 0.0 },
        }
    }

    /// Scores the fit of training rows `train` (SVD `svd`) on them and on the test rows.
    pub fn score(
        &self,
        n: usize,
        repeat: usize,
        train: &[usize],
        test: &[usize],
        svd: &ThinSvd<f64>,
    ) -> FitRecord {
        let (cfg, x, y) = (self.cfg, self.data.x.as_ref(), &self.data.y);
        let f = self.terms(n, train, svd);
        let r0 = svd.s.len();
        let last = r0 - 1;
        let z = linalg::mul(x, svd.v.as_ref(), Par::Seq);
        let mut prefix = vec![0.0; r0 + 1];
        let fill = |prefix: &mut [f64], t: usize| {
            for i in 0..r0 {
                prefix[i + 1] = prefix[i] + z[(t, i)] * f.c_y[i];
            }
        };
        let no_residual_prediction =
            |t: usize| -> f64 { (0..r0).map(|i| z[(t, i)] * f.c_ideal[i]).sum() };
        let signs = [1.0, -1.0];

        // Train: unablated, cutoffs, no residuals, adversarial training data.
        let mut tr = ErrorSums::new(cfg);
        for (p, &t) in train.iter().enumerate() {
            fill(&mut prefix, t);
            tr.unablated += (y[t] - prefix[r0]).powi(2);
            for (acc, &k) in tr.cutoffs.iter_mut().zip(&f.k_cut) {
                *acc += (y[t] - prefix[k]).powi(2);
            }
            for (j, &a) in cfg.adversarial_train.iter().enumerate() {
                for (acc, sign) in tr.adversarial_train.iter_mut().zip(signs) {
                    let target = y[t] + sign * a * svd.u[(p, last)];
                    let pred = prefix[f.k_pinv] + sign * a * f.adv_train_scale * z[(t, last)];
                    acc[j] += (target - pred).powi(2);
                }
            }
            tr.no_residuals += (self.yhat_ideal[t] - no_residual_prediction(t)).powi(2);
        }
        // Test: the same plus leading modes, the adversarial test datum and the signed bias.
        let mut te = ErrorSums::new(cfg);
        let mut bias = 0.0;
        for &t in test {
            fill(&mut prefix, t);
            let full = prefix[r0];
            te.unablated += (y[t] - full).powi(2);
            for (acc, &k) in te.cutoffs.iter_mut().zip(&f.k_cut) {
                *acc += (y[t] - prefix[k]).powi(2);
            }
            for (acc, &k) in te.leading_modes.iter_mut().zip(&f.k_modes) {
                *acc += (y[t] - prefix[k]).powi(2);
            }
            // x + α v_min moves the prediction by α (v_min·β̂) = α c_min.
            for (j, &a) in cfg.adversarial_test.iter().enumerate() {
                for (acc, sign) in te.adversarial_test.iter_mut().zip(signs) {
                    acc[j] += (y[t] - full - sign * a * f.c_y[last]).powi(2);
                }
            }
            for (j, &a) in cfg.adversarial_train.iter().enumerate() {
                for (acc, sign) in te.adversarial_train.iter_mut().zip(signs) {
                    let pred = prefix[f.k_pinv] + sign * a * f.adv_train_scale * z[(t, last)];
                    acc[j] += (y[t] - pred).powi(2);
                }
            }
            te.no_residuals += (self.yhat_ideal[t] - no_residual_prediction(t)).powi(2);
            let proj: f64 = (0..f.k_bias).map(|i| z[(t, i)] * f.w_ideal[i]).sum();
            bias += proj - self.yhat_ideal[t];
        }
        let (ntr, nte) = (n as f64, test.len() as f64);
        let bias = bias / nte;
        FitRecord {
            n,
            repeat,
            rank: svd.s.iter().filter(|&&v| (1.0 / v).is_finite()).count(),
            smallest_singular_value: smallest_nonzero(&svd.s),
            train_mse: tr.unablated / ntr,
            test_mse: te.unablated / nte,
            test_bias_squared: bias * bias,
            cutoffs: tr
                .cutoffs
                .iter()
                .zip(&te.cutoffs)
                .map(|(a, b)| Mse {
                    train: a / ntr,
                    test: b / nte,
                })
                .collect(),
            leading_modes: te.leading_modes.iter().map(|v| v / nte).collect(),
            adversarial_test: te.adversarial_test[0]
                .iter()
                .zip(&te.adversarial_test[1])
                .map(|(plus, minus)| plus.max(*minus) / nte)
                .collect(),
            adversarial_train: (0..cfg.adversarial_train.len())
                .map(|j| {
                    let worse =
                        usize::from(te.adversarial_train[1][j] > te.adversarial_train[0][j]);
                    Mse {
                        train: tr.adversarial_train[worse][j] / ntr,
                        test: te.adversarial_train[worse][j] / nte,
                    }
                })
                .collect(),
            no_residuals: Mse {
                train: tr.no_residuals / ntr,
                test: te.no_residuals / nte,
            },
        }
    }
}
