//! The spectral toolkit against independent references: batched SVD against faer per matrix and
//! the defining identities; minimum-norm least squares against the pseudo-inverse and against
//! every other interpolant; Nyström eigenvalues against the dense eigendecomposition of a kernel
//! matrix built by the naive reference; EigenPro against the direct interpolant.

mod common;

use approx::assert_relative_eq;
use doubledescent::Error;
use doubledescent::data;
use doubledescent::kernels::Kernel;
use doubledescent::kernels::{EigenMethod, nystrom_eigen};
use doubledescent::linalg::batched_svd;
use doubledescent::linalg::{Cutoff, min_norm_lstsq, pinv};
use doubledescent::linalg::{ThinSvd, thin_svd};
use doubledescent::random::{gaussian_matrix, seeded};
use doubledescent::solvers::{EigenPro, EigenProOptions};
use doubledescent::solvers::{Fit, KernelRidge, Predict, Solver};
use doubledescent::{Device, Float};
use faer::{Mat, MatRef, Par, Side};
use proptest::prelude::*;

fn max_abs(a: MatRef<'_, f64>) -> f64 {
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max(a[(i, j)].abs());
        }
    }
    m
}

/// ‖A − U S Vᵀ‖_max, ‖UᵀU − I‖_max, ‖VᵀV − I‖_max.
fn svd_errors(a: MatRef<'_, f64>, svd: &ThinSvd<f64>) -> (f64, f64, f64) {
    let k = svd.s.len();
    let us = Mat::from_fn(a.nrows(), k, |i, j| svd.u[(i, j)] * svd.s[j]);
    let rec = &us * svd.v.transpose();
    let r = max_abs((&rec - a).as_ref());
    let eye = Mat::<f64>::identity(k, k);
    let uu = svd.u.transpose() * &svd.u;
    let vv = svd.v.transpose() * &svd.v;
    (
        r,
        max_abs((&uu - &eye).as_ref()),
        max_abs((&vv - &eye).as_ref()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn batched_svd_reconstructs_is_orthogonal_descending_and_equals_faer(
        m in 1usize..40, n in 1usize..40, count in 1usize..6, seed in 0u64..1000
    ) {
        let mut rng = seeded(seed);
        let mats: Vec<Mat<f64>> = (0..count).map(|_| gaussian_matrix(&mut rng, m, n, 1.0)).collect();
        let views: Vec<_> = mats.iter().map(|a| a.as_ref()).collect();
        let svds = batched_svd(&views, &Device::cpu()).unwrap();
        prop_assert_eq!(svds.len(), count);
        for (a, svd) in mats.iter().zip(&svds) {
            let scale = svd.s[0].max(1.0);
            let (r, ou, ov) = svd_errors(a.as_ref(), svd);
            prop_assert!(r < 1e-12 * scale * (m.max(n) as f64), "reconstruction {r}");
            prop_assert!(ou < 1e-12 * m.max(n) as f64 && ov < 1e-12 * m.max(n) as f64, "orthogonality {ou} {ov}");
            prop_assert!(svd.s.windows(2).all(|w| w[0] >= w[1]) && svd.s.iter().all(|&s| s >= 0.0));
            // The parallel parallelism setting must not change faer's answer.
            let one = thin_svd(a.as_ref(), Par::rayon(2)).unwrap();
            for (x, y) in one.s.iter().zip(&svd.s) {
                prop_assert!((x - y).abs() <= 1e-12 * scale, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn min_norm_solution_is_the_pinv_solution_and_the_smallest_interpolant(
        m in 1usize..12, extra in 1usize..12, seed in 0u64..1000
    ) {
        // Wide A (m × n, n > m): infinitely many interpolants.
        let n = m + extra;
        let mut rng = seeded(seed);
        let a = gaussian_matrix(&mut rng, m, n, 1.0);
        let b = gaussian_matrix(&mut rng, m, 2, 1.0);
        let sol = min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::default()).unwrap();
        prop_assert_eq!(sol.rank, m);
        let p = pinv(a.as_ref(), Cutoff::default()).unwrap();
        let via_pinv = &p * &b;
        prop_assert!(max_abs((&via_pinv - &sol.coef).as_ref()) < 1e-9 * max_abs(sol.coef.as_ref()).max(1.0));
        // It interpolates ...
        let resid = &a * &sol.coef - &b;
        prop_assert!(max_abs(resid.as_ref()) < 1e-9);
        // ... and adding any null-space direction of A makes it longer.
        let z = gaussian_matrix(&mut rng, n, 2, 1.0);
        let proj = &z - &p * (&a * &z);
        prop_assert!(max_abs((&a * &proj).as_ref()) < 1e-9);
        let other = &sol.coef + &proj;
        prop_assert!(other.norm_l2() >= sol.coef.norm_l2() - 1e-12);
        prop_assert!(other.norm_l2() > sol.coef.norm_l2() || proj.norm_l2() < 1e-9);
    }
}

#[test]
fn batched_svd_of_wide_and_f32_matrices() {
    let mut rng = seeded(7);
    let mats: Vec<Mat<f32>> = (0..3)
        .map(|_| {
            let a = gaussian_matrix(&mut rng, 6, 15, 1.0);
            Mat::from_fn(6, 15, |i, j| a[(i, j)] as f32)
        })
        .collect();
    let views: Vec<_> = mats.iter().map(|a| a.as_ref()).collect();
    for (a, svd) in mats
        .iter()
        .zip(batched_svd(&views, &Device::cpu()).unwrap())
    {
        assert_eq!((svd.u.nrows(), svd.u.ncols(), svd.v.nrows()), (6, 6, 15));
        let us = Mat::from_fn(6, 6, |i, j| svd.u[(i, j)] * svd.s[j]);
        let rec = &us * svd.v.transpose();
        for j in 0..15 {
            for i in 0..6 {
                assert!((rec[(i, j)] - a[(i, j)]).abs() < 2e-5, "{i},{j}");
            }
        }
    }
}

#[test]
fn batched_svd_rejects_bad_batches() {
    let a = Mat::<f64>::zeros(3, 2);
    let b = Mat::<f64>::zeros(0, 3);
    // No matrices, and an empty matrix among mixed shapes: both name the argument.
    for mats in [vec![], vec![a.as_ref(), b.as_ref()]] {
        let err = batched_svd::<f64>(&mats, &Device::cpu()).unwrap_err();
        let named = matches!(
            &err,
            Error::InvalidArgument {
                name: "matrices",
                ..
            }
        );
        assert!(named, "{err}");
    }
    let mut c = a.clone();
    c[(1, 1)] = f64::NAN;
    let err = batched_svd(&[a.as_ref(), c.as_ref()], &Device::cpu()).unwrap_err();
    assert!(
        matches!(&err, Error::NonFinite { name: "matrices", value, .. } if value.is_nan()),
        "{err}"
    );
}

#[test]
fn lstsq_cutoff_drops_small_singular_values_and_checks_arguments() {
    // diag(1, 1e-10): the relative cutoff 1e-8 keeps one value; LAPACK's keeps both.
    let a = Mat::from_fn(2, 2, |i, j| if i == j { [1.0, 1e-10][i] } else { 0.0 });
    let b = Mat::from_fn(2, 1, |_, _| 1.0);
    let cut = min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::relative(1e-8)).unwrap();
    assert_eq!(cut.rank, 1);
    assert_eq!(cut.coef[(1, 0)], 0.0);
    let all = min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::default()).unwrap();
    assert_eq!(all.rank, 2);
    assert_relative_eq!(all.coef[(1, 0)], 1e10, max_relative = 1e-12);
    let abs = min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::absolute(0.5)).unwrap();
    assert_eq!(abs.rank, 1);
    // A zero matrix has rank 0 and solution 0.
    let z = min_norm_lstsq(
        Mat::<f64>::zeros(3, 2).as_ref(),
        Mat::from_fn(3, 1, |_, _| 1.0).as_ref(),
        Cutoff::default(),
    )
    .unwrap();
    assert_eq!((z.rank, z.coef.norm_l2()), (0, 0.0));
    let err = min_norm_lstsq(
        a.as_ref(),
        Mat::<f64>::zeros(3, 1).as_ref(),
        Cutoff::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("rows of b"), "{err}");
    let err = min_norm_lstsq(a.as_ref(), b.as_ref(), Cutoff::relative(-1.0)).unwrap_err();
    assert!(err.to_string().contains("cutoff.relative"), "{err}");
}

fn mnist_rows(count: usize) -> (Mat<f64>, Mat<f64>) {
    let digits = data::mnist_embedded().unwrap();
    let idx: Vec<usize> = (0..count).collect();
    let ds = digits.select(&idx).unwrap();
    (ds.unit_rows().unwrap(), ds.one_hot().unwrap())
}

#[test]
fn nystrom_top_eigenvalues_equal_the_dense_spectrum_for_every_method() {
    let (x, _) = mnist_rows(300);
    let kernel = Kernel::laplace(10.0).unwrap();
    // Independent reference: the naive kernel matrix, its full spectrum, divided by s.
    let s = x.nrows();
    let rows: Vec<Vec<f64>> = (0..s).map(|i| x.row(i).iter().copied().collect()).collect();
    let kref = Mat::from_fn(s, s, |i, j| {
        common::reference(&kernel, &rows[i], &rows[j], f64::EPSILON).value
    });
    let mut ev = kref.self_adjoint_eigenvalues(Side::Lower).unwrap();
    ev.reverse();
    let q = 20;
    for method in [
        EigenMethod::Dense,
        EigenMethod::KrylovCached,
        EigenMethod::KrylovMatrixFree,
    ] {
        let eig = nystrom_eigen(kernel, x.as_ref(), q, method, &Device::cpu()).unwrap();
        assert_eq!(eig.method, method);
        for (i, e) in ev.iter().take(q).enumerate() {
            assert_relative_eq!(eig.values[i], e / s as f64, max_relative = 1e-8);
        }
        // Unit eigenvectors: K u = s λ u.
        let ku = &kref * &eig.vectors;
        for i in 0..q {
            let lam = eig.values[i] * s as f64;
            let mut r = 0.0f64;
            for j in 0..s {
                r = r.max((ku[(j, i)] - lam * eig.vectors[(j, i)]).abs());
            }
            assert!(r < 1e-6 * lam, "{method:?} pair {i}: residual {r}");
            assert_relative_eq!(eig.vectors.col(i).norm_l2(), 1.0, max_relative = 1e-10);
        }
    }
    let err = nystrom_eigen(
        kernel,
        x.as_ref(),
        s + 1,
        EigenMethod::Dense,
        &Device::cpu(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`q`"), "{err}");
}

#[test]
fn eigenpro_converges_to_the_direct_interpolant() {
    // 400 digits, 400 epochs, against the LU solution of K A = Y.
    let (x, y) = mnist_rows(400);
    let kernel = Kernel::laplace(10.0).unwrap();
    let cpu = Device::cpu();
    let direct = KernelRidge::new(kernel, 0.0, Solver::Lu, &cpu)
        .unwrap()
        .fit(x.as_ref(), y.as_ref())
        .unwrap();
    let pro = EigenPro::new(kernel, x.as_ref(), 10, EigenProOptions::default(), &cpu).unwrap();
    let fit = pro.fit(y.as_ref(), &[100, 400], None, &mut |_| {}).unwrap();
    let last = fit.history.last().unwrap();
    assert_eq!(last.train_error, 0.0);
    assert!(fit.history[0].train_mse > last.train_mse);
    assert!(last.train_mse < 1e-6, "train mse {}", last.train_mse);
    // Held-out digits.
    let digits = data::mnist_embedded().unwrap();
    let z: Mat<f64> = digits
        .select(&(5000..5200).collect::<Vec<_>>())
        .unwrap()
        .unit_rows()
        .unwrap();
    let p_direct = direct.predict(z.as_ref()).unwrap();
    let p_pro = fit.predict(z.as_ref()).unwrap();
    let diff = max_abs((&p_direct - &p_pro).as_ref());
    assert!(
        diff < 2e-3,
        "max |EigenPro − direct| on held-out digits = {diff}"
    );
    // Same predicted class almost everywhere.
    let agree = data::multiclass_error(p_direct.as_ref(), p_pro.as_ref()).unwrap();
    assert!(agree <= 0.01, "{agree}");
}

#[test]
fn eigenpro_matrix_free_path_takes_the_cached_path_steps() {
    // A Gaussian kernel: the Laplace kernel's √ turns the O(ε) rounding of ‖x − x‖² in the
    // matrix-free tiles into O(√ε) on the diagonal (the cache has the exact 1 there), which would
    // hide a real discrepancy behind a loose tolerance.
    let (x, y) = mnist_rows(300);
    let kernel = Kernel::gaussian(1.0).unwrap();
    let cpu = Device::cpu();
    let fit = |cache_bytes| {
        let options = EigenProOptions {
            cache_bytes,
            ..Default::default()
        };
        let pro = EigenPro::new(kernel, x.as_ref(), 10, options, &cpu).unwrap();
        assert_eq!(pro.setup().cached, cache_bytes > 0);
        pro.fit(y.as_ref(), &[5], None, &mut |_| {}).unwrap().weight
    };
    let (a, b) = (fit(1 << 30), fit(0));
    let d = max_abs((&a - &b).as_ref());
    assert!(
        d < 1e-9 * max_abs(a.as_ref()),
        "cached vs matrix-free weights differ by {d} (max {})",
        max_abs(a.as_ref())
    );
}

#[test]
fn eigenpro_setup_follows_the_original_rules_and_rejects_bad_input() {
    let (x, y) = mnist_rows(300);
    let kernel = Kernel::laplace(10.0).unwrap();
    let cpu = Device::cpu();
    let pro = EigenPro::new(kernel, x.as_ref(), 10, EigenProOptions::default(), &cpu).unwrap();
    let s = pro.setup();
    assert_eq!((s.n_subsamples, s.svd_q, s.bs_gpu), (300, 299, 300));
    // eta/bs rule (step 7) from the printed quantities.
    let bound = s.beta / s.new_top_eigval + 1.0;
    assert_eq!(s.bs, (bound as usize).min(s.bs_gpu));
    let eta = if (s.bs as f64) < bound {
        s.bs as f64 / s.beta
    } else {
        0.99 * 2.0 * s.bs as f64 / (s.beta + (s.bs as f64 - 1.0) * s.new_top_eigval)
    };
    assert_relative_eq!(s.eta, eta, max_relative = 1e-12);
    assert_relative_eq!(s.step, eta / s.bs as f64, max_relative = 1e-12);
    assert!(s.top_q >= 5 && s.beta > 0.0 && s.beta <= 1.0);
    // Deterministic by seed.
    let a = pro.fit(y.as_ref(), &[3], None, &mut |_| {}).unwrap();
    let b = pro.fit(y.as_ref(), &[3], None, &mut |_| {}).unwrap();
    assert_eq!(a.weight, b.weight);
    // Errors name the argument.
    let bad = EigenProOptions {
        n_subsamples: Some(1000),
        ..Default::default()
    };
    let err = EigenPro::new(kernel, x.as_ref(), 10, bad, &cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("n_subsamples"), "{err}");
    let err = pro
        .fit(y.as_ref(), &[5, 2], None, &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("epochs"), "{err}");
    let mut ybad = y.clone();
    ybad[(3, 2)] = f64::NAN;
    let err = pro
        .fit(ybad.as_ref(), &[1], None, &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("row 3, col 2"), "{err}");
    // A step far above the stable one diverges and says so.
    let wild = EigenProOptions {
        eta: Some(1e12),
        ..Default::default()
    };
    let pro = EigenPro::new(kernel, x.as_ref(), 10, wild, &cpu).unwrap();
    let err = pro
        .fit(y.as_ref(), &[100], None, &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("diverged"), "{err}");
}

/// The algorithm of `cuda/svd.cu`, step for step on the CPU (the circle-method pair order, the
/// rotation with its two-root convergence test and its large-ζ branch, the stopping rule, the
/// sort), in the kernel's precision, so that its logic is checked on machines without a GPU;
/// `tests/cuda.rs` checks the kernel itself against the CPU where a device exists.
fn jacobi_like_the_kernel<T: Float>(
    a: &Mat<T>,
    tol: T,
    max_sweeps: usize,
) -> (Vec<T>, Mat<T>, Mat<T>, usize) {
    let abs = |x: T| if x < T::ZERO { -x } else { x };
    let inv_eps = T::of(1.0 / T::EPS);
    let two = T::of(2.0);
    let (mw, nw) = a.shape();
    let mut w = a.clone();
    let mut v = Mat::<T>::identity(nw, nw);
    let n_players = nw + (nw & 1);
    let player = |r: usize, k: usize, side: usize| {
        let pos = if side == 0 { k } else { n_players - 1 - k };
        if pos == 0 {
            0
        } else {
            ((pos - 1 + r) % (n_players - 1)) + 1
        }
    };
    let mut sweeps = 0;
    let mut converged = nw < 2;
    while !converged && sweeps < max_sweeps {
        let mut rotated = false;
        for r in 0..n_players - 1 {
            let mut seen = vec![false; n_players];
            for k in 0..n_players / 2 {
                let (mut p, mut q) = (player(r, k, 0), player(r, k, 1));
                // Every player once per round: the pairs of a round are independent.
                assert!(!seen[p] && !seen[q]);
                seen[p] = true;
                seen[q] = true;
                if p >= nw || q >= nw {
                    continue;
                }
                if p > q {
                    std::mem::swap(&mut p, &mut q);
                }
                let (mut al, mut be, mut ga) = (T::ZERO, T::ZERO, T::ZERO);
                for i in 0..mw {
                    al += w[(i, p)] * w[(i, p)];
                    be += w[(i, q)] * w[(i, q)];
                    ga += w[(i, p)] * w[(i, q)];
                }
                if ga != T::ZERO && abs(ga) > tol * al.sqrt() * be.sqrt() {
                    let zeta = (be - al) / (two * ga);
                    let az = abs(zeta);
                    let mut t = if az > inv_eps {
                        T::ONE / (two * az)
                    } else {
                        T::ONE / (az + (T::ONE + zeta * zeta).sqrt())
                    };
                    if zeta < T::ZERO {
                        t = -t;
                    }
                    let c = T::ONE / (T::ONE + t * t).sqrt();
                    let s = c * t;
                    for i in 0..mw {
                        let (x, y) = (w[(i, p)], w[(i, q)]);
                        w[(i, p)] = c * x - s * y;
                        w[(i, q)] = s * x + c * y;
                    }
                    for i in 0..nw {
                        let (x, y) = (v[(i, p)], v[(i, q)]);
                        v[(i, p)] = c * x - s * y;
                        v[(i, q)] = s * x + c * y;
                    }
                    rotated = true;
                }
            }
        }
        sweeps += 1;
        converged = !rotated;
    }
    let norms: Vec<T> = (0..nw)
        .map(|j| {
            let mut acc = T::ZERO;
            for i in 0..mw {
                acc += w[(i, j)] * w[(i, j)];
            }
            acc.sqrt()
        })
        .collect();
    let mut perm: Vec<usize> = (0..nw).collect();
    perm.sort_by(|&x, &y| norms[y].partial_cmp(&norms[x]).unwrap());
    let u = Mat::from_fn(mw, nw, |i, j| w[(i, perm[j])] / norms[perm[j]]);
    let vo = Mat::from_fn(nw, nw, |i, j| v[(i, perm[j])]);
    (perm.iter().map(|&j| norms[j]).collect(), u, vo, sweeps)
}

/// Columns of norm ~1e11 in f32: α·β (~1e44) overflows float, which made the old convergence
/// test `|γ| > tol·√(αβ)` false for every pair, so the kernel stopped after one sweep with the
/// column norms as singular values and a non-orthogonal U. With √α·√β it rotates and converges.
#[test]
fn the_jacobi_algorithm_converges_on_huge_f32_columns() {
    let mut rng = seeded(5);
    let (m, n) = (2000, 6);
    let a64 = gaussian_matrix(&mut rng, m, n, 1e8);
    // Correlated columns, so that the input is far from orthogonal.
    let a64 = Mat::from_fn(m, n, |i, j| a64[(i, j)] + 0.5 * a64[(i, 0)]);
    let a32 = Mat::from_fn(m, n, |i, j| a64[(i, j)] as f32);
    let (s, u, v, sweeps) = jacobi_like_the_kernel(&a32, f32::EPSILON * m as f32, 60);
    assert!(sweeps > 1 && sweeps < 20, "{sweeps} sweeps");
    let reference = thin_svd(a64.as_ref(), Par::Seq).unwrap();
    for (x, y) in s.iter().zip(&reference.s) {
        assert!(
            ((*x as f64) - y).abs() <= 1e-4 * reference.s[0],
            "{x} vs {y}"
        );
    }
    let utu = u.transpose() * &u;
    let vtv = v.transpose() * &v;
    for i in 0..n {
        for j in 0..n {
            let id = if i == j { 1.0 } else { 0.0 };
            assert!(
                (utu[(i, j)] - id).abs() < 1e-4,
                "UᵀU[{i},{j}] = {}",
                utu[(i, j)]
            );
            assert!(
                (vtv[(i, j)] - id).abs() < 1e-5,
                "VᵀV[{i},{j}] = {}",
                vtv[(i, j)]
            );
        }
    }
    // A pair with |ζ| far beyond 1/ε (a tiny γ against very different norms) takes the 1/(2ζ)
    // branch and still converges in a few sweeps.
    let b = Mat::from_fn(50, 2, |i, j| {
        if j == 0 {
            1e6 * ((i % 7) as f32 - 3.0)
        } else {
            1e-3 * ((i % 5) as f32 - 2.0) + 1e-9 * ((i % 7) as f32 - 3.0)
        }
    });
    let (s, _, _, sweeps) = jacobi_like_the_kernel(&b, f32::EPSILON * 50.0, 60);
    assert!(
        sweeps < 10 && s.iter().all(|x| x.is_finite()),
        "{sweeps} sweeps, {s:?}"
    );
}

#[test]
fn the_cuda_jacobi_algorithm_converges_to_the_faer_svd() {
    let mut rng = seeded(21);
    for (m, n) in [(2, 2), (5, 3), (9, 8), (40, 17), (150, 100)] {
        let a = gaussian_matrix(&mut rng, m, n, 1.0);
        let (s, u, v, sweeps) = jacobi_like_the_kernel(&a, f64::EPSILON * m as f64, 60);
        assert!(sweeps < 20, "{m}x{n}: {sweeps} sweeps");
        let svd = ThinSvd { u, s, v };
        let (r, ou, ov) = svd_errors(a.as_ref(), &svd);
        assert!(
            r < 1e-12 && ou < 1e-12 && ov < 1e-12,
            "{m}x{n}: {r:e} {ou:e} {ov:e}"
        );
        let reference = thin_svd(a.as_ref(), Par::Seq).unwrap();
        for (x, y) in svd.s.iter().zip(&reference.s) {
            assert!(
                (x - y).abs() <= 1e-12 * reference.s[0],
                "{m}x{n}: {x} vs {y}"
            );
        }
    }
}
