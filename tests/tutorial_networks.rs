//! The tutorial's trained networks and the deep arc-cosine kernels: the kernels against the
//! notebook's one-layer formulas, their closed-form diagonals and positive semi-definiteness, the
//! empirical NTK of wide random networks converging to them (a bound over seeds), gradients
//! against finite differences, the kernel regime of a wide trained network against the corrected
//! NTK predictor, and the NTKAnalysis number that does not depend on torch's generator.

use std::f64::consts::PI;

use doubledescent::data::{SphereTeacher, sphere_teacher};
use doubledescent::kernels::Kernel;
use doubledescent::models::{Dense, Loss, Workspace};
use doubledescent::solvers::Linearized;
use doubledescent::training::{Adam, GdOutcome, GradientDescent, Stepper};
use doubledescent::{Device, Error};
use faer::Mat;

/// Seeded Gaussian data, n × d.
fn gaussian(n: usize, d: usize, seed: u64) -> Mat<f64> {
    use rand::RngExt;
    let mut rng = doubledescent::random::seeded(seed);
    Mat::from_fn(n, d, |_, _| {
        rng.sample::<f64, _>(rand_distr::StandardNormal)
    })
}

fn unit_rows(a: &Mat<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| {
        let nr = (0..a.ncols())
            .map(|k| a[(i, k)] * a[(i, k)])
            .sum::<f64>()
            .sqrt();
        a[(i, j)] / nr
    })
}

/// The notebook's `ntk` (`DoubleDescentTutorialPart2.ipynb` cell 7), or its `arccos_kernel`
/// without the NTK term, written as NumPy does it.
fn notebook_kernel(x: &[f64], z: &[f64], bias: bool, ntk: bool) -> f64 {
    let b = if bias { 1.0 } else { 0.0 };
    let dot: f64 = x.iter().zip(z).map(|(a, c)| a * c).sum::<f64>() + b;
    let n1: f64 = x.iter().map(|a| a * a).sum::<f64>() + b;
    let n2: f64 = z.iter().map(|a| a * a).sum::<f64>() + b;
    let xx = (n1 * n2).sqrt();
    let out = (dot / xx).clamp(-1.0, 1.0);
    let first = 1.0 / PI * (out * (PI - out.acos()) + (1.0 - out * out).sqrt()) * xx;
    let sec = 1.0 / PI * out * (PI - out.acos()) * xx;
    if ntk { first + sec } else { first }
}

/// Full-batch gradient descent on the squared error at learning rate 0.05, from `w`.
fn mse_gd(
    net: &Dense,
    w: &mut [f64],
    data: &SphereTeacher,
    steps: usize,
    stop_below: Option<f64>,
) -> GdOutcome {
    let gd = GradientDescent {
        lr: 0.05,
        steps,
        log_every: 0,
        stop_below,
        threads: 0,
    };
    gd.run(net, w, data.x.as_ref(), data.y.as_ref(), |_, _, _| Ok(()))
        .unwrap()
}

fn row(a: &Mat<f64>, i: usize) -> Vec<f64> {
    (0..a.ncols()).map(|k| a[(i, k)]).collect()
}

#[test]
fn depth_one_kernels_are_the_notebook_formulas() {
    let x = gaussian(30, 7, 1);
    let z = gaussian(20, 7, 2);
    for bias in [false, true] {
        for ntk in [false, true] {
            let k = if ntk {
                Kernel::deep_relu_ntk(1, bias).unwrap()
            } else {
                Kernel::deep_relu_nngp(1, bias).unwrap()
            };
            let m = k.matrix(x.as_ref(), z.as_ref(), &Device::cpu()).unwrap();
            for i in 0..30 {
                for j in 0..20 {
                    let r = notebook_kernel(&row(&x, i), &row(&z, j), bias, ntk);
                    assert!(
                        (m[(i, j)] - r).abs() <= 1e-13 * r.abs().max(1.0),
                        "{k} ({i},{j}): {} vs {r}",
                        m[(i, j)]
                    );
                }
            }
        }
    }
}

/// The recursion written out for depth 2 in terms of the one-layer kernel of the notebook: the
/// second layer sees the first layer's NNGP (plus the bias) as its "inner product".
#[test]
fn depth_two_is_the_one_layer_map_applied_twice() {
    let x = gaussian(12, 5, 3);
    let kappa1 = |s: f64, sxx: f64, szz: f64| {
        let r = (sxx * szz).sqrt();
        let xi = (s / r).clamp(-1.0, 1.0);
        r * (xi * (PI - xi.acos()) + (1.0 - xi * xi).sqrt()) / PI
    };
    let kappa0 = |s: f64, sxx: f64, szz: f64| {
        let xi = (s / (sxx * szz).sqrt()).clamp(-1.0, 1.0);
        (PI - xi.acos()) / PI
    };
    let nngp = Kernel::deep_relu_nngp(2, true)
        .unwrap()
        .matrix(x.as_ref(), x.as_ref(), &Device::cpu())
        .unwrap();
    let ntk = Kernel::deep_relu_ntk(2, true)
        .unwrap()
        .matrix(x.as_ref(), x.as_ref(), &Device::cpu())
        .unwrap();
    for i in 0..12 {
        for j in 0..12 {
            let (a, c) = (row(&x, i), row(&x, j));
            let dot = |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(p, q)| p * q).sum::<f64>();
            let (s1, s1x, s1z) = (dot(&a, &c) + 1.0, dot(&a, &a) + 1.0, dot(&c, &c) + 1.0);
            let (s2, s2x, s2z) = (kappa1(s1, s1x, s1z) + 1.0, s1x + 1.0, s1z + 1.0);
            let k_nngp = kappa1(s2, s2x, s2z);
            let theta2 = s1 * kappa0(s1, s1x, s1z) + s2;
            let k_ntk = theta2 * kappa0(s2, s2x, s2z) + k_nngp;
            let tol = if i == j { 1e-6 } else { 1e-12 }; // arccos near ξ = 1
            assert!(
                (nngp[(i, j)] - k_nngp).abs() <= tol * k_nngp,
                "NNGP ({i},{j})"
            );
            assert!((ntk[(i, j)] - k_ntk).abs() <= tol * k_ntk, "NTK ({i},{j})");
        }
    }
}

#[test]
fn deep_kernels_have_the_closed_form_diagonal_and_are_psd() {
    let x = unit_rows(&gaussian(40, 6, 4));
    for depth in 1..=5u32 {
        for bias in [false, true] {
            let (l, b) = (depth as f64, if bias { 1.0 } else { 0.0 });
            for (k, diag) in [
                (Kernel::deep_relu_nngp(depth, bias).unwrap(), 1.0 + l * b),
                (
                    Kernel::deep_relu_ntk(depth, bias).unwrap(),
                    (l + 1.0) + b * l * (l + 3.0) / 2.0,
                ),
            ] {
                // The general matrix runs the recursion on the diagonal too; the self matrix
                // writes the closed form.
                let full = k.matrix(x.as_ref(), x.as_ref(), &Device::cpu()).unwrap();
                let selfm = k.self_matrix(x.as_ref(), &Device::cpu()).unwrap();
                for i in 0..40 {
                    assert!(
                        (full[(i, i)] - diag).abs() < 1e-6 * diag,
                        "{k}: {} vs {diag}",
                        full[(i, i)]
                    );
                    assert!((selfm[(i, i)] - diag).abs() < 1e-13 * diag, "{k}");
                }
                let eig = selfm
                    .as_ref()
                    .self_adjoint_eigenvalues(faer::Side::Lower)
                    .unwrap();
                let min = eig.iter().cloned().fold(f64::INFINITY, f64::min);
                assert!(min > -1e-10 * diag * 40.0, "{k}: smallest eigenvalue {min}");
            }
        }
    }
}

#[test]
fn deep_kernel_constructors_reject_bad_depths() {
    for depth in [0u32, 1001] {
        let e = Kernel::deep_relu_ntk(depth, true).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument { name: "depth", value, .. } if *value == depth.to_string()),
            "{e:?}"
        );
        assert!(Kernel::deep_relu_nngp(depth, false).is_err());
    }
}

/// Mean over seeds of ‖Θ_emp − Θ‖_F/‖Θ‖_F for random networks of the given width and depth.
fn ntk_error(width: usize, depth: usize, x: &Mat<f64>, seeds: u64) -> f64 {
    let k = Kernel::deep_relu_ntk(depth as u32, true).unwrap();
    let theta = k.self_matrix(x.as_ref(), &Device::cpu()).unwrap();
    let norm = theta.norm_l2();
    let net = Dense::tutorial_deep(x.ncols(), width, depth, 1, true).unwrap();
    (0..seeds)
        .map(|s| {
            let w: Vec<f64> = net.init(100 + s);
            let emp = net.tangent_kernel(&w, x.as_ref(), None, 0, 0).unwrap();
            (&emp - &theta).norm_l2() / norm
        })
        .sum::<f64>()
        / seeds as f64
}

#[test]
fn empirical_ntk_of_wide_networks_converges_to_the_recursion() {
    let x = unit_rows(&gaussian(10, 8, 5));
    for depth in 1..=3 {
        let narrow = ntk_error(256, depth, &x, 8);
        let wide = ntk_error(4096, depth, &x, 8);
        // The fluctuations are O(1/√k): 16× the width should cut the error about 4× (measured
        // over 8 seeds: 2.8×, 4.7×, 3.5× for L = 1, 2, 3, to 0.037, 0.023, 0.045). The bound
        // leaves room for the heavy tail of the seed average.
        eprintln!("depth {depth}: relative error {narrow:.4} at k = 256, {wide:.4} at k = 4096");
        assert!(wide < narrow / 2.0, "depth {depth}: {narrow} -> {wide}");
        assert!(wide < 0.08, "depth {depth}: {wide}");
    }
}

/// Central differences of the loss against the backward pass.
fn check_gradient(net: &Dense, loss: Loss, seed: u64) {
    let n = 7;
    let x = gaussian(n, net.input_dim(), seed);
    let y = gaussian(n, net.output_dim(), seed + 1);
    let y = match loss {
        Loss::Mse => y,
        // Probability targets, rows summing to 1.
        Loss::CrossEntropy => {
            let e = Mat::from_fn(n, net.output_dim(), |i, j| y[(i, j)].exp());
            Mat::from_fn(n, net.output_dim(), |i, j| {
                e[(i, j)] / (0..net.output_dim()).map(|k| e[(i, k)]).sum::<f64>()
            })
        }
    };
    let w: Vec<f64> = net.init(seed + 2);
    let mut ws = Workspace::new();
    let mut grad = vec![0.0; w.len()];
    net.evaluate_grad(&w, x.as_ref(), y.as_ref(), &mut ws, &mut grad)
        .unwrap();
    let h = 1e-6;
    for idx in (0..w.len()).step_by(w.len() / 40 + 1).chain([w.len() - 1]) {
        let mut wp = w.clone();
        wp[idx] += h;
        let lp = net.evaluate(&wp, x.as_ref(), y.as_ref(), &mut ws).unwrap();
        wp[idx] -= 2.0 * h;
        let lm = net.evaluate(&wp, x.as_ref(), y.as_ref(), &mut ws).unwrap();
        let fd = (lp - lm) / (2.0 * h);
        assert!(
            (fd - grad[idx]).abs() < 1e-6 * (1.0 + fd.abs()),
            "{loss:?} depth {} parameter {idx}: finite difference {fd}, backward {}",
            net.depth(),
            grad[idx]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    for (depth, bias) in [(1, true), (2, true), (3, false)] {
        let net = Dense::tutorial_deep(5, 9, depth, 3, bias).unwrap();
        check_gradient(&net, Loss::Mse, 10 + depth as u64);
        check_gradient(&net, Loss::CrossEntropy, 20 + depth as u64);
    }
}

#[test]
fn tutorial_network_counts_its_parameters() {
    // DoubleDescentTutorialPart2: 795·k on MNIST; NTKAnalysis: 1,632,000 at k = 16000, d = 100.
    for k in [16, 40, 512] {
        assert_eq!(Dense::tutorial(784, k, 10).unwrap().num_params(), 795 * k);
    }
    assert_eq!(
        Dense::tutorial(100, 16000, 1).unwrap().num_params(),
        1_632_000
    );
    let e = Dense::tutorial_deep(10, 0, 1, 1, true).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { name: "width", .. }),
        "{e:?}"
    );
    // 2⁸⁰ parameters: refused before any allocation (counted in 128 bits, no overflow).
    let e = Dense::tutorial_deep(10, 1 << 40, 2, 1, true).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    // 10⁹ parameters of f64 (×5 copies): more than this machine's memory.
    let e = Dense::tutorial_deep(10, 1 << 15, 2, 1, true).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
}

#[test]
fn f32_and_f64_networks_agree() {
    let net = Dense::tutorial_deep(20, 64, 2, 4, true).unwrap();
    let x = gaussian(15, 20, 7);
    let x32 = Mat::from_fn(15, 20, |i, j| x[(i, j)] as f32);
    let w64: Vec<f64> = net.init(3);
    let w32: Vec<f32> = net.init(3);
    let f64_out = net.predict(&w64, x.as_ref()).unwrap();
    let f32_out = net.predict(&w32, x32.as_ref()).unwrap();
    for i in 0..15 {
        for j in 0..4 {
            assert!(
                (f64_out[(i, j)] - f32_out[(i, j)] as f64).abs()
                    < 1e-4 * (1.0 + f64_out[(i, j)].abs())
            );
        }
    }
}

/// NTKAnalysis's printed NTK regression error: the data come from NumPy's legacy stream, and the
/// closed-form kernel does not depend on torch's generator, so the number is reproducible.
#[test]
fn ntk_regression_reproduces_the_notebook_test_error() {
    let data = sphere_teacher(2134, 32, 100, 100).unwrap();
    let k = Kernel::relu_ntk(true);
    let cpu = Device::cpu();
    let kx = k.self_matrix(data.x.as_ref(), &cpu).unwrap();
    let kt = k
        .matrix(data.x.as_ref(), data.x_test.as_ref(), &cpu)
        .unwrap();
    // Printed: theoretical diagonal 4.0 exactly.
    assert_eq!(kx[(0, 0)], 4.0);
    let fit = Linearized::fit(kx.as_ref(), data.y.as_ref(), None).unwrap();
    let pred = fit.predict(kt.as_ref(), None).unwrap();
    let mse = (0..100)
        .map(|i| (pred[(i, 0)] - data.y_test[(i, 0)]).powi(2))
        .sum::<f64>()
        / 100.0;
    assert!((mse - 0.48437464815921794).abs() < 1e-9, "test MSE {mse}");
    // Printed first five theoretical predictions.
    let printed = [-0.1682, -0.0588, 0.0240, 0.1342, -0.3409];
    for (i, p) in printed.iter().enumerate() {
        assert!(
            (pred[(i, 0)] - p).abs() < 6e-5,
            "prediction {i}: {}",
            pred[(i, 0)]
        );
    }
}

/// In the kernel regime a wide network trained by gradient descent ends near the offset-corrected
/// empirical-NTK predictor, much nearer than to the uncorrected one.
#[test]
fn wide_trained_network_follows_the_corrected_ntk_predictor() {
    let data = sphere_teacher(7, 12, 30, 10).unwrap();
    let net = Dense::tutorial(10, 4096, 1).unwrap();
    let w0: Vec<f64> = net.init(11);
    let f0 = net.predict(&w0, data.x.as_ref()).unwrap();
    let f0t = net.predict(&w0, data.x_test.as_ref()).unwrap();
    let kx = net
        .tangent_kernel(&w0, data.x.as_ref(), None, 0, 0)
        .unwrap();
    let kt = net
        .tangent_kernel(&w0, data.x.as_ref(), Some(data.x_test.as_ref()), 0, 0)
        .unwrap();
    let corrected = Linearized::fit(kx.as_ref(), data.y.as_ref(), Some(f0.as_ref()))
        .unwrap()
        .predict(kt.as_ref(), Some(f0t.as_ref()))
        .unwrap();
    let plain = Linearized::fit(kx.as_ref(), data.y.as_ref(), None)
        .unwrap()
        .predict(kt.as_ref(), None)
        .unwrap();
    let mut w = w0.clone();
    let out = mse_gd(&net, &mut w, &data, 20_000, Some(1e-12));
    assert!(
        out.converged,
        "loss {} after {} steps",
        out.final_loss, out.steps
    );
    let trained = net.predict(&w, data.x_test.as_ref()).unwrap();
    let dist = |a: &Mat<f64>| {
        (0..30)
            .map(|i| (a[(i, 0)] - trained[(i, 0)]).powi(2))
            .sum::<f64>()
            / 30.0
    };
    let (dc, dp) = (dist(&corrected), dist(&plain));
    eprintln!("MSE(trained, corrected) = {dc:.3e}, MSE(trained, plain) = {dp:.3e}");
    assert!(dc < 1e-3, "{dc}");
    assert!(dc < dp / 20.0, "{dc} vs {dp}");
}

#[test]
fn linearized_predictor_rejects_mismatched_shapes() {
    let k = Mat::<f64>::identity(3, 3);
    let y = Mat::<f64>::zeros(4, 1);
    let e = Linearized::fit(k.as_ref(), y.as_ref(), None).unwrap_err();
    assert!(
        matches!(&e, Error::ShapeMismatch { got, .. } if got == "4x1"),
        "{e:?}"
    );
    let y = Mat::<f64>::zeros(3, 1);
    let fit = Linearized::fit(k.as_ref(), y.as_ref(), Some(y.as_ref())).unwrap();
    let e = fit
        .predict(Mat::<f64>::zeros(3, 2).as_ref(), None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "f0_test",
                ..
            }
        ),
        "{e:?}"
    );
}

/// torch.optim.Adam on f(w) = ½‖w‖² from w = 1 with lr 0.1: the first update moves every
/// coordinate by exactly lr (m̂/√v̂ = sign(g)); weight decay adds λw to the gradient.
#[test]
fn adam_follows_torch_semantics() {
    let mut w = vec![1.0f64, -2.0];
    let mut adam = Adam::new(0.1, 0.0, 2).unwrap();
    let g: Vec<f64> = w.clone();
    adam.update(&mut w, &g);
    assert!(
        (w[0] - 0.9).abs() < 1e-7 && (w[1] + 1.9).abs() < 1e-7,
        "{w:?}"
    );
    // With decay λ = 1 the effective gradient is 2w, the first step is still lr·sign.
    let mut w2 = vec![0.5f64];
    let mut adam = Adam::new(0.1, 1.0, 1).unwrap();
    adam.update(&mut w2, &[0.5]);
    assert!((w2[0] - 0.4).abs() < 1e-7);
    // Second step by hand: g₁ = 1, g₂ = 2w₁; m₂ = 0.9·0.1·g₁ + 0.1·g₂,
    // v₂ = 0.999·0.001·g₁² + 0.001·g₂².
    let w1 = 0.5 - 0.1 / (1.0 + 1e-8);
    let g2 = 2.0 * w1;
    let (m, v) = (0.9 * 0.1 + 0.1 * g2, 0.999 * 0.001 + 0.001 * g2 * g2);
    let expect = w1 - 0.1 * (m / (1.0 - 0.81)) / ((v / (1.0 - 0.999f64.powi(2))).sqrt() + 1e-8);
    adam.update(&mut w2, &[w1]);
    assert!((w2[0] - expect).abs() < 1e-12, "{} vs {expect}", w2[0]);
    assert!(
        Adam::new(-1.0, 0.0, 1)
            .unwrap_err()
            .to_string()
            .contains("lr")
    );
}

/// The deep kernels work wherever kernels work: EigenPro on a depth-3 NTK reaches the direct
/// solve's predictions (same classes on the test digits), and the matrix-free K·W equals the
/// matrix times W.
#[test]
fn deep_kernels_run_through_eigenpro_and_the_matrix_free_product() {
    use doubledescent::data::{mnist_embedded, multiclass_error};
    use doubledescent::solvers::{
        EigenProOptions, EigenProRegressor, Fit, KernelRidge, Predict, Solver,
    };
    let split = mnist_embedded().unwrap().first_per_class(30).unwrap();
    let x = split.train.unit_rows::<f64>().unwrap();
    let y = split.train.one_hot::<f64>().unwrap();
    let test = split.rest.select(&(0..500).collect::<Vec<_>>()).unwrap();
    let xt = test.unit_rows::<f64>().unwrap();
    let yt = test.one_hot::<f64>().unwrap();
    let k = Kernel::deep_relu_ntk(3, true).unwrap();
    let cpu = Device::cpu();
    let direct = KernelRidge::new(k, 0.0, Solver::Lu, &cpu)
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    let pd: Mat<f64> = direct.predict(xt.as_ref()).unwrap();
    let iterative = EigenProRegressor::new(k, 200, EigenProOptions::default(), &cpu)
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    let pi: Mat<f64> = iterative.predict(xt.as_ref()).unwrap();
    let agree = 1.0 - multiclass_error(pi.as_ref(), pd.as_ref()).unwrap();
    let (ed, ei) = (
        multiclass_error(pd.as_ref(), yt.as_ref()).unwrap(),
        multiclass_error(pi.as_ref(), yt.as_ref()).unwrap(),
    );
    eprintln!("direct {ed:.3}, EigenPro {ei:.3}, same class on {agree:.3}");
    assert!(
        agree > 0.95 && (ed - ei).abs() < 0.03,
        "direct {ed}, EigenPro {ei}, agree {agree}"
    );
    let w = gaussian(300, 4, 9);
    let kw = k.apply(xt.as_ref(), x.as_ref(), w.as_ref(), &cpu).unwrap();
    let km = k.matrix(xt.as_ref(), x.as_ref(), &cpu).unwrap();
    let reference = &km * &w;
    assert!((&kw - &reference).norm_max() < 1e-10 * reference.norm_max());
}

/// f32 and f64 deep kernels agree (the recursion stays stable in single precision).
#[test]
fn deep_kernels_agree_in_f32_and_f64() {
    let x = gaussian(50, 30, 12);
    let x32 = Mat::from_fn(50, 30, |i, j| x[(i, j)] as f32);
    for depth in [2u32, 5] {
        let k = Kernel::deep_relu_ntk(depth, true).unwrap();
        let a = k.matrix(x.as_ref(), x.as_ref(), &Device::cpu()).unwrap();
        let b = k
            .matrix(x32.as_ref(), x32.as_ref(), &Device::cpu())
            .unwrap();
        for i in 0..50 {
            for j in 0..50 {
                assert!(
                    (a[(i, j)] - b[(i, j)] as f64).abs() < 2e-3 * a[(i, j)].abs(),
                    "{k} ({i},{j})"
                );
            }
        }
    }
}

/// Gradient descent gives bit-identical parameters on one thread and on two.
#[test]
fn gradient_descent_does_not_depend_on_the_thread_count() {
    let data = sphere_teacher(3, 20, 5, 30).unwrap();
    let net = Dense::tutorial_deep(30, 8000, 1, 1, true).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut w: Vec<f64> = net.init(4);
            mse_gd(&net, &mut w, &data, 50, None);
            w
        })
    };
    assert_eq!(run(1), run(2));
}

/// The training loops are interchangeable over any model: full-batch gradient descent through
/// `GradientDescent`, through the integrator's fixed-step method on the model's own loss
/// (`ModelObjective`), and a hand loop of `Sgd` steps give the same parameters, on a plain MLP
/// with cross-entropy; and minibatch Adam lowers that loss.
#[test]
fn training_loops_agree_over_any_model() {
    use doubledescent::models::Model;
    use doubledescent::training::{Integrator, Method, MinibatchAdam, ModelObjective, Sgd};
    let x = gaussian(40, 6, 31);
    let y = Mat::from_fn(40, 3, |i, j| if i % 3 == j { 1.0 } else { 0.0 });
    let net = Dense::mlp(6, &[8, 5], 3, Loss::CrossEntropy).unwrap();
    let mut rng = doubledescent::random::seeded(2);
    let w0: Vec<f64> = net.init_he(&mut rng);
    let (lr, steps) = (0.2, 30);
    let mut a = w0.clone();
    GradientDescent {
        lr,
        steps,
        log_every: 0,
        stop_below: None,
        threads: 1,
    }
    .run(&net, &mut a, x.as_ref(), y.as_ref(), |_, _, _| Ok(()))
    .unwrap();
    let mut obj = ModelObjective::new(&net, &w0, x.as_ref(), y.as_ref(), 1).unwrap();
    let mut integ = Integrator::new(&mut obj, w0.clone(), Method::GradientDescent { lr }).unwrap();
    for _ in 0..steps {
        integ.step(&mut obj).unwrap();
    }
    let mut c = w0.clone();
    let mut sgd = Sgd::new(lr).unwrap();
    let mut grad = vec![0.0; c.len()];
    for _ in 0..steps {
        net.loss_grad(&c, x.as_ref(), y.as_ref(), &mut grad);
        sgd.update(&mut c, &grad);
    }
    for ((a, b), c) in a.iter().zip(integ.weights()).zip(&c) {
        assert!((a - b).abs() < 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
        assert!((a - c).abs() < 1e-12 * (1.0 + a.abs()), "{a} vs {c}");
    }
    let before = net.loss(&w0, x.as_ref(), y.as_ref());
    assert!(net.loss(&a, x.as_ref(), y.as_ref()) < before);
    let mut d = w0.clone();
    MinibatchAdam {
        lr: 1e-2,
        weight_decay: 0.0,
        batch: 16,
        epochs: 20,
        seed: 1,
        threads: 1,
    }
    .run(&net, &mut d, x.as_ref(), y.as_ref(), |_, _, _| Ok(()))
    .unwrap();
    let after = net.loss(&d, x.as_ref(), y.as_ref());
    assert!(after < before, "Adam: {before} → {after}");
}
