//! The API fuzz suite: every public entry point called with hostile values (0, 1, NaN, ±∞,
//! 1e±300, subnormals, mismatched shapes, duplicate points) must return a finite result or a
//! named one-line error, never panic, in f32 and f64. Where the input is valid, the result is
//! checked against an independent reference (scale equivariance, a dense decomposition, the
//! closed form).

use std::panic::{AssertUnwindSafe, catch_unwind};

use doubledescent::data::{self, Dataset, IdxArray, RegressionData};
use doubledescent::kernels::{EigenMethod, Kernel, nystrom_eigen};
use doubledescent::linalg::{Cutoff, batched_svd, min_norm_lstsq, pinv, thin_svd};
use doubledescent::models::{DeepLinearNetwork, Dense, Loss, full_loss};
use doubledescent::sampling::{
    Step, effective_sample_size, llc_from_losses, mala_acceptance, sgld_update_chains, split_rhat,
};
use doubledescent::science::polynomial_regression::legendre_features;
use doubledescent::science::teacher_student::{Config, Dynamics, Student, expected_curves};
use doubledescent::solvers::eigenpro::{EigenPro, EigenProOptions};
use doubledescent::solvers::{Fit, KernelRegression, KernelRidge, Solver};
use doubledescent::solvers::{RandomFourier, complex_mse};
use doubledescent::stats::{mean_std, quantile_sorted};
use doubledescent::{Device, Error, Float, Result};
use faer::{Mat, Par};
use proptest::prelude::*;

/// The values a careless or hostile caller passes.
const HOSTILE: [f64; 14] = [
    0.0,
    1.0,
    -1.0,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e300,
    -1e300,
    1e-300,
    5e-324,
    1e-310,
    1e200,
    1e20,
    0.5,
];

fn hostile() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (0..HOSTILE.len()).prop_map(|i| HOSTILE[i]),
        1 => -10.0..10.0f64,
    ]
}

/// Numbers whose finiteness the suite checks.
trait Numbers {
    fn numbers(&self) -> Vec<f64>;
}

impl Numbers for f64 {
    fn numbers(&self) -> Vec<f64> {
        vec![*self]
    }
}

impl Numbers for usize {
    fn numbers(&self) -> Vec<f64> {
        vec![*self as f64]
    }
}

impl Numbers for () {
    fn numbers(&self) -> Vec<f64> {
        vec![]
    }
}

impl<T: Float> Numbers for Mat<T> {
    fn numbers(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.nrows() * self.ncols());
        for j in 0..self.ncols() {
            for i in 0..self.nrows() {
                v.push(self[(i, j)].to_f64());
            }
        }
        v
    }
}

impl<A: Numbers, B: Numbers> Numbers for (A, B) {
    fn numbers(&self) -> Vec<f64> {
        let mut v = self.0.numbers();
        v.extend(self.1.numbers());
        v
    }
}

impl Numbers for Vec<f64> {
    fn numbers(&self) -> Vec<f64> {
        self.clone()
    }
}

/// Runs `f`: a panic fails the test; an error must be one line; an `Ok` result must be finite.
/// Returns the result for further checks.
fn finite_or_named<R: Numbers>(what: &str, f: impl FnOnce() -> Result<R>) -> Option<R> {
    let out = catch_unwind(AssertUnwindSafe(f));
    match out {
        Err(_) => panic!("{what}: panicked"),
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{what}: multi-line error: {msg}");
            assert!(!msg.is_empty(), "{what}: empty error");
            None
        }
        Ok(Ok(r)) => {
            if let Some(v) = r.numbers().into_iter().find(|v| !v.is_finite()) {
                panic!("{what}: Ok with a non-finite value {v}");
            }
            Some(r)
        }
    }
}

fn mat<T: Float>(n: usize, d: usize, vals: &[f64]) -> Mat<T> {
    Mat::from_fn(n, d, |i, j| T::of(vals[(i * d + j) % vals.len().max(1)]))
}

fn kernels() -> Vec<Kernel> {
    vec![
        Kernel::laplace(1.0).unwrap(),
        Kernel::gaussian(1.0).unwrap(),
        Kernel::dispersal(1.0, 1.5).unwrap(),
        Kernel::relu_nngp(true),
        Kernel::relu_ntk(false),
        Kernel::deep_relu_ntk(3, true).unwrap(),
    ]
}

fn kernel_calls<T: Float>(vals: &[f64], n: usize, m: usize, d: usize, bw: f64) {
    let cpu = Device::cpu();
    let x = mat::<T>(n, d, vals);
    let z = mat::<T>(m, d, &vals[vals.len() / 2..]);
    let w = mat::<T>(m, 1, vals);
    for ctor in [Kernel::laplace, Kernel::gaussian] {
        finite_or_named("kernel constructor", || ctor(bw).map(|_| ()));
        if let Ok(k) = ctor(bw) {
            finite_or_named("matrix", || k.matrix(x.as_ref(), z.as_ref(), &cpu));
            finite_or_named("self_matrix", || k.self_matrix(x.as_ref(), &cpu));
        }
    }
    finite_or_named("dispersal", || Kernel::dispersal(bw, vals[0]).map(|_| ()));
    for k in kernels() {
        finite_or_named("matrix", || k.matrix(x.as_ref(), z.as_ref(), &cpu));
        finite_or_named("self_matrix", || k.self_matrix(x.as_ref(), &cpu));
        finite_or_named("apply", || {
            k.apply(x.as_ref(), z.as_ref(), w.as_ref(), &cpu)
        });
        let xs: Vec<f64> = vals.iter().take(d).copied().collect();
        let zs: Vec<f64> = vals.iter().rev().take(d).copied().collect();
        finite_or_named("eval", || k.eval(&xs, &zs));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn kernels_give_finite_matrices_or_named_errors(
        vals in proptest::collection::vec(hostile(), 1..12),
        n in 0..4usize, m in 0..4usize, d in 0..3usize, bw in hostile(),
    ) {
        kernel_calls::<f64>(&vals, n, m, d, bw);
        kernel_calls::<f32>(&vals, n, m, d, bw);
    }

    #[test]
    fn linear_algebra_survives_hostile_matrices(
        vals in proptest::collection::vec(hostile(), 1..10),
        m in 0..4usize, n in 0..4usize, c in 0..3usize,
    ) {
        let a = mat::<f64>(m, n, &vals);
        let b = mat::<f64>(m, c, &vals[vals.len() / 2..]);
        finite_or_named("thin_svd", || thin_svd(a.as_ref(), Par::Seq).map(|s| s.s));
        finite_or_named("batched_svd", || {
            batched_svd(&[a.as_ref()], &Device::cpu()).map(|s| s[0].s.clone())
        });
        finite_or_named("min_norm_lstsq", || {
            min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::default()).map(|l| l.coef)
        });
        finite_or_named("pinv", || pinv(a.as_ref(), Cutoff::numpy_pinv()));
        let a32 = mat::<f32>(m, n, &vals);
        finite_or_named("pinv f32", || pinv(a32.as_ref(), Cutoff::numpy_pinv()));
        let k = mat::<f64>(m, n, &vals);
        for solver in [Solver::Lu, Solver::Cholesky, Solver::Pinv(Cutoff::default())] {
            finite_or_named("KernelRegression::solve", || {
                KernelRegression::solve(k.clone(), b.as_ref(), solver)
            });
        }
    }

    #[test]
    fn nystrom_and_eigenpro_never_panic(
        s in prop_oneof![0..8usize, 60..70usize, 120..132usize], q in prop_oneof![0..5usize, 28..36usize, 58..66usize], method in 0..3usize, min_q in 0..4usize,
        eval in 0..3usize, duplicate in any::<bool>(),
    ) {
        let x = Mat::from_fn(s, 3, |i, j| {
            if duplicate { 0.5 } else { ((i * 7 + j * 13) % 17) as f64 / 17.0 }
        });
        let method = [EigenMethod::Dense, EigenMethod::KrylovCached, EigenMethod::KrylovMatrixFree][method];
        let k = Kernel::gaussian(1.0).unwrap();
        let got = finite_or_named("nystrom_eigen", || {
            nystrom_eigen(k, x.as_ref(), q, method, &Device::cpu()).map(|e| e.values)
        });
        if let Some(values) = got {
            let dense = nystrom_eigen(k, x.as_ref(), q, EigenMethod::Dense, &Device::cpu()).unwrap();
            for (a, b) in values.iter().zip(&dense.values) {
                prop_assert!((a - b).abs() <= 1e-8 * dense.values[0].abs().max(1e-300), "{a} vs {b}");
            }
        }
        let options = EigenProOptions {
            min_q,
            n_train_eval: eval,
            eigen_method: method,
            ..EigenProOptions::default()
        };
        finite_or_named("EigenPro::new", || {
            EigenPro::new(k, x.as_ref(), 1, options, &Device::cpu()).map(|_| ())
        });
    }

    #[test]
    fn small_functions_reject_bad_shapes_and_values(
        vals in proptest::collection::vec(hostile(), 0..8),
        len in 0..5usize, classes in 0..4usize, label in 0..6u8, q in hostile(),
    ) {
        let a = mat::<f64>(len, 2, if vals.is_empty() { &[1.0] } else { &vals });
        let b = mat::<f64>(len.saturating_sub(1), 2, &[0.5]);
        finite_or_named("mse", || data::mse(a.as_ref(), a.as_ref()));
        finite_or_named("mse shapes", || data::mse(a.as_ref(), b.as_ref()));
        finite_or_named("multiclass_error", || data::multiclass_error(a.as_ref(), b.as_ref()));
        finite_or_named("one_hot", || data::one_hot::<f32>(&[0, label], classes));
        finite_or_named("mean_std", || mean_std(&vals, 1).map(|(m, s)| vec![m, s]));
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        finite_or_named("quantile_sorted", || quantile_sorted(&sorted, q));
        finite_or_named("llc_from_losses", || llc_from_losses(&vals, q, 2.0));
        finite_or_named("complex_mse", || complex_mse(&vals, &vals[..vals.len().min(len)], &vals));
        finite_or_named("legendre_features", || legendre_features(&vals, &[0, 3, 25]));
        let chains: Vec<&[f64]> = vec![&vals, &vals];
        finite_or_named("split_rhat", || split_rhat(&chains));
        finite_or_named("effective_sample_size", || effective_sample_size(&chains));
        finite_or_named("mala_acceptance", || {
            mala_acceptance(&vals, &vals[..vals.len().min(len)], q, 1.0, &vals, &vals, q)
        });
    }

    #[test]
    fn models_and_samplers_check_their_parameters(
        vals in proptest::collection::vec(hostile(), 1..8),
        short in 0..40usize, rows in 0..3usize, eps in hostile(), gamma in hostile(),
    ) {
        let dln = DeepLinearNetwork::new(3, &[4], 2).unwrap();
        let w: Vec<f64> = (0..short).map(|i| vals[i % vals.len()]).collect();
        finite_or_named("DLN product", || dln.product(&w));
        finite_or_named("DLN true_rank", || dln.true_rank(&w));
        // A view of the caller's own parameters: only its shape is checked.
        let shape = finite_or_named("DLN layer", || dln.layer(&w, 1).map(|l| vec![l.nrows() as f64, l.ncols() as f64]));
        if let Some(s) = shape {
            prop_assert_eq!(s, vec![4.0, 2.0]);
        }
        let mlp = Dense::mlp(2, &[3], 1, Loss::Mse).unwrap();
        let wm: Vec<f64> = (0..13).map(|i| vals[i % vals.len()].clamp(-10.0, 10.0)).collect();
        let x = mat::<f64>(rows, 2, &[0.1, 0.2]);
        let y = mat::<f64>(rows, 1, &[0.3]);
        finite_or_named("full_loss", || full_loss(&mlp, &wm, x.as_ref(), y.as_ref()));
        let d = 4;
        let mut chains: Vec<f64> = (0..2 * d).map(|i| vals[i % vals.len()]).collect();
        let grads = vec![0.5; 2 * d];
        let w_star: Vec<f64> = vals.iter().cycle().take(d).copied().collect();
        let precond: Vec<f64> = vals.iter().rev().cycle().take(d).copied().collect();
        let step = Step { epsilon: eps, nbeta: 10.0, gamma, seed: 1, step: 0 };
        let before = chains.clone();
        let r = finite_or_named("sgld_update_chains", || {
            sgld_update_chains(&mut chains, &grads, &w_star, Some(&precond), &step, &Device::cpu())
        });
        let again = sgld_update_chains(&mut before.clone(), &grads, &w_star, Some(&precond), &step, &Device::cpu());
        match (r, again) {
            (Some(()), _) => prop_assert!(chains.iter().all(|v| v.is_finite()), "{chains:?}"),
            // Overflow is found after the update; every other error leaves w untouched.
            (None, Err(Error::Numerical(_))) => {}
            (None, _) => prop_assert!(chains.iter().zip(&before).all(|(a, b)| a.to_bits() == b.to_bits())),
        }
    }

    #[test]
    fn teacher_student_rejects_what_would_sample_nan(
        kappa in hostile(), t in hostile(), ridge in hostile(), n_test in 0..3usize,
    ) {
        let cfg = Config::new(12, 6, 3, kappa).with_n_test(n_test);
        finite_or_named("expected_curves", || {
            expected_curves(&cfg, &[1], &[0.0, t], Dynamics::GradientDescent)
                .map(|c| (c.eg, c.r))
        });
        let x = mat::<f64>(4, 3, &[1.0, 0.3, -0.2, 0.7, 0.1]);
        let y = [1.0, 0.0, if ridge.is_finite() { ridge.clamp(-1e3, 1e3) } else { 0.0 }, 2.0];
        let svd = thin_svd(x.as_ref(), Par::Seq).unwrap();
        finite_or_named("Student::from_svd", || {
            Student::from_svd(svd.clone(), &y, ridge).map(|s| s.limit_weights())
        });
        let empty = doubledescent::linalg::ThinSvd { u: Mat::zeros(4, 0), s: vec![], v: Mat::zeros(3, 0) };
        finite_or_named("Student::from_svd empty", || {
            Student::from_svd(empty, &y, 0.0).map(|s| s.limit_weights())
        });
    }
}

#[test]
fn scaled_data_give_scaled_results_or_named_errors() {
    // Singular values of c·A are c·σ(A) for every representable scale, as LAPACK guarantees.
    let a = Mat::from_fn(5, 3, |i, j| ((i * 3 + j * 5) % 7) as f64 - 3.0);
    let base = thin_svd(a.as_ref(), Par::Seq).unwrap().s;
    for c in [1e-310, 1e-250, 1e-160, 1e160, 1e250] {
        let ca = Mat::from_fn(5, 3, |i, j| a[(i, j)] * c);
        for s in [
            thin_svd(ca.as_ref(), Par::Seq).unwrap().s,
            batched_svd(&[ca.as_ref()], &Device::cpu()).unwrap()[0]
                .s
                .clone(),
        ] {
            for (x, y) in s.iter().zip(&base) {
                let rel = (x / c - y).abs() / y;
                assert!(rel < 1e-10, "scale {c:e}: {x:e} vs {:e}", y * c);
            }
        }
        // Rank and the least-squares solution do not depend on the scale: (cA)⁺(cb) = A⁺b.
        let b = Mat::from_fn(5, 1, |i, _| (i as f64 + 1.0) * c);
        let plain = min_norm_lstsq(
            a.as_ref(),
            Mat::from_fn(5, 1, |i, _| i as f64 + 1.0).as_ref(),
            Cutoff::default(),
        )
        .unwrap();
        let scaled = min_norm_lstsq(ca.as_ref(), b.as_ref(), Cutoff::default()).unwrap();
        assert_eq!(scaled.rank, plain.rank, "scale {c:e}");
        for j in 0..3 {
            let (x, y) = (scaled.coef[(j, 0)], plain.coef[(j, 0)]);
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                "scale {c:e}: {x} vs {y}"
            );
        }
    }
    let a32 = Mat::from_fn(4, 2, |i, j| ((i + 2 * j) % 3) as f32 + 0.5);
    let base32 = thin_svd(a32.as_ref(), Par::Seq).unwrap().s;
    for c in [1e-30f32, 1e20, 1e30] {
        let ca = Mat::from_fn(4, 2, |i, j| a32[(i, j)] * c);
        let s = thin_svd(ca.as_ref(), Par::Seq).unwrap().s;
        for (x, y) in s.iter().zip(&base32) {
            assert!(((x / c - y) / y).abs() < 1e-5, "f32 scale {c:e}: {x:e}");
        }
    }
    // A pseudo-inverse that cannot be represented is a named error, not ∞.
    let tiny = Mat::from_fn(2, 2, |i, j| if i == j { 1e-310 } else { 0.0 });
    assert!(matches!(
        pinv(tiny.as_ref(), Cutoff::default()),
        Err(Error::Numerical(_))
    ));
}

#[test]
fn kernels_are_scale_invariant_where_they_accept_data_and_refuse_overflow() {
    // exp(−‖cx − cz‖/(cσ)) = exp(−‖x − z‖/σ): the same matrix at every accepted scale.
    let x = Mat::from_fn(3, 2, |i, j| (i + 2 * j) as f64 + 1.0);
    let k1 = Kernel::laplace(2.0)
        .unwrap()
        .matrix(x.as_ref(), x.as_ref(), &Device::cpu())
        .unwrap();
    // Powers of two scale every operation exactly, so the matrices agree to rounding.
    for c in [2f64.powi(-60), 2f64.powi(330), 2f64.powi(500)] {
        let cx = Mat::from_fn(3, 2, |i, j| x[(i, j)] * c);
        let kc = Kernel::laplace(2.0 * c).unwrap();
        let m = kc.matrix(cx.as_ref(), cx.as_ref(), &Device::cpu()).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                assert!(
                    (m[(i, j)] - k1[(i, j)]).abs() < 1e-10,
                    "scale {c:e} ({i},{j})"
                );
            }
        }
    }
    // The case: ‖x‖² overflows; the kernel refuses rather than answering k = 1.
    let big = Mat::from_fn(2, 2, |i, j| if j == 0 { [1e200, 3e200][i] } else { 0.0 });
    for k in kernels() {
        assert!(matches!(
            k.matrix(big.as_ref(), big.as_ref(), &Device::cpu()),
            Err(Error::InvalidArgument { name: "x", .. })
        ));
    }
    let big32 = Mat::from_fn(2, 1, |i, _| [1e20f32, 3e20][i]);
    assert!(
        Kernel::laplace(1.0)
            .unwrap()
            .self_matrix(big32.as_ref(), &Device::cpu())
            .is_err()
    );
    // Bandwidths whose inverse overflows f32 are refused by name.
    for bw in [1e-300, 1e-40] {
        assert!(matches!(
            Kernel::gaussian(bw),
            Err(Error::InvalidArgument {
                name: "bandwidth",
                ..
            })
        ));
        assert!(matches!(
            Kernel::laplace(bw),
            Err(Error::InvalidArgument {
                name: "bandwidth",
                ..
            })
        ));
    }
    // Equal points: k(x, x) = 1 for the smallest accepted bandwidths, in both precisions.
    let k = Kernel::gaussian(1e-15).unwrap();
    let m = k.matrix(x.as_ref(), x.as_ref(), &Device::cpu()).unwrap();
    let x32 = Mat::from_fn(3, 2, |i, j| x[(i, j)] as f32);
    let m32 = Kernel::laplace(1e-30)
        .unwrap()
        .matrix(x32.as_ref(), x32.as_ref(), &Device::cpu())
        .unwrap();
    for i in 0..3 {
        assert_eq!((m[(i, i)], m32[(i, i)]), (1.0, 1.0));
    }
}

#[test]
fn a_kernel_system_without_a_solution_is_an_error_not_garbage() {
    // Ten identical points: K is the all-ones matrix, and interpolating distinct labels has no
    // solution; LU returns huge finite coefficients that the residual check refuses.
    let x = Mat::from_fn(10, 3, |_, j| j as f64 * 0.1);
    let y = Mat::from_fn(10, 1, |i, _| (i % 3) as f64);
    let k = Kernel::laplace(1.0).unwrap();
    let fit = KernelRidge::new(k, 0.0, Solver::Lu, &Device::cpu())
        .unwrap()
        .fit(x.as_ref(), y.as_ref());
    assert!(matches!(fit, Err(Error::Singular(_))), "{:?}", fit.err());
    // The same system with a ridge has a solution, which the check accepts.
    let fit = KernelRidge::new(k, 1e-3, Solver::Lu, &Device::cpu())
        .unwrap()
        .fit(x.as_ref(), y.as_ref());
    assert!(fit.is_ok());
}

#[test]
fn struct_invariants_hold_because_constructors_check_them() {
    assert!(Dataset::new(vec![0.0; 4], vec![0, 5], 2, 3).is_err());
    assert!(Dataset::new(vec![0.0; 3], vec![0, 1], 2, 3).is_err());
    // Too few image bytes for the declared count blame the images, not dim/classes.
    let images = IdxArray {
        dims: vec![5, 2, 2],
        data: vec![0; 3],
    };
    let labels = IdxArray {
        dims: vec![5],
        data: vec![0; 5],
    };
    assert!(matches!(
        Dataset::from_idx(images, labels, 10),
        Err(Error::ShapeMismatch { .. })
    ));
    let x = Mat::from_fn(3, 1, |i, _| i as f64);
    assert!(RegressionData::new("t", vec!["a".into()], "y", x, vec![1.0, 2.0]).is_err());
    assert!(RandomFourier::from_frequencies(vec![], 1 << 63, 2).is_err());
    let opts = EigenProOptions {
        n_train_eval: 0,
        ..EigenProOptions::default()
    };
    assert!(matches!(
        opts.validate(),
        Err(Error::InvalidArgument {
            name: "n_train_eval",
            ..
        })
    ));
    let opts = EigenProOptions {
        min_q: 0,
        ..EigenProOptions::default()
    };
    assert!(matches!(
        opts.validate(),
        Err(Error::InvalidArgument { name: "min_q", .. })
    ));
    // Two points: EigenPro names the data, not an option the user never set.
    let two = Mat::from_fn(2, 2, |i, j| (i + j) as f64);
    let e = EigenPro::new(
        Kernel::laplace(1.0).unwrap(),
        two.as_ref(),
        1,
        EigenProOptions::default(),
        &Device::cpu(),
    );
    assert!(
        matches!(e, Err(Error::InvalidArgument { name: "x", .. })),
        "{:?}",
        e.err()
    );
}

#[test]
fn nan_input_is_named_as_nan_not_as_a_numerical_failure() {
    use doubledescent::science::teacher_student::gradient_descent;
    let mut x = Mat::from_fn(4, 2, |i, j| (i + j) as f64);
    x[(2, 1)] = f64::NAN;
    let gd = gradient_descent(x.as_ref(), &[1.0; 4], 0.0, 0.1, &[1]);
    assert!(
        matches!(gd, Err(Error::NonFinite { name: "x", .. })),
        "{:?}",
        gd.err()
    );
    let svd = thin_svd(x.as_ref(), Par::Seq);
    assert!(
        matches!(svd, Err(Error::NonFinite { .. })),
        "{:?}",
        svd.err()
    );
    let fit = KernelRidge::new(
        Kernel::laplace(1.0).unwrap(),
        0.0,
        Solver::Cholesky,
        &Device::cpu(),
    )
    .unwrap()
    .fit(x.as_ref(), Mat::from_fn(4, 1, |i, _| i as f64).as_ref());
    assert!(
        matches!(fit, Err(Error::NonFinite { name: "x", .. })),
        "{:?}",
        fit.err()
    );
}

#[test]
fn memory_hungry_sizes_are_refused_before_allocating() {
    assert!(matches!(
        DeepLinearNetwork::new(10, &[1 << 40], 10),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        Dense::mlp(784, &[10_000_000_000], 10, Loss::Mse),
        Err(Error::TooLarge { .. })
    ));
    let cfg = Config::new(10, 1 << 40, 3, 10.0);
    assert!(matches!(cfg.validate(), Err(Error::TooLarge { .. })));
    // A 10⁶ × 10⁶ kernel matrix (8 TB) from 8 MB of points, asked of every kernel entry point.
    let x = Mat::<f64>::zeros(1_000_000, 1);
    let k = Kernel::laplace(1.0).unwrap();
    let cpu = Device::cpu();
    assert!(matches!(
        k.matrix(x.as_ref(), x.as_ref(), &cpu),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        k.self_matrix(x.as_ref(), &cpu),
        Err(Error::TooLarge { .. })
    ));
    let wide = Mat::<f64>::zeros(1, 1 << 22);
    let one = Mat::<f64>::zeros(1, 1);
    let many = Mat::<f64>::zeros(1 << 22, 1);
    // K(many, one)·wide: (2²² × 1)·(1 × 2²²) = 2⁴⁴ entries, 128 TiB.
    assert!(matches!(
        k.apply(many.as_ref(), one.as_ref(), wide.as_ref(), &cpu),
        Err(Error::TooLarge { .. })
    ));
}
