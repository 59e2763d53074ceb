//! An independent per-fit reference for the least-squares sweep: a line-by-line translation of
//! `linear_regression_ablations.py` and `linear_regression_adversarial.py` (dd_demystified spec
//! §2–3) with explicit matrices: β̂ = V diag(S⁺) Uᵀ y, `pinv` wherever the original calls it,
//! the projection Xᵀ pinv(X_k)ᵀ of ablation (b), X_test Xᵀ pinv(XXᵀ) X for the bias, β_ideal from
//! the normal equations. One SVD per fit, no fusion: it is also the criterion baseline.
#![allow(dead_code)]

use doubledescent::data::RegressionData;
use doubledescent::data::gather_rows;
use doubledescent::linalg::{self, ThinSvd};
use doubledescent::linalg::{Cutoff, pinv};
use doubledescent::science::least_squares::{SweepConfig, split};
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Par};

pub struct RefFit {
    pub smallest: f64,
    pub train: f64,
    pub test: f64,
    pub bias_squared: f64,
    pub cutoffs: Vec<(f64, f64)>,
    pub modes: Vec<f64>,
    pub no_residuals: (f64, f64),
    pub adversarial_test: Vec<f64>,
    pub adversarial_train: Vec<(f64, f64)>,
}

fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    (a) * (b)
}

fn mse(y: MatRef<'_, f64>, pred: MatRef<'_, f64>) -> f64 {
    (0..y.nrows())
        .map(|i| (y[(i, 0)] - pred[(i, 0)]).powi(2))
        .sum::<f64>()
        / y.nrows() as f64
}

fn col(v: impl Iterator<Item = f64>) -> Mat<f64> {
    let v: Vec<f64> = v.collect();
    Mat::from_fn(v.len(), 1, |i, _| v[i])
}

/// V diag(inv) Uᵀ b.
fn svd_solve(svd: &ThinSvd<f64>, inv: &[f64], b: MatRef<'_, f64>) -> Mat<f64> {
    let d = Mat::from_fn(
        inv.len(),
        inv.len(),
        |i, j| if i == j { inv[i] } else { 0.0 },
    );
    let t = mul(d.as_ref(), mul(svd.u.as_ref().transpose(), b).as_ref());
    mul(svd.v.as_ref(), t.as_ref())
}

/// `np.linalg.inv(X.T @ X) @ X.T @ y`.
pub fn normal_equations(x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Mat<f64> {
    let xtx = mul(x.transpose(), x);
    xtx.partial_piv_lu().solve(mul(x.transpose(), y))
}

pub fn reference_fit(
    data: &RegressionData,
    cfg: &SweepConfig,
    ideal: MatRef<'_, f64>,
    n: usize,
    repeat: usize,
) -> RefFit {
    let (train, test) = split(data.len(), n, repeat as u32).unwrap();
    let xtr = gather_rows(data.x().as_ref(), &train);
    let xte = gather_rows(data.x().as_ref(), &test);
    let ytr = col(train.iter().map(|&i| data.y()[i]));
    let yte = col(test.iter().map(|&i| data.y()[i]));
    let svd = linalg::thin_svd(xtr.as_ref(), Par::Seq).unwrap();
    let s = &svd.s;
    let last = s.len() - 1;
    let inv: Vec<f64> = s
        .iter()
        .map(|&v| if (1.0 / v).is_finite() { 1.0 / v } else { 0.0 })
        .collect();
    let smallest = s
        .iter()
        .copied()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let beta = svd_solve(&svd, &inv, ytr.as_ref());
    let train_mse = mse(ytr.as_ref(), mul(xtr.as_ref(), beta.as_ref()).as_ref());
    let test_mse = mse(yte.as_ref(), mul(xte.as_ref(), beta.as_ref()).as_ref());

    // Test bias: X_test Xᵀ pinv(X Xᵀ) X − X_test, applied to β_ideal, mean, squared.
    let gram = mul(xtr.as_ref(), xtr.as_ref().transpose());
    let gp = pinv(gram.as_ref(), Cutoff::numpy_pinv()).unwrap();
    let xhat = mul(
        mul(
            mul(xte.as_ref(), xtr.as_ref().transpose()).as_ref(),
            gp.as_ref(),
        )
        .as_ref(),
        xtr.as_ref(),
    );
    let diff = Mat::from_fn(xte.nrows(), xte.ncols(), |i, j| xhat[(i, j)] - xte[(i, j)]);
    let db = mul(diff.as_ref(), ideal);
    let bias = (0..db.nrows()).map(|i| db[(i, 0)]).sum::<f64>() / db.nrows() as f64;

    let cutoffs = cfg
        .cutoffs
        .iter()
        .map(|&c| {
            let ic: Vec<f64> = s
                .iter()
                .map(|&v| if v < c || v == 0.0 { 0.0 } else { 1.0 / v })
                .collect();
            let b = svd_solve(&svd, &ic, ytr.as_ref());
            (
                mse(ytr.as_ref(), mul(xtr.as_ref(), b.as_ref()).as_ref()),
                mse(yte.as_ref(), mul(xte.as_ref(), b.as_ref()).as_ref()),
            )
        })
        .collect();

    let modes = cfg
        .leading_modes
        .iter()
        .map(|&k| {
            let k = k.min(s.len());
            let lead = Mat::from_fn(n, data.dim(), |i, j| {
                (0..k).map(|r| svd.u[(i, r)] * s[r] * svd.v[(j, r)]).sum()
            });
            let lp = pinv(lead.as_ref(), Cutoff::numpy_pinv()).unwrap();
            let proj = mul(lead.as_ref().transpose(), lp.as_ref().transpose());
            let xp = mul(xte.as_ref(), proj.as_ref().transpose());
            mse(yte.as_ref(), mul(xp.as_ref(), beta.as_ref()).as_ref())
        })
        .collect();

    let ytr_n = mul(xtr.as_ref(), ideal);
    let yte_n = mul(xte.as_ref(), ideal);
    let bn = svd_solve(&svd, &inv, ytr_n.as_ref());
    let no_residuals = (
        mse(ytr_n.as_ref(), mul(xtr.as_ref(), bn.as_ref()).as_ref()),
        mse(yte_n.as_ref(), mul(xte.as_ref(), bn.as_ref()).as_ref()),
    );

    let adversarial_test = cfg
        .adversarial_test
        .iter()
        .map(|&a| {
            [1.0, -1.0]
                .iter()
                .map(|sign| {
                    let xa = Mat::from_fn(xte.nrows(), xte.ncols(), |i, j| {
                        xte[(i, j)] + sign * a * svd.v[(j, last)]
                    });
                    mse(yte.as_ref(), mul(xa.as_ref(), beta.as_ref()).as_ref())
                })
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .collect();

    let xp = pinv(xtr.as_ref(), Cutoff::numpy_pinv()).unwrap();
    let adversarial_train = cfg
        .adversarial_train
        .iter()
        .map(|&a| {
            let mut worst = (0.0, f64::NEG_INFINITY);
            for sign in [1.0, -1.0] {
                let ya = col((0..n).map(|i| ytr[(i, 0)] + sign * a * svd.u[(i, last)]));
                let b = mul(xp.as_ref(), ya.as_ref());
                let cand = (
                    mse(ya.as_ref(), mul(xtr.as_ref(), b.as_ref()).as_ref()),
                    mse(yte.as_ref(), mul(xte.as_ref(), b.as_ref()).as_ref()),
                );
                if cand.1 > worst.1 {
                    worst = cand;
                }
            }
            worst
        })
        .collect();

    RefFit {
        smallest,
        train: train_mse,
        test: test_mse,
        bias_squared: bias * bias,
        cutoffs,
        modes,
        no_residuals,
        adversarial_test,
        adversarial_train,
    }
}

/// Every fit of the sweep, size-major like [`doubledescent::science::least_squares::Sweep::fits`].
pub fn reference_sweep(data: &RegressionData, cfg: &SweepConfig) -> Vec<RefFit> {
    let y = col(data.y().iter().copied());
    let ideal = normal_equations(data.x().as_ref(), y.as_ref());
    let mut out = Vec::new();
    for &n in &cfg.sizes {
        for r in 0..cfg.repeats {
            out.push(reference_fit(data, cfg, ideal.as_ref(), n, r));
        }
    }
    out
}
