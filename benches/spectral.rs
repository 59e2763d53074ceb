//! The spectral toolkit against baselines measured in the same run:
//!
//! * `eigenpro_4000x784`: EigenPro with the tutorial's settings (Laplace σ = 10, 150 epochs, the
//!   embedded MNIST split's 4000 unit-norm digits, f32), setup included, against the direct
//!   interpolant (kernel matrix + LU solve, f32 and f64) that it converges to. The target
//!   is the whole `interpolation_with_noise` run (10 fits) under 30 s on 2 cores.
//! * `batched_svd_1000x150x100`: 1000 thin SVDs of 150 × 100 matrices (f64) through
//!   `batched_svd` (rayon over matrices) against a sequential loop of the same faer SVD.
//!
//! CUDA rows run when a device is present (`Device::cuda()`).

#[path = "common/gpu.rs"]
mod gpu;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use doubledescent::Device;
use doubledescent::data;
use doubledescent::kernels::Kernel;
use doubledescent::linalg::batched_svd;
use doubledescent::linalg::thin_svd;
use doubledescent::random::{gaussian_matrix, seeded};
use doubledescent::solvers::{EigenPro, EigenProOptions};
use doubledescent::solvers::{Fit, KernelRegression, KernelRidge, Solver};
use faer::{Mat, Par};

fn eigenpro(c: &mut Criterion) {
    let split = data::mnist_embedded()
        .unwrap()
        .first_per_class(400)
        .unwrap();
    let x32: Mat<f32> = split.train.unit_rows().unwrap();
    let y32: Mat<f32> = split.train.one_hot().unwrap();
    let x64: Mat<f64> = split.train.unit_rows().unwrap();
    let y64: Mat<f64> = split.train.one_hot().unwrap();
    let kernel = Kernel::laplace(10.0).unwrap();
    let mut devices = vec![("cpu", Device::cpu())];
    if let Some(d) = gpu::cuda("CUDA EigenPro rows") {
        devices.push(("cuda", d));
    }
    let mut g = c.benchmark_group("eigenpro_4000x784");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    for (name, dev) in &devices {
        g.bench_function(format!("{name}_eigenpro_150_epochs_f32"), |b| {
            b.iter(|| {
                let pro = EigenPro::new(kernel, x32.as_ref(), 10, EigenProOptions::default(), dev)
                    .unwrap();
                black_box(pro.fit(y32.as_ref(), &[150], None, &mut |_| {}).unwrap())
            })
        });
        g.bench_function(format!("{name}_direct_lu_f32"), |b| {
            b.iter(|| {
                black_box(
                    KernelRidge::new(kernel, 0.0, Solver::Lu, dev)
                        .unwrap()
                        .fit(x32.as_ref(), y32.as_ref())
                        .map(|m: KernelRegression<f32>| m)
                        .unwrap(),
                )
            })
        });
        g.bench_function(format!("{name}_direct_lu_f64"), |b| {
            b.iter(|| {
                black_box(
                    KernelRidge::new(kernel, 0.0, Solver::Lu, dev)
                        .unwrap()
                        .fit(x64.as_ref(), y64.as_ref())
                        .map(|m: KernelRegression<f64>| m)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

fn svd(c: &mut Criterion) {
    let mut rng = seeded(3);
    let mats: Vec<Mat<f64>> = (0..1000)
        .map(|_| gaussian_matrix(&mut rng, 150, 100, 1.0))
        .collect();
    let views: Vec<_> = mats.iter().map(|a| a.as_ref()).collect();
    let mats32: Vec<Mat<f32>> = mats
        .iter()
        .map(|a| Mat::from_fn(150, 100, |i, j| a[(i, j)] as f32))
        .collect();
    let views32: Vec<_> = mats32.iter().map(|a| a.as_ref()).collect();
    let mut g = c.benchmark_group("batched_svd_1000x150x100");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("sequential_loop_f64", |b| {
        b.iter(|| {
            black_box(
                views
                    .iter()
                    .map(|a| thin_svd(*a, Par::Seq).unwrap())
                    .collect::<Vec<_>>(),
            )
        })
    });
    g.bench_function("cpu_batched_f64", |b| {
        b.iter(|| black_box(batched_svd(&views, &Device::cpu()).unwrap()))
    });
    if let Some(dev) = gpu::cuda("CUDA batched SVD rows") {
        g.bench_function("cuda_batched_f64", |b| {
            b.iter(|| black_box(batched_svd(&views, &dev).unwrap()))
        });
        g.bench_function("cuda_batched_f32", |b| {
            b.iter(|| black_box(batched_svd(&views32, &dev).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, svd, eigenpro);
criterion_main!(benches);
