//! Tests of the teacher–student module against the spec's reference numbers, brute-force
//! gradient descent, the simulated test error and closed-form limits.

use approx::assert_relative_eq;
use doubledescent::Device;
use doubledescent::Error;
use doubledescent::science::teacher_student::*;

/// E_G of the approximation at x = t + 1 (x = 1 is the grid start t = 1e-3), original freezing.
fn eg_at(cfg: &Config, xs: &[f64], freeze: Freeze) -> Vec<f64> {
    let ts: Vec<f64> = xs.iter().map(|x| (x - 1.0).max(FREEZE_EARLY)).collect();
    fast_slow_at(cfg, &ts, freeze, FREEZE_EARLY, FREEZE_LATE)
        .unwrap()
        .eg
}

#[test]
fn fig1_matches_spec_table() {
    // teacher_student.md §3.1, recomputed from the original formulas (n=150 d=100 p=70 κ=100).
    let xs = [
        1.0, 2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 1e4, 3e4, 1e5,
    ];
    let table = [
        (
            Freeze::FastOnly,
            [
                0.4997, 0.3578, 0.2616, 0.2357, 0.2405, 0.2619, 0.2737, 0.2789, 0.2804, 0.2810,
                0.2812, 0.2812,
            ],
        ),
        (
            Freeze::SlowOnly,
            [
                0.2812, 0.2812, 0.2812, 0.2811, 0.2806, 0.2792, 0.2751, 0.2616, 0.2290, 0.1572,
                0.0768, 0.0206,
            ],
        ),
        (
            Freeze::None,
            [
                0.4997, 0.3578, 0.2615, 0.2356, 0.2400, 0.2600, 0.2677, 0.2593, 0.2284, 0.1570,
                0.0768, 0.0206,
            ],
        ),
    ];
    let cfg = Config::new(150, 100, 70, 100.0);
    for (freeze, want) in table {
        let got = eg_at(&cfg, &xs, freeze);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3,
                "{freeze:?} at x={}: got {g:.5}, spec {w}",
                xs[i]
            );
        }
    }
    // Plateau of the fast-only curve: R → 0.7, Q → 0.9625 (spec).
    let fast = fast_slow(&cfg, &analytic_times(), Freeze::FastOnly).unwrap();
    assert!((fast.r[299] - 0.7).abs() < 1e-3 && (fast.q[299] - 0.9625).abs() < 1e-3);
    // ICML variant n = 130: fast-only plateau 0.3250.
    let icml = fast_slow(
        &Config::new(130, 100, 70, 100.0),
        &analytic_times(),
        Freeze::FastOnly,
    )
    .unwrap();
    assert!((icml.eg[299] - 0.3250).abs() < 1e-3, "{}", icml.eg[299]);
}

#[test]
fn fig3_matches_spec_table() {
    // teacher_student.md §3.3 (n=110 d=100 p=70), E_G at x = 1, 10, ..., 1e7.
    let xs: Vec<f64> = (0..8).map(|k| 10f64.powi(k)).collect();
    let table: [(f64, [f64; 8]); 7] = [
        (1.0, [0.4997, 0.1105, 0.0123, 0.0003, 0.0, 0.0, 0.0, 0.0]),
        (7.0, [0.4998, 0.2490, 0.1586, 0.0269, 0.0008, 0.0, 0.0, 0.0]),
        (
            12.0,
            [0.4998, 0.2604, 0.2406, 0.0821, 0.0051, 0.0001, 0.0, 0.0],
        ),
        (
            30.0,
            [0.4998, 0.2658, 0.3106, 0.2501, 0.0552, 0.0024, 0.0, 0.0],
        ),
        (
            100.0,
            [0.4998, 0.2668, 0.3273, 0.3783, 0.2676, 0.0615, 0.0028, 0.0],
        ),
        (
            1000.0,
            [
                0.4998, 0.2669, 0.3291, 0.3988, 0.4088, 0.3909, 0.2685, 0.0615,
            ],
        ),
        (
            1e5,
            [
                0.4998, 0.2669, 0.3291, 0.3990, 0.4111, 0.4124, 0.4125, 0.4123,
            ],
        ),
    ];
    for (kappa, want) in table {
        let cfg = Config::new(110, 100, 70, kappa);
        let got = eg_at(&cfg, &xs, Freeze::None);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-3,
                "κ={kappa} x={}: got {g:.5}, spec {w}",
                xs[i]
            );
        }
    }
    // κ = 1e5 stops at the cusp: max Q 1.225 at R 0.700, end (R, Q) = (0.7008, 1.2221).
    let c = fast_slow(
        &Config::new(110, 100, 70, 1e5),
        &analytic_times(),
        Freeze::None,
    )
    .unwrap();
    let iq = (0..300).max_by(|a, b| c.q[*a].total_cmp(&c.q[*b])).unwrap();
    assert!((c.q[iq] - 1.225).abs() < 1e-3 && (c.r[iq] - 0.700).abs() < 1e-3);
    assert!((c.r[299] - 0.7008).abs() < 1e-3 && (c.q[299] - 1.2221).abs() < 1e-3);
}

#[test]
fn approximation_limits() {
    // t → 0: R, Q → 0 and E_G → ½(1 + σ²).
    let cfg = Config::new(150, 100, 70, 100.0).with_noise(0.3);
    let early = fast_slow(&cfg, &[1e-10], Freeze::None).unwrap();
    assert!(
        early.r[0].abs() < 1e-6 && early.q[0].abs() < 1e-6,
        "{early:?}"
    );
    assert_relative_eq!(early.eg[0], 0.5 * (1.0 + 0.09), max_relative = 1e-6);
    // t → ∞, λ = 0, both α_i > 1: R_i → H_i, so R → 1.
    let late = fast_slow(&Config::new(150, 100, 70, 100.0), &[1e16], Freeze::None).unwrap();
    assert_relative_eq!(late.r[0], 1.0, max_relative = 1e-6);
    // α₁ = 40/90 < 1 < α₂ = 40/10 (b₁b₂ → 0.8 · 1/3 < 1): R₁ → n/d = 0.4, R₂ → H₂ = 0.1.
    let mixed = fast_slow(&Config::new(40, 100, 90, 10.0), &[1e16], Freeze::None).unwrap();
    assert_relative_eq!(mixed.r[0], 0.5, max_relative = 1e-6);
    // Past the breakdown (α₁ = 50/70, α₂ = 50/30: b₁b₂ → 3.75) the late times are an error.
    let e = fast_slow(&Config::new(50, 100, 70, 10.0), &[1e16], Freeze::None).unwrap_err();
    assert!(matches!(e, Error::Singular(_)), "{e}");
    // A ridge keeps the late-time R strictly below the unregularised limit.
    let ridged = fast_slow(
        &Config::new(150, 100, 70, 100.0).with_ridge(0.1),
        &[1e16],
        Freeze::None,
    )
    .unwrap();
    assert!(ridged.r[0] < 0.99);
}

#[test]
fn approximation_rejects_singular_and_invalid_settings() {
    let t = analytic_times();
    let bad = [
        Config::new(70, 100, 70, 100.0),   // n = p
        Config::new(30, 100, 70, 100.0),   // n = d − p
        Config::new(150, 100, 0, 100.0),   // no fast block
        Config::new(150, 100, 100, 100.0), // no slow block
        Config::new(150, 100, 120, 100.0), // p > d
        Config::new(150, 100, 70, 0.0),    // κ = 0
        Config::new(150, 100, 70, f64::NAN),
        Config::new(150, 100, 70, 100.0).with_ridge(-1.0),
        Config::new(150, 100, 70, 100.0).with_noise(f64::INFINITY),
        Config::new(0, 100, 70, 100.0),
    ];
    for cfg in bad {
        assert!(
            fast_slow(&cfg, &t, Freeze::None).is_err(),
            "{cfg:?} should be rejected"
        );
    }
    let ok = Config::new(150, 100, 70, 100.0);
    assert!(matches!(
        fast_slow(&ok, &[], Freeze::None),
        Err(Error::InvalidArgument { name: "times", .. })
    ));
    assert!(matches!(
        fast_slow(&ok, &[1.0, 0.0], Freeze::None),
        Err(Error::InvalidArgument { name: "times", .. })
    ));
    let msg = fast_slow(&Config::new(70, 100, 70, 100.0), &t, Freeze::None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("n = p = 70"), "{msg}");
}

#[test]
fn stable_a_survives_where_the_original_form_breaks() {
    // Spec §4.1: at κ = 1e7, t = 1e-3 the original denominator is exactly 0.
    let lam2 = (1.0 / 1e-3) / (0.3 * (0.5f64 / 1e7).powi(2));
    assert!(a_original(150.0 / 30.0, lam2).is_infinite());
    let a = a_stable(150.0 / 30.0, lam2);
    assert!(a.is_finite() && (a / lam2 - 1.0).abs() < 1e-6);
    let c = fast_slow(
        &Config::new(150, 100, 70, 1e7),
        &analytic_times(),
        Freeze::None,
    )
    .unwrap();
    assert!(c.eg.iter().all(|v| v.is_finite()));
}

fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    num / den.max(f64::MIN_POSITIVE)
}

#[test]
fn iterated_gd_equals_discrete_closed_form() {
    for (kappa, ridge, noise) in [(100.0, 0.0, 0.0), (10.0, 0.05, 0.3)] {
        let cfg = Config::new(150, 100, 70, kappa)
            .with_ridge(ridge)
            .with_noise(noise);
        let inst = Instance::sample(&cfg, 3).unwrap();
        let st = Student::fit(inst.x.as_ref(), &inst.y, ridge).unwrap();
        let steps = [1u64, 2, 10, 100, 1000, 5000];
        let iterated = gradient_descent(inst.x.as_ref(), &inst.y, ridge, st.eta, &steps).unwrap();
        for (s, w_it) in steps.iter().zip(&iterated) {
            let w_cf = st.weights(*s as f64, Dynamics::GradientDescent);
            let e = rel_diff(w_it, &w_cf);
            assert!(
                e < 1e-8,
                "κ={kappa} λ={ridge} step {s}: relative difference {e:e}"
            );
        }
    }
}

#[test]
fn gradient_flow_and_gd_agree_late_and_differ_early() {
    let cfg = Config::new(150, 100, 70, 100.0);
    let inst = Instance::sample(&cfg, 0).unwrap();
    let st = Student::fit(inst.x.as_ref(), &inst.y, 0.0).unwrap();
    let eg = |t: f64, d: Dynamics| inst.test_error(&st.weights(t, d)).unwrap();
    // Spec §1.6: identical to 4 decimals for t ≥ 100, different at t = 1.
    assert!(
        (eg(1000.0, Dynamics::GradientDescent) - eg(1000.0, Dynamics::GradientFlow)).abs() < 1e-4
    );
    assert!((eg(1.0, Dynamics::GradientDescent) - eg(1.0, Dynamics::GradientFlow)).abs() > 5e-3);
}

#[test]
fn exact_seed_average_agrees_with_simulated_test_error() {
    // Per seed, the test error on 1000 points estimates ½(‖w‖²/d − 2R + Q) without bias;
    // their difference averaged over seeds must vanish within its standard error.
    let cfg = Config::new(150, 100, 70, 100.0);
    let seeds: Vec<u64> = (0..120).collect();
    let times = empirical_times();
    let req = [CurveRequest::new(times.clone(), Dynamics::GradientFlow).with_test_error()];
    let avg = seed_average(&cfg, &seeds, &req, &|| {}, &Device::cpu())
        .unwrap()
        .remove(0);
    for (j, t) in times.iter().enumerate() {
        let diffs: Vec<f64> = avg
            .per_seed
            .iter()
            .map(|s| {
                s.test_error.as_ref().unwrap()[j]
                    - generalization_error(s.teacher_norm2, s.r[j], s.q[j])
            })
            .collect();
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(
            mean.abs() <= 4.5 * sd / n.sqrt() + 1e-12,
            "t={}: mean diff {mean:e}, se {:e}",
            t,
            sd / n.sqrt()
        );
    }
    // And the averaged curves are close in absolute terms.
    let gap = avg
        .test_mean
        .as_ref()
        .unwrap()
        .iter()
        .zip(&avg.eg_teacher_mean)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap < 0.01, "max gap {gap}");
}

#[test]
fn seed_level_macroscopic_variables_match_direct_evaluation() {
    let cfg = Config::new(120, 80, 50, 30.0)
        .with_noise(0.2)
        .with_n_test(300);
    let inst = Instance::sample(&cfg, 11).unwrap();
    let st = Student::fit(inst.x.as_ref(), &inst.y, 0.0).unwrap();
    let times = vec![0.0, 0.5, 3.0, 40.0, 1e4];
    let curves = seed_curves(
        &inst,
        &st,
        &[CurveRequest::new(times.clone(), Dynamics::GradientDescent).with_test_error()],
    )
    .unwrap();
    for (j, &t) in times.iter().enumerate() {
        let w = st.weights(t, Dynamics::GradientDescent);
        let (r, q) = inst.macroscopic(&w).unwrap();
        assert_relative_eq!(curves[0].r[j], r, epsilon = 1e-12, max_relative = 1e-10);
        assert_relative_eq!(curves[0].q[j], q, epsilon = 1e-12, max_relative = 1e-10);
        let te = inst.test_error(&w).unwrap();
        assert_relative_eq!(
            curves[0].test_error.as_ref().unwrap()[j],
            te,
            max_relative = 1e-10
        );
    }
}

#[test]
fn expectation_form_is_the_mean_over_teachers_and_noise() {
    // E_w,ε[R], E_w,ε[Q] for a fixed X: check against Monte Carlo over seeds, each of which draws
    // its own teacher and noise; the per-seed difference has mean zero.
    let cfg = Config::new(130, 60, 40, 20.0)
        .with_noise(0.5)
        .with_ridge(0.01);
    let times = vec![1.0, 30.0, 3000.0];
    let mut dr = vec![vec![]; times.len()];
    let mut dq = vec![vec![]; times.len()];
    for seed in 0..150 {
        let inst = Instance::sample(&cfg, seed).unwrap();
        let st = Student::fit(inst.x.as_ref(), &inst.y, cfg.ridge).unwrap();
        let (er, eq) =
            expected_seed_curves(&inst, &st, cfg.noise, &times, Dynamics::GradientDescent).unwrap();
        for (j, &t) in times.iter().enumerate() {
            let (r, q) = inst
                .macroscopic(&st.weights(t, Dynamics::GradientDescent))
                .unwrap();
            dr[j].push(r - er[j]);
            dq[j].push(q - eq[j]);
        }
    }
    for diffs in dr.iter().chain(&dq) {
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(
            mean.abs() <= 4.5 * sd / n.sqrt(),
            "mean {mean:e} vs se {:e}",
            sd / n.sqrt()
        );
    }
    // The noise term matters: without it E[Q] would be biased low.
    let avg = expected_curves(&cfg, &[0, 1, 2], &times, Dynamics::GradientDescent).unwrap();
    let quiet = expected_curves(
        &Config {
            noise: 0.0,
            ..cfg.clone()
        },
        &[0, 1, 2],
        &times,
        Dynamics::GradientDescent,
    )
    .unwrap();
    assert!(avg.q[2] > quiet.q[2] + 1e-3);
    // n < d has no expectation form.
    assert!(
        expected_curves(
            &Config::new(50, 60, 40, 2.0),
            &[0],
            &times,
            Dynamics::GradientDescent
        )
        .is_err()
    );
}

#[test]
fn underparameterised_limit_is_the_minimum_norm_interpolant() {
    // n < d: ŵ(∞) interpolates the training data and lies in the row space of X.
    let cfg = Config::new(40, 90, 60, 5.0).with_noise(0.1);
    let inst = Instance::sample(&cfg, 5).unwrap();
    let st = Student::fit(inst.x.as_ref(), &inst.y, 0.0).unwrap();
    let w = st.limit_weights();
    for i in 0..cfg.n {
        let pred: f64 = (0..cfg.d).map(|j| inst.x[(i, j)] * w[j]).sum();
        assert_relative_eq!(pred, inst.y[i], epsilon = 1e-9);
    }
    // Row-space check: w = Xᵀc for the c solving XXᵀc = y, i.e. no component orthogonal to rows.
    let xxt = (inst.x.as_ref()) * (inst.x.transpose());
    let mut c = faer::Mat::from_fn(cfg.n, 1, |i, _| inst.y[i]);
    let llt = faer::linalg::solvers::Llt::new(xxt.as_ref(), faer::Side::Lower).unwrap();
    faer::linalg::solvers::Solve::solve_in_place(&llt, c.as_mut());
    for (j, wj) in w.iter().enumerate() {
        let from_rows: f64 = (0..cfg.n).map(|i| inst.x[(i, j)] * c[(i, 0)]).sum();
        assert_relative_eq!(*wj, from_rows, epsilon = 1e-8);
    }
}

#[test]
fn student_rejects_bad_inputs() {
    let cfg = Config::new(20, 10, 5, 3.0);
    let mut inst = Instance::sample(&cfg, 0).unwrap();
    assert!(matches!(
        Student::fit(inst.x.as_ref(), &inst.y[..19], 0.0),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Student::fit(inst.x.as_ref(), &inst.y, -0.1),
        Err(Error::InvalidArgument { name: "ridge", .. })
    ));
    inst.x[(3, 4)] = f64::NAN;
    let e = Student::fit(inst.x.as_ref(), &inst.y, 0.0).unwrap_err();
    assert!(matches!(e, Error::NonFinite { name: "x", .. }), "{e}");
    assert!(e.to_string().contains("row 3, col 4"), "{e}");
    let inst = Instance::sample(&cfg, 0).unwrap();
    assert!(gradient_descent(inst.x.as_ref(), &inst.y, 0.0, 1.0, &[3, 2]).is_err());
    // A step size far above 2/L_max diverges and is reported, not returned as NaN.
    let e = gradient_descent(inst.x.as_ref(), &inst.y, 0.0, 1e6, &[5000]).unwrap_err();
    assert!(e.to_string().contains("diverged"), "{e}");
}

#[test]
fn same_seed_same_result_regardless_of_threads() {
    let cfg = Config::new(60, 40, 25, 50.0);
    let seeds: Vec<u64> = (0..16).collect();
    let req = [CurveRequest::new(empirical_times(), Dynamics::GradientFlow).with_test_error()];
    let a = seed_average(&cfg, &seeds, &req, &|| {}, &Device::cpu()).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| seed_average(&cfg, &seeds, &req, &|| {}, &Device::cpu()).unwrap());
    assert_eq!(a[0].eg_paper, b[0].eg_paper);
    assert_eq!(a[0].test_mean, b[0].test_mean);
    let c = seed_average(&cfg, &[1, 2, 3], &req, &|| {}, &Device::cpu()).unwrap();
    assert_ne!(a[0].test_mean, c[0].test_mean);
}

#[test]
fn haar_matrices_are_orthogonal_with_unbiased_signs() {
    let d = 6;
    let mut rng = doubledescent::random::seeded(42);
    let n = 3000;
    let mut diag_sum = 0.0;
    for _ in 0..n {
        let q = doubledescent::random::haar_orthogonal(&mut rng, d).unwrap();
        let qtq = (q.transpose()) * (q.as_ref());
        for i in 0..d {
            for j in 0..d {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((qtq[(i, j)] - want).abs() < 1e-12);
            }
        }
        diag_sum += q[(0, 0)];
    }
    // Haar: E[Q₀₀] = 0, Var[Q₀₀] = 1/d. Without the sign fix of R's diagonal the mean is biased.
    let se = (1.0 / d as f64 / n as f64).sqrt();
    assert!(
        (diag_sum / n as f64).abs() < 4.5 * se,
        "mean diag {}",
        diag_sum / n as f64
    );
}
