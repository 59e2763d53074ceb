//! SGLD throughput for a deep linear network of about 1e5 parameters (input 100, widths
//! [250, 200], output 100: 95 000 parameters), batch 500, n = 10⁴: 8 chains in parallel (rayon,
//! what `estimate_llc` does) against the same 8 chains one after another, in the same run. Each
//! iteration runs 10 SGLD steps per chain. The CUDA row times the fused update kernel alone
//! (8 chains × 95 000 parameters per launch) when a device is present.

#[path = "common/gpu.rs"]
mod gpu;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use doubledescent::Device;
use doubledescent::models::{DeepLinearNetwork, Model};
use doubledescent::random::{gaussian_vec, seeded};
use doubledescent::sampling::{SgldConfig, Step, sgld_chain, sgld_update_chains};
use faer::Mat;
use rayon::prelude::*;

fn sgld(c: &mut Criterion) {
    let model = DeepLinearNetwork::new(100, &[250, 200], 100).unwrap();
    let mut rng = seeded(1);
    let w = model.init(&mut rng, None);
    let x = Mat::from_fn(10_000, 100, |i, j| {
        ((i * 31 + j * 17) % 97) as f64 / 48.5 - 1.0
    });
    let y = model.forward(&w, x.as_ref());
    let cfg = SgldConfig {
        epsilon: 1e-7,
        gamma: 1.0,
        batch_size: 500,
        steps: 10,
        mala_every: None,
        ..Default::default()
    };
    let chains = 8u32;
    let mut g = c.benchmark_group("sgld_dln_95k_params_batch500");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(chains as u64 * cfg.steps as u64));
    g.bench_function("8_chains_one_after_another", |b| {
        b.iter(|| {
            for ch in 0..chains {
                black_box(sgld_chain(&model, &w, x.as_ref(), y.as_ref(), &cfg, ch).unwrap());
            }
        })
    });
    g.bench_function("8_chains_in_parallel", |b| {
        b.iter(|| {
            (0..chains)
                .into_par_iter()
                .map(|ch| sgld_chain(&model, &w, x.as_ref(), y.as_ref(), &cfg, ch).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.finish();

    let d = model.num_params();
    let mut wc = gaussian_vec(&mut rng, chains as usize * d, 1.0);
    let grads = gaussian_vec(&mut rng, chains as usize * d, 1.0);
    let step = Step {
        epsilon: 1e-7,
        nbeta: 1000.0,
        gamma: 1.0,
        seed: 3,
        step: 0,
    };
    let mut g = c.benchmark_group("sgld_update_8x95k");
    g.throughput(Throughput::Elements(chains as u64 * d as u64));
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
