//! The shapes this crate's layers share, checked against independent references: the `Fit` /
//! `Predict` solvers against closed forms and each other, the statistics against textbook values,
//! the sampling helpers (MALA λ̂, the rescaling preconditioner, the LLC along training, the
//! lockstep chains) against hand-written loops, and the named errors.

use approx::assert_relative_eq;
use doubledescent::check::check_alloc;
use doubledescent::data::{self, Minibatches, uniform_inputs};
use doubledescent::kernels::{Kernel, KernelKind};
use doubledescent::linalg::{Cutoff, qr_seq};
use doubledescent::models::{DeepLinearNetwork, Dense, Loss, Model, full_loss};
use doubledescent::sampling::{
    BurnIn, Checkpoint, CheckpointSeed, LlcCheckpoints, LlcConfig, LlcTarget, LocalPosterior,
    Localisation, MalaConfig, NBeta, SgdConfig, SgldConfig, estimate_llc, llc_over_training,
    mala_chain, rescale_hidden_layer, sgld_chain, sgld_chains_lockstep,
};
use doubledescent::solvers::{
    EigenProOptions, EigenProRegressor, Fit, KernelRidge, MinNormLeastSquares, Predict, Solver,
};
use doubledescent::stats::{mean_std, quantile_sorted};
use doubledescent::{Device, Error, random};
use faer::Mat;
use faer::linalg::solvers::Solve;

fn cpu() -> Device {
    Device::cpu()
}

#[test]
fn mean_std_and_quantiles_match_textbook_values() {
    let v = [1.0, 2.0, 3.0, 4.0];
    let (m, pop) = mean_std(&v, 0).unwrap();
    let (_, sample) = mean_std(&v, 1).unwrap();
    assert_eq!(m, 2.5);
    assert_relative_eq!(pop, 1.25f64.sqrt(), max_relative = 1e-15);
    assert_relative_eq!(sample, (5.0f64 / 3.0).sqrt(), max_relative = 1e-15);
    assert_eq!(mean_std(&[7.0], 1).unwrap(), (7.0, 0.0));
    // NumPy: np.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 1]) = 1, 1.75, 2.5, 4.
    for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 2.5), (1.0, 4.0)] {
        assert_eq!(quantile_sorted(&v, q).unwrap(), want);
    }
    // Each bad argument is named (the variant's fields, not the message text).
    let named = |r: doubledescent::Result<f64>| match r {
        Err(Error::InvalidArgument { name, value, .. }) => (name, value),
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(named(quantile_sorted(&[], 0.5)).0, "sorted");
    assert_eq!(named(quantile_sorted(&v, 1.5)), ("q", "1.5".to_string()));
    assert_eq!(named(quantile_sorted(&[2.0, 1.0], 0.5)).0, "sorted");
    assert!(mean_std(&[], 0).is_err());
    assert!(mean_std(&[1.0, f64::NAN], 0).is_err());
}

#[test]
fn qr_reconstructs_and_rejects_empty_matrices() {
    let mut rng = random::seeded(3);
    let a = random::gaussian_matrix(&mut rng, 6, 4, 1.0);
    let (q, r) = qr_seq(a.as_ref()).unwrap();
    let qr = &q * &r;
    let qtq = q.transpose() * &q;
    for i in 0..6 {
        for j in 0..4 {
            assert!((qr[(i, j)] - a[(i, j)]).abs() < 1e-13);
            if i < 4 {
                assert!((qtq[(i, j)] - f64::from(u8::from(i == j))).abs() < 1e-14);
                if i > j {
                    assert_eq!(r[(i, j)], 0.0);
                }
            }
        }
    }
    let e = qr_seq(Mat::<f64>::zeros(3, 0).as_ref())
        .unwrap_err()
        .to_string();
    assert!(e.contains("3×0"), "{e}");
    assert!(random::haar_orthogonal(&mut rng, 0).is_err());
}

#[test]
fn kernels_are_checked_once_when_built() {
    for bad in [
        KernelKind::Laplace { bandwidth: 0.0 },
        KernelKind::Gaussian {
            bandwidth: f64::NAN,
        },
        KernelKind::Dispersal {
            bandwidth: 1.0,
            gamma: 2.5,
        },
    ] {
        assert!(matches!(
            Kernel::try_from(bad),
            Err(Error::InvalidArgument { .. })
        ));
    }
    let k = Kernel::try_from(KernelKind::Dispersal {
        bandwidth: 2.0,
        gamma: 1.0,
    })
    .unwrap();
    assert_eq!(
        k.kind(),
        KernelKind::Dispersal {
            bandwidth: 2.0,
            gamma: 1.0
        }
    );
    // Dispersal at γ = 1 is the Laplace kernel.
    let (x, z) = ([0.3, -1.0], [1.2, 0.4]);
    assert_relative_eq!(
        k.eval(&x, &z).unwrap(),
        Kernel::laplace(2.0).unwrap().eval(&x, &z).unwrap(),
        max_relative = 1e-15
    );
}

#[test]
fn least_squares_solver_matches_the_normal_equations() {
    // Tall, full column rank: β = (XᵀX)⁻¹Xᵀy.
    let mut rng = random::seeded(8);
    let x = random::gaussian_matrix(&mut rng, 30, 4, 1.0);
    let y = random::gaussian_matrix(&mut rng, 30, 2, 1.0);
    let fit = MinNormLeastSquares::new(Cutoff::default())
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    let xtx = x.transpose() * &x;
    let beta = xtx.partial_piv_lu().solve(x.transpose() * &y);
    for i in 0..4 {
        for j in 0..2 {
            assert_relative_eq!(fit.coef[(i, j)], beta[(i, j)], max_relative = 1e-10);
        }
    }
    assert_eq!(fit.rank, 4);
    let p = fit.predict(x.as_ref()).unwrap();
    let want = &x * &beta;
    assert!((0..30).all(|i| (p[(i, 1)] - want[(i, 1)]).abs() < 1e-10));
    let e = fit
        .predict(Mat::<f64>::zeros(2, 3).as_ref())
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 columns") && e.contains("3 columns"), "{e}");
    assert!(MinNormLeastSquares::new(Cutoff::relative(-1.0)).is_err());
}

#[test]
fn eigenpro_regressor_converges_to_the_direct_interpolant() {
    // 200 unit-norm MNIST digits, Laplace σ = 10: EigenPro's fitted model predicts like the LU
    // interpolant on held-out digits.
    let digits = data::mnist_embedded().unwrap();
    let train = digits.select(&(0..200).collect::<Vec<_>>()).unwrap();
    let test = digits.select(&(9000..9100).collect::<Vec<_>>()).unwrap();
    let (x, y): (Mat<f64>, Mat<f64>) = (train.unit_rows().unwrap(), train.one_hot().unwrap());
    let z: Mat<f64> = test.unit_rows().unwrap();
    let kernel = Kernel::laplace(10.0).unwrap();
    let direct = KernelRidge::new(kernel, 0.0, Solver::Lu, &cpu())
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    let pro = EigenProRegressor::new(kernel, 300, EigenProOptions::default(), &cpu())
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    assert_eq!(pro.history.len(), 1);
    let (pd, pp) = (
        direct.predict(z.as_ref()).unwrap(),
        pro.predict(z.as_ref()).unwrap(),
    );
    let worst = (0..100)
        .flat_map(|i| (0..10).map(move |j| (i, j)))
        .map(|(i, j)| (pd[(i, j)] - pp[(i, j)]).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "max |direct − EigenPro| = {worst}");
    assert!(EigenProRegressor::new(kernel, 0, EigenProOptions::default(), &cpu()).is_err());
    let bad = EigenProOptions {
        alpha: 1.5,
        ..Default::default()
    };
    let e = EigenProRegressor::new(kernel, 10, bad, &cpu())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`alpha` = 1.5"), "{e}");
    let e = KernelRidge::new(kernel, -1.0, Solver::Lu, &cpu())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`ridge` = -1"), "{e}");
}

/// A small regular model: linear regression with 3 inputs and 2 outputs (d = 6).
fn linear_problem(n: usize) -> (DeepLinearNetwork, Vec<f64>, Mat<f64>, Mat<f64>) {
    let model = DeepLinearNetwork::new(3, &[], 2).unwrap();
    let w = vec![0.5, -1.0, 0.3, 0.8, 0.1, -0.4];
    let mut rng = random::seeded(11);
    let x = uniform_inputs(n, 3, -1.0, 1.0, &mut rng).unwrap();
    let y = model.forward(&w, x.as_ref());
    (model, w, x, y)
}

#[test]
fn mala_llc_averages_its_chains() {
    let (model, w, x, y) = linear_problem(500);
    let post = LocalPosterior::new(&model, &w, x.as_ref(), y.as_ref())
        .and_then(|p| p.localised(1.0))
        .and_then(|p| p.tempered(NBeta::Value(80.0)))
        .unwrap();
    let cfg = MalaConfig {
        epsilon: 1e-4,
        steps: 300,
        seed: 5,
    };
    let llc = |chains: usize| {
        let run = LlcConfig {
            sampler: cfg.clone(),
            chains,
            burn_in: BurnIn::Steps(0),
        };
        estimate_llc(&post, &run, &cpu())
    };
    let est = llc(3).unwrap();
    // The same chains one by one, and λ̂ = nβ(mean loss − L(w*)) by hand.
    let init = full_loss(&model, &w, x.as_ref(), y.as_ref()).unwrap();
    let by_hand: Vec<f64> = (0..3)
        .map(|c| {
            let ch = mala_chain(&post, &cfg, c).unwrap();
            80.0 * (ch.losses.iter().sum::<f64>() / 300.0 - init)
        })
        .collect();
    for (a, b) in est.llc_per_chain.iter().zip(&by_hand) {
        assert_relative_eq!(*a, *b, max_relative = 1e-12);
    }
    let mean = by_hand.iter().sum::<f64>() / 3.0;
    assert_relative_eq!(est.llc_mean, mean, max_relative = 1e-12);
    let rate = est.mala_mean.unwrap();
    assert!(rate > 0.0 && rate <= 1.0);
    assert!(est.mala_acceptance.iter().all(|a| a.is_empty()));
    let bad = post.tempered(NBeta::Value(0.0));
    assert!(matches!(bad, Err(Error::InvalidArgument { .. })));
    assert!(matches!(llc(0), Err(Error::InvalidArgument { .. })));
}

#[test]
fn rescaling_keeps_the_function_and_scales_the_preconditioner() {
    let model = Dense::mlp(4, &[6, 5], 3, Loss::Mse).unwrap();
    let mut rng = random::seeded(2);
    let w: Vec<f64> = model.init_he(&mut rng);
    let x = uniform_inputs(20, 4, -2.0, 2.0, &mut rng).unwrap();
    let f0 = model.predict(&w, x.as_ref()).unwrap();
    for layer in [0, 1] {
        let r = rescale_hidden_layer(&model, &w, layer, 7.5).unwrap();
        let f1 = model.predict(&r.w, x.as_ref()).unwrap();
        for i in 0..20 {
            for j in 0..3 {
                assert!((f0[(i, j)] - f1[(i, j)]).abs() < 1e-12 * f0[(i, j)].abs().max(1.0));
            }
        }
        let (into, into_bias) = model.layer_ranges(layer);
        for k in into.chain(into_bias) {
            assert_eq!(r.preconditioner[k], 7.5 * 7.5);
            assert_relative_eq!(r.w[k], 7.5 * w[k], max_relative = 1e-15);
        }
        for k in model.layer_ranges(layer + 1).0 {
            assert_relative_eq!(r.preconditioner[k], 1.0 / (7.5 * 7.5), max_relative = 1e-15);
        }
        for k in model.layer_ranges(layer + 1).1 {
            assert_eq!(r.preconditioner[k], 1.0);
        }
    }
    assert!(rescale_hidden_layer(&model, &w, 2, 2.0).is_err());
    assert!(rescale_hidden_layer(&model, &w, 0, -1.0).is_err());
}

#[test]
fn llc_over_training_matches_a_hand_written_loop() {
    let model = DeepLinearNetwork::new(3, &[4], 2).unwrap();
    let (_, _, x, _) = linear_problem(400);
    let teacher = [1.0, -2.0, 0.5, 0.3, 1.5, -0.7];
    let y = DeepLinearNetwork::new(3, &[], 2)
        .unwrap()
        .forward(&teacher, x.as_ref());
    let llc = LlcConfig {
        sampler: SgldConfig {
            epsilon: 1e-4,
            batch_size: 50,
            steps: 60,
            seed: 9,
            mala_every: None,
            ..Default::default()
        },
        chains: 2,
        burn_in: BurnIn::Steps(10),
    };
    let sgd = SgdConfig {
        learning_rate: 0.05,
        batch_size: 40,
        steps: 30,
    };
    let after = vec![0, 1, 7, 30];
    let mut rng = random::seeded(4);
    let w0 = model.init(&mut rng, Some(0.3));
    for (target, seed) in [
        (LlcTarget::TrainingData, CheckpointSeed::Fixed),
        (LlcTarget::OwnOutputs, CheckpointSeed::XorLastStep),
    ] {
        let checkpoints = LlcCheckpoints {
            after: after.clone(),
            llc: llc.clone(),
            localisation: Localisation::default(),
            target,
            seed,
        };
        let (mut w, mut rng_a) = (w0.clone(), random::seeded(5));
        let mut seen = 0;
        let got = llc_over_training(
            &model,
            &mut w,
            x.as_ref(),
            y.as_ref(),
            &sgd,
            &checkpoints,
            &mut rng_a,
            &cpu(),
            &mut |c: &Checkpoint, _: &[f64]| {
                seen += c.updates;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, 38);
        // The reference: SGD by hand, λ̂ at the same points.
        let (mut v, mut rng_b) = (w0.clone(), random::seeded(5));
        let mut batches = Minibatches::new(400, 40, true).unwrap();
        let mut grad = vec![0.0; v.len()];
        let mut k = 0;
        for c in &got {
            while k < c.updates {
                let idx = batches.next_batch(&mut rng_b);
                let (xb, yb) = (
                    data::gather_rows(x.as_ref(), idx),
                    data::gather_rows(y.as_ref(), idx),
                );
                model.loss_grad(&v, xb.as_ref(), yb.as_ref(), &mut grad);
                for (vi, g) in v.iter_mut().zip(&grad) {
                    *vi -= 0.05 * g;
                }
                k += 1;
            }
            let mut cfg = llc.clone();
            if seed == CheckpointSeed::XorLastStep {
                cfg.sampler.seed ^= k.saturating_sub(1) as u64;
            }
            let yk = match target {
                LlcTarget::TrainingData => y.clone(),
                LlcTarget::OwnOutputs => model.forward(&v, x.as_ref()),
            };
            let post = LocalPosterior::new(&model, &v, x.as_ref(), yk.as_ref()).unwrap();
            let s = estimate_llc(&post, &cfg, &cpu()).unwrap();
            assert_eq!(
                c.loss,
                full_loss(&model, &v, x.as_ref(), y.as_ref()).unwrap()
            );
            assert_eq!(c.llc.llc_mean, s.llc_mean);
        }
        assert_eq!(got.iter().map(|c| c.updates).collect::<Vec<_>>(), after);
        assert_eq!(w, v);
    }
    // Checkpoints out of order, and a learning rate that blows up.
    let bad = LlcCheckpoints {
        after: vec![5, 2],
        llc: llc.clone(),
        localisation: Localisation::default(),
        target: LlcTarget::TrainingData,
        seed: CheckpointSeed::Fixed,
    };
    let mut w = w0.clone();
    let e = llc_over_training(
        &model,
        &mut w,
        x.as_ref(),
        y.as_ref(),
        &sgd,
        &bad,
        &mut random::seeded(1),
        &cpu(),
        &mut |_: &Checkpoint, _: &[f64]| Ok(()),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("ascending"), "{e}");
    let wild = SgdConfig {
        learning_rate: 1e3,
        ..sgd
    };
    let late = LlcCheckpoints {
        after: vec![30],
        ..bad
    };
    let mut w = w0.clone();
    let e = llc_over_training(
        &model,
        &mut w,
        x.as_ref(),
        y.as_ref(),
        &wild,
        &late,
        &mut random::seeded(1),
        &cpu(),
        &mut |_: &Checkpoint, _: &[f64]| Ok(()),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Diverged {
                process: "SGD run",
                step: 30,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn lockstep_chains_equal_independent_chains() {
    // The driver the CUDA path uses, run with the CPU update: the same chains, bit for bit, as
    // running each chain on its own.
    let (model, w, x, y) = linear_problem(300);
    let post = LocalPosterior::new(&model, &w, x.as_ref(), y.as_ref())
        .and_then(|p| p.localised(5.0))
        .unwrap();
    let cfg = SgldConfig {
        epsilon: 1e-4,
        batch_size: 32,
        steps: 50,
        seed: 21,
        mala_every: Some(7),
        preconditioner: Some(vec![1.0, 0.5, 2.0, 1.0, 1.5, 0.8]),
        ..Default::default()
    };
    let together = sgld_chains_lockstep(&post, &cfg, 3, &cpu()).unwrap();
    for (c, chain) in together.iter().enumerate() {
        let alone = sgld_chain(&post, &cfg, c as u32).unwrap();
        assert_eq!(chain.losses, alone.losses);
        assert_eq!(chain.mala, alone.mala);
        assert_eq!(chain.last, alone.last);
    }
}

#[test]
fn a_chain_that_blows_up_is_a_named_divergence() {
    let (model, w, x, y) = linear_problem(300);
    let post = LocalPosterior::new(&model, &w, x.as_ref(), y.as_ref())
        .and_then(|p| p.localised(0.0))
        .unwrap();
    let cfg = SgldConfig {
        epsilon: 10.0,
        batch_size: 30,
        steps: 200,
        ..Default::default()
    };
    match sgld_chain(&post, &cfg, 2) {
        Err(Error::Diverged {
            process: "SGLD chain",
            index: 2,
            step,
            loss,
        }) => assert!(step < 200 && !loss.is_finite(), "{step} {loss}"),
        other => panic!("expected a divergence, got {other:?}"),
    }
}

#[test]
fn sizes_beyond_memory_are_refused_before_allocating() {
    let e = check_alloc::<f64>("x", 1 << 40, 1 << 20).unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { name, needed_bytes, .. } if name == "x" && *needed_bytes == 8 << 60),
        "{e}"
    );
    assert!(check_alloc::<f64>("x", 1000, 1000).is_ok());
    let e = uniform_inputs(usize::MAX / 2, 4, 0.0, 1.0, &mut random::seeded(0)).unwrap_err();
    assert!(
        matches!(&e, Error::TooLarge { name, .. } if name == "uniform_inputs"),
        "{e}"
    );
    assert!(uniform_inputs(3, 2, 1.0, 1.0, &mut random::seeded(0)).is_err());
    let u = uniform_inputs(500, 2, -10.0, 10.0, &mut random::seeded(0)).unwrap();
    let (lo, hi) = (0..500).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), i| {
        (a.min(u[(i, 0)]), b.max(u[(i, 1)]))
    });
    assert!(lo >= -10.0 && hi < 10.0 && lo < -9.0 && hi > 9.0);
}
