//! Trained finite-width networks: gradients against finite differences, per-sample gradients,
//! the tangent kernel against J Jᵀ, the adaptive gradient flow against the exact linear flow, the
//! lazy limit against kernel regression, jamming on a small problem, the PCA pipeline and bad
//! input.
#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use approx::assert_relative_eq;
use doubledescent::Error;
use doubledescent::data::{PcaConfig, binary_pca, mnist_embedded};
use doubledescent::models::{Activation, Bias, Dense, MarginLoss, Workspace};
use doubledescent::training::{
    Budget, Integrator, LogLinearSchedule, MarginObjective, Method, Objective, RunConfig, RunData,
    StopReason, train,
};
use faer::Mat;

/// The phase diagram's NTK-scaled network with `depth` hidden layers of width `h`, biases on
/// every layer or none.
fn fc(d: usize, h: usize, depth: usize, act: Activation, bias: bool) -> Dense {
    Dense::ntk(d, h, depth, act)
        .unwrap()
        .with_bias(if bias { Bias::All } else { Bias::None })
        .unwrap()
}

fn inputs(n: usize, d: usize, seed: u64) -> Mat<f64> {
    let mut rng = doubledescent::random::seeded(seed);
    doubledescent::random::gaussian_matrix(&mut rng, n, d, 1.0)
}

fn labels(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| if i % 3 == 0 { -1.0 } else { 1.0 })
        .collect()
}

const ACTIVATIONS: [Activation; 3] = [
    Activation::Swish { beta: 10.0 },
    Activation::Softplus { beta: 5.0 },
    Activation::Relu,
];
const LOSSES: [MarginLoss; 4] = [
    MarginLoss::SoftHinge { beta: 20.0 },
    MarginLoss::Hinge,
    MarginLoss::QuadraticHinge,
    MarginLoss::Mse,
];

/// ∇L of the α-trick objective against central differences, for every activation × loss, with
/// and without biases, at depths 1 to 3.
#[test]
fn gradients_match_finite_differences() {
    let (n, d) = (7, 4);
    let x = inputs(n, d, 1);
    let y = labels(n);
    for (ia, act) in ACTIVATIONS.into_iter().enumerate() {
        for (il, loss) in LOSSES.into_iter().enumerate() {
            let depth = 1 + (ia + il) % 3;
            let bias = (ia + il) % 2 == 0;
            let net = fc(d, 5, depth, act, bias);
            let w0: Vec<f64> = net.init(3);
            // Move away from w0 so that f̃ ≠ 0 and the margins spread over the loss's kinks.
            let w: Vec<f64> = w0
                .iter()
                .enumerate()
                .map(|(i, v)| v + 0.3 * ((i as f64).sin()))
                .collect();
            let alpha = 2.0;
            let mut obj = MarginObjective::new(&net, &w0, x.as_ref(), &y, alpha, loss, 1).unwrap();
            let mut out = vec![0.0; n];
            let mut grad = vec![0.0; net.num_params()];
            obj.evaluate(&w, &mut out, &mut grad).unwrap();
            let eps = 1e-6;
            for k in 0..net.num_params() {
                let (mut wp, mut wm) = (w.clone(), w.clone());
                wp[k] += eps;
                wm[k] -= eps;
                let mut g = vec![0.0; net.num_params()];
                let lp = obj.evaluate(&wp, &mut out, &mut g).unwrap();
                let lm = obj.evaluate(&wm, &mut out, &mut g).unwrap();
                let fd = (lp - lm) / (2.0 * eps);
                let tol = if matches!(loss, MarginLoss::Hinge) || act == Activation::Relu {
                    1e-4 // kinks: a difference that straddles one is off
                } else {
                    1e-6
                };
                assert!(
                    (fd - grad[k]).abs() < tol * (1.0 + grad[k].abs()),
                    "{act:?} {loss:?} depth {depth} bias {bias} param {k}: fd {fd} vs {}",
                    grad[k]
                );
            }
        }
    }
}

/// Per-sample gradients weighted by ℓ′/P sum to the batch gradient; J Jᵀ equals the layer-wise
/// tangent kernel to 1e-10 in f64 (the L = 2 closed form of the spec is the two-layer case).
#[test]
fn per_sample_gradients_and_tangent_kernel() {
    let (n, d) = (9, 6);
    let x = inputs(n, d, 5);
    for (depth, bias) in [(2, false), (1, true), (3, false), (2, true)] {
        let net = fc(d, 8, depth, Activation::Swish { beta: 10.0 }, bias);
        let w: Vec<f64> = net.init(11);
        let j = net.jacobian(&w, x.as_ref(), 0).unwrap();
        let mut jjt = Mat::<f64>::zeros(n, n);
        faer::linalg::matmul::matmul(
            jjt.as_mut(),
            faer::Accum::Replace,
            j.as_ref(),
            j.transpose(),
            1.0,
            faer::Par::Seq,
        );
        let theta = net.tangent_kernel(&w, x.as_ref(), None, 0, 1).unwrap();
        for a in 0..n {
            for b in 0..n {
                assert!(
                    (theta[(a, b)] - jjt[(a, b)]).abs() < 1e-10 * (1.0 + jjt[(a, b)].abs()),
                    "depth {depth} bias {bias} ({a},{b}): {} vs {}",
                    theta[(a, b)],
                    jjt[(a, b)]
                );
            }
        }
        // Σ_μ g_μ J_μ = backward(g).
        let g: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos() / n as f64).collect();
        let mut ws = Workspace::new();
        net.forward(&w, x.as_ref(), &mut ws).unwrap();
        let mut grad = vec![0.0; net.num_params()];
        for (i, gi) in g.iter().enumerate() {
            ws.output_gradient()[(i, 0)] = *gi;
        }
        net.backward(&w, x.as_ref(), &mut ws, &mut grad);
        for k in 0..net.num_params() {
            let s: f64 = (0..n).map(|m| g[m] * j[(m, k)]).sum();
            assert!((s - grad[k]).abs() < 1e-12 * (1.0 + s.abs()), "param {k}");
        }
    }
}

/// The spec's L = 2 closed form, written out independently, against the layer-wise kernel.
#[test]
fn two_layer_closed_form_ntk() {
    let (n, d, h) = (5, 3, 6);
    let x = inputs(n, d, 9);
    let act = Activation::Swish { beta: 10.0 };
    let net = fc(d, h, 2, act, false);
    let w: Vec<f64> = net.init(2);
    let c = net.factor();
    let w0 = &w[0..h * d]; // row-major h × d
    let w1 = &w[h * d..h * d + h * h];
    let w2 = &w[h * d + h * h..];
    let feats = |i: usize| {
        let z1: Vec<f64> = (0..h)
            .map(|k| (0..d).map(|m| w0[k * d + m] * x[(i, m)]).sum::<f64>() / (d as f64).sqrt())
            .collect();
        let a1: Vec<f64> = z1.iter().map(|&z| c * act.raw(z).0).collect();
        let d1: Vec<f64> = z1.iter().map(|&z| c * act.raw(z).1).collect();
        let z2: Vec<f64> = (0..h)
            .map(|j| (0..h).map(|k| w1[j * h + k] * a1[k]).sum::<f64>() / (h as f64).sqrt())
            .collect();
        let a2: Vec<f64> = z2.iter().map(|&z| c * act.raw(z).0).collect();
        let d2: Vec<f64> = z2.iter().map(|&z| c * act.raw(z).1).collect();
        let b: Vec<f64> = (0..h)
            .map(|k| {
                d1[k] * (0..h).map(|j| w2[j] * d2[j] * w1[j * h + k]).sum::<f64>()
                    / (h as f64).powf(1.5)
            })
            .collect();
        (a1, d2, a2, b)
    };
    let theta = net.tangent_kernel(&w, x.as_ref(), None, 0, 1).unwrap();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    for i in 0..n {
        for k in 0..n {
            let (a1, d2, a2, b) = feats(i);
            let (a1p, d2p, a2p, bp) = feats(k);
            let mid: f64 = (0..h).map(|j| w2[j] * w2[j] * d2[j] * d2p[j]).sum();
            let xx: f64 = (0..d).map(|m| x[(i, m)] * x[(k, m)]).sum();
            let closed = dot(&a2, &a2p) / (h * h) as f64
                + mid * dot(&a1, &a1p) / (h as f64).powi(3)
                + dot(&b, &bp) * xx / d as f64;
            assert_relative_eq!(theta[(i, k)], closed, max_relative = 1e-12);
        }
    }
}

/// The swish normalisation factor by quadrature (≈ 0.8444 for β = 10), the Monte-Carlo estimate
/// within its sampling error, and E[σ(z)²] = 1 after normalisation.
#[test]
fn swish_normalisation_factor() {
    let act = Activation::Swish { beta: 10.0 };
    let f = act.factor();
    assert!((f - 0.8444).abs() < 5e-5, "{f}");
    let mc = act.monte_carlo_factor(100_000, 0).unwrap();
    assert!((mc - f).abs() < 5e-3, "{mc} vs {f}");
    // Independent check: Gauss–Hermite-free trapezoid on a fine grid.
    let (mut s, hstep) = (0.0, 1e-4);
    let mut z = -10.0;
    while z < 10.0 {
        let v = f * act.raw::<f64>(z).0;
        s += v * v * (-0.5 * z * z).exp() * hstep;
        z += hstep;
    }
    let m2 = s / (2.0 * std::f64::consts::PI).sqrt();
    assert!((m2 - 1.0).abs() < 1e-6, "{m2}");
}

/// A linear model f(w, x) = w·x with square loss ½(f − y)²: gradient flow is w(t) = w* +
/// e^{−tK}(w₀ − w*) with K = XᵀX/P. The adaptive integrator follows it within its tolerance.
struct Linear {
    x: Mat<f64>,
    y: Vec<f64>,
}

impl Objective<f64> for Linear {
    fn num_params(&self) -> usize {
        self.x.ncols()
    }
    fn num_outputs(&self) -> usize {
        self.x.nrows()
    }
    fn evaluate(
        &mut self,
        w: &[f64],
        out: &mut [f64],
        grad: &mut [f64],
    ) -> doubledescent::Result<f64> {
        let (p, d) = (self.x.nrows(), self.x.ncols());
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for i in 0..p {
            let f: f64 = (0..d).map(|k| self.x[(i, k)] * w[k]).sum();
            out[i] = f;
            let r = f - self.y[i];
            loss += 0.5 * r * r / p as f64;
            for k in 0..d {
                grad[k] += r * self.x[(i, k)] / p as f64;
            }
        }
        Ok(loss)
    }
}

#[test]
fn adaptive_flow_follows_the_exact_linear_flow() {
    let (p, d) = (30, 4);
    let x = inputs(p, d, 21);
    let y: Vec<f64> = (0..p).map(|i| (i as f64).sin()).collect();
    let mut obj = Linear {
        x: x.clone(),
        y: y.clone(),
    };
    // Exact flow in the eigenbasis of K = XᵀX/P.
    let mut k = Mat::<f64>::zeros(d, d);
    faer::linalg::matmul::matmul(
        k.as_mut(),
        faer::Accum::Replace,
        x.transpose(),
        x.as_ref(),
        1.0 / p as f64,
        faer::Par::Seq,
    );
    let b: Vec<f64> = (0..d)
        .map(|j| (0..p).map(|i| x[(i, j)] * y[i]).sum::<f64>() / p as f64)
        .collect();
    let evd = k.self_adjoint_eigen(faer::Side::Lower).unwrap();
    let (u, s) = (evd.U(), evd.S());
    let w0 = vec![0.0; d];
    let exact = |t: f64| -> Vec<f64> {
        // w(t) = Σ_i u_i (u_iᵀb/λ_i)(1 − e^{−λ_i t})  from w0 = 0.
        let mut w = vec![0.0; d];
        for i in 0..d {
            let ub: f64 = (0..d).map(|m| u[(m, i)] * b[m]).sum();
            let c = ub / s[i] * (1.0 - (-s[i] * t).exp());
            for m in 0..d {
                w[m] += c * u[(m, i)];
            }
        }
        w
    };
    let mut integ = Integrator::new(
        &mut obj,
        w0,
        Method::AdaptiveFlow {
            max_dgrad: 1e-4,
            max_dout: 1e-2,
        },
    )
    .unwrap();
    let mut worst = 0.0f64;
    let mut rejections = 0;
    let scale = exact(1e6).iter().map(|v| v * v).sum::<f64>().sqrt();
    for _ in 0..3000 {
        let before = integ.weights().to_vec();
        let g = integ.gradient().to_vec();
        let dt_next = integ.next_dt();
        let info = integ.step(&mut obj).unwrap();
        rejections += info.rejected;
        // Rejected trials leave the weights unchanged: the accepted step starts from `before`.
        for ((a, b), gk) in integ.weights().iter().zip(&before).zip(&g) {
            assert_eq!(*a, b - info.dt * gk);
        }
        // dt grows by 1.1 only under both half limits; a rejection divides it by 10.
        let expected_dt = dt_next / 10f64.powi(info.rejected as i32);
        assert_relative_eq!(info.dt, expected_dt, max_relative = 1e-12);
        let half = info.dgrad < 0.5e-4 && info.dout < 0.5e-2;
        let grown = (integ.next_dt() / info.dt - 1.1).abs() < 1e-12;
        assert_eq!(half, grown, "dgrad {} dout {}", info.dgrad, info.dout);
        let ex = exact(integ.time());
        let err = ex
            .iter()
            .zip(integ.weights())
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        worst = worst.max(err / scale);
    }
    eprintln!(
        "t = {}, worst {worst:.3e}, {rejections} rejected trials",
        integ.time()
    );
    assert!(rejections > 0, "the test never exercised a rejection");
    assert!(integ.time() > 20.0, "t = {}", integ.time());
    // Forward Euler with steps held by the dgrad limit: measured 1.2e-3 relative over t ≈ 31.
    assert!(
        worst < 5e-3,
        "relative deviation from e^(-tK) flow: {worst}"
    );
}

/// Checkpoint steps of the original schedule (500, 10⁴): #100 at 1384, #150 at 10127, #200 at
/// 31006 (the values in the original's documentation).
#[test]
fn checkpoint_schedule_matches_the_original() {
    let s: Vec<u64> = LogLinearSchedule::original().take(201).collect();
    assert_eq!(&s[..23], &(0..=21).chain([23]).collect::<Vec<u64>>()[..]);
    assert_eq!((s[100], s[150], s[200]), (1384, 10127, 31006));
}

fn embedded_splits(test: usize, kernel: usize, train: usize) -> doubledescent::data::PcaSplits {
    binary_pca(
        &mnist_embedded().unwrap(),
        &PcaConfig::new(10, test, kernel, train),
    )
    .unwrap()
}

/// The PCA pipeline: disjoint class-balanced sets, E‖u‖² = d over the pool, orthonormal
/// components with decreasing eigenvalues, parity labels.
#[test]
fn pca_pipeline() {
    let s = embedded_splits(500, 200, 300);
    assert_eq!(s.pool, 8630); // smallest class of the subset: 863 images
    let mut seen = std::collections::HashSet::new();
    for set in [&s.test, &s.kernel, &s.train] {
        let mut counts = [0usize; 10];
        for (&c, &y) in set.class.iter().zip(&set.y) {
            counts[c as usize] += 1;
            assert_eq!(y, if c % 2 == 0 { 1.0 } else { -1.0 });
        }
        assert!(counts.iter().all(|&k| k == set.len() / 10), "{counts:?}");
        for &i in &set.index {
            assert!(seen.insert(i), "image {i} in two sets");
        }
    }
    let c = &s.components;
    for a in 0..10 {
        for b in 0..10 {
            let dot: f64 = (0..c.nrows()).map(|i| c[(i, a)] * c[(i, b)]).sum();
            assert!((dot - if a == b { 1.0 } else { 0.0 }).abs() < 1e-10);
        }
    }
    assert!(s.eigenvalues.windows(2).all(|w| w[0] >= w[1]));
    // E‖u‖² = d: on the pool exactly; the 1000 drawn points are a sample of it.
    let sq: f64 = [&s.test, &s.kernel, &s.train]
        .iter()
        .map(|set| {
            (0..set.len())
                .map(|i| (0..10).map(|j| set.x[(i, j)].powi(2)).sum::<f64>())
                .sum::<f64>()
        })
        .sum::<f64>()
        / 1000.0;
    assert!((sq - 10.0).abs() < 0.6, "mean squared norm {sq}");
    // The first component's variance relative to the mean of the first ten.
    let v0: f64 = (0..s.train.len())
        .map(|i| s.train.x[(i, 0)].powi(2))
        .sum::<f64>()
        / s.train.len() as f64;
    let ratio = s.eigenvalues[0] / (s.eigenvalues.iter().sum::<f64>() / 10.0);
    assert!((v0 / ratio - 1.0).abs() < 0.25, "{v0} vs {ratio}");
}

fn run_data<'a>(s: &'a Sets) -> RunData<'a, f64> {
    RunData {
        x_train: s.xtr.as_ref(),
        y_train: &s.ytr,
        x_test: s.xte.as_ref(),
        y_test: &s.yte,
        x_kernel: s.xk.as_ref(),
        name: "test",
    }
}

struct Sets {
    xtr: Mat<f64>,
    ytr: Vec<f64>,
    xte: Mat<f64>,
    yte: Vec<f64>,
    xk: Mat<f64>,
}

fn sets(p: usize) -> Sets {
    let s = embedded_splits(400, 60, p);
    Sets {
        xtr: s.train.x.clone(),
        ytr: s.train.y.clone(),
        xte: s.test.x.clone(),
        yte: s.test.y.clone(),
        xk: s.kernel.x.clone(),
    }
}

/// Bad input gets named errors.
#[test]
fn bad_input_is_refused() {
    assert!(matches!(
        Dense::phase_diagram(10, 0),
        Err(Error::InvalidArgument {
            name: "h (width)",
            ..
        })
    ));
    // 2⁴⁸ parameters: refused before anything is allocated.
    assert!(matches!(
        Dense::phase_diagram(10, 1 << 24),
        Err(Error::TooLarge { .. })
    ));
    let pool = mnist_embedded().unwrap();
    assert!(matches!(
        binary_pca(&pool, &PcaConfig::new(785, 10, 10, 10)),
        Err(Error::InvalidArgument { name: "d", .. })
    ));
    assert!(matches!(
        binary_pca(&pool, &PcaConfig::new(10, 5000, 2500, 5000)),
        Err(Error::InvalidArgument {
            name: "test + kernel + train sizes",
            ..
        })
    ));
    let s = sets(50);
    let net = Dense::phase_diagram(10, 4).unwrap();
    let w0: Vec<f64> = net.init(0);
    assert!(matches!(
        MarginObjective::new(
            &net,
            &w0,
            s.xtr.as_ref(),
            &s.ytr,
            0.0,
            MarginLoss::ORIGINAL,
            1
        ),
        Err(Error::InvalidArgument { name: "alpha", .. })
    ));
    let mut bad = s.xtr.clone();
    bad[(3, 2)] = f64::NAN;
    assert!(matches!(
        MarginObjective::new(
            &net,
            &w0,
            bad.as_ref(),
            &s.ytr,
            1.0,
            MarginLoss::ORIGINAL,
            1
        ),
        Err(Error::NonFinite { .. })
    ));
    let empty = Mat::<f64>::zeros(0, 10);
    let no_test = RunData {
        x_test: empty.as_ref(),
        y_test: &[],
        ..run_data(&s)
    };
    assert!(matches!(
        train(&quick_cfg(4, 1.0, 0, 10), &no_test, &|_| {}),
        Err(Error::InvalidArgument {
            name: "training and test sets",
            ..
        })
    ));
    let mut cfg = RunConfig::original(4, -1.0, 0, 10.0);
    cfg.budget.max_steps = Some(10);
    assert!(matches!(
        train(&cfg, &run_data(&s), &|_| {}),
        Err(Error::InvalidArgument { .. })
    ));
}

fn quick_cfg(h: usize, alpha: f64, seed: u64, steps: u64) -> RunConfig {
    let mut cfg = RunConfig::original(h, alpha, seed, 1e9);
    cfg.budget = Budget {
        max_wall: None,
        max_steps: Some(steps),
    };
    cfg.method = Method::AdaptiveFlow {
        max_dgrad: 1e-3,
        max_dout: 0.1 / alpha,
    };
    cfg
}

/// Jamming on a small problem (P = 200): narrow networks end with unsatisfied margins, wide ones
/// fit every point with margin 1, for every seed of a fixed set.
#[test]
fn jamming_small_problem() {
    let s = sets(200);
    let data = run_data(&s);
    let nd = |h: usize, seed: u64| {
        let r = train(&quick_cfg(h, 1.0, seed, 4000), &data, &|_| {}).unwrap();
        (r.last().train.nd, r.stop)
    };
    for seed in 0..2 {
        let (narrow, _) = nd(2, seed);
        let (wide, stop) = nd(40, seed);
        assert!(narrow > 0, "h = 2 seed {seed}: nd = {narrow}");
        assert_eq!((wide, stop), (0, StopReason::Fitted), "h = 40 seed {seed}");
    }
}

/// The lazy limit: ‖ΔΘ‖/‖Θ₀‖ falls roughly like 1/α̃ as α̃ grows; and at large α̃ the trained
/// function is kernel gradient flow with Θ₀ run for the same time. For the square loss
/// ½(F − y)²/α the linearised flow is dF/dt = −(α/P) Θ₀ (F − y), so F(t) = (I − e^{−αΘ₀t/P}) y on
/// the training set (a closed form, evaluated in Θ₀'s eigenbasis).
#[test]
fn lazy_limit() {
    let s = sets(100);
    let data = run_data(&s);
    let mut ratios = vec![];
    for &alpha in &[1e2, 1e3, 1e4] {
        let r = train(&quick_cfg(24, alpha, 3, 20_000), &data, &|_| {}).unwrap();
        assert_eq!(r.stop, StopReason::Fitted, "α̃ = {alpha}");
        ratios.push(r.delta_kernel.unwrap().ratio());
    }
    for w in ratios.windows(2) {
        let fall = w[0] / w[1];
        assert!(fall > 5.0 && fall < 20.0, "ratios {ratios:?}");
    }

    let alpha = 1e4;
    let mut cfg = quick_cfg(24, alpha, 3, 400);
    cfg.loss = MarginLoss::Mse;
    let r = train(&cfg, &data, &|_| {}).unwrap();
    let t = r.last().t;
    let big_f: Vec<f64> = r
        .last()
        .train
        .outputs
        .as_ref()
        .unwrap()
        .iter()
        .map(|o| alpha * o)
        .collect();
    let net = cfg.network(10).unwrap();
    let w0: Vec<f64> = net.init(cfg.init_seed(100));
    let theta = net.tangent_kernel(&w0, s.xtr.as_ref(), None, 0, 1).unwrap();
    let evd = theta.self_adjoint_eigen(faer::Side::Lower).unwrap();
    let (u, lam) = (evd.U(), evd.S());
    let p = 100;
    let mut exact = vec![0.0; p];
    for k in 0..p {
        let uy: f64 = (0..p).map(|i| u[(i, k)] * s.ytr[i]).sum();
        let c = uy * (1.0 - (-alpha * lam[k] * t / p as f64).exp());
        for i in 0..p {
            exact[i] += c * u[(i, k)];
        }
    }
    let err = exact
        .iter()
        .zip(&big_f)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm = exact.iter().map(|a| a * a).sum::<f64>().sqrt();
    assert!(t > 1.0 && norm > 1.0, "t = {t}, ‖F‖ = {norm}");
    assert!(
        err / norm < 2e-2,
        "‖F − F_kernel‖/‖F_kernel‖ = {} at t = {t}",
        err / norm
    );
}

/// The same seed gives the same gradient and the same run, bit for bit, on one thread or two
/// (the GEMMs split over output blocks, the activation over columns).
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (p, d, h) = (3000, 10, 96);
    let x = inputs(p, d, 4);
    let y = labels(p);
    let net = Dense::phase_diagram(d, h).unwrap();
    let w0: Vec<f64> = net.init(0);
    let w: Vec<f64> = w0
        .iter()
        .enumerate()
        .map(|(i, v)| v + 0.01 * (i as f64).sin())
        .collect();
    let grad = |threads: usize| {
        let mut obj = MarginObjective::new(
            &net,
            &w0,
            x.as_ref(),
            &y,
            1.0,
            MarginLoss::ORIGINAL,
            threads,
        )
        .unwrap();
        let (mut o, mut g) = (vec![0.0; p], vec![0.0; net.num_params()]);
        obj.evaluate(&w, &mut o, &mut g).unwrap();
        (o, g)
    };
    let one = grad(1);
    assert!(grad(2) == one && grad(0) == one);

    let s = sets(300);
    let data = run_data(&s);
    let mut cfg = quick_cfg(48, 12.0, 1, 300);
    let a = train(&cfg, &data, &|_| {}).unwrap();
    cfg.threads = 2;
    let b = train(&cfg, &data, &|_| {}).unwrap();
    assert_eq!(a.dynamics.len(), b.dynamics.len());
    for (ca, cb) in a.dynamics.iter().zip(&b.dynamics) {
        assert_eq!(
            (ca.step, ca.t, ca.norm, &ca.train.outputs),
            (cb.step, cb.t, cb.norm, &cb.train.outputs)
        );
    }
    assert_eq!(a.delta_kernel, b.delta_kernel);
}

/// The network as a sampler's `Model` (mean squared error): its gradient is Σ_μ 2(f_μ − y_μ)/n
/// times the per-sample gradients.
#[test]
fn model_interface_gradient() {
    use doubledescent::models::Model;
    let (n, d) = (12, 5);
    let x = inputs(n, d, 8);
    let y = Mat::from_fn(n, 1, |i, _| (i as f64).cos());
    let net = fc(d, 7, 2, Activation::Softplus { beta: 3.0 }, true);
    let w: Vec<f64> = net.init(5);
    let mut grad = vec![0.0; net.num_params()];
    let loss = Model::loss_grad(&net, &w, x.as_ref(), y.as_ref(), &mut grad);
    let f = net
        .predict(&w, x.as_ref())
        .unwrap()
        .col_as_slice(0)
        .to_vec();
    let j = net.jacobian(&w, x.as_ref(), 0).unwrap();
    let expect_loss: f64 = f
        .iter()
        .enumerate()
        .map(|(i, v)| (v - y[(i, 0)]).powi(2))
        .sum::<f64>()
        / n as f64;
    assert_relative_eq!(loss, expect_loss, max_relative = 1e-13);
    assert_relative_eq!(
        Model::loss(&net, &w, x.as_ref(), y.as_ref()),
        expect_loss,
        max_relative = 1e-13
    );
    for k in 0..net.num_params() {
        let g: f64 = (0..n)
            .map(|i| 2.0 * (f[i] - y[(i, 0)]) / n as f64 * j[(i, k)])
            .sum();
        assert!((g - grad[k]).abs() < 1e-12 * (1.0 + g.abs()), "param {k}");
    }
}

/// A step whose trials are never acceptable (here: the gradient is NaN away from the start)
/// collapses after 60 rejections with a named error, and leaves the state where it was.
struct NanAway;

impl Objective<f64> for NanAway {
    fn num_params(&self) -> usize {
        2
    }
    fn num_outputs(&self) -> usize {
        1
    }
    fn evaluate(
        &mut self,
        w: &[f64],
        out: &mut [f64],
        grad: &mut [f64],
    ) -> doubledescent::Result<f64> {
        let at_start = w == [1.0, 1.0];
        out[0] = w[0];
        // A huge gradient, so that even the smallest trial step moves w.
        grad.copy_from_slice(if at_start {
            &[1e80, 1e80]
        } else {
            &[f64::NAN, 0.0]
        });
        Ok(if at_start { 1.0 } else { f64::NAN })
    }
}

#[test]
fn collapsed_step_is_a_named_error_and_changes_nothing() {
    let mut obj = NanAway;
    let mut integ = Integrator::new(&mut obj, vec![1.0, 1.0], Method::original(1.0)).unwrap();
    let r = integ.step(&mut obj);
    assert!(matches!(r, Err(Error::Numerical(_))), "{r:?}");
    assert_eq!(
        (integ.weights(), integ.steps(), integ.time()),
        (&[1.0, 1.0][..], 0, 0.0)
    );
    assert!(
        (integ.next_dt() - 1e-60).abs() < 1e-72,
        "dt = {}",
        integ.next_dt()
    );
}

#[test]
fn pca_splits_and_training_are_the_same_on_one_two_and_three_threads() {
    // A sweep runs each network with its own thread count (one per core locally, the task's
    // cores on SLURM): the data and the trained record must not depend on it.
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let s = embedded_splits(400, 50, 200);
                let mut cfg = quick_cfg(3, 1048576.0, 101, 1000);
                cfg.delta_kernel = true;
                let r = doubledescent::training::train_on_splits(&cfg, &s, "t", &|_| {}).unwrap();
                (s, r)
            })
    };
    let ((s1, r1), (s2, r2), (s3, _)) = (run(1), run(2), run(3));
    assert_eq!(s1.components, s3.components);
    assert_eq!(s1.eigenvalues, s2.eigenvalues);
    assert_eq!(s1.components, s2.components);
    assert_eq!(s1.train.x, s2.train.x);
    assert_eq!(s1.test.x, s2.test.x);
    let strip = |r: &doubledescent::training::RunRecord| {
        let mut r = r.clone();
        r.wall = 0.0;
        r.dynamics.iter_mut().for_each(|c| c.wall = 0.0);
        r
    };
    assert_eq!(strip(&r1), strip(&r2));
}

/// Every configuration of the dense network (three parameterisations, four activations, the
/// three bias choices, one to three hidden layers, one or three outputs, f32 and f64): the
/// tangent kernel of each output is J Jᵀ of its per-sample gradients, the cross kernel against
/// other points is J_x J_zᵀ, and the backward pass of G is Σᵢ Gᵢ Jᵢ.
#[test]
fn every_dense_configuration_has_consistent_gradients_and_kernels() {
    use doubledescent::models::Parameterisation;
    let (n, nz, d) = (6, 4, 5);
    let x = inputs(n, d, 21);
    let z = inputs(nz, d, 22);
    let mut case = 0;
    for param in [
        Parameterisation::Tutorial,
        Parameterisation::Ntk,
        Parameterisation::Standard,
    ] {
        for act in [
            Activation::Relu,
            Activation::Swish { beta: 10.0 },
            Activation::Softplus { beta: 3.0 },
            Activation::Identity,
        ] {
            for bias in [Bias::None, Bias::Hidden, Bias::All] {
                case += 1;
                let hidden: Vec<usize> = [7, 5, 6][..1 + case % 3].to_vec();
                let outputs = if case % 2 == 0 { 3 } else { 1 };
                let net = Dense::new(d, &hidden, outputs, act, param)
                    .unwrap()
                    .with_bias(bias)
                    .unwrap();
                let w: Vec<f64> = net.init(case as u64);
                for o in 0..outputs {
                    let jx = net.jacobian(&w, x.as_ref(), o).unwrap();
                    let jz = net.jacobian(&w, z.as_ref(), o).unwrap();
                    let theta = net.tangent_kernel(&w, x.as_ref(), None, o, 1).unwrap();
                    let cross = net
                        .tangent_kernel(&w, x.as_ref(), Some(z.as_ref()), o, 1)
                        .unwrap();
                    for (k, (a, b)) in [(&theta, &jx), (&cross, &jz)].into_iter().enumerate() {
                        for i in 0..a.nrows() {
                            for j in 0..a.ncols() {
                                let want: f64 =
                                    (0..jx.ncols()).map(|p| jx[(i, p)] * b[(j, p)]).sum();
                                assert!(
                                    (a[(i, j)] - want).abs() < 1e-10 * (1.0 + want.abs()),
                                    "{param:?} {act:?} {bias:?} output {o} kernel {k} ({i},{j}): {} vs {want}",
                                    a[(i, j)]
                                );
                            }
                        }
                    }
                }
                // Σᵢⱼ Gᵢⱼ ∂fⱼ(xᵢ)/∂w from the backward pass, against the per-sample gradients.
                let g = Mat::from_fn(n, outputs, |i, j| ((i * 3 + j) as f64 * 0.7).sin());
                let mut ws = Workspace::new();
                net.forward(&w, x.as_ref(), &mut ws).unwrap();
                ws.output_gradient().copy_from(g.as_ref());
                let mut grad = vec![0.0; net.num_params()];
                net.backward(&w, x.as_ref(), &mut ws, &mut grad);
                let js: Vec<Mat<f64>> = (0..outputs)
                    .map(|o| net.jacobian(&w, x.as_ref(), o).unwrap())
                    .collect();
                for p in 0..net.num_params() {
                    let want: f64 = (0..n)
                        .flat_map(|i| (0..outputs).map(move |o| (i, o)))
                        .map(|(i, o)| g[(i, o)] * js[o][(i, p)])
                        .sum();
                    assert!((grad[p] - want).abs() < 1e-10 * (1.0 + want.abs()));
                }
                // f32 agrees with f64 on the outputs.
                let w32: Vec<f32> = net.init(case as u64);
                let x32 = Mat::from_fn(n, d, |i, j| x[(i, j)] as f32);
                let (f64o, f32o) = (
                    net.predict(&w, x.as_ref()).unwrap(),
                    net.predict(&w32, x32.as_ref()).unwrap(),
                );
                for i in 0..n {
                    for j in 0..outputs {
                        let (a, b) = (f64o[(i, j)], f32o[(i, j)] as f64);
                        assert!((a - b).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
                    }
                }
            }
        }
    }
    assert_eq!(case, 36);
}
