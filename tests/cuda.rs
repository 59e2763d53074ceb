//! The CUDA backend: every `.cu` file compiles with NVRTC (no GPU needed), and the GPU agrees with
//! the CPU and with the naive reference where a device exists. Tests that cannot run here say why
//! on stderr and pass; with `DOUBLEDESCENT_NVRTC` set (as `.ci/run` does) the compile test must
//! run.
//!
//! Without a GPU, `DOUBLEDESCENT_EMULATE_CUDA=h100` (or `v100`) runs every GPU test on the
//! emulated device (the same `.cu` sources and launchers, compiled as C++ for the CPU; under
//! AddressSanitizer when the process has it preloaded, as `.ci/run` does):
//! `DOUBLEDESCENT_EMULATE_CUDA=1 DOUBLEDESCENT_REQUIRE_GPU=1 cargo test --release --test cuda`.
//! There, [`emulated_device_catches_mutated_kernels`] also checks that deliberately broken
//! kernels fail this suite.
#![cfg(feature = "cuda")]

mod common;

use common::{all_kernels, check_against_reference, data};
use doubledescent::backend::cuda::source::kernels;
use doubledescent::backend::cuda::{Code, NVRTC_ENV, SOURCES, Target, nvrtc};
use doubledescent::kernels::{Kernel, rows};
use doubledescent::{Backend, Device, Float};
use faer::{Mat, MatRef};

#[test]
fn every_cuda_source_compiles_with_nvrtc_and_exports_its_kernels() {
    let nv = match nvrtc() {
        Ok(nv) => nv,
        Err(reason) => {
            assert!(
                std::env::var_os(NVRTC_ENV).is_none(),
                "{NVRTC_ENV} is set but NVRTC could not be loaded: {reason}"
            );
            if emulated() {
                // The emulated device needs no NVRTC; `.ci/run` sets DOUBLEDESCENT_NVRTC, and
                // then this test must run.
                eprintln!("SKIPPED (no NVRTC beside the emulated device): {reason}");
            } else {
                skip(&format!("NVRTC compile test: {reason}"));
            }
            return;
        }
    };
    eprintln!("{nv:?}");
    assert!(!nv.archs.is_empty());
    // The oldest and newest architectures this NVRTC supports, and Hopper (the H100/H200) when it
    // is in range: each compile is about a second.
    let newest = *nv.archs.last().unwrap();
    let mut archs = vec![nv.archs[0], newest];
    if nv.archs.contains(&90) {
        archs.push(90);
    }
    archs.sort_unstable();
    archs.dedup();
    for src in SOURCES {
        for &arch in &archs {
            let Code::Ptx(ptx) = nv
                .compile(src, Target::Ptx(arch))
                .unwrap_or_else(|e| panic!("{e}"))
            else {
                panic!("PTX asked, something else returned");
            };
            assert!(
                ptx.contains(&format!(".target sm_{arch}")),
                "{}: no .target sm_{arch}",
                src.file
            );
            for entry in src.entries() {
                assert!(
                    ptx.contains(&format!(".entry {entry}(")),
                    "{} compiled for compute_{arch} lacks the kernel {entry}",
                    src.file
                );
            }
        }
        // The device's own code: a CUBIN (an ELF image), for the newest architecture.
        match nv
            .compile(src, Target::Cubin(newest))
            .unwrap_or_else(|e| panic!("{e}"))
        {
            Code::Cubin(image) => assert_eq!(&image[..4], b"\x7fELF", "{}", src.file),
            Code::Ptx(_) => panic!("CUBIN asked, PTX returned"),
        }
    }
    // A device NVRTC knows gets a CUBIN, a newer one PTX for the newest architecture, an older
    // one an error that names the device and NVRTC.
    assert_eq!(nv.target_for(newest).unwrap(), Target::Cubin(newest));
    assert_eq!(nv.target_for(1000).unwrap(), Target::Ptx(newest));
    let e = nv.target_for(10).unwrap_err().to_string();
    assert!(e.contains("sm_10") && e.contains("NVRTC"), "{e}");
    // A V100 (sm_70): NVRTC 13 cannot compile for it, so NVRTC 12 is taken when present, and the
    // error otherwise says what was tried.
    match doubledescent::backend::cuda::nvrtc_for(Some(70)) {
        Ok(v) => assert!(v.archs.iter().any(|&a| a <= 70), "{v:?}"),
        Err(e) => assert!(e.to_string().contains("sm_70"), "{e}"),
    }
}

/// The batched SVD's shared-memory plan over every shape it takes (min side ≤ 128, long side
/// < 5000), in f32 and f64, against the opt-in limits of sm_70 (96 KB), sm_80 (163 KB) and sm_90
/// (227 KB) less a kernel's static shared memory: a launch never asks for more than the device
/// grants, W and V go to shared memory exactly when they fit, and otherwise only the norms and
/// the permutation do. (The old arithmetic compared the dynamic size alone with the limit: f32
/// 126×64, whose working set is exactly 48 KB, failed to launch.) Needs no GPU.
#[test]
fn svd_shared_memory_plans_fit_every_device_limit() {
    use doubledescent::backend::cuda::shared_plan;
    for optin in [98_304usize, 166_912, 232_448] {
        for fixed in [4usize, 16, 1024] {
            let max_dynamic = optin - fixed;
            for elem in [4usize, 8] {
                for nw in 1..=128usize {
                    let small = nw * (elem + 4);
                    for mw in nw..5000 {
                        let full = (mw * nw + nw * nw) * elem + small;
                        let plan = shared_plan(mw, nw, elem, max_dynamic)
                            .unwrap_or_else(|| panic!("{mw}x{nw}: no plan"));
                        assert!(plan.dynamic_bytes + fixed <= optin, "{mw}x{nw} ({elem} B)");
                        assert_eq!(plan.use_shared, full + fixed <= optin, "{mw}x{nw}");
                        let want = if plan.use_shared { full } else { small };
                        assert_eq!(plan.dynamic_bytes, want, "{mw}x{nw}");
                    }
                }
            }
        }
    }
    // The shape that failed: f32 126×64 needs exactly 49 152 bytes.
    let plan = shared_plan(126, 64, 4, 232_448 - 16).unwrap();
    assert!(plan.use_shared && plan.dynamic_bytes == 49_152);
    // No room even for the norms: the matrices go to the CPU.
    assert_eq!(shared_plan(10, 10, 8, 50), None);
}

/// Every launcher's declared parameters (names and C types, both precisions) against the
/// kernel signature parsed from the `.cu` source: count, order, names and types. Needs neither a
/// GPU nor NVRTC. (Swapping two declared parameters, `w_star` and `g` of `dd_sgld_update` for
/// example, makes this test fail.)
#[test]
fn every_launcher_matches_its_kernel_signature() {
    use doubledescent::backend::cuda::launch::signatures;
    let mut parsed = Vec::new();
    for src in SOURCES {
        for k in kernels(src.text) {
            parsed.push((src.file, k.name, k.params));
        }
    }
    let declared: Vec<_> = signatures::<f32>()
        .into_iter()
        .chain(signatures::<f64>())
        .collect();
    assert_eq!(
        declared.len(),
        parsed.len(),
        "every kernel of cuda/*.cu has exactly one launcher: {:?}",
        parsed.iter().map(|p| &p.1).collect::<Vec<_>>()
    );
    for sig in &declared {
        let (file, _, params) = parsed
            .iter()
            .find(|p| p.1 == sig.name)
            .unwrap_or_else(|| panic!("{} is not defined in cuda/{}", sig.name, sig.file));
        assert_eq!(*file, sig.file, "{}", sig.name);
        let want: Vec<(String, String)> = params
            .iter()
            .map(|(n, t)| (n.to_ascii_lowercase(), t.clone()))
            .collect();
        let got: Vec<(String, String)> = sig
            .params
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        assert_eq!(got, want, "{}: launcher vs kernel", sig.name);
    }
}

/// Set to 1 on a machine that has a GPU (`.ci/gpu-check` does): every skip becomes a failure.
const REQUIRE_GPU: &str = "DOUBLEDESCENT_REQUIRE_GPU";

/// Says why a test does not run here, or fails when `DOUBLEDESCENT_REQUIRE_GPU=1`.
fn skip(reason: &str) {
    if std::env::var(REQUIRE_GPU).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_GPU}=1 but this test cannot run: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Whether the GPU tests run on the emulated device (slow: the heaviest cases are trimmed).
fn emulated() -> bool {
    doubledescent::backend::cuda::emulate::requested().is_ok_and(|card| card.is_some())
}

fn gpu() -> Option<Device> {
    match Device::cuda() {
        Ok(dev) => {
            eprintln!("running on {dev}");
            Some(dev)
        }
        Err(e) => {
            skip(&format!("CUDA agreement test: {e}"));
            None
        }
    }
}

/// max |a − b| / max(1, |b|) over the entries.
fn max_rel<T: Float>(a: &Mat<T>, b: &Mat<T>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let mut worst = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let (x, y) = (a[(i, j)].to_f64(), b[(i, j)].to_f64());
            worst = worst.max((x - y).abs() / y.abs().max(1.0));
        }
    }
    worst
}

fn agree<T: Float + Into<f64>>(
    dev: &Device,
    kernel: &Kernel,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    tol: f64,
    eps: f64,
) {
    let cpu = Device::cpu();
    let g = kernel.matrix(x, z, dev).unwrap();
    let c = kernel.matrix(x, z, &cpu).unwrap();
    let e = max_rel(&g, &c);
    assert!(e <= tol, "{kernel} {}: GPU vs CPU {e:e}", T::NAME);
    check_against_reference(kernel, x, z, &g, eps, tol).unwrap();

    let gs = kernel.self_matrix(x, dev).unwrap();
    let cs = kernel.self_matrix(x, &cpu).unwrap();
    assert!(
        max_rel(&gs, &cs) <= tol,
        "{kernel} {} self: {:e}",
        T::NAME,
        max_rel(&gs, &cs)
    );
    for i in 0..x.nrows() {
        // Distance kernels have exactly 1 there on both backends; the arc-cosine diagonals are
        // ‖x̃‖² (times 2 for the NTK), summed as a shuffle tree on the GPU and in order on the
        // CPU, so they agree to a few ulps of the working precision, not bit for bit.
        let (gd, cd) = (gs[(i, i)].to_f64(), cs[(i, i)].to_f64());
        assert!(
            (gd - cd).abs() <= 4.0 * x.ncols() as f64 * T::EPS * cd.abs(),
            "{kernel}: diagonal {i}: GPU {gd} vs CPU {cd}"
        );
        for j in 0..i {
            assert_eq!(
                gs[(i, j)].to_f64(),
                gs[(j, i)].to_f64(),
                "{kernel}: GPU self matrix asymmetric"
            );
        }
    }
}

#[test]
fn gpu_matrices_agree_with_cpu_and_reference() {
    let Some(dev) = gpu() else { return };
    assert_eq!(dev.backend(), Backend::Cuda);
    for (n, m, d, seed) in [
        (1, 1, 1, 1u64),
        (63, 65, 17, 2),
        (200, 129, 33, 3),
        (300, 77, 784, 4),
    ] {
        let xs = data(n, d, seed, 1.0);
        let zs = data(m, d, seed + 100, 1.0);
        let (xf, zf): (Vec<f32>, Vec<f32>) = (
            xs.iter().map(|&v| v as f32).collect(),
            zs.iter().map(|&v| v as f32).collect(),
        );
        let bw = (d as f64).sqrt();
        for kernel in all_kernels(bw, 1.5) {
            agree(
                &dev,
                &kernel,
                rows(&xs, n, d).unwrap(),
                rows(&zs, m, d).unwrap(),
                1e-12,
                f64::EPSILON,
            );
            agree(
                &dev,
                &kernel,
                rows(&xf, n, d).unwrap(),
                rows(&zf, m, d).unwrap(),
                1e-5,
                f32::EPSILON as f64,
            );
        }
    }
}

/// The deep arc-cosine kernels (depth 2, 3, 5, with and without biases): GPU against CPU in the
/// same precision, and f32 against the f64 CPU result. The recursion pushes correlations towards
/// 1, where arccos amplifies rounding like √ε, so the f32 bound is 2·10⁻³ relative.
#[test]
fn gpu_deep_kernels_agree_with_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Device::cpu();
    for (n, m, d, seed) in [(63, 65, 17, 12u64), (200, 129, 33, 13), (70, 300, 784, 14)] {
        let xs = data(n, d, seed, 1.0);
        let zs = data(m, d, seed + 100, 1.0);
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (xf, zf) = (f(&xs), f(&zs));
        let (x64, z64) = (rows(&xs, n, d).unwrap(), rows(&zs, m, d).unwrap());
        let (x32, z32) = (rows(&xf, n, d).unwrap(), rows(&zf, m, d).unwrap());
        for depth in [2u32, 3, 5] {
            for bias in [false, true] {
                for kernel in [
                    Kernel::deep_relu_nngp(depth, bias).unwrap(),
                    Kernel::deep_relu_ntk(depth, bias).unwrap(),
                ] {
                    let c64 = kernel.matrix(x64, z64, &cpu).unwrap();
                    let g64 = kernel.matrix(x64, z64, &dev).unwrap();
                    let e = max_rel(&g64, &c64);
                    assert!(e <= 1e-9, "{kernel} f64: GPU vs CPU {e:e}");
                    let g32 = kernel.matrix(x32, z32, &dev).unwrap();
                    let c32 = kernel.matrix(x32, z32, &cpu).unwrap();
                    let e = max_rel(&g32, &c32);
                    assert!(e <= 2e-3, "{kernel} f32: GPU vs CPU {e:e}");
                    let up = Mat::from_fn(n, m, |i, j| g32[(i, j)] as f64);
                    let e = max_rel(&up, &c64);
                    assert!(e <= 2e-3, "{kernel} f32 GPU vs f64 CPU {e:e}");
                    let gs = kernel.self_matrix(x64, &dev).unwrap();
                    let cs = kernel.self_matrix(x64, &cpu).unwrap();
                    let e = max_rel(&gs, &cs);
                    assert!(e <= 1e-9, "{kernel} self f64: {e:e}");
                    let ws = data(m, 3, seed + 7, 1.0);
                    kw_agree(&dev, &kernel, x64, z64, rows(&ws, m, 3).unwrap(), 1e-9);
                }
            }
        }
    }
}

/// |GPU − CPU| ≤ (kernel tolerance + 8·m·ε)·Σⱼ|Kᵢⱼ||Wⱼq| entrywise.
fn kw_agree<T: Float>(
    dev: &Device,
    kernel: &Kernel,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    w: MatRef<'_, T>,
    tol: f64,
) {
    let cpu = Device::cpu();
    let g = kernel.apply(x, z, w, dev).unwrap();
    let c = kernel.apply(x, z, w, &cpu).unwrap();
    let k = kernel.matrix(x, z, &cpu).unwrap();
    let m = z.nrows();
    let rel = tol + 8.0 * m as f64 * T::EPS;
    for i in 0..x.nrows() {
        for q in 0..w.ncols() {
            let absprod: f64 = (0..m)
                .map(|j| (k[(i, j)].to_f64() * w[(j, q)].to_f64()).abs())
                .sum();
            let err = (g[(i, q)].to_f64() - c[(i, q)].to_f64()).abs();
            assert!(
                err <= rel * absprod + 1e-300,
                "{kernel} {} K·W ({i}, {q}): GPU {} vs CPU {}",
                T::NAME,
                g[(i, q)],
                c[(i, q)]
            );
        }
    }
}

#[test]
fn gpu_matrix_free_product_agrees_with_cpu() {
    let Some(dev) = gpu() else { return };
    for (n, m, d, c, seed) in [
        (1, 1, 1, 1, 5u64),
        (130, 4000, 20, 3, 6),
        (500, 333, 100, 8, 7),
        (64, 640, 9, 11, 8),
    ] {
        let xs = data(n, d, seed, 1.0);
        let zs = data(m, d, seed + 1, 1.0);
        let ws = data(m, c, seed + 2, 1.0);
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (xf, zf, wf) = (f(&xs), f(&zs), f(&ws));
        for kernel in all_kernels((d as f64).sqrt(), 0.8) {
            kw_agree(
                &dev,
                &kernel,
                rows(&xs, n, d).unwrap(),
                rows(&zs, m, d).unwrap(),
                rows(&ws, m, c).unwrap(),
                1e-12,
            );
            kw_agree(
                &dev,
                &kernel,
                rows(&xf, n, d).unwrap(),
                rows(&zf, m, d).unwrap(),
                rows(&wf, m, c).unwrap(),
                1e-5,
            );
        }
    }
}

/// ‖A − U S Vᵀ‖_max / ‖A‖_max and ‖UᵀU − I‖_max, ‖VᵀV − I‖_max, in f64.
fn svd_check<T: Float>(
    a: MatRef<'_, T>,
    svd: &doubledescent::linalg::ThinSvd<T>,
) -> (f64, f64, f64) {
    let f = |m: MatRef<'_, T>| Mat::<f64>::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)].to_f64());
    let (a, u, v) = (f(a), f(svd.u.as_ref()), f(svd.v.as_ref()));
    let k = svd.s.len();
    let us = Mat::from_fn(u.nrows(), k, |i, j| u[(i, j)] * svd.s[j].to_f64());
    let rec = &us * v.transpose();
    let amax = (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| a[(i, j)].abs())
        .fold(0.0, f64::max);
    let dev = |m: &Mat<f64>| {
        let g = m.transpose() * m;
        (0..k)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| (g[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs())
            .fold(0.0, f64::max)
    };
    let r = (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| (rec[(i, j)] - a[(i, j)]).abs())
        .fold(0.0, f64::max);
    (r / amax.max(1e-300), dev(&u), dev(&v))
}

fn batched_svd_agrees<T: Float>(
    dev: &Device,
    m: usize,
    n: usize,
    count: usize,
    tol: f64,
    scale: f64,
) {
    let mut rng = doubledescent::random::seeded((m * 1000 + n) as u64);
    let mats: Vec<Mat<T>> = (0..count)
        .map(|_| {
            let a = doubledescent::random::gaussian_matrix(&mut rng, m, n, 1.0);
            Mat::from_fn(m, n, |i, j| T::of(scale * a[(i, j)]))
        })
        .collect();
    let views: Vec<_> = mats.iter().map(|a| a.as_ref()).collect();
    let g = doubledescent::linalg::batched_svd(&views, dev).unwrap();
    let c = doubledescent::linalg::batched_svd(&views, &Device::cpu()).unwrap();
    for (b, (gs, cs)) in g.iter().zip(&c).enumerate() {
        let (r, ou, ov) = svd_check(views[b], gs);
        assert!(
            r <= tol && ou <= tol && ov <= tol,
            "{}x{} {} #{b}: reconstruction {r:e}, UᵀU {ou:e}, VᵀV {ov:e}",
            m,
            n,
            T::NAME
        );
        for (x, y) in gs.s.iter().zip(&cs.s) {
            let e = (x.to_f64() - y.to_f64()).abs() / cs.s[0].to_f64();
            assert!(
                e <= tol,
                "{}x{} {} #{b}: singular values {x} vs {y}",
                m,
                n,
                T::NAME
            );
        }
        assert!(gs.s.windows(2).all(|w| w[0] >= w[1]));
    }
}

#[test]
fn gpu_batched_svd_agrees_with_cpu() {
    let Some(dev) = gpu() else { return };
    // Tall, wide, odd column counts, shared-memory and global-scratch sizes (f64 150x100 needs
    // 200 KB: shared on Hopper's 227 KB opt-in; 128x128 f64 needs 256 KB: global scratch).
    // The emulated device runs a 100-column Jacobi SVD in about a second: two of each there.
    let big = if emulated() { 2 } else { 40 };
    for (m, n, count) in [
        (1, 1, 3),
        (7, 3, 5),
        (3, 7, 5),
        (33, 17, 20),
        (150, 100, big),
        (128, 128, 2),
    ] {
        batched_svd_agrees::<f64>(&dev, m, n, count, 1e-12, 1.0);
        batched_svd_agrees::<f32>(&dev, m, n, count, 5e-5, 1.0);
    }
}

/// The shapes where the working copies just fit the shared memory of the V100 (96 KiB) or the
/// H100 (227 KiB), and just do not (then the global scratch is used), in both precisions; and
/// f32 matrices whose column norms are far above 1.3·10⁹, where α·β overflowed f32 in the old
/// convergence test and the SVD came back silently wrong.
#[test]
fn gpu_batched_svd_at_the_shared_memory_edges_and_the_f32_overflow_edge() {
    let Some(dev) = gpu() else { return };
    // f64 (mw·nw + nw²)·8 + 12·nw bytes: 126×64 and 127×64 straddle the V100's 98 300 bytes;
    // 189×100 and 190×100 the H100's 232 444. f32 (·4 + 8·nw): 254×64 and 255×64 the V100's.
    for (m, n) in [(126, 64), (127, 64), (189, 100), (190, 100)] {
        batched_svd_agrees::<f64>(&dev, m, n, 1, 1e-12, 1.0);
    }
    for (m, n) in [(254, 64), (255, 64), (126, 64)] {
        batched_svd_agrees::<f32>(&dev, m, n, 1, 5e-5, 1.0);
    }
    // Entries of 10¹² in f32: column norms² of 10²⁵, products of 10⁵⁰ (> f32::MAX).
    for (m, n) in [(33, 17), (17, 33), (64, 8)] {
        batched_svd_agrees::<f32>(&dev, m, n, 3, 5e-5, 1e12);
    }
}

#[test]
fn gpu_eigenpro_takes_the_cpu_steps() {
    let Some(dev) = gpu() else { return };
    let digits = doubledescent::data::mnist_embedded().unwrap();
    let ds = digits.select(&(0..500).collect::<Vec<_>>()).unwrap();
    let x: Mat<f64> = ds.unit_rows().unwrap();
    let y: Mat<f64> = ds.one_hot().unwrap();
    let kernel = Kernel::gaussian(1.0).unwrap();
    let opts = doubledescent::solvers::EigenProOptions::default;
    let g = doubledescent::solvers::EigenPro::new(kernel, x.as_ref(), 10, opts(), &dev).unwrap();
    let c = doubledescent::solvers::EigenPro::new(kernel, x.as_ref(), 10, opts(), &Device::cpu())
        .unwrap();
    assert_eq!(
        (g.setup().top_q, g.setup().bs),
        (c.setup().top_q, c.setup().bs)
    );
    let wg = g.fit(y.as_ref(), &[5], None, &mut |_| {}).unwrap().weight;
    let wc = c.fit(y.as_ref(), &[5], None, &mut |_| {}).unwrap().weight;
    let e = max_rel(&wg, &wc);
    assert!(e < 1e-8, "EigenPro weights GPU vs CPU: {e:e}");
}

#[test]
fn gpu_sgld_update_draws_the_cpu_noise() {
    use doubledescent::sampling::{Step, sgld_update_chains};
    let Some(dev) = gpu() else { return };
    let (c, d) = (8usize, 1001usize);
    let mut rng = doubledescent::random::seeded(3);
    let w0 = doubledescent::random::gaussian_vec(&mut rng, c * d, 1.0);
    let g = doubledescent::random::gaussian_vec(&mut rng, c * d, 1.0);
    let w_star = doubledescent::random::gaussian_vec(&mut rng, d, 1.0);
    let s = Step {
        epsilon: 1e-3,
        nbeta: 100.0,
        gamma: 1.0,
        seed: 5,
        step: 41,
    };
    let (mut wc, mut wg) = (w0.clone(), w0.clone());
    sgld_update_chains(&mut wc, &g, &w_star, None, &s, &Device::cpu()).unwrap();
    sgld_update_chains(&mut wg, &g, &w_star, None, &s, &dev).unwrap();
    for i in 0..c * d {
        assert!(
            (wc[i] - wg[i]).abs() < 1e-12 * (1.0 + wc[i].abs()),
            "{i}: {} vs {}",
            wc[i],
            wg[i]
        );
    }
    let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (mut w32, g32, s32) = (to32(&w0), to32(&g), to32(&w_star));
    sgld_update_chains(&mut w32, &g32, &s32, None, &s, &dev).unwrap();
    for i in 0..c * d {
        assert!(
            (w32[i] as f64 - wc[i]).abs() < 1e-4 * (1.0 + wc[i].abs()),
            "f32 {i}"
        );
    }
}

#[test]
fn gpu_mixed_shape_batch_and_least_squares_sweep_agree_with_cpu() {
    let Some(dev) = gpu() else { return };
    // One call, shapes interleaved: each shape group goes to its own launch, order kept.
    let mut rng = doubledescent::random::seeded(7);
    let shapes = [(5, 10), (12, 10), (10, 10), (5, 10), (300, 4), (12, 10)];
    let mats: Vec<Mat<f64>> = shapes
        .iter()
        .map(|&(m, n)| doubledescent::random::gaussian_matrix(&mut rng, m, n, 1.0))
        .collect();
    let views: Vec<_> = mats.iter().map(|a| a.as_ref()).collect();
    let g = doubledescent::linalg::batched_svd(&views, &dev).unwrap();
    for (b, (a, s)) in views.iter().zip(&g).enumerate() {
        assert_eq!((s.u.nrows(), s.v.nrows()), a.shape(), "#{b}");
        let (r, ou, ov) = svd_check(*a, s);
        assert!(
            r <= 1e-12 && ou <= 1e-12 && ov <= 1e-12,
            "#{b}: {r:e} {ou:e} {ov:e}"
        );
    }
    // The full diabetes sweep: every recorded quantity within 1e-8 (relative, with a floor for
    // the quantities that vanish in exact arithmetic).
    use doubledescent::science::least_squares::{SweepConfig, sweep};
    let table = doubledescent::data::diabetes().unwrap();
    let cfg = SweepConfig::original(SweepConfig::DIABETES_LEADING_MODES.to_vec());
    let gs = sweep(&table, &cfg, &dev).unwrap();
    let cs = sweep(&table, &cfg, &Device::cpu()).unwrap();
    let floor = 1e-14 * 3e4;
    let close = |a: f64, b: f64, what: &str, n: usize| {
        assert!(
            (a - b).abs() <= 1e-8 * a.abs().max(b.abs()) + floor,
            "{what} at N = {n}: cuda {a:e} vs cpu {b:e}"
        );
    };
    for (a, b) in gs.fits.iter().zip(&cs.fits) {
        close(
            a.smallest_singular_value,
            b.smallest_singular_value,
            "σ_min",
            a.n,
        );
        close(a.test_mse, b.test_mse, "test", a.n);
        close(a.train_mse, b.train_mse, "train", a.n);
        for (x, y) in a.cutoffs.iter().zip(&b.cutoffs) {
            close(x.test, y.test, "cutoff", a.n);
        }
        for (x, y) in a.leading_modes.iter().zip(&b.leading_modes) {
            close(*x, *y, "leading modes", a.n);
        }
        for (x, y) in a.adversarial_test.iter().zip(&b.adversarial_test) {
            close(*x, *y, "adversarial test", a.n);
        }
        for (x, y) in a.adversarial_train.iter().zip(&b.adversarial_train) {
            close(x.test, y.test, "adversarial train", a.n);
        }
        close(
            a.no_residuals.test,
            b.no_residuals.test,
            "no residuals",
            a.n,
        );
    }
}

/// The tile edges of every kernel: 64×64 output tiles of `dd_kmat` and `dd_kw`, 16-feature
/// slices of the Gram tile, 32×32 tiles of `dd_mirror`, 8 columns of W per pass of `dd_kw` and
/// one warp per row of `dd_sqnorms`. Every size of 1, 15, 16, 17, 31, 33, 255 and 257 appears
/// as rows and as columns, with d = 1, 16, 17 and 65 (> the tile) features, for every kernel
/// kind in both precisions: full and self matrices and K·W with 1, 8 and 9 columns.
#[test]
fn gpu_kernels_agree_on_every_tile_edge() {
    let Some(dev) = gpu() else { return };
    let edges = [1usize, 15, 16, 17, 31, 33, 255, 257];
    let ds = [1usize, 16, 17, 65];
    for (k, (&n, &m)) in edges.iter().zip(edges.iter().rev()).enumerate() {
        let d = ds[k % ds.len()];
        let c = [1usize, 8, 9][k % 3];
        let seed = 40 + k as u64;
        let (xs, zs, ws) = (
            data(n, d, seed, 1.0),
            data(m, d, seed + 1, 1.0),
            data(m, c, seed + 2, 1.0),
        );
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (xf, zf, wf) = (f(&xs), f(&zs), f(&ws));
        for kernel in all_kernels((d as f64).sqrt(), 1.5) {
            let (x, z, w) = (
                rows(&xs, n, d).unwrap(),
                rows(&zs, m, d).unwrap(),
                rows(&ws, m, c).unwrap(),
            );
            agree(&dev, &kernel, x, z, 1e-12, f64::EPSILON);
            kw_agree(&dev, &kernel, x, z, w, 1e-12);
            let (x, z, w) = (
                rows(&xf, n, d).unwrap(),
                rows(&zf, m, d).unwrap(),
                rows(&wf, m, c).unwrap(),
            );
            agree(&dev, &kernel, x, z, 1e-5, f32::EPSILON as f64);
            kw_agree(&dev, &kernel, x, z, w, 1e-5);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]

    /// Random shapes and kernel kinds: full and self matrices and K·W agree with the CPU.
    #[test]
    fn gpu_random_shapes_agree_with_cpu(
        n in 1usize..200, m in 1usize..200, d in 1usize..90, c in 1usize..20, which in 0usize..64,
        seed in 0u64..1000,
    ) {
        let Some(dev) = gpu() else { return Ok(()) };
        let kernels = all_kernels((d as f64).sqrt(), 1.2);
        let kernel = kernels[which % kernels.len()];
        let (xs, zs, ws) = (data(n, d, seed, 1.0), data(m, d, seed + 1, 1.0), data(m, c, seed + 2, 1.0));
        let (x, z, w) = (rows(&xs, n, d).unwrap(), rows(&zs, m, d).unwrap(), rows(&ws, m, c).unwrap());
        agree(&dev, &kernel, x, z, 1e-12, f64::EPSILON);
        kw_agree(&dev, &kernel, x, z, w, 1e-12);
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (xf, zf, wf) = (f(&xs), f(&zs), f(&ws));
        let (x, z, w) = (rows(&xf, n, d).unwrap(), rows(&zf, m, d).unwrap(), rows(&wf, m, c).unwrap());
        agree(&dev, &kernel, x, z, 1e-5, f32::EPSILON as f64);
        kw_agree(&dev, &kernel, x, z, w, 1e-5);
    }
}

/// Runs this test binary again on the emulated device with one mutation of the `.cu` sources
/// (`DOUBLEDESCENT_EMULATE_SOURCES`), limited to `tests`, and returns whether it failed and the
/// tail of what it printed.
fn mutant_fails(file: &str, from: &str, to: &str, tests: &[&str]) -> (bool, String) {
    use doubledescent::backend::cuda::emulate::EMULATE_SOURCES_ENV;
    let dir = std::env::temp_dir().join(format!(
        "dd-mutant-{}-{}-{}",
        std::process::id(),
        file.trim_end_matches(".cu"),
        from.len() + to.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for src in SOURCES {
        let mut text = src.text.to_string();
        if src.file == file {
            assert_eq!(
                text.matches(from).count(),
                1,
                "{file}: the mutation site {from:?}"
            );
            text = text.replace(from, to);
        }
        std::fs::write(dir.join(src.file), text).unwrap();
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(tests)
        .arg("--test-threads=2")
        .env(EMULATE_SOURCES_ENV, &dir)
        .env_remove(REQUIRE_GPU)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    use std::os::unix::process::ExitStatusExt;
    let status = match out.status.signal() {
        Some(sig) => format!("killed by signal {sig}"),
        None => format!("exit status {:?}", out.status.code()),
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + &String::from_utf8_lossy(&out.stderr)
        + "\n"
        + &status;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            [
                "panicked", "ERROR", "SUMMARY", "emulated", "GPU", " vs ", "signal", "status",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .take(5)
        .collect();
    (!out.status.success(), lines.join(" | "))
}

/// Deliberately broken kernels must fail this suite on the emulated device: an off-by-one in
/// `dd_kmat`'s column bounds check (a write one element past K: the guard page or
/// AddressSanitizer stops it), the `__syncthreads` between the SVD's column norms and thread 0's
/// sort removed (the sort reads norms other warps have not written), and the one that lets every
/// thread read `rotated` before thread 0 resets it (a barrier divergence). Under
/// ThreadSanitizer, each reported as a data race: the barrier after thread 0 resets `rotated` (a
/// warp may set it first; no ordering of the threads exposes this one) and the one between the
/// rounds of a sweep (two warps rotate the same column). The launcher mutations (a
/// dynamic shared-memory size one element short, two same-type arguments swapped) need a rebuild
/// of the crate and are listed with their failures in the note of issue 29.
#[test]
fn emulated_device_catches_mutated_kernels() {
    use doubledescent::backend::cuda::emulate::sanitizer;
    if !emulated() {
        eprintln!("not applicable: the mutation checks run on the emulated device");
        return;
    }
    let small = "gpu_every_kernel_on_small_shapes";
    let races = [
        (
            "svd.cu",
            "if (tid == 0) rotated = 0;\n        __syncthreads();",
            "if (tid == 0) rotated = 0;\n",
            small,
        ),
        (
            "svd.cu",
            "            }\n            __syncthreads();\n        }\n        ++sweep;",
            "            }\n        }\n        ++sweep;",
            small,
        ),
    ];
    let mutants = [
        (
            "kernels.cu",
            "if (j >= m) continue;\n            T v",
            "if (j > m) continue;\n            T v",
            "gpu_matrices_agree_with_cpu_and_reference",
        ),
        (
            "svd.cu",
            "norms[j] = dd_sqrt_s(acc);\n    }\n    __syncthreads();",
            "norms[j] = dd_sqrt_s(acc);\n    }\n",
            "gpu_batched_svd_agrees_with_cpu",
        ),
        (
            "svd.cu",
            "__syncthreads();  // everyone has read `rotated` before thread 0 resets it",
            "// (removed)",
            "gpu_batched_svd_agrees_with_cpu",
        ),
    ];
    let mutants = if sanitizer() == Some("thread") {
        races.to_vec()
    } else {
        mutants.to_vec()
    };
    for (file, from, to, test) in mutants {
        let (failed, why) = mutant_fails(file, from, to, &[test]);
        eprintln!(
            "mutant of {file} ({to:?}): {}",
            if failed { "caught" } else { "NOT caught" }
        );
        eprintln!("    {why}");
        assert!(
            failed,
            "the mutation {from:?} -> {to:?} of {file} passed {test}"
        );
    }
}

/// Every kernel once on small shapes (still crossing the tile edges): what `.ci/run` runs under
/// ThreadSanitizer, which checks every block for two accesses to the same memory, one a write,
/// that no `__syncthreads` separates (too slow for the whole suite).
#[test]
fn gpu_every_kernel_on_small_shapes() {
    let Some(dev) = gpu() else { return };
    let (n, m, d, c) = (70, 33, 17, 9);
    let (xs, zs, ws) = (data(n, d, 1, 1.0), data(m, d, 2, 1.0), data(m, c, 3, 1.0));
    let (x, z, w) = (
        rows(&xs, n, d).unwrap(),
        rows(&zs, m, d).unwrap(),
        rows(&ws, m, c).unwrap(),
    );
    for kernel in [
        Kernel::laplace(3.0).unwrap(),
        Kernel::deep_relu_ntk(1, true).unwrap(),
    ] {
        agree(&dev, &kernel, x, z, 1e-12, f64::EPSILON);
        kw_agree(&dev, &kernel, x, z, w, 1e-12);
    }
    for (m, n) in [(20, 9), (9, 20), (33, 17)] {
        batched_svd_agrees::<f64>(&dev, m, n, 2, 1e-12, 1.0);
        batched_svd_agrees::<f32>(&dev, m, n, 2, 5e-5, 1.0);
    }
}
