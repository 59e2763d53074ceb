//! Kernel matrices, n = m = 4096, d ∈ {10, 784}, f32 and f64, against two baselines measured in
//! the same run:
//!
//! * `gemm`: the GEMM X·Zᵀ of the same shape on the crate's own micro-kernels (all threads), the
//!   roofline reference of the fused kernels, which run the same GEMM with their transform as its
//!   epilogue; `faer_gemm` is faer's GEMM of the shape, for comparison.
//! * `simple_fused_loop`: one pass per entry, ‖x − z‖² summed directly and the exponential applied
//!   at once (rayon over columns, libm exp): the reference for small d (d = 10 only), where the
//!   exponential dominates.
//!
//! `laplace_into` writes into a reused output (`Kernel::matrix_into`): no allocation or page
//! faults, which at d = 10 are a large part of `laplace`.
//!
//! `relu_ntk_depth1` / `relu_ntk_depth3` are the arc-cosine NTK of 1 and 3 hidden layers (with
//! biases): the GEMM plus one (three) arccos, square roots and divisions per entry.
//!
//! After each group the bench prints each row's speed against `gemm` (below 1: slower than
//! the bare GEMM) and the arc-cosine rows against `laplace`, from criterion's medians of this run.
//!
//! The CUDA rows run when a device is present (`Device::cuda()`); they include the host↔device
//! copies and the copy into a faer matrix, and `cuda_kw` is the matrix-free K·W with 8 columns.

#[path = "common/gpu.rs"]
mod gpu;
#[path = "common/ratio.rs"]
mod ratio;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use doubledescent::backend::gemm::{Isa, gemm};
use doubledescent::kernels::{Kernel, rows};
use doubledescent::{Device, Float};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use rayon::prelude::*;

const N: usize = 4096;

fn data<T: Float>(n: usize, d: usize, seed: u64) -> Vec<T> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n * d).map(|_| T::of(rng.random::<f64>())).collect()
}

/// The naive fused loop: K[i, j] = exp(−‖xᵢ − zⱼ‖ / σ), one column per rayon task.
fn simple_fused_laplace<T: Float>(x: &[T], z: &[T], d: usize, sigma: T, out: &mut Mat<T>) {
    let n = x.len() / d;
    out.as_mut()
        .par_col_chunks_mut(1)
        .enumerate()
        .for_each(|(j, mut col)| {
            let zj = &z[j * d..(j + 1) * d];
            for i in 0..n {
                let xi = &x[i * d..(i + 1) * d];
                let mut s = T::ZERO;
                for k in 0..d {
                    let t = xi[k] - zj[k];
                    s += t * t;
                }
                col[(i, 0)] = (-(s.sqrt() / sigma)).exp();
            }
        });
}

fn bench_type<T: Float>(c: &mut Criterion, cuda: Option<&Device>) {
    let cpu = Device::cpu();
    for d in [10usize, 784] {
        let xs = data::<T>(N, d, 1);
        let zs = data::<T>(N, d, 2);
        let (x, z): (MatRef<'_, T>, MatRef<'_, T>) =
            (rows(&xs, N, d).unwrap(), rows(&zs, N, d).unwrap());
        let sigma = (d as f64 / 6.0).sqrt();
        let laplace = Kernel::laplace(sigma).unwrap();
        let gaussian = Kernel::gaussian(sigma).unwrap();
        let mut g = c.benchmark_group(format!("kernel_matrix_{}/d{d}", T::NAME));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(if d > 100 { 12 } else { 5 }))
            .throughput(Throughput::Elements((N * N) as u64));
        let mut out = Mat::<T>::zeros(N, N);
        g.bench_function(BenchmarkId::new("gemm", "cpu"), |b| {
            b.iter(|| {
                gemm(
                    out.as_mut(),
                    Accum::Replace,
                    x,
                    z.transpose(),
                    T::ONE,
                    Par::rayon(0),
                )
                .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("faer_gemm", "cpu"), |b| {
            b.iter(|| {
                matmul(
                    out.as_mut(),
                    Accum::Replace,
                    x,
                    z.transpose(),
                    T::ONE,
                    Par::rayon(0),
                )
            })
        });
        if d <= 16 {
            // At d = 784 this loop takes ~10 s per run: it is the small-d reference only.
            g.bench_function(BenchmarkId::new("simple_fused_loop", "cpu"), |b| {
                b.iter(|| simple_fused_laplace(&xs, &zs, d, T::of(sigma), &mut out))
            });
        }
        g.bench_function(BenchmarkId::new("laplace", "cpu"), |b| {
            b.iter(|| black_box(laplace.matrix(x, z, &cpu).unwrap()))
        });
        g.bench_function(BenchmarkId::new("laplace_into", "cpu"), |b| {
            b.iter(|| laplace.matrix_into(x, z, out.as_mut(), &cpu).unwrap())
        });
        g.bench_function(BenchmarkId::new("gaussian", "cpu"), |b| {
            b.iter(|| black_box(gaussian.matrix(x, z, &cpu).unwrap()))
        });
        g.bench_function(BenchmarkId::new("laplace_self", "cpu"), |b| {
            b.iter(|| black_box(laplace.self_matrix(x, &cpu).unwrap()))
        });
        // The arc-cosine recursion of a 3-hidden-layer ReLU network, per entry inside the tile.
        let ntk3 = Kernel::deep_relu_ntk(3, true).unwrap();
        let ntk1 = Kernel::relu_ntk(true);
        g.bench_function(BenchmarkId::new("relu_ntk_depth1", "cpu"), |b| {
            b.iter(|| black_box(ntk1.matrix(x, z, &cpu).unwrap()))
        });
        g.bench_function(BenchmarkId::new("relu_ntk_depth3", "cpu"), |b| {
            b.iter(|| black_box(ntk3.matrix(x, z, &cpu).unwrap()))
        });
        if let Some(gpu) = cuda {
            g.bench_function(BenchmarkId::new("relu_ntk_depth3", "cuda"), |b| {
                b.iter(|| black_box(ntk3.matrix(x, z, gpu).unwrap()))
            });
            g.bench_function(BenchmarkId::new("laplace", "cuda"), |b| {
                b.iter(|| black_box(laplace.matrix(x, z, gpu).unwrap()))
            });
            g.bench_function(BenchmarkId::new("gaussian", "cuda"), |b| {
                b.iter(|| black_box(gaussian.matrix(x, z, gpu).unwrap()))
            });
            g.bench_function(BenchmarkId::new("laplace_self", "cuda"), |b| {
                b.iter(|| black_box(laplace.self_matrix(x, gpu).unwrap()))
            });
            let ws = data::<T>(N, 8, 3);
            let w = rows(&ws, N, 8).unwrap();
            g.bench_function(BenchmarkId::new("laplace_kw8", "cuda"), |b| {
                b.iter(|| black_box(laplace.apply(x, z, w, gpu).unwrap()))
            });
        }
        g.finish();
        let group = format!("kernel_matrix_{}/d{d}", T::NAME);
        let mut vs_gemm = vec![
            "faer_gemm/cpu",
            "laplace/cpu",
            "laplace_into/cpu",
            "gaussian/cpu",
            "laplace_self/cpu",
        ];
        if d <= 16 {
            vs_gemm.push("simple_fused_loop/cpu");
        }
        ratio::print_ratios(&group, "gemm/cpu", &vs_gemm);
        ratio::print_ratios(
            &group,
            "laplace/cpu",
            &["relu_ntk_depth1/cpu", "relu_ntk_depth3/cpu"],
        );
    }
}

fn kernels(c: &mut Criterion) {
    ratio::start();
    println!("GEMM micro-kernel: {}", Isa::detected());
    let cuda = gpu::cuda("CUDA kernel-matrix rows");
    bench_type::<f32>(c, cuda.as_ref());
    bench_type::<f64>(c, cuda.as_ref());
}

criterion_group!(benches, kernels);
criterion_main!(benches);
