//! Least-squares double descent ("Double Descent Demystified", dd_demystified spec): the split
//! against scikit-learn, the data against scikit-learn and NumPy, the fused sweep against a
//! per-fit translation of the original scripts, the spec's diabetes and polynomial numbers, the
//! peak at the interpolation threshold and the effect of each ablation.

#[path = "common/ls_reference.rs"]
mod ls_reference;

use approx::assert_relative_eq;
use doubledescent::data::{self, CsvOptions, RegressionData, parse_csv};
use doubledescent::linalg::{Cutoff, min_norm_lstsq, pinv};
use doubledescent::random::numpy::RandomState;
use doubledescent::science::least_squares::{
    Sweep, SweepConfig, gaussian_smallest_singular_values, split, sweep,
};
use doubledescent::science::polynomial_regression::{
    PolynomialConfig, legendre_features, polynomial_sweep,
};
use doubledescent::stats::repeat_stats;
use doubledescent::{Device, Error, linalg, random};
use faer::linalg::solvers::Solve;
use faer::{Mat, Par};

fn cpu() -> Device {
    Device::cpu()
}

/// The original's leading-mode counts: its student–teacher list for the student–teacher tables,
/// its diabetes list otherwise.
fn original_modes(table: &RegressionData) -> Vec<usize> {
    if table.name == "Student-Teacher" {
        SweepConfig::STUDENT_TEACHER_LEADING_MODES.to_vec()
    } else {
        SweepConfig::DIABETES_LEADING_MODES.to_vec()
    }
}

fn original(table: &RegressionData) -> Sweep {
    sweep(table, &SweepConfig::original(original_modes(table)), &cpu()).unwrap()
}

/// Index of `n` in the sweep's sizes.
fn at(s: &Sweep, n: usize) -> usize {
    s.config.sizes.iter().position(|&m| m == n).unwrap()
}

fn mean_of(
    s: &Sweep,
    f: impl Fn(&doubledescent::science::least_squares::FitRecord) -> f64,
) -> Vec<f64> {
    s.summary(f).unwrap().iter().map(|r| r.mean).collect()
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap()
}

#[test]
fn numpy_permutation_and_sklearn_split() {
    // np.random.RandomState(3).permutation(12)
    assert_eq!(
        RandomState::new(3).permutation(12),
        [5, 4, 1, 2, 11, 6, 7, 0, 3, 9, 8, 10]
    );
    // train_test_split(np.arange(20), random_state=7, test_size=15, shuffle=True)
    let (train, test) = split(20, 5, 7).unwrap();
    assert_eq!(train, [12, 7, 3, 4, 15]);
    assert_eq!(test, [1, 17, 2, 5, 11, 0, 18, 6, 13, 19, 10, 14, 8, 16, 9]);
    // np.random.seed(0); np.random.uniform(-1, 1, 3)
    let u = RandomState::new(0).uniform(-1.0, 1.0, 3);
    assert_relative_eq!(u[0], 0.09762701, epsilon = 1e-8);
    assert_relative_eq!(u[2], 0.20552675, epsilon = 1e-8);
    assert!(split(20, 20, 0).is_err() && split(20, 0, 0).is_err());
}

#[test]
fn diabetes_matches_sklearn_scaling() {
    let d = data::diabetes().unwrap();
    assert_eq!((d.len(), d.dim()), (442, 10));
    // sklearn.datasets.load_diabetes(return_X_y=True)
    assert_relative_eq!(d.x()[(0, 0)], 0.038075906433423026, max_relative = 1e-12);
    assert_relative_eq!(d.x()[(441, 9)], 0.0030644094143684884, max_relative = 1e-12);
    assert_eq!(&d.y()[..3], &[151.0, 75.0, 141.0]);
    for j in 0..10 {
        let mean: f64 = (0..442).map(|i| d.x()[(i, j)]).sum::<f64>() / 442.0;
        let norm: f64 = (0..442).map(|i| d.x()[(i, j)].powi(2)).sum::<f64>().sqrt();
        assert!(mean.abs() < 1e-15, "column {j} mean {mean}");
        assert_relative_eq!(norm, 1.0, max_relative = 1e-12);
    }
    let raw = data::diabetes_raw().unwrap();
    assert_eq!(raw.x()[(0, 0)], 59.0);
    assert_eq!(raw.features()[2], "bmi");
}

#[test]
fn student_teacher_matches_numpy() {
    // np.random.seed(0); X_bar = randn(1000, 30); beta = randn(30, 1); Y = X_bar @ beta
    let d = data::student_teacher(1000, 30, 20, 0).unwrap();
    assert_eq!((d.len(), d.dim()), (1000, 20));
    assert_eq!(d.x()[(0, 0)], 1.764052345967664);
    assert_eq!(d.x()[(999, 19)], 1.910297046712191);
    assert_relative_eq!(d.y()[0], 5.770353388317057, max_relative = 1e-13);
    assert_relative_eq!(d.y()[999], 5.3245952771347085, max_relative = 1e-13);
    assert!(data::student_teacher(10, 5, 6, 0).is_err());
}

#[test]
fn fused_sweep_matches_per_fit_reference() {
    for table in [
        data::diabetes().unwrap(),
        data::student_teacher(200, 12, 8, 3).unwrap(),
    ] {
        let mut cfg = SweepConfig::original(original_modes(&table));
        let dim = table.dim();
        cfg.sizes = vec![1, dim / 2, dim - 1, dim, dim + 1, 2 * dim, 39];
        cfg.repeats = 4;
        cfg.leading_modes = vec![1, 3, dim - 1, dim, dim + 5];
        let fast = sweep(&table, &cfg, &cpu()).unwrap();
        let slow = ls_reference::reference_sweep(&table, &cfg);
        // Relative agreement, with an absolute floor for quantities that are zero in exact
        // arithmetic (train MSE when interpolating, no-residual test MSE for N >= D, the bias).
        let close = |a: f64, b: f64, floor: f64, what: &str, n: usize| {
            assert!(
                (a - b).abs() <= 1e-8 * a.abs().max(b.abs()) + floor,
                "{}: {what} at N = {n}: fused {a:e} vs reference {b:e}",
                table.name
            );
        };
        let scale = table.y().iter().map(|v| v * v).sum::<f64>() / table.len() as f64;
        let floor = 1e-18 * scale;
        for (f, r) in fast.fits.iter().zip(&slow) {
            let n = f.n;
            close(f.smallest_singular_value, r.smallest, 0.0, "sigma_min", n);
            close(f.train_mse, r.train, floor, "train", n);
            close(f.test_mse, r.test, floor, "test", n);
            close(
                f.test_bias_squared,
                r.bias_squared,
                1e-12 * scale,
                "bias^2",
                n,
            );
            for (a, b) in f.cutoffs.iter().zip(&r.cutoffs) {
                close(a.train, b.0, floor, "cutoff train", n);
                close(a.test, b.1, floor, "cutoff test", n);
            }
            for (a, b) in f.leading_modes.iter().zip(&r.modes) {
                close(*a, *b, floor, "leading modes", n);
            }
            close(
                f.no_residuals.train,
                r.no_residuals.0,
                floor,
                "no-res train",
                n,
            );
            close(
                f.no_residuals.test,
                r.no_residuals.1,
                floor,
                "no-res test",
                n,
            );
            for (a, b) in f.adversarial_test.iter().zip(&r.adversarial_test) {
                close(*a, *b, floor, "adversarial test", n);
            }
            for (a, b) in f.adversarial_train.iter().zip(&r.adversarial_train) {
                close(a.train, b.0, floor, "adversarial train (train)", n);
                close(a.test, b.1, floor, "adversarial train (test)", n);
            }
        }
    }
}

#[test]
fn min_norm_fit_is_pinv_and_interpolates() {
    let mut rng = random::seeded(11);
    for (n, d) in [(5, 12), (12, 12), (30, 7)] {
        let x = random::gaussian_matrix(&mut rng, n, d, 1.0);
        let y = random::gaussian_matrix(&mut rng, n, 1, 1.0);
        let fit = min_norm_lstsq(x.as_ref(), y.as_ref(), Cutoff::default()).unwrap();
        let via_pinv = pinv(x.as_ref(), Cutoff::numpy_pinv()).unwrap() * y.as_ref();
        // Closed forms: Xᵀ(XXᵀ)⁻¹y when over-parameterised, (XᵀX)⁻¹Xᵀy otherwise.
        let closed = if n <= d {
            let xxt = (x.as_ref()) * (x.as_ref().transpose());
            let a = xxt.partial_piv_lu().solve(&y);
            (x.as_ref().transpose()) * (a.as_ref())
        } else {
            ls_reference::normal_equations(x.as_ref(), y.as_ref())
        };
        for j in 0..d {
            assert_relative_eq!(fit.coef[(j, 0)], via_pinv[(j, 0)], epsilon = 1e-10);
            assert_relative_eq!(fit.coef[(j, 0)], closed[(j, 0)], epsilon = 1e-9);
        }
        if n <= d {
            let pred = (x.as_ref()) * (fit.coef.as_ref());
            for i in 0..n {
                assert_relative_eq!(pred[(i, 0)], y[(i, 0)], epsilon = 1e-10);
            }
        }
    }
    // The sweep interpolates for every N <= D.
    let table = data::diabetes().unwrap();
    let s = original(&table);
    for f in s.fits.iter().filter(|f| f.n <= 10) {
        assert!(
            f.train_mse < 1e-12,
            "train MSE {} at N = {}",
            f.train_mse,
            f.n
        );
    }
    for f in s.fits.iter().filter(|f| f.n >= 12) {
        assert!(
            f.train_mse > 1.0,
            "train MSE {} at N = {}",
            f.train_mse,
            f.n
        );
    }
}

/// dd_demystified spec §6.1–6.4 (means over the 50 repeats of the HEAD code, 3 digits).
#[test]
fn diabetes_reproduces_the_spec() {
    let table = data::diabetes().unwrap();
    let s = original(&table);
    let test = mean_of(&s, |f| f.test_mse);
    let rel = 6e-3; // the spec prints 3 significant digits
    for (n, want) in [
        (1, 3.53e4),
        (8, 6.43e5),
        (9, 2.49e6),
        (10, 5.98e7),
        (11, 4.22e5),
        (39, 4.08e4),
    ] {
        assert_relative_eq!(test[at(&s, n)], want, max_relative = rel);
    }
    let train = mean_of(&s, |f| f.train_mse);
    assert_relative_eq!(train[at(&s, 39)], 1.92e4, max_relative = rel);
    let median = s.summary(|f| f.test_mse).unwrap()[at(&s, 10)].median;
    assert_relative_eq!(median, 5.1e5, max_relative = 0.01);
    // Ablation (a) at N = 10, cutoffs logspace(-3, 0, 7).
    let cut = [1.68e6, 3.37e5, 1.75e5, 7.63e4, 3.85e4, 2.91e4, 2.91e4];
    for (j, want) in cut.iter().enumerate() {
        let got = mean_of(&s, |f| f.cutoffs[j].test)[at(&s, 10)];
        assert_relative_eq!(got, want, max_relative = rel);
    }
    // Ablation (b) at N = 10, k = 1, 5, 8, 9, 10.
    for (k, want) in [
        (1, 2.96e4),
        (5, 4.2e4),
        (8, 1.33e5),
        (9, 6.15e5),
        (10, 5.98e7),
    ] {
        let got = mean_of(&s, |f| f.leading_modes[k - 1])[at(&s, 10)];
        assert_relative_eq!(got, want, max_relative = 0.012);
    }
    // Ablation (c): smooth for N < D, zero for N >= D.
    let nores = mean_of(&s, |f| f.no_residuals.test);
    assert_relative_eq!(nores[at(&s, 1)], 2.2e3, max_relative = 0.03);
    assert_relative_eq!(nores[at(&s, 9)], 156.0, max_relative = 6e-3);
    assert!(nores[at(&s, 10)..].iter().all(|&v| v < 1e-15), "{nores:?}");
    // Smallest non-zero singular value: minimum of the mean 0.00264 at N = 10.
    let smin = mean_of(&s, |f| f.smallest_singular_value);
    assert_eq!(
        s.config.sizes[argmax(&smin.iter().map(|v| -v).collect::<Vec<_>>())],
        10
    );
    assert_relative_eq!(smin[at(&s, 10)], 0.00264, max_relative = 6e-3);
    // Adversarial test datum at N = 10: 1.9e9 (α = 0.1) and 1.9e14 (α = 31.6); at N = 39
    // 1.2e6 … 1.2e11. The spec's values use LAPACK's sign of v_min, ours the worse sign: equal
    // where the α² term dominates, never smaller.
    let adv = |j: usize, n: usize| mean_of(&s, |f| f.adversarial_test[j])[at(&s, n)];
    assert_relative_eq!(adv(1, 10), 1.9e9, max_relative = 0.03);
    assert_relative_eq!(adv(6, 10), 1.9e14, max_relative = 0.03);
    assert!(adv(1, 39) >= 1.2e6 * 0.97, "{}", adv(1, 39));
    assert_relative_eq!(adv(6, 39), 1.2e11, max_relative = 0.03);
}

/// The unablated mean test MSE peaks at N = D; every ablation removes or reduces the peak.
#[test]
fn peak_at_threshold_and_ablations_remove_it() {
    for table in [
        data::diabetes().unwrap(),
        data::student_teacher(1000, 30, 20, 0).unwrap(),
    ] {
        let s = original(&table);
        let d = table.dim();
        let name = table.name.clone();
        let test = mean_of(&s, |f| f.test_mse);
        let peak = at(&s, d);
        assert_eq!(s.config.sizes[argmax(&test)], d, "{name}: {test:?}");
        let median: Vec<f64> = s
            .summary(|f| f.test_mse)
            .unwrap()
            .iter()
            .map(|r| r.median)
            .collect();
        assert_eq!(s.config.sizes[argmax(&median)], d, "{name}: {median:?}");
        // (a) the peak shrinks as the cutoff grows; the largest cutoff removes it.
        let mut prev = test[peak];
        for j in 0..s.config.cutoffs.len() {
            let v = mean_of(&s, |f| f.cutoffs[j].test)[peak];
            assert!(
                v <= prev * (1.0 + 1e-9),
                "{name}: cutoff {j}: {v} after {prev}"
            );
            prev = v;
        }
        assert!(prev < 0.01 * test[peak], "{name}: cutoff 1 leaves {prev}");
        let flat = mean_of(&s, |f| f.cutoffs[6].test);
        let (lo, hi) = flat
            .iter()
            .fold((f64::MAX, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(hi < 10.0 * lo, "{name}: cutoff 1 not flat: {lo}..{hi}");
        // (b) k < D removes the spike at N = D; k >= D leaves the curve unchanged.
        for (j, &k) in s.config.leading_modes.iter().enumerate() {
            let v = mean_of(&s, |f| f.leading_modes[j]);
            if k >= d {
                for (a, b) in v.iter().zip(&test) {
                    assert_relative_eq!(*a, *b, max_relative = 1e-9);
                }
            } else {
                assert!(v[peak] < 0.1 * test[peak], "{name}: k = {k}: {}", v[peak]);
                assert_ne!(
                    s.config.sizes[argmax(&v)],
                    d,
                    "{name}: k = {k} keeps the spike"
                );
            }
        }
        // (c) no residuals: zero for N >= D, and below the unablated curve everywhere.
        let nores = mean_of(&s, |f| f.no_residuals.test);
        let y2 = table.y().iter().map(|v| v * v).sum::<f64>() / table.len() as f64;
        for (i, &n) in s.config.sizes.iter().enumerate() {
            if n >= d {
                assert!(nores[i] < 1e-12 * y2, "{name}: N = {n}: {}", nores[i]);
            } else {
                assert!(nores[i] < test[i], "{name}: N = {n}");
            }
        }
        assert!(
            nores[peak - 1] < nores[0],
            "{name}: no-residual curve not decreasing"
        );
        // Adversarial: test MSE grows with α at every N (most at N = D), train data moves the
        // training targets without changing the training error.
        for (i, &n) in s.config.sizes.iter().enumerate() {
            let at_n = s.at(i);
            for f in at_n {
                for w in f.adversarial_test.windows(2) {
                    assert!(w[1] >= w[0], "{name}: N = {n}: {w:?}");
                }
                for a in &f.adversarial_train {
                    let floor = 1e-9 * f.train_mse.max(y2 * 1e-9);
                    assert!((a.train - f.train_mse).abs() <= floor, "{name}: N = {n}");
                }
            }
        }
        let adv = mean_of(&s, |f| f.adversarial_test[6]);
        assert_eq!(s.config.sizes[argmax(&adv)], d, "{name}");
        let advtr = mean_of(&s, |f| f.adversarial_train[6].test);
        assert!(advtr[peak] > test[peak], "{name}");
    }
}

#[test]
fn student_teacher_smallest_singular_value_is_minimal_at_d() {
    let table = data::student_teacher(1000, 30, 20, 0).unwrap();
    let s = original(&table);
    let smin = mean_of(&s, |f| f.smallest_singular_value);
    let neg: Vec<f64> = smin.iter().map(|v| -v).collect();
    assert_eq!(s.config.sizes[argmax(&neg)], 20, "{smin:?}");
    for f in &s.fits {
        assert_eq!(f.rank, f.n.min(20));
    }
}

/// Spec §4 supplementary check: 2000 draws per n from N(0, Σ), Σ = [[23,9,4],[9,6,2],[4,2,5]].
#[test]
fn gaussian_smallest_singular_value_monte_carlo() {
    let cov = Mat::from_fn(3, 3, |i, j| {
        [[23.0, 9.0, 4.0], [9.0, 6.0, 2.0], [4.0, 2.0, 5.0]][i][j]
    });
    let sizes = [1, 2, 3, 4, 5, 6, 10, 25, 100];
    let spec = [4.51, 1.84, 0.71, 1.37, 1.89, 2.31, 3.63, 6.67, 14.2];
    let stats = gaussian_smallest_singular_values(cov.as_ref(), &sizes, 2000, 5, &cpu()).unwrap();
    for ((n, st), want) in sizes.iter().zip(&stats).zip(spec) {
        // Monte-Carlo error of a median of 2000 draws: a few percent.
        assert_relative_eq!(st.median, want, max_relative = 0.07);
        assert!(st.count == 2000 && st.min > 0.0, "n = {n}");
    }
    let neg: Vec<f64> = stats.iter().map(|r| -r.median).collect();
    assert_eq!(sizes[argmax(&neg)], 3);
    // d = 1: σ = |x|, whose median is 0.6745 (the normal's upper quartile).
    let one = Mat::from_fn(1, 1, |_, _| 1.0);
    let st = gaussian_smallest_singular_values(one.as_ref(), &[1], 4000, 1, &cpu()).unwrap();
    assert_relative_eq!(st[0].median, 0.6745, max_relative = 0.05);
    let bad = Mat::from_fn(2, 2, |i, j| if i == j { -1.0 } else { 0.0 });
    let err = gaussian_smallest_singular_values(bad.as_ref(), &[1], 10, 0, &cpu()).unwrap_err();
    assert!(err.to_string().contains("positive definite"), "{err}");
}

#[test]
fn legendre_features_match_closed_forms() {
    let x = [-1.0, -0.7, -0.1, 0.0, 0.35, 0.9, 1.0];
    let degrees: Vec<usize> = (1..=200).collect();
    let phi = legendre_features(&x, &degrees).unwrap();
    for (i, &t) in x.iter().enumerate() {
        assert_relative_eq!(phi[(i, 0)], t, epsilon = 1e-15);
        assert_relative_eq!(phi[(i, 1)], (3.0 * t * t - 1.0) / 2.0, epsilon = 1e-14);
        assert_relative_eq!(
            phi[(i, 2)],
            (5.0 * t.powi(3) - 3.0 * t) / 2.0,
            epsilon = 1e-14
        );
        let p5 = (63.0 * t.powi(5) - 70.0 * t.powi(3) + 15.0 * t) / 8.0;
        assert_relative_eq!(phi[(i, 4)], p5, epsilon = 1e-14);
        for n in 1..=200 {
            assert!(phi[(i, n - 1)].abs() <= 1.0 + 1e-12, "|P_{n}({t})| > 1");
        }
    }
    for n in 1..=200 {
        assert_relative_eq!(phi[(6, n - 1)], 1.0, epsilon = 1e-12);
        assert_relative_eq!(
            phi[(0, n - 1)],
            if n % 2 == 0 { 1.0 } else { -1.0 },
            epsilon = 1e-12
        );
    }
    assert!(legendre_features(&[f64::NAN], &[1]).is_err());
}

/// dd_demystified spec §5: the committed `mse.csv` (mean / median over 30 repeats).
#[test]
fn polynomial_regression_reproduces_the_spec() {
    let s = polynomial_sweep(&PolynomialConfig::original(), &cpu()).unwrap();
    let test = s.summary(|f| f.test_mse).unwrap();
    let train = s.summary(|f| f.train_mse).unwrap();
    let idx = |p: usize| s.config.num_features.iter().position(|&q| q == p).unwrap();
    let median: Vec<f64> = test.iter().map(|r| r.median).collect();
    assert_eq!(s.config.num_features[argmax(&median)], 15);
    let mean: Vec<f64> = test.iter().map(|r| r.mean).collect();
    assert_eq!(s.config.num_features[argmax(&mean)], 14);
    for (p, tr, te, med) in [
        (1, 0.478, 0.519, 0.511),
        (5, 0.300, 1.33, 0.79),
        (10, 0.135, 6.3e4, 14.1),
        (30, 0.0, 0.358, 0.351),
        (100, 0.0, 0.579, 0.553),
    ] {
        let j = idx(p);
        if tr > 0.0 {
            assert_relative_eq!(train[j].mean, tr, max_relative = 0.01);
        } else {
            assert!(train[j].mean < 1e-20);
        }
        assert_relative_eq!(test[j].mean, te, max_relative = 0.01);
        assert_relative_eq!(test[j].median, med, max_relative = 0.01);
    }
    assert_relative_eq!(test[idx(14)].mean, 8.5e9, max_relative = 0.01);
    assert_relative_eq!(test[idx(15)].median, 6.7e6, max_relative = 0.01);
    // Double descent: the best over-parameterised error beats the best under-parameterised one.
    let under = mean[..idx(15)].iter().copied().fold(f64::MAX, f64::min);
    let over = mean[idx(16)..].iter().copied().fold(f64::MAX, f64::min);
    assert!(over < under, "{over} vs {under}");
}

#[test]
fn csv_loader_reads_and_rejects_clearly() {
    let text = "a, b ,name,target \n1,2,x,3\n4,,y,6\n7,8,z,9.5\n";
    let mut opts = CsvOptions::new("target");
    opts.features = Some(vec!["a".into(), "b".into()]);
    // A missing cell is an error unless rows with missing cells are dropped.
    let err = parse_csv(text.as_bytes(), "t.csv", &opts).unwrap_err();
    assert!(
        err.to_string().contains("line 3") && err.to_string().contains("missing"),
        "{err}"
    );
    opts.drop_missing = true;
    let t = parse_csv(text.as_bytes(), "t.csv", &opts).unwrap();
    assert_eq!((t.len(), t.dim()), (2, 2));
    assert_eq!(t.y(), [3.0, 9.5]);
    assert_eq!(t.features(), ["a", " b "]);
    assert_eq!(t.x()[(1, 1)], 8.0);
    // Every column but the target: the text column is rejected by name.
    let err = parse_csv(text.as_bytes(), "t.csv", &CsvOptions::new("target")).unwrap_err();
    assert!(err.to_string().contains("\"name\""), "{err}");
    let err = parse_csv(text.as_bytes(), "t.csv", &CsvOptions::new("price")).unwrap_err();
    assert!(
        err.to_string().contains("no column named \"price\"") && err.to_string().contains("\"a\""),
        "{err}"
    );
    let err = parse_csv("a,y\n1,2\n".as_bytes(), "t.csv", &CsvOptions::new("y")).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
    let mut opts = CsvOptions::new("y");
    opts.features = Some(vec!["y".into()]);
    assert!(matches!(
        parse_csv("a,y\n1,2\n3,4\n".as_bytes(), "t.csv", &opts),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(data::read_csv(std::path::Path::new("/nonexistent.csv"), &opts).is_err());
}

#[test]
fn sweep_rejects_bad_settings() {
    let table = data::diabetes().unwrap();
    let mut cfg = SweepConfig::original(original_modes(&table));
    cfg.sizes = vec![442];
    let err = sweep(&table, &cfg, &cpu()).unwrap_err();
    assert!(
        err.to_string().contains("sizes") && err.to_string().contains("442"),
        "{err}"
    );
    let mut cfg = SweepConfig::original(original_modes(&table));
    cfg.repeats = 0;
    assert!(sweep(&table, &cfg, &cpu()).is_err());
    let mut cfg = SweepConfig::original(original_modes(&table));
    cfg.cutoffs = vec![-1.0];
    assert!(sweep(&table, &cfg, &cpu()).is_err());
    let mut cfg = SweepConfig::original(original_modes(&table));
    cfg.adversarial_test = vec![f64::NAN];
    assert!(sweep(&table, &cfg, &cpu()).is_err());
    let mut x = table.x().to_owned();
    x[(3, 2)] = f64::INFINITY;
    let err = RegressionData::new("bad", table.features().to_vec(), "y", x, table.y().to_vec());
    assert!(matches!(err, Err(Error::NonFinite { .. })));
}

#[test]
fn sweep_is_reproducible_and_batched_svd_takes_mixed_shapes() {
    let table = data::student_teacher(300, 10, 6, 2).unwrap();
    let mut cfg = SweepConfig::original(original_modes(&table));
    cfg.sizes = vec![2, 6, 12];
    cfg.repeats = 3;
    let a = sweep(&table, &cfg, &cpu()).unwrap();
    let b = sweep(&table, &cfg, &cpu()).unwrap();
    assert_eq!(a.fits, b.fits);
    let mut rng = random::seeded(1);
    let mats: Vec<Mat<f64>> = [(3, 5), (7, 2), (4, 4), (3, 5)]
        .iter()
        .map(|&(m, n)| random::gaussian_matrix(&mut rng, m, n, 1.0))
        .collect();
    let views: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
    let svds = doubledescent::linalg::batched_svd(&views, &cpu()).unwrap();
    for (m, s) in mats.iter().zip(&svds) {
        let one = linalg::thin_svd(m.as_ref(), Par::Seq).unwrap();
        assert_eq!(s.s, one.s);
    }
}

#[test]
fn repeat_stats_are_right() {
    let v = [3.0, 1.0, 4.0, 1.0, 5.0];
    let s = repeat_stats(&v, 0).unwrap();
    assert_relative_eq!(s.mean, 2.8);
    assert_eq!(s.median, 3.0);
    assert_relative_eq!(s.std, (12.8f64 / 4.0).sqrt());
    assert_eq!((s.min, s.max, s.count), (1.0, 5.0, 5));
    assert!(s.ci_low <= s.mean && s.mean <= s.ci_high && s.ci_low >= 1.0 && s.ci_high <= 5.0);
    assert!(repeat_stats(&[], 0).is_err());
    assert!(repeat_stats(&[1.0, f64::NAN], 0).is_err());
}
