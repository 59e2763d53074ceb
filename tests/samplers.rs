//! Every sampler on every model: SGLD, MALA and SGNHT behind the one `Sampler` interface, run by
//! `estimate_llc` on a `LocalPosterior`, against closed forms.
//!
//! * A Gaussian posterior: linear regression y = xW* with orthogonal input columns, whose
//!   localised tempered posterior is N(W*, (nβH + γI)⁻¹), so E[nβ(L − L(W*))] =
//!   ½ Σₖ nβhₖ/(nβhₖ + γ) exactly (the trace of a Gaussian quadratic form).
//! * A singular model: a dense network with the identity activation is a deep linear network,
//!   whose learning coefficient is Aoyagi's closed form; all three samplers reach it in f32 and
//!   f64.

use doubledescent::Device;
use doubledescent::models::{
    Activation, Bias, DeepLinearNetwork, Dense, Model, Parameterisation, TrueParam,
};
use doubledescent::random::seeded;
use doubledescent::sampling::{
    BurnIn, LlcConfig, LlcSummary, LocalPosterior, Localisation, MalaConfig, NBeta, Sampler,
    SgldConfig, SgnhtConfig, dln_learning_coefficient, estimate_llc,
};
use doubledescent::{Float, Result};
use faer::{Mat, MatRef};
use rand::RngExt;

fn llc<T: Float, M: Model<T> + ?Sized, S: Sampler>(
    model: &M,
    w: &[T],
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
    gamma: f64,
    sampler: S,
    chains: usize,
) -> Result<LlcSummary> {
    let post = LocalPosterior::new(model, w, x, y)?
        .localised(gamma)?
        .tempered(NBeta::DatasetLog)?;
    let cfg = LlcConfig {
        sampler,
        chains,
        burn_in: BurnIn::Fraction(0.5),
    };
    estimate_llc(&post, &cfg, &Device::cpu())
}

fn to32(a: &Mat<f64>) -> Mat<f32> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] as f32)
}

/// Linear regression N = 3 → M = 2 on n = 2¹² rows whose columns are ±cⱼ Walsh patterns
/// (exactly orthogonal: XᵀX = n·diag(cⱼ²)), and the closed-form E[λ̂] at γ.
fn gaussian_problem(gamma: f64) -> (DeepLinearNetwork, Vec<f64>, Mat<f64>, Mat<f64>, f64) {
    let (n, nin, nout) = (1usize << 12, 3, 2);
    let c = [0.3, 1.0, 2.0];
    let x = Mat::from_fn(n, nin, |i, j| {
        let bits = [i & 1, (i >> 1) & 1, (i >> 2) & 1];
        // Walsh functions of one, two and three bits: orthogonal over any 8 consecutive rows.
        let s = match j {
            0 => bits[0],
            1 => bits[1] ^ bits[0],
            _ => bits[2] ^ bits[1] ^ bits[0],
        };
        if s == 0 { c[j] } else { -c[j] }
    });
    let model = DeepLinearNetwork::new(nin, &[], nout).unwrap();
    let w = vec![0.5, -1.0, 0.3, 0.8, 0.1, -0.4];
    let y = model.forward(&w, x.as_ref());
    // L = (1/(nM)) Σ ‖x(W − W*)‖² = ½ δᵀHδ with H = (2/(nM))XᵀX per output column.
    let nbeta = n as f64 / (n as f64).ln();
    let expected: f64 = c
        .iter()
        .map(|cj| {
            let h = 2.0 * cj * cj / nout as f64;
            0.5 * nbeta * h / (nbeta * h + gamma)
        })
        .sum::<f64>()
        * nout as f64;
    (model, w, x, y, expected)
}

#[test]
fn every_sampler_recovers_the_gaussian_posterior_in_f32_and_f64() {
    // γ comparable to nβh = 44, 492, 1970, so E[λ̂] = 1.618 is far from d/2 = 3: the formula
    // is tested, not the regular-model limit.
    let gamma = 300.0;
    let (model, w, x, y, expected) = gaussian_problem(gamma);
    assert!((expected - 1.618).abs() < 0.001, "{expected}");
    let runs = all_samplers(
        &model,
        &w,
        (&x, &y),
        gamma,
        Steps {
            epsilon: 1e-4,
            mala_epsilon: 1e-3,
            batch: 256,
            steps: 4000,
            mala_steps: 2000,
        },
    );
    assert_near(&runs, expected, 0.08, "closed form", Some(0.5));
}

/// Every run's λ̂ within relative `tol` of `expected` (named `what` in messages). MALA runs (an
/// acceptance recorded but no SGLD diagnostic) must also accept more than `min_mala_acceptance`.
fn assert_near(
    runs: &[(String, LlcSummary)],
    expected: f64,
    tol: f64,
    what: &str,
    min_mala_acceptance: Option<f64>,
) {
    for (name, s) in runs {
        eprintln!(
            "{name}: λ̂ = {:.4} ± {:.4} ({what} {expected:.4})",
            s.llc_mean, s.llc_std
        );
        let rel = (s.llc_mean - expected).abs() / expected;
        assert!(
            rel < tol,
            "{name}: λ̂ = {} ± {} against {what} {expected}",
            s.llc_mean,
            s.llc_std
        );
        let mala = s.mala_mean.is_some() && s.mala_acceptance.iter().all(Vec::is_empty);
        if let (true, Some(min)) = (mala, min_mala_acceptance) {
            assert!(
                s.mala_mean.unwrap() > min,
                "{name}: MALA acceptance {:?}",
                s.mala_mean
            );
        }
    }
}

/// Step sizes and lengths of the three samplers.
struct Steps {
    epsilon: f64,
    mala_epsilon: f64,
    batch: usize,
    steps: usize,
    mala_steps: usize,
}

/// λ̂ at w of (x, y) from SGLD, MALA and SGNHT, 4 chains each, in f64 and then in f32 (w, x
/// rounded, y recomputed in f32), at localisation γ and nβ = n/log n.
fn all_samplers<M: Model<f32> + Model<f64>>(
    model: &M,
    w: &[f64],
    (x, y): (&Mat<f64>, &Mat<f64>),
    gamma: f64,
    st: Steps,
) -> Vec<(String, LlcSummary)> {
    let sgld = SgldConfig {
        epsilon: st.epsilon,
        batch_size: st.batch,
        steps: st.steps,
        mala_every: None,
        ..Default::default()
    };
    let mala = MalaConfig {
        epsilon: st.mala_epsilon,
        steps: st.mala_steps,
        seed: 3,
    };
    let sgnht = SgnhtConfig {
        epsilon: st.epsilon,
        batch_size: st.batch,
        steps: st.steps,
        ..Default::default()
    };
    let (w32, x32) = (w.iter().map(|&v| v as f32).collect::<Vec<_>>(), to32(x));
    let y32 = Model::<f32>::forward(model, &w32, x32.as_ref());
    let mut out = vec![];
    let runs64 = |name: &str| -> LlcSummary {
        let (x, y) = (x.as_ref(), y.as_ref());
        match name {
            "SGLD" => llc(model, w, x, y, gamma, sgld.clone(), 4),
            "MALA" => llc(model, w, x, y, gamma, mala.clone(), 4),
            _ => llc(model, w, x, y, gamma, sgnht.clone(), 4),
        }
        .unwrap()
    };
    let runs32 = |name: &str| -> LlcSummary {
        let (x, y) = (x32.as_ref(), y32.as_ref());
        match name {
            "SGLD" => llc(model, &w32, x, y, gamma, sgld.clone(), 4),
            "MALA" => llc(model, &w32, x, y, gamma, mala.clone(), 4),
            _ => llc(model, &w32, x, y, gamma, sgnht.clone(), 4),
        }
        .unwrap()
    };
    for name in ["SGLD", "MALA", "SGNHT"] {
        out.push((format!("{name} f64"), runs64(name)));
    }
    for name in ["SGLD", "MALA", "SGNHT"] {
        out.push((format!("{name} f32"), runs32(name)));
    }
    out
}

/// The identity-activation dense network in the plain parameterisation computes x W₁ᵀ W₂ᵀ with
/// the deep linear network's parameter layout.
fn linear_dense(nin: usize, hidden: usize, nout: usize) -> Dense {
    Dense::new(
        nin,
        &[hidden],
        nout,
        Activation::Identity,
        Parameterisation::Standard,
    )
    .unwrap()
    .with_bias(Bias::None)
    .unwrap()
}

#[test]
fn every_sampler_on_a_dense_network_reaches_aoyagi_in_f32_and_f64() {
    let (nin, hidden, nout, n) = (3, 4, 3, 5000);
    let dln = DeepLinearNetwork::new(nin, &[hidden], nout).unwrap();
    let net = linear_dense(nin, hidden, nout);
    let mut rng = seeded(0);
    let w = dln
        .true_param(
            &mut rng,
            TrueParam::RandRank {
                prop_rank_reduce: 0.5,
            },
        )
        .unwrap();
    let x = Mat::from_fn(n, nin, |_, _| rng.random::<f64>() * 20.0 - 10.0);
    let y = dln.forward(&w, x.as_ref());
    // The same function: the dense network's outputs are the DLN's.
    let f = net.predict(&w, x.as_ref()).unwrap();
    for i in 0..n {
        for j in 0..nout {
            assert!((f[(i, j)] - y[(i, j)]).abs() < 1e-12 * (1.0 + y[(i, j)].abs()));
        }
    }
    let rank = dln.true_rank(&w).unwrap();
    let lambda = dln_learning_coefficient(dln.sizes(), rank).unwrap().lambda;
    let runs = all_samplers(
        &net,
        &w,
        (&x, &y),
        1.0,
        Steps {
            epsilon: 1e-6,
            mala_epsilon: 1e-6,
            batch: 500,
            steps: 3000,
            mala_steps: 2000,
        },
    );
    assert_near(&runs, lambda, 0.2, "Aoyagi", None);
}

/// SGLD runs on the dense network in its three parameterisations (ReLU, swish, softplus; with and
/// without biases) in both precisions, and at a parameter that fits its own outputs exactly
/// gives 0 < λ̂ < d/2 (Watanabe: λ ≤ d/2).
#[test]
fn samplers_run_on_every_dense_configuration() {
    let mut rng = seeded(4);
    let n = 600;
    let x = Mat::from_fn(n, 4, |_, _| rng.random::<f64>() * 2.0 - 1.0);
    for (act, param, bias) in [
        (Activation::Relu, Parameterisation::Tutorial, Bias::Hidden),
        (
            Activation::Swish { beta: 10.0 },
            Parameterisation::Ntk,
            Bias::None,
        ),
        (
            Activation::Softplus { beta: 3.0 },
            Parameterisation::Standard,
            Bias::All,
        ),
    ] {
        let net = Dense::new(4, &[6, 5], 2, act, param)
            .unwrap()
            .with_bias(bias)
            .unwrap();
        let w: Vec<f64> = net.init(7);
        let y = net.predict(&w, x.as_ref()).unwrap();
        let x32 = to32(&x);
        let w32: Vec<f32> = net.init(7);
        let y32 = net.predict(&w32, x32.as_ref()).unwrap();
        let d = net.num_params() as f64;
        let sgld = SgldConfig {
            epsilon: 1e-5,
            batch_size: 100,
            steps: 400,
            ..Default::default()
        };
        let a = llc(&net, &w, x.as_ref(), y.as_ref(), 10.0, sgld.clone(), 2).unwrap();
        let b = llc(&net, &w32, x32.as_ref(), y32.as_ref(), 10.0, sgld, 2).unwrap();
        for s in [&a, &b] {
            assert!(
                s.llc_mean > 0.0 && s.llc_mean < d / 2.0,
                "{act:?}: {}",
                s.llc_mean
            );
        }
    }
}

/// Bad settings are named errors before any chain runs.
#[test]
fn bad_sampler_settings_are_named_errors() {
    use doubledescent::Error;
    use doubledescent::models::{Loss, MarginLoss, MarginNetwork};
    use doubledescent::sampling::rescale_hidden_layer;
    let (model, w, x, y, _) = gaussian_problem(1.0);
    let post = LocalPosterior::new(&model, &w, x.as_ref(), y.as_ref()).unwrap();
    let run = |s: &dyn Fn() -> Result<LlcSummary>| match s() {
        Err(Error::InvalidArgument { name, .. }) => name,
        other => panic!("expected a named error, got {other:?}"),
    };
    let est = |cfg: LlcConfig<SgnhtConfig>| estimate_llc(&post, &cfg, &Device::cpu());
    let cfg = |sampler: SgnhtConfig, chains: usize| LlcConfig {
        sampler,
        chains,
        burn_in: BurnIn::Fraction(0.5),
    };
    let ok = SgnhtConfig {
        steps: 10,
        ..Default::default()
    };
    for (bad, name) in [
        (
            SgnhtConfig {
                diffusion: f64::NAN,
                ..ok.clone()
            },
            "diffusion",
        ),
        (
            SgnhtConfig {
                batch_size: 0,
                ..ok.clone()
            },
            "batch_size",
        ),
        (
            SgnhtConfig {
                epsilon: -1.0,
                ..ok.clone()
            },
            "epsilon",
        ),
        (
            SgnhtConfig {
                steps: 0,
                ..ok.clone()
            },
            "steps",
        ),
    ] {
        assert_eq!(run(&|| est(cfg(bad.clone(), 2))), name);
    }
    assert_eq!(run(&|| est(cfg(ok.clone(), 0))), "chains");
    let mala = LlcConfig {
        sampler: MalaConfig {
            epsilon: f64::INFINITY,
            steps: 10,
            seed: 0,
        },
        chains: 1,
        burn_in: BurnIn::Steps(0),
    };
    assert_eq!(
        run(&|| estimate_llc(&post, &mala, &Device::cpu())),
        "epsilon"
    );
    assert!(matches!(
        post.localised(f64::NAN),
        Err(Error::InvalidArgument { name: "gamma", .. })
    ));
    assert!(matches!(
        post.tempered(NBeta::Value(-1.0)),
        Err(Error::InvalidArgument { name: "nbeta", .. })
    ));
    // The margin objective needs one output; the rescaling symmetry a homogeneous activation.
    let two = Dense::mlp(3, &[4], 2, Loss::Mse).unwrap();
    let w2: Vec<f64> = two.init(0);
    assert!(matches!(
        MarginNetwork::new(two.clone(), w2.clone(), 1.0, MarginLoss::ORIGINAL),
        Err(Error::InvalidArgument { name: "net", .. })
    ));
    let swish = Dense::new(
        3,
        &[4],
        2,
        Activation::Swish { beta: 10.0 },
        Parameterisation::Standard,
    )
    .unwrap();
    let ws: Vec<f64> = swish.init(0);
    assert!(matches!(
        rescale_hidden_layer(&swish, &ws, 0, 2.0),
        Err(Error::InvalidArgument { name: "model", .. })
    ));
}

/// The problem `python/tests/test_llc.py` solves through the Python package: the same model, w*,
/// data, sampler settings and seed must give the same λ̂ to the last bit (the binding adds no
/// arithmetic of its own). Both files hold the value this test printed.
#[test]
fn the_python_reference_problem_gives_the_recorded_estimate() {
    let model = DeepLinearNetwork::new(3, &[4], 2).unwrap();
    let w_star: Vec<f64> = (0..model.num_params())
        .map(|i| ((i * 5 + 2) % 9) as f64 / 4.0 - 1.0)
        .collect();
    let x = Mat::from_fn(500, 3, |i, j| (((i * 7 + j * 3) % 11) as f64 - 5.0) / 3.0);
    let y = Model::<f64>::forward(&model, &w_star, x.as_ref());
    let post = LocalPosterior::new(&model, &w_star, x.as_ref(), y.as_ref())
        .unwrap()
        .localise(Localisation {
            gamma: 100.0,
            nbeta: NBeta::BatchLog,
        })
        .unwrap();
    let cfg = LlcConfig {
        sampler: SgldConfig {
            epsilon: 1e-4,
            batch_size: 100,
            steps: 400,
            seed: 3,
            ..Default::default()
        },
        chains: 4,
        burn_in: BurnIn::Steps(100),
    };
    let s = estimate_llc(&post, &cfg, &Device::cpu()).unwrap();
    println!(
        "python reference: llc_mean = {:?}, chain 0 = {:?}",
        s.llc_mean, s.llc_per_chain[0]
    );
    assert_eq!(s.llc_mean, PYTHON_REFERENCE_LLC);
}

/// λ̂ of [`the_python_reference_problem_gives_the_recorded_estimate`], as printed by it.
const PYTHON_REFERENCE_LLC: f64 = 1.4467261332965105;
