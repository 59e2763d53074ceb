//! Benchmarks of the teacher–student module.
//!
//! * `analytic_curves`: the fast–slow approximation, 300 times × 7 κ (fig3).
//! * `exact_1000_seeds`: the exact seed average plus the simulated test error of
//!   `emp_vs_analytic` for one κ (1000 seeds, 50 + 300 time points), rayon over seeds against the
//!   same work in a one-thread pool (the baseline), in the same run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use doubledescent::Device;
use doubledescent::science::teacher_student::*;

fn analytic(c: &mut Criterion) {
    let times = analytic_times();
    let kappas = [1.0, 7.0, 12.0, 30.0, 100.0, 1000.0, 1e5];
    c.bench_function("analytic_curves/300_times_x_7_kappa", |b| {
        b.iter(|| {
            for &k in &kappas {
                let cfg = Config::new(110, 100, 70, k);
                black_box(fast_slow(&cfg, &times, Freeze::None).unwrap());
            }
        })
    });
}

fn exact(c: &mut Criterion) {
    let cfg = Config::new(150, 100, 70, 100.0);
    let seeds: Vec<u64> = (0..1000).collect();
    let requests = [
        CurveRequest::new(empirical_times(), Dynamics::GradientFlow).with_test_error(),
        CurveRequest::new(analytic_times(), Dynamics::GradientFlow),
    ];
    let mut g = c.benchmark_group("exact_1000_seeds");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(40))
        .warm_up_time(Duration::from_secs(3));
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("sequential_baseline", |b| {
        b.iter(|| {
            single.install(|| {
                black_box(seed_average(&cfg, &seeds, &requests, &|| {}, &Device::cpu()).unwrap())
            })
        })
    });
    g.bench_function(
        format!("rayon_{}_threads", rayon::current_num_threads()),
        |b| {
            b.iter(|| {
                black_box(seed_average(&cfg, &seeds, &requests, &|| {}, &Device::cpu()).unwrap())
            })
        },
    );
    g.finish();
}

criterion_group!(benches, analytic, exact);
criterion_main!(benches);
