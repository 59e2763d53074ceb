//! The full diabetes ablation sweep of "Double Descent Demystified" (N = 1..39, 50 splits, 7
//! cutoffs, 10 leading-mode counts, 7 + 7 adversarial prefactors: 1950 fits) three ways:
//!
//! * `batched_fused`: [`sweep`], one `batched_svd` call for all fits and the fused scoring (every
//!   ablation a partial sum over one row of Z = X V);
//! * `batched_fused_1_thread`: the same in a one-thread rayon pool;
//! * `per_fit_loop`: the baseline, a per-fit translation of the original scripts
//!   (`tests/common/ls_reference.rs`): one SVD per fit, explicit β per ablation, `pinv` where the
//!   original calls it, sequential.
//!
//! A CUDA row runs when a device is present.

#[path = "common/gpu.rs"]
mod gpu;

#[path = "../tests/common/ls_reference.rs"]
mod ls_reference;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use doubledescent::Device;
use doubledescent::data;
use doubledescent::science::least_squares::{SweepConfig, sweep};

fn diabetes_sweep(c: &mut Criterion) {
    let table = data::diabetes().unwrap();
    let cfg = SweepConfig::original(SweepConfig::DIABETES_LEADING_MODES.to_vec());
    let mut g = c.benchmark_group("diabetes_ablation_sweep");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let cpu = Device::cpu();
    g.bench_function("batched_fused", |b| {
        b.iter(|| black_box(sweep(&table, &cfg, &cpu).unwrap()))
    });
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("batched_fused_1_thread", |b| {
        b.iter(|| one.install(|| black_box(sweep(&table, &cfg, &cpu).unwrap())))
    });
    if let Some(cuda) = gpu::cuda("CUDA sweep row") {
        g.bench_function("batched_fused_cuda_svd", |b| {
            b.iter(|| black_box(sweep(&table, &cfg, &cuda).unwrap()))
        });
    }
    g.bench_function("per_fit_loop", |b| {
        b.iter(|| black_box(ls_reference::reference_sweep(&table, &cfg)))
    });
    g.finish();
}

criterion_group!(benches, diabetes_sweep);
criterion_main!(benches);
