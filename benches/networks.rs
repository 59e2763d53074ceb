//! Trained finite-width networks: one full-batch gradient (forward + backward over P = 5000
//! points, d = 10, L = 2, swish β = 10, soft hinge) at h ∈ {64, 256, 1024} in f32 and f64, and the
//! empirical tangent kernel on 2500 kernel points, each with a straightforward baseline in the
//! same run: the gradient accumulated sample by sample with matrix–vector loops, and the kernel
//! as J Jᵀ from per-sample gradients (what the original's `compute_kernels` does with autograd).
//!
//! `its three GEMMs` (h ≥ 256): the gradient's three h×h GEMMs alone on the crate's GEMM, the rate
//! the gradient is held to (the rest is elementwise work and the d = 10 layer).
//!
//! `tutorial_gd_step_*`: one gradient-descent step of the tutorial's one-hidden-layer ReLU network
//! on 4000 MNIST-sized inputs (k = 512, 10 outputs), against the two GEMMs it cannot avoid (the
//! crate's GEMM, and faer's).
//!
//! `binary_pca_mnist10k`: the PCA pipeline of the phase-diagram examples on the embedded 10 000
//! digits (balance, centre, normalise, 784² covariance, eigendecomposition, projection to d = 10,
//! three splits), computed in a fixed order on any number of threads, against its dominant
//! operations done with faer's defaults (parallel GEMMs that split the inner dimension by thread
//! count, parallel eigendecomposition): what determinism costs.
//!
//! `cargo bench --bench networks`
#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use doubledescent::Float;
use doubledescent::backend::gemm::gemm;
use doubledescent::models::{Dense, MarginLoss};
use doubledescent::training::{MarginObjective, Objective};
use faer::{Accum, Mat, Par};

const P: usize = 5000;
const D: usize = 10;

fn data<T: Float>(p: usize) -> (Mat<T>, Vec<T>) {
    let mut rng = doubledescent::random::seeded(1);
    let x = doubledescent::random::gaussian_matrix(&mut rng, p, D, 1.0);
    let y = (0..p)
        .map(|i| T::of(if i % 2 == 0 { 1.0 } else { -1.0 }))
        .collect();
    (Mat::from_fn(p, D, |i, j| T::of(x[(i, j)])), y)
}

/// The baseline: sample by sample, matrix–vector products, gradient accumulated in place.
fn per_sample_gradient(
    net: &Dense,
    w: &[f64],
    f0: &[f64],
    x: &Mat<f64>,
    y: &[f64],
    grad: &mut [f64],
) -> f64 {
    let (h, d) = (net.width(), D);
    let act = net.activation();
    let c = net.factor();
    let (a0, a1, a2) = (&w[..h * d], &w[h * d..h * d + h * h], &w[h * d + h * h..]);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let (sd, sh) = ((d as f64).sqrt(), (h as f64).sqrt());
    let mut loss = 0.0;
    let (mut z1, mut s1, mut d1, mut z2, mut s2, mut d2, mut g2, mut g1) = (
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
        vec![0.0; h],
    );
    let out = |wa: (&[f64], &[f64], &[f64]),
               xi: &[f64],
               z1: &mut [f64],
               s1: &mut [f64],
               d1: &mut [f64],
               z2: &mut [f64],
               s2: &mut [f64],
               d2: &mut [f64]| {
        for k in 0..h {
            z1[k] = (0..d).map(|m| wa.0[k * d + m] * xi[m]).sum::<f64>() / sd;
            let (v, dv) = act.raw(z1[k]);
            s1[k] = c * v;
            d1[k] = c * dv;
        }
        for j in 0..h {
            z2[j] = (0..h).map(|k| wa.1[j * h + k] * s1[k]).sum::<f64>() / sh;
            let (v, dv) = act.raw(z2[j]);
            s2[j] = c * v;
            d2[j] = c * dv;
        }
        (0..h).map(|j| wa.2[j] * s2[j]).sum::<f64>() / h as f64
    };
    let loss_fn = MarginLoss::ORIGINAL;
    for i in 0..x.nrows() {
        let xi: Vec<f64> = (0..d).map(|m| x[(i, m)]).collect();
        let f0 = f0[i];
        let f = out(
            (a0, a1, a2),
            &xi,
            &mut z1,
            &mut s1,
            &mut d1,
            &mut z2,
            &mut s2,
            &mut d2,
        );
        loss += loss_fn.value(f - f0, y[i], 1.0) / x.nrows() as f64;
        let g = loss_fn.derivative(f - f0, y[i], 1.0) / x.nrows() as f64;
        for j in 0..h {
            grad[h * d + h * h + j] += g * s2[j] / h as f64;
            g2[j] = g * a2[j] / h as f64 * d2[j];
        }
        for k in 0..h {
            g1[k] = 0.0;
        }
        for j in 0..h {
            for k in 0..h {
                grad[h * d + j * h + k] += g2[j] * s1[k] / sh;
                g1[k] += g2[j] * a1[j * h + k] / sh;
            }
        }
        for k in 0..h {
            let gk = g1[k] * d1[k];
            for m in 0..d {
                grad[k * d + m] += gk * xi[m] / sd;
            }
        }
    }
    loss
}

fn gradient(c: &mut Criterion) {
    let mut group = c.benchmark_group("fc_gradient_P5000_d10_L2");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));
    fn ours<T: Float>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        h: usize,
    ) {
        let net = Dense::phase_diagram(D, h).unwrap();
        let (x, y) = data::<T>(P);
        let w0: Vec<T> = net.init(0);
        let w: Vec<T> = w0
            .iter()
            .enumerate()
            .map(|(i, &v)| v + T::of(0.01 * (i as f64).sin()))
            .collect();
        let mut obj =
            MarginObjective::new(&net, &w0, x.as_ref(), &y, 1.0, MarginLoss::ORIGINAL, 0).unwrap();
        let (mut out, mut grad) = (vec![T::ZERO; P], vec![T::ZERO; net.num_params()]);
        group.bench_function(BenchmarkId::new(format!("crate {}", T::NAME), h), |b| {
            b.iter(|| obj.evaluate(&w, &mut out, &mut grad).unwrap())
        });
        if h >= 256 {
            // The gradient's three h×h GEMMs alone (forward A₁W₂, backward δ₂W₂ᵀ and A₁ᵀδ₂):
            // the rate it is held to.
            let a1 = Mat::<T>::from_fn(P, h, |i, j| T::of(((i + 3 * j) % 7) as f64 / 7.0));
            let w2 = Mat::<T>::from_fn(h, h, |i, j| T::of(((2 * i + j) % 5) as f64 / 5.0));
            let (mut z, mut dz, mut gw) = (
                Mat::<T>::zeros(P, h),
                Mat::<T>::zeros(P, h),
                Mat::<T>::zeros(h, h),
            );
            let id = BenchmarkId::new(format!("its three GEMMs {}", T::NAME), h);
            group.bench_function(id, |b| {
                b.iter(|| {
                    let par = Par::rayon(0);
                    gemm(
                        z.as_mut(),
                        Accum::Replace,
                        a1.as_ref(),
                        w2.as_ref(),
                        T::ONE,
                        par,
                    )
                    .unwrap();
                    gemm(
                        dz.as_mut(),
                        Accum::Replace,
                        z.as_ref(),
                        w2.transpose(),
                        T::ONE,
                        par,
                    )
                    .unwrap();
                    gemm(
                        gw.as_mut(),
                        Accum::Replace,
                        a1.transpose(),
                        dz.as_ref(),
                        T::ONE,
                        par,
                    )
                    .unwrap();
                })
            });
        }
    }
    for h in [64, 256, 1024] {
        ours::<f64>(&mut group, h);
        ours::<f32>(&mut group, h);
        if h <= 256 {
            let net = Dense::phase_diagram(D, h).unwrap();
            let (x, y) = data::<f64>(P);
            let w0: Vec<f64> = net.init(0);
            let w: Vec<f64> = w0
                .iter()
                .enumerate()
                .map(|(i, &v)| v + 0.01 * (i as f64).sin())
                .collect();
            let mut grad = vec![0.0; net.num_params()];
            let f0 = net
                .predict(&w0, x.as_ref())
                .unwrap()
                .col_as_slice(0)
                .to_vec();
            // The baseline agrees with the crate's gradient (a check, not a timing).
            let mut obj =
                MarginObjective::new(&net, &w0, x.as_ref(), &y, 1.0, MarginLoss::ORIGINAL, 1)
                    .unwrap();
            let (mut o, mut g) = (vec![0.0; P], vec![0.0; net.num_params()]);
            obj.evaluate(&w, &mut o, &mut g).unwrap();
            per_sample_gradient(&net, &w, &f0, &x, &y, &mut grad);
            let dev = g
                .iter()
                .zip(&grad)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            let scale = g.iter().map(|a| a.abs()).fold(0.0, f64::max);
            assert!(
                dev <= 1e-10 * scale,
                "baseline and crate gradients differ by {dev} (scale {scale})"
            );
            group.bench_function(BenchmarkId::new("per-sample loops f64", h), |b| {
                b.iter(|| per_sample_gradient(&net, &w, &f0, &x, &y, &mut grad))
            });
        }
    }
    group.finish();
}

fn tangent_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("fc_ntk_2500_points");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(4));
    let (x, _) = data::<f64>(2500);
    for h in [64, 256] {
        let net = Dense::phase_diagram(D, h).unwrap();
        let w: Vec<f64> = net.init(0);
        group.bench_function(BenchmarkId::new("crate layer-wise", h), |b| {
            b.iter(|| net.tangent_kernel(&w, x.as_ref(), None, 0, 0).unwrap())
        });
        if h == 64 {
            group.bench_function(
                BenchmarkId::new("J Jᵀ from per-sample gradients", h),
                |b| {
                    b.iter(|| {
                        let j = net.jacobian(&w, x.as_ref(), 0).unwrap();
                        let mut k = Mat::<f64>::zeros(2500, 2500);
                        faer::linalg::matmul::matmul(
                            k.as_mut(),
                            faer::Accum::Replace,
                            j.as_ref(),
                            j.transpose(),
                            1.0,
                            faer::Par::rayon(0),
                        );
                        k
                    })
                },
            );
        }
    }
    group.finish();
}

/// One gradient-descent step of the tutorial's network (`DoubleDescentTutorialPart2`: n = 4000,
/// d = 784, k = 512, 10 outputs, MSE): loss and gradient, against the two GEMMs of the same
/// shapes that any implementation must do (X·W₁ᵀ and Xᵀ·S), measured in the same run.
fn tutorial_step<T: Float>(c: &mut Criterion) {
    use doubledescent::models::{Dense, Workspace};
    let (n, d, k) = (4000, 784, 512);
    let mut group = c.benchmark_group(format!("tutorial_gd_step_{}", T::NAME));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(5));
    let mut rng = doubledescent::random::seeded(3);
    let x64 = doubledescent::random::gaussian_matrix(&mut rng, n, d, 1.0);
    let x = Mat::from_fn(n, d, |i, j| T::of(x64[(i, j)]));
    let y = Mat::from_fn(n, 10, |i, j| T::of(if i % 10 == j { 1.0 } else { 0.0 }));
    let net = Dense::tutorial(d, k, 10).unwrap();
    let w: Vec<T> = net.init(0);
    let mut ws = Workspace::new().parallel(0);
    let mut grad = vec![T::ZERO; w.len()];
    group.bench_function(BenchmarkId::new("crate loss + gradient", k), |b| {
        b.iter(|| {
            net.evaluate_grad(&w, x.as_ref(), y.as_ref(), &mut ws, &mut grad)
                .unwrap()
        })
    });
    let wt = Mat::from_fn(d, k, |i, j| w[j * d + i]);
    let mut h = Mat::<T>::zeros(n, k);
    let mut g = Mat::<T>::zeros(d, k);
    group.bench_function(BenchmarkId::new("the two GEMMs alone", k), |b| {
        b.iter(|| {
            gemm(
                h.as_mut(),
                Accum::Replace,
                x.as_ref(),
                wt.as_ref(),
                T::ONE,
                Par::rayon(0),
            )
            .unwrap();
            gemm(
                g.as_mut(),
                Accum::Replace,
                x.transpose(),
                h.as_ref(),
                T::ONE,
                Par::rayon(0),
            )
            .unwrap();
        })
    });
    group.bench_function(BenchmarkId::new("the two GEMMs alone (faer)", k), |b| {
        b.iter(|| {
            faer::linalg::matmul::matmul(
                h.as_mut(),
                Accum::Replace,
                x.as_ref(),
                wt.as_ref(),
                T::ONE,
                Par::rayon(0),
            );
            faer::linalg::matmul::matmul(
                g.as_mut(),
                Accum::Replace,
                x.transpose(),
                h.as_ref(),
                T::ONE,
                Par::rayon(0),
            );
        })
    });
    group.finish();
}

fn tutorial_steps(c: &mut Criterion) {
    tutorial_step::<f32>(c);
    tutorial_step::<f64>(c);
}

fn pca(c: &mut Criterion) {
    use doubledescent::data::{PcaConfig, binary_pca, mnist_embedded};
    use faer::linalg::matmul::matmul;
    use faer::{Accum, Par, Side};
    let digits = mnist_embedded().unwrap();
    let mut group = c.benchmark_group("binary_pca_mnist10k");
    group.sample_size(10);
    group.bench_function("crate binary_pca (fixed order)", |b| {
        b.iter(|| binary_pca(&digits, &PcaConfig::new(10, 2000, 0, 1000)).unwrap())
    });
    // The same pool size and dimension (all 10 000 digits, centred) through faer's defaults.
    let (n, dim) = (digits.labels().len(), digits.dim());
    let mut z = Mat::<f64>::from_fn(n, dim, |i, j| digits.pixels()[i * dim + j] as f64);
    for j in 0..dim {
        let col = z.col_as_slice_mut(j);
        let m = col.iter().sum::<f64>() / n as f64;
        col.iter_mut().for_each(|v| *v -= m);
    }
    group.bench_function("faer defaults: covariance + eigh + projection", |b| {
        b.iter(|| {
            let mut cov = Mat::<f64>::zeros(dim, dim);
            let par = Par::rayon(0);
            matmul(
                cov.as_mut(),
                Accum::Replace,
                z.transpose(),
                z.as_ref(),
                1.0 / n as f64,
                par,
            );
            let evd = cov.self_adjoint_eigen(Side::Lower).unwrap();
            let comps = evd.U().subcols(dim - 10, 10).to_owned();
            let mut proj = Mat::<f64>::zeros(n, 10);
            matmul(
                proj.as_mut(),
                Accum::Replace,
                z.as_ref(),
                comps.as_ref(),
                1.0,
                par,
            );
            proj
        })
    });
    group.finish();
}

criterion_group!(benches, gradient, tangent_kernel, tutorial_steps, pca);
criterion_main!(benches);
