//! SGLD throughput for the deep linear network of the LLC paper's peers (input 100, widths
//! [250, 200], output 100: 95 000 parameters), batch 500, n = 10⁴, 8 chains (rayon over chains,
//! what `estimate_llc` does), 20 steps per chain per iteration, in f64 and f32 (the original's
//! JAX code runs f32). Rows:
//!
//! * `<precision>_auto`: the default evaluation order (here [`ChainOrder::EndToEnd`], through the
//!   end-to-end matrix: a quarter of the multiply–adds);
//! * `<precision>_layerwise`: layer by layer as autodiff evaluates it, the baseline of the ratios
//!   printed after the group (same noise, batches and update).
//!
//! The peer (`../shared/peers/sgld_dln_peer.py f32|f64`, JAX vmap over 8 chains) runs the same
//! step; compare chain-steps/s (criterion's elements/s here).
//!
//! `sgld_update_8x95k`: the fused update alone (Philox noise, Box–Muller, the SGLD formula) of
//! 8 chains × 95 000 parameters, and the CUDA kernel with its copies when a device is present.

#[path = "common/gpu.rs"]
mod gpu;
#[path = "common/ratio.rs"]
mod ratio;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use doubledescent::models::{ChainOrder, DeepLinearNetwork, Model};
use doubledescent::random::{gaussian_vec, seeded};
use doubledescent::sampling::{LocalPosterior, SgldConfig, Step, sample, sgld_update_chains};
use doubledescent::{Device, Float};
use faer::Mat;

const GROUP: &str = "sgld_dln_95k_params_batch500_8_chains";

fn rows<T: Float>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    w: &[f64],
    x: &Mat<f64>,
    cfg: &SgldConfig,
) {
    let w: Vec<T> = w.iter().map(|&v| T::of(v)).collect();
    let x = Mat::from_fn(x.nrows(), x.ncols(), |i, j| T::of(x[(i, j)]));
    let model = DeepLinearNetwork::new(100, &[250, 200], 100).unwrap();
    let y = model.forward(&w, x.as_ref());
    for (name, order) in [
        ("auto", ChainOrder::Auto),
        ("layerwise", ChainOrder::Layerwise),
    ] {
        let m = model.clone().with_order(order);
        g.bench_function(format!("{}_{name}", T::NAME), |b| {
            let post = LocalPosterior::new(&m, &w, x.as_ref(), y.as_ref())
                .and_then(|p| p.localised(1.0))
                .unwrap();
            b.iter(|| sample(cfg, &post, 8, &Device::cpu()).unwrap())
        });
    }
}

fn sgld(c: &mut Criterion) {
    ratio::start();
    let model = DeepLinearNetwork::new(100, &[250, 200], 100).unwrap();
    let mut rng = seeded(1);
    let w = model.init(&mut rng, None);
    let x = Mat::from_fn(10_000, 100, |i, j| {
        ((i * 31 + j * 17) % 97) as f64 / 48.5 - 1.0
    });
    let cfg = SgldConfig {
        epsilon: 1e-7,
        batch_size: 500,
        steps: 20,
        mala_every: None,
        ..Default::default()
    };
    let mut g = c.benchmark_group(GROUP);
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(8 * cfg.steps as u64));
    rows::<f64>(&mut g, &w, &x, &cfg);
    rows::<f32>(&mut g, &w, &x, &cfg);
    g.finish();
    ratio::print_ratios(
        GROUP,
        "f64_layerwise",
        &["f64_auto", "f32_layerwise", "f32_auto"],
    );

    let d = Model::<f64>::num_params(&model);
    let chains = 8;
    let mut wc = gaussian_vec(&mut rng, chains * d, 1.0);
    let grads = gaussian_vec(&mut rng, chains * d, 1.0);
    let step = Step {
        epsilon: 1e-7,
        nbeta: 1000.0,
        gamma: 1.0,
        seed: 3,
        step: 0,
    };
    let mut g = c.benchmark_group("sgld_update_8x95k");
    g.throughput(Throughput::Elements((chains * d) as u64));
    g.bench_function("cpu", |b| {
        b.iter(|| sgld_update_chains(&mut wc, &grads, &w, None, &step, &Device::cpu()).unwrap())
    });
    if let Some(dev) = gpu::cuda("CUDA SGLD update row") {
        g.bench_function("cuda_with_copies", |b| {
            b.iter(|| sgld_update_chains(&mut wc, &grads, &w, None, &step, &dev).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, sgld);
criterion_main!(benches);
