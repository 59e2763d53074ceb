//! Langevin sampling and the LLC estimator against closed forms: Aoyagi's formula against the
//! reduced-rank-regression formula and the values the original printed; λ̂ against d/2 for a
//! regular model and against Aoyagi's λ for small DLNs; the MALA acceptance against a brute-force
//! evaluation with Gaussian densities; SGLD with only the localisation term against the
//! stationary law of its AR(1) recursion; hand-written gradients against finite differences.

use approx::assert_relative_eq;
use doubledescent::Device;
use doubledescent::models::{DeepLinearNetwork, Dense, Loss, Model, TrueParam};
use doubledescent::random::{gaussian_vec, seeded};
use doubledescent::sampling::dln_learning_coefficient;
use doubledescent::sampling::{BurnIn, LlcConfig, LlcSummary, LocalPosterior, estimate_llc};
use doubledescent::sampling::{NBeta, SgldConfig, mala_acceptance, sgld_chain};
use faer::Mat;
use rand::RngExt;

/// Aoyagi & Watanabe (2005), reduced-rank regression N → H → M with true rank r.
fn rrr(n: usize, h: usize, m: usize, r: usize) -> f64 {
    let (n, h, m, r) = (n as f64, h as f64, m as f64, r as f64);
    if n + r <= m + h && m + r <= n + h && h + r <= m + n {
        let base = 2.0 * (h + r) * (m + n) - (m - n).powi(2) - (h + r).powi(2);
        let odd = (m + n + h + r) as i64 % 2 == 1;
        (base + if odd { 1.0 } else { 0.0 }) / 8.0
    } else if m + h < n + r {
        (h * m - h * r + n * r) / 2.0
    } else if n + h < m + r {
        (h * n - h * r + m * r) / 2.0
    } else {
        m * n / 2.0
    }
}

#[test]
fn aoyagi_reduces_to_reduced_rank_regression_and_matches_printed_values() {
    let mut count = 0;
    for n in 1..=11 {
        for h in 1..=11 {
            for m in 1..=11 {
                for r in 0..=n.min(h).min(m) {
                    let lam = dln_learning_coefficient(&[n, h, m], r).unwrap().lambda;
                    assert_relative_eq!(lam, rrr(n, h, m, r), epsilon = 1e-9);
                    count += 1;
                }
            }
        }
    }
    assert!(count > 3000);
    // hyperparam_tuning.ipynb: input 455, widths [395, 125, 350, 277, 261, 297], r = 28.
    let c = dln_learning_coefficient(&[455, 395, 125, 350, 277, 261, 297], 28).unwrap();
    assert!(
        (c.lambda - 20546.5).abs() < 1e-9 && c.multiplicity == 3,
        "{c:?}"
    );
    // N = M = 5, four hidden layers: H = 5 gives 7.5 … 12.5 over r; H ≥ 2N gives N²/2 for all r.
    let h5: Vec<f64> = (0..=5)
        .map(|r| {
            dln_learning_coefficient(&[5, 5, 5, 5, 5, 5], r)
                .unwrap()
                .lambda
        })
        .collect();
    assert_eq!(h5, vec![7.5, 9.5, 11.0, 12.0, 12.5, 12.5]);
    for nn in 1..=8 {
        for layers in 1..=5 {
            let sizes: Vec<usize> = std::iter::once(nn)
                .chain(std::iter::repeat_n(2 * nn, layers))
                .chain(std::iter::once(nn))
                .collect();
            for r in 0..=nn {
                let lam = dln_learning_coefficient(&sizes, r).unwrap().lambda;
                assert_eq!(lam, (nn * nn) as f64 / 2.0, "{sizes:?} r={r}");
            }
        }
    }
    let err = dln_learning_coefficient(&[3, 2, 4], 3).unwrap_err();
    assert!(err.to_string().contains("`rank` = 3"), "{err}");
}

#[test]
fn hand_written_gradients_match_finite_differences() {
    let mut rng = seeded(5);
    let x = Mat::from_fn(7, 3, |_, _| rng.random::<f64>() - 0.5);
    let y = Mat::from_fn(7, 2, |i, j| if (i + j) % 2 == 0 { 1.0 } else { 0.0 });
    let models: Vec<Box<dyn Model>> = vec![
        Box::new(DeepLinearNetwork::new(3, &[4, 3], 2).unwrap()),
        Box::new(Dense::mlp(3, &[5, 4], 2, Loss::Mse).unwrap()),
        Box::new(Dense::mlp(3, &[5], 2, Loss::CrossEntropy).unwrap()),
    ];
    for model in &models {
        let w = gaussian_vec(&mut rng, model.num_params(), 0.7);
        let mut g = vec![0.0; w.len()];
        let l = model.loss_grad(&w, x.as_ref(), y.as_ref(), &mut g);
        assert_relative_eq!(
            l,
            model.loss(&w, x.as_ref(), y.as_ref()),
            max_relative = 1e-14
        );
        for k in 0..w.len() {
            let h = 1e-6;
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[k] += h;
            wm[k] -= h;
            let fd = (model.loss(&wp, x.as_ref(), y.as_ref())
                - model.loss(&wm, x.as_ref(), y.as_ref()))
                / (2.0 * h);
            assert!(
                (fd - g[k]).abs() < 1e-7 * (1.0 + g[k].abs()),
                "param {k}: {fd} vs {}",
                g[k]
            );
        }
    }
}

fn dln_problem(
    nin: usize,
    hidden: &[usize],
    nout: usize,
    seed: u64,
    n: usize,
) -> (DeepLinearNetwork, Vec<f64>, Mat<f64>, Mat<f64>) {
    let model = DeepLinearNetwork::new(nin, hidden, nout).unwrap();
    let mut rng = seeded(seed);
    let w = model
        .true_param(
            &mut rng,
            TrueParam::RandRank {
                prop_rank_reduce: 0.5,
            },
        )
        .unwrap();
    let x = Mat::from_fn(n, nin, |_, _| rng.random::<f64>() * 20.0 - 10.0);
    let y = model.forward(&w, x.as_ref());
    (model, w, x, y)
}

/// λ̂ with the tests' localisation γ = 1, on the CPU.
fn estimate<T: doubledescent::Float, M: Model<T> + ?Sized>(
    model: &M,
    w: &[T],
    x: faer::MatRef<'_, T>,
    y: faer::MatRef<'_, T>,
    cfg: &LlcConfig,
) -> doubledescent::Result<LlcSummary> {
    let post = LocalPosterior::new(model, w, x, y)?.localised(1.0)?;
    estimate_llc(&post, cfg, &Device::cpu())
}

fn config(chains: usize) -> LlcConfig {
    LlcConfig {
        sampler: SgldConfig {
            epsilon: 1e-6,
            batch_size: 500,
            steps: 4000,
            ..Default::default()
        },
        chains,
        burn_in: BurnIn::Fraction(0.5),
    }
}

#[test]
fn llc_of_a_regular_model_is_half_its_dimension() {
    // Full-rank linear regression y = x W (4 × 3): d = 12, λ = 6.
    let (model, w, x, y) = dln_problem(4, &[], 3, 9, 10_000);
    let s = estimate(&model, &w, x.as_ref(), y.as_ref(), &config(8)).unwrap();
    assert!(
        (s.llc_mean - 6.0).abs() < 0.6,
        "λ̂ = {} ± {}",
        s.llc_mean,
        s.llc_std
    );
    assert!(s.init_loss < 1e-20);
    assert_relative_eq!(s.nbeta, 10_000.0 / 10_000f64.ln(), max_relative = 1e-15);
    assert_eq!(
        (s.loss_trace.len(), s.loss_trace[0].len(), s.burn_in_steps),
        (8, 4000, 2000)
    );
}

#[test]
fn llc_of_small_deep_linear_networks_is_within_15_percent_of_aoyagi() {
    for (i, (nin, hidden, nout)) in [
        (3, vec![4], 3),
        (4, vec![3, 5], 2),
        (2, vec![6], 4),
        (6, vec![2], 6),
    ]
    .into_iter()
    .enumerate()
    {
        let (model, w, x, y) = dln_problem(nin, &hidden, nout, i as u64, 10_000);
        let r = model.true_rank(&w).unwrap();
        let lam = dln_learning_coefficient(model.sizes(), r).unwrap().lambda;
        let s = estimate(&model, &w, x.as_ref(), y.as_ref(), &config(8)).unwrap();
        let rel = (s.llc_mean - lam).abs() / lam;
        assert!(
            rel < 0.15,
            "{:?} r={r}: λ = {lam}, λ̂ = {} ± {}",
            model.sizes(),
            s.llc_mean,
            s.llc_std
        );
        assert!(s.mala_mean.unwrap() > 0.9);
    }
}

#[test]
fn same_seed_same_estimate_and_divergence_names_chain_and_step() {
    let (model, w, x, y) = dln_problem(3, &[4], 3, 0, 2000);
    let mut cfg = config(3);
    cfg.sampler.steps = 300;
    let a = estimate(&model, &w, x.as_ref(), y.as_ref(), &cfg).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| estimate(&model, &w, x.as_ref(), y.as_ref(), &cfg).unwrap());
    assert_eq!(a.llc_per_chain, b.llc_per_chain);
    cfg.sampler.seed = 1;
    let c = estimate(&model, &w, x.as_ref(), y.as_ref(), &cfg).unwrap();
    assert_ne!(a.llc_per_chain, c.llc_per_chain);
    cfg.sampler.epsilon = 1e-1;
    let err = estimate(&model, &w, x.as_ref(), y.as_ref(), &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chain") && err.contains("diverged at step"),
        "{err}"
    );
    let bad = LlcConfig {
        burn_in: BurnIn::Fraction(1.0),
        ..config(2)
    };
    let err = estimate(&model, &w, x.as_ref(), y.as_ref(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("burn_in"), "{err}");
    let err = estimate(&model, &w[1..], x.as_ref(), y.as_ref(), &config(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("parameter vector"), "{err}");
}

#[test]
fn mala_acceptance_equals_the_gaussian_density_ratio() {
    let (model, w_star, x, y) = dln_problem(3, &[4], 2, 3, 50);
    let mut rng = seeded(4);
    let (eps, nbeta, gamma) = (1e-3, 20.0, 2.0);
    let d = w_star.len();
    let pot = |w: &[f64], g: &mut Vec<f64>| {
        let l = model.loss_grad(w, x.as_ref(), y.as_ref(), g);
        let mut loc = 0.0;
        for k in 0..d {
            g[k] = nbeta * g[k] + gamma * (w[k] - w_star[k]);
            loc += (w[k] - w_star[k]).powi(2);
        }
        nbeta * l + 0.5 * gamma * loc
    };
    // log N(b; a − (ε/2)∇U(a), εI) with its normalising constant.
    let log_q = |b: &[f64], a: &[f64], ga: &[f64]| {
        let sq: f64 = (0..d)
            .map(|k| (b[k] - a[k] + 0.5 * eps * ga[k]).powi(2))
            .sum();
        -0.5 * d as f64 * (2.0 * std::f64::consts::PI * eps).ln() - sq / (2.0 * eps)
    };
    for trial in 0..20 {
        let w: Vec<f64> = w_star
            .iter()
            .map(|v| v + 0.05 * rng.random::<f64>())
            .collect();
        let mut g = vec![0.0; d];
        let u = pot(&w, &mut g);
        let step = if trial < 10 {
            eps.sqrt()
        } else {
            5.0 * eps.sqrt()
        };
        let w2: Vec<f64> = (0..d)
            .map(|k| w[k] - 0.5 * eps * g[k] + step * (rng.random::<f64>() - 0.5))
            .collect();
        let mut g2 = vec![0.0; d];
        let u2 = pot(&w2, &mut g2);
        let brute = (log_q(&w, &w2, &g2) - log_q(&w2, &w, &g) - u2 + u)
            .exp()
            .min(1.0);
        let a = mala_acceptance(&w, &w2, u, u2, &g, &g2, eps).unwrap();
        assert_relative_eq!(a, brute, max_relative = 1e-9, epsilon = 1e-300);
    }
}

#[test]
fn localisation_only_sgld_has_the_ar1_stationary_law() {
    // nβ → 0 leaves w ← w − (εγ/2)(w − w*) + √ε ξ, stationary N(w*, 1/(γ(1 − εγ/4)) I).
    let (model, w_star, x, y) = dln_problem(2, &[], 5, 2, 100);
    let (eps, gamma) = (0.1, 1.0);
    let post = LocalPosterior::new(&model, &w_star, x.as_ref(), y.as_ref())
        .unwrap()
        .localised(gamma)
        .unwrap()
        .tempered(NBeta::Value(1e-300))
        .unwrap();
    let cfg = SgldConfig {
        epsilon: eps,
        batch_size: 10,
        steps: 200, // 10 relaxation times 2/(εγ)
        mala_every: None,
        ..Default::default()
    };
    let d = w_star.len();
    let mut samples = Vec::new();
    for c in 0..2000 {
        let chain = sgld_chain(&post, &cfg, c).unwrap();
        samples.extend(chain.last.iter().zip(&w_star).map(|(a, b)| a - b));
    }
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let target = 1.0 / (gamma * (1.0 - eps * gamma / 4.0));
    // 20000 independent draws: sd of the mean 0.007, of the variance 1%.
    assert!(mean.abs() < 0.04, "mean {mean}");
    assert!(
        (var / target - 1.0).abs() < 0.05,
        "variance {var} vs {target}"
    );
    assert_eq!(samples.len(), 2000 * d);
}

#[test]
fn batched_chain_update_is_the_sgld_formula_with_philox_noise() {
    use doubledescent::Device;
    use doubledescent::random::philox::normal_pair;
    use doubledescent::sampling::{Step, sgld_update_chains};
    let (c, d) = (3usize, 5usize);
    let mut rng = seeded(8);
    let w0 = gaussian_vec(&mut rng, c * d, 1.0);
    let g = gaussian_vec(&mut rng, c * d, 1.0);
    let w_star = gaussian_vec(&mut rng, d, 1.0);
    let p = vec![0.5, 1.0, 2.0, 4.0, 8.0];
    let s = Step {
        epsilon: 1e-2,
        nbeta: 30.0,
        gamma: 2.0,
        seed: 77,
        step: 12,
    };
    let mut w = w0.clone();
    sgld_update_chains(&mut w, &g, &w_star, Some(&p), &s, &Device::cpu()).unwrap();
    for chain in 0..c {
        for k in 0..d {
            let (z0, z1) = normal_pair(77, chain as u32, 12, (k / 2) as u32);
            let z = if k % 2 == 0 { z0 } else { z1 };
            let i = chain * d + k;
            let drift = 30.0 * g[i] + 2.0 * (w0[i] - w_star[k]);
            let want = w0[i] - 0.5 * 1e-2 * p[k] * drift + (1e-2 * p[k]).sqrt() * z;
            assert_relative_eq!(w[i], want, max_relative = 1e-14);
        }
    }
    let err = sgld_update_chains(&mut w, &g[1..], &w_star, None, &s, &Device::cpu()).unwrap_err();
    assert!(
        matches!(err, doubledescent::Error::ShapeMismatch { .. }),
        "{err}"
    );
    // Bad steps, preconditioners and parameters are errors that leave w untouched, never NaN.
    use doubledescent::Error::{InvalidArgument, NonFinite};
    let before = w.clone();
    for (eps, nbeta, gamma) in [
        (f64::NAN, 30.0, 2.0),
        (-1e-2, 30.0, 2.0),
        (1e-2, f64::INFINITY, 2.0),
        (1e-2, 30.0, -1.0),
    ] {
        let bad = Step {
            epsilon: eps,
            nbeta,
            gamma,
            ..s
        };
        let err = sgld_update_chains(&mut w, &g, &w_star, None, &bad, &Device::cpu());
        assert!(
            matches!(err, Err(InvalidArgument { .. })),
            "{eps} {nbeta} {gamma}: {err:?}"
        );
    }
    let negative = vec![0.5, 1.0, -2.0, 4.0, 8.0];
    let err = sgld_update_chains(&mut w, &g, &w_star, Some(&negative), &s, &Device::cpu());
    assert!(matches!(err, Err(InvalidArgument { .. })), "{err:?}");
    let mut nan_star = w_star.clone();
    nan_star[3] = f64::NAN;
    let err = sgld_update_chains(&mut w, &g, &nan_star, None, &s, &Device::cpu());
    assert!(matches!(err, Err(NonFinite { .. })), "{err:?}");
    assert_eq!(w, before);
    // The Philox normals are standard normal: 100000 draws, mean and variance within 5 sd.
    let z: Vec<f64> = (0..50_000u32)
        .flat_map(|i| {
            let (a, b) = normal_pair(1, 0, 0, i);
            [a, b]
        })
        .collect();
    let m = z.iter().sum::<f64>() / z.len() as f64;
    let v = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / z.len() as f64;
    assert!(
        m.abs() < 5.0 / (z.len() as f64).sqrt()
            && (v - 1.0).abs() < 5.0 * (2.0 / z.len() as f64).sqrt(),
        "{m} {v}"
    );
}

/// Both evaluation orders of a deep linear network (layer by layer, and through the end-to-end
/// matrix) give the same loss and gradient, in f64 and in f32, with fresh or reused scratch;
/// `Auto` picks the one with fewer multiply–adds, counted by hand for the bench's network.
#[test]
fn dln_evaluation_orders_agree_in_both_precisions() {
    use doubledescent::models::{ChainOrder, Scratch};
    let mut rng = seeded(31);
    for (nin, hidden, nout, b) in [
        (3, vec![], 2, 9),
        (5, vec![4], 3, 40),
        (6, vec![7, 3, 5], 4, 200),
        (4, vec![9, 8], 3, 2),
    ] {
        let base = DeepLinearNetwork::new(nin, &hidden, nout).unwrap();
        let d = Model::<f64>::num_params(&base);
        let w = gaussian_vec(&mut rng, d, 0.5);
        let x = Mat::from_fn(b, nin, |_, _| rng.random::<f64>() * 2.0 - 1.0);
        let y = Mat::from_fn(b, nout, |_, _| rng.random::<f64>());
        let eval = |order: ChainOrder| {
            let m = base.clone().with_order(order);
            let mut g = vec![0.0; d];
            let l = m.loss_grad(&w, x.as_ref(), y.as_ref(), &mut g);
            (l, g, m.loss(&w, x.as_ref(), y.as_ref()))
        };
        let (l1, g1, f1) = eval(ChainOrder::Layerwise);
        let (l2, g2, f2) = eval(ChainOrder::EndToEnd);
        assert_relative_eq!(l1, l2, max_relative = 1e-12);
        assert_relative_eq!(f1, f2, max_relative = 1e-12);
        assert_relative_eq!(l1, f1, max_relative = 1e-12);
        let scale = g1.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for k in 0..d {
            assert!(
                (g1[k] - g2[k]).abs() <= 1e-12 * scale,
                "{k}: {} {}",
                g1[k],
                g2[k]
            );
        }
        let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let (x32, y32) = (
            Mat::from_fn(b, nin, |i, j| x[(i, j)] as f32),
            Mat::from_fn(b, nout, |i, j| y[(i, j)] as f32),
        );
        for order in [ChainOrder::Layerwise, ChainOrder::EndToEnd] {
            let m = base.clone().with_order(order);
            let mut g32 = vec![0f32; d];
            let mut scratch = Scratch::new();
            // A larger batch first, so the scratch is reused, not fresh.
            let _ = m.loss_in(&mut scratch, &w32, x32.as_ref(), y32.as_ref());
            let l32 = m.loss_grad_in(&mut scratch, &w32, x32.as_ref(), y32.as_ref(), &mut g32);
            assert_relative_eq!(l32, l1, max_relative = 1e-5);
            for k in 0..d {
                assert!(
                    (g32[k] as f64 - g1[k]).abs() <= 1e-5 * scale,
                    "f32 {order:?} {k}: {} {}",
                    g32[k],
                    g1[k]
                );
            }
            let mut g_fresh = vec![0f32; d];
            let l_fresh = m.loss_grad(&w32, x32.as_ref(), y32.as_ref(), &mut g_fresh);
            assert_eq!((l_fresh, &g_fresh), (l32, &g32));
        }
    }
    // The bench's network 100 → 250 → 200 → 100 at batch 500, counted by hand:
    // layerwise 500·95 000 forward + 500·95 000 weight gradients + 500·(250·200 + 200·100)
    // back-propagated; end to end 250·200·100 + 100·250·100 (suffix products) + 2·500·100·100
    // (output and XᵀΔ) + 100·250·100 + 250·200·100 (left) + 100·100·250 + 250·100·200 (right).
    let m = DeepLinearNetwork::new(100, &[250, 200], 100).unwrap();
    assert_eq!(m.cost(ChainOrder::Layerwise, 500, true), 130_000_000);
    assert_eq!(m.cost(ChainOrder::EndToEnd, 500, true), 32_500_000);
    assert_eq!(m.cost(ChainOrder::Layerwise, 500, false), 47_500_000);
    assert_eq!(m.cost(ChainOrder::EndToEnd, 500, false), 12_500_000);
    assert_eq!(m.resolved_order(500, true), ChainOrder::EndToEnd);
    assert_eq!(m.resolved_order(4, true), ChainOrder::Layerwise);
}

/// λ̂ of a regular model (d/2) from f32 chains: the same estimate as the f64 chains with the same
/// seed (same batches and noise; the chains differ by rounding only), and R̂ and ESS reported.
#[test]
fn llc_in_f32_matches_f64_with_the_same_seed() {
    let (model, w, x, y) = dln_problem(4, &[], 3, 9, 10_000);
    let cfg = config(4);
    let s64 = estimate(&model, &w, x.as_ref(), y.as_ref(), &cfg).unwrap();
    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let x32 = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] as f32);
    let y32 = model.forward(&w32, x32.as_ref());
    let s32 = estimate(&model, &w32, x32.as_ref(), y32.as_ref(), &cfg).unwrap();
    assert!((s32.llc_mean - 6.0).abs() < 0.6, "f32 λ̂ = {}", s32.llc_mean);
    for (a, b) in s32.llc_per_chain.iter().zip(&s64.llc_per_chain) {
        assert!((a - b).abs() < 0.02 * b.abs(), "f32 {a} vs f64 {b}");
    }
    for s in [&s32, &s64] {
        let r = s.r_hat.unwrap();
        assert!((0.99..1.05).contains(&r), "R-hat {r}");
        let ess = s.ess.unwrap();
        assert!(ess > 10.0 && ess <= 4.0 * 2000.0 * 4.0, "ESS {ess}");
    }
}

/// Split R̂ and ESS on independent stationary Gaussian AR(1) chains x_t = φx_{t−1} + √(1−φ²)ξ_t,
/// whose autocorrelation is φᵗ, so τ = (1 + φ)/(1 − φ) and ESS = C·N·(1 − φ)/(1 + φ); R̂ → 1.
/// Chains with different means give R̂ well above 1.
#[test]
fn rhat_and_ess_on_ar1_chains_match_the_closed_form() {
    use doubledescent::sampling::{effective_sample_size, split_rhat};
    use rand_distr::StandardNormal;
    let (c, n) = (8, 20_000);
    for (phi, seed) in [(0.0, 1u64), (0.5, 2), (0.9, 3), (0.97, 4)] {
        let mut rng = seeded(seed);
        let chains: Vec<Vec<f64>> = (0..c)
            .map(|_| {
                let mut x: f64 = rng.sample(StandardNormal);
                (0..n)
                    .map(|_| {
                        let z: f64 = rng.sample(StandardNormal);
                        x = phi * x + (1.0 - phi * phi).sqrt() * z;
                        x
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = chains.iter().map(|v| v.as_slice()).collect();
        let want = (c * n) as f64 * (1.0 - phi) / (1.0 + phi);
        let ess = effective_sample_size(&refs).unwrap();
        assert!(
            (ess / want - 1.0).abs() < 0.1,
            "φ = {phi}: ESS {ess} vs {want}"
        );
        let r = split_rhat(&refs).unwrap();
        assert!((r - 1.0).abs() < 0.01, "φ = {phi}: R-hat {r}");
        let shifted: Vec<Vec<f64>> = chains
            .iter()
            .enumerate()
            .map(|(i, v)| v.iter().map(|x| x + i as f64).collect())
            .collect();
        let refs: Vec<&[f64]> = shifted.iter().map(|v| v.as_slice()).collect();
        assert!(split_rhat(&refs).unwrap() > 1.5);
    }
}

/// The calibrated ε reaches the target MALA acceptance in its pilot, keeps it in fresh chains
/// with another seed, and four times that ε falls below it; a bracket whose lower end already
/// misses the target is an error.
#[test]
fn calibrated_epsilon_reaches_the_target_acceptance() {
    use doubledescent::sampling::{EpsilonSearch, calibrate_epsilon, sample};
    let (model, w, x, y) = dln_problem(4, &[3], 3, 2, 5000);
    let post = LocalPosterior::new(&model, &w, x.as_ref(), y.as_ref())
        .unwrap()
        .localised(1.0)
        .unwrap();
    let base = SgldConfig {
        batch_size: 500,
        ..Default::default()
    };
    let search = EpsilonSearch {
        target_acceptance: 0.9,
        pilot_steps: 100,
        chains: 2,
        iterations: 8,
        ..Default::default()
    };
    let cpu = Device::cpu();
    let c = calibrate_epsilon(&post, &base, &search, &cpu).unwrap();
    assert!(c.acceptance >= 0.9 && c.trials.len() == 10, "{c:?}");
    let acceptance = |epsilon: f64| {
        let cfg = SgldConfig {
            epsilon,
            steps: 100,
            seed: 5,
            mala_every: Some(1),
            ..base.clone()
        };
        let runs = sample(&cfg, &post, 2, &cpu);
        runs.map_or(0.0, |r| {
            let a: Vec<f64> = r.iter().flat_map(|c| c.mala.iter().map(|m| m.1)).collect();
            a.iter().sum::<f64>() / a.len() as f64
        })
    };
    assert!(acceptance(c.epsilon) > 0.85, "{}", acceptance(c.epsilon));
    assert!(
        acceptance(4.0 * c.epsilon) < 0.9,
        "{}",
        acceptance(4.0 * c.epsilon)
    );
    let high = EpsilonSearch {
        lo: 1.0,
        hi: 2.0,
        ..search
    };
    let err = calibrate_epsilon(&post, &base, &high, &cpu);
    assert!(
        matches!(err, Err(doubledescent::Error::InvalidArgument { .. })),
        "{err:?}"
    );
}
