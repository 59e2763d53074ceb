//! Kernel matrices on the CPU against the naive f64 reference (tests/common), closed forms from the
//! tutorial spec, structural properties (exact symmetry and diagonal, PSD) and bad input.

mod common;

use common::{all_kernels, check_against_reference, data, reference};
use doubledescent::kernels::{Kernel, KernelKind, rows};
use doubledescent::{Device, Error};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};
use proptest::prelude::*;
use std::f64::consts::PI;

const TOL_F64: f64 = 1e-12;
const TOL_F32: f64 = 1e-5;

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn kernel_strategy() -> impl Strategy<Value = Kernel> {
    (0usize..7, 0.3f64..20.0, 0.05f64..=2.0).prop_map(|(i, bw, g)| all_kernels(bw, g)[i])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Full matrices in f64 and f32, shapes from 1 to past the 64×256 tiles.
    #[test]
    fn matrix_matches_naive_reference(
        kernel in kernel_strategy(),
        n in 1usize..300, m in 1usize..280, d in 1usize..24,
        scale in prop::sample::select(vec![0.1, 1.0, 5.0]),
        seed in any::<u64>(),
    ) {
        let dev = Device::cpu();
        let xs = data(n, d, seed, scale);
        let zs = data(m, d, seed ^ 0xABCD, scale);
        let (x, z) = (rows(&xs, n, d).unwrap(), rows(&zs, m, d).unwrap());
        let k = kernel.matrix(x, z, &dev).unwrap();
        check_against_reference(&kernel, x, z, &k, f64::EPSILON, TOL_F64).map_err(TestCaseError::fail)?;

        let (xf, zf) = (to_f32(&xs), to_f32(&zs));
        let (x, z) = (rows(&xf, n, d).unwrap(), rows(&zf, m, d).unwrap());
        let k = kernel.matrix(x, z, &dev).unwrap();
        check_against_reference(&kernel, x, z, &k, f32::EPSILON as f64, TOL_F32).map_err(TestCaseError::fail)?;
    }

    /// Self matrices: the reference off the diagonal, exactly symmetric, exact diagonal.
    #[test]
    fn self_matrix_is_symmetric_with_exact_diagonal(
        kernel in kernel_strategy(),
        n in 1usize..330, d in 1usize..20, seed in any::<u64>(),
    ) {
        let xs = data(n, d, seed, 1.5);
        let x = rows(&xs, n, d).unwrap();
        let k = kernel.self_matrix(x, &Device::cpu()).unwrap();
        check_against_reference(&kernel, x, x, &k, f64::EPSILON, TOL_F64).map_err(TestCaseError::fail)?;
        for i in 0..n {
            let xi = common::row_f64(x, i);
            let nx: f64 = xi.iter().map(|v| v * v).sum();
            let exact = match kernel.kind() {
                KernelKind::ReluNngp { bias, .. } => nx + bias as u8 as f64,
                KernelKind::ReluNtk { bias, .. } => 2.0 * (nx + bias as u8 as f64),
                _ => 1.0,
            };
            match kernel.kind() {
                KernelKind::ReluNngp { .. } | KernelKind::ReluNtk { .. } => prop_assert!((k[(i, i)] - exact).abs() <= 4.0 * d as f64 * f64::EPSILON * exact),
                _ => prop_assert_eq!(k[(i, i)], 1.0),
            }
            for j in 0..i {
                prop_assert_eq!(k[(i, j)].to_bits(), k[(j, i)].to_bits(), "asymmetric at ({}, {})", i, j);
            }
        }
        let xf = to_f32(&xs);
        let kf = kernel.self_matrix(rows(&xf, n, d).unwrap(), &Device::cpu()).unwrap();
        for i in 0..n {
            for j in 0..i {
                prop_assert_eq!(kf[(i, j)].to_bits(), kf[(j, i)].to_bits());
            }
        }
        check_against_reference(&kernel, rows(&xf, n, d).unwrap(), rows(&xf, n, d).unwrap(), &kf, f32::EPSILON as f64, TOL_F32).map_err(TestCaseError::fail)?;
    }

    /// K·W equals the dense product K(X, Z)·W (f64 and f32).
    #[test]
    fn apply_equals_dense_product(
        kernel in kernel_strategy(),
        n in 1usize..200, m in 1usize..200, d in 1usize..16, c in 1usize..12, seed in any::<u64>(),
    ) {
        let dev = Device::cpu();
        let xs = data(n, d, seed, 1.0);
        let zs = data(m, d, seed ^ 1, 1.0);
        let ws = data(m, c, seed ^ 2, 1.0);
        let (x, z, w) = (rows(&xs, n, d).unwrap(), rows(&zs, m, d).unwrap(), rows(&ws, m, c).unwrap());
        let kw = kernel.apply(x, z, w, &dev).unwrap();
        let k = kernel.matrix(x, z, &dev).unwrap();
        let mut dense = Mat::<f64>::zeros(n, c);
        matmul(dense.as_mut(), Accum::Replace, k.as_ref(), w, 1.0, Par::Seq);
        // |K||W|: the scale of the rounding in a length-m sum.
        let mut absprod = Mat::<f64>::zeros(n, c);
        let kabs = Mat::<f64>::from_fn(n, m, |i, j| k[(i, j)].abs());
        let wabs = Mat::<f64>::from_fn(m, c, |i, j| w[(i, j)].abs());
        matmul(absprod.as_mut(), Accum::Replace, kabs.as_ref(), wabs.as_ref(), 1.0, Par::Seq);
        for i in 0..n {
            for q in 0..c {
                let bound = 4.0 * m as f64 * f64::EPSILON * absprod[(i, q)] + 1e-300;
                prop_assert!((kw[(i, q)] - dense[(i, q)]).abs() <= bound, "({}, {}): {} vs {}", i, q, kw[(i, q)], dense[(i, q)]);
            }
        }
        // The f32 result against the definition evaluated on the same (f32-rounded) data: each
        // entry may be off by what the per-entry error model allows in f32 (the same model the
        // f32 matrix test accepts; it includes the error the norm expansion propagates, which is
        // large for a dispersal kernel of small γ near coincident points), weighted by |W|, plus
        // the f32 summation.
        let (xf, zf, wf) = (to_f32(&xs), to_f32(&zs), to_f32(&ws));
        let kwf = kernel.apply(rows(&xf, n, d).unwrap(), rows(&zf, m, d).unwrap(), rows(&wf, m, c).unwrap(), &dev).unwrap();
        let widen = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let (x64, z64, w64) = (widen(&xf), widen(&zf), widen(&wf));
        let eps32 = f32::EPSILON as f64;
        for i in 0..n {
            let xi = &x64[i * d..(i + 1) * d];
            let refs: Vec<common::Reference> = (0..m)
                .map(|j| common::reference(&kernel, xi, &z64[j * d..(j + 1) * d], eps32))
                .collect();
            for q in 0..c {
                let (mut want, mut allowed, mut abs) = (0.0, 0.0, 0.0);
                for (j, r) in refs.iter().enumerate() {
                    let wj = w64[j * c + q];
                    want += r.value * wj;
                    allowed += r.allowed(TOL_F32) * wj.abs();
                    abs += r.value.abs() * wj.abs();
                }
                let bound = allowed + 4.0 * m as f64 * eps32 * abs + 1e-6;
                prop_assert!((kwf[(i, q)] as f64 - want).abs() <= bound, "f32 ({}, {}): {} vs {}", i, q, kwf[(i, q)], want);
            }
        }
    }
}

/// The smallest eigenvalue of every self matrix is ≥ −1e-8·n (times the largest diagonal entry for
/// the arc-cosine kernels): they are positive semi-definite kernels.
#[test]
fn self_matrices_are_positive_semidefinite() {
    for (n, d, seed) in [(150, 3, 1u64), (400, 10, 2), (257, 1, 3)] {
        let xs = data(n, d, seed, 2.0);
        let x = rows(&xs, n, d).unwrap();
        for kernel in all_kernels(0.7, 1.3) {
            let k = kernel.self_matrix(x, &Device::cpu()).unwrap();
            let eig = k.self_adjoint_eigenvalues(Side::Lower).unwrap();
            let maxdiag = (0..n).map(|i| k[(i, i)]).fold(0.0f64, f64::max);
            let min = eig[0];
            assert!(
                min >= -1e-8 * n as f64 * maxdiag.max(1.0),
                "{kernel}: λ_min = {min:e} (n = {n}, d = {d})"
            );
        }
    }
}

/// Closed forms from dd_tutorial §1.4, §2.4 and §4.1.
#[test]
fn arc_cosine_closed_forms_from_the_tutorial() {
    let dev = Device::cpu();
    // Unit-norm inputs with bias: ‖x̃‖² = 2 and K_NTK(x, x) = 4 (§2.4), K_NNGP(x, x) = 2.
    let x = [0.6f64, 0.8, 0.0, 0.0, 0.0, 1.0];
    let xm = rows(&x, 2, 3).unwrap();
    let ntk = Kernel::relu_ntk(true).self_matrix(xm, &dev).unwrap();
    assert_eq!(ntk[(0, 0)], 4.0);
    assert_eq!(ntk[(1, 1)], 4.0);
    // Orthogonal unit vectors with bias: ξ̃ = 1/2, r = 2.
    let nngp_half = (0.5 * (PI - (0.5f64).acos()) + (0.75f64).sqrt()) / PI;
    let ntk_half = 2.0 * (nngp_half + 0.5 * (PI - (0.5f64).acos()) / PI);
    assert!(
        (ntk[(0, 1)] - ntk_half).abs() < 1e-14,
        "{} vs {ntk_half}",
        ntk[(0, 1)]
    );
    assert!((ntk_half - (2.0 / 3.0 + 3f64.sqrt() / PI + 2.0 / 3.0)).abs() < 1e-14);
    let nngp = Kernel::relu_nngp(true).matrix(xm, xm, &dev).unwrap();
    assert!((nngp[(0, 1)] - 2.0 * nngp_half).abs() < 1e-14);
    // Without bias, unit vectors: φ̌(ξ) + ξ(φ')̌(ξ) (§4.1), φ̌(1) = 1, φ̌(0) = 1/π.
    let k = Kernel::relu_ntk(false).matrix(xm, xm, &dev).unwrap();
    assert!((k[(0, 1)] - 1.0 / PI).abs() < 1e-15);
    assert_eq!(k[(0, 0)], 2.0);
    // Antiparallel: φ̌(−1) = 0 and the NTK's second term is 0 too.
    let y = [1.0f64, 2.0, -2.0, -4.0];
    let k = Kernel::relu_ntk(false)
        .matrix(
            rows(&y[..2], 1, 2).unwrap(),
            rows(&y[2..], 1, 2).unwrap(),
            &dev,
        )
        .unwrap();
    assert!(k[(0, 0)].abs() < 1e-7, "{}", k[(0, 0)]);
    // A zero input without bias has a zero kernel row, not NaN.
    let z = [0.0f64, 0.0, 1.0, 1.0];
    let k = Kernel::relu_ntk(false)
        .self_matrix(rows(&z, 2, 2).unwrap(), &dev)
        .unwrap();
    assert_eq!((k[(0, 0)], k[(0, 1)], k[(1, 0)]), (0.0, 0.0, 0.0));
}

/// The distance kernels against their definitions at hand-computed points, and the dispersal
/// kernel's special cases γ = 1 (Laplace) and γ = 2 (Gaussian of σ_G² = σ/2).
#[test]
fn distance_kernels_hand_values_and_special_cases() {
    let dev = Device::cpu();
    let x = [0.0f64, 0.0, 3.0, 4.0];
    let xm = rows(&x, 2, 2).unwrap();
    let lap = Kernel::laplace(10.0)
        .unwrap()
        .self_matrix(xm, &dev)
        .unwrap();
    assert!((lap[(0, 1)] - (-0.5f64).exp()).abs() < 1e-15);
    let gau = Kernel::gaussian(5.0).unwrap().matrix(xm, xm, &dev).unwrap();
    assert!((gau[(1, 0)] - (-0.5f64).exp()).abs() < 1e-15);
    let xs = data(90, 7, 11, 1.0);
    let xm = rows(&xs, 90, 7).unwrap();
    let d1 = Kernel::dispersal(3.0, 1.0)
        .unwrap()
        .self_matrix(xm, &dev)
        .unwrap();
    let l = Kernel::laplace(3.0).unwrap().self_matrix(xm, &dev).unwrap();
    let d2 = Kernel::dispersal(3.0, 2.0)
        .unwrap()
        .self_matrix(xm, &dev)
        .unwrap();
    let g = Kernel::gaussian((1.5f64).sqrt())
        .unwrap()
        .self_matrix(xm, &dev)
        .unwrap();
    for i in 0..90 {
        for j in 0..90 {
            assert!((d1[(i, j)] - l[(i, j)]).abs() < 1e-14);
            assert!((d2[(i, j)] - g[(i, j)]).abs() < 1e-14);
        }
    }
    // Kernel::eval is the same formula for one pair.
    let r = reference(
        &Kernel::laplace(3.0).unwrap(),
        &xs[0..7],
        &xs[7..14],
        f64::EPSILON,
    );
    let e = Kernel::laplace(3.0)
        .unwrap()
        .eval(&xs[0..7], &xs[7..14])
        .unwrap();
    assert!((e - r.value).abs() <= r.allowed(TOL_F64));
}

/// Identical points: the clamp at 0 keeps the distance kernels at exactly 1, never NaN, also
/// off the diagonal and in f32 (the original `dispersal` gave NaN here, spec §6 item 5).
#[test]
fn duplicate_points_never_give_nan() {
    let base = data(1, 33, 5, 3.0);
    let xs: Vec<f32> = base.iter().chain(base.iter()).map(|&v| v as f32).collect();
    let x = rows(&xs, 2, 33).unwrap();
    for kernel in all_kernels(0.5, 0.3) {
        let k = kernel.matrix(x, x, &Device::cpu()).unwrap();
        for v in k
            .col_iter()
            .flat_map(|c| c.iter().copied().collect::<Vec<_>>())
        {
            assert!(v.is_finite(), "{kernel}: {v}");
        }
        if matches!(
            kernel.kind(),
            KernelKind::Laplace { .. } | KernelKind::Gaussian { .. } | KernelKind::Dispersal { .. }
        ) {
            assert!(k[(0, 1)] > 0.99, "{kernel}: {}", k[(0, 1)]);
        }
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dev = Device::cpu();
    let xs = data(4, 3, 1, 1.0);
    let x = rows(&xs, 4, 3).unwrap();
    let msg = |e: Error| e.to_string();

    for bw in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let e = msg(Kernel::laplace(bw).unwrap_err());
        assert!(e.contains("bandwidth"), "{e}");
        let e = msg(Kernel::try_from(KernelKind::Gaussian { bandwidth: bw }).unwrap_err());
        assert!(e.contains("bandwidth"), "{e}");
    }
    for g in [0.0, -0.5, 2.5, f64::NAN] {
        let e = msg(Kernel::dispersal(1.0, g).unwrap_err());
        assert!(e.contains("gamma"), "{e}");
    }
    let zs = data(4, 2, 1, 1.0);
    let e = msg(Kernel::relu_ntk(true)
        .matrix(x, rows(&zs, 4, 2).unwrap(), &dev)
        .unwrap_err());
    assert!(e.contains("3 columns") && e.contains("2 columns"), "{e}");
    let empty: [f64; 0] = [];
    let e = msg(Kernel::relu_nngp(false)
        .self_matrix(rows(&empty, 0, 3).unwrap(), &dev)
        .unwrap_err());
    assert!(e.contains("`x`") && e.contains("0x3"), "{e}");
    let mut bad = xs.clone();
    bad[7] = f64::NAN;
    let e = msg(Kernel::laplace(1.0)
        .unwrap()
        .matrix(x, rows(&bad, 4, 3).unwrap(), &dev)
        .unwrap_err());
    assert!(
        e.contains("`z`") && e.contains("row 2, col 1") && e.contains("NaN"),
        "{e}"
    );
    let ws = [1.0f64, 2.0, 3.0];
    let e = msg(Kernel::laplace(1.0)
        .unwrap()
        .apply(x, x, rows(&ws, 3, 1).unwrap(), &dev)
        .unwrap_err());
    assert!(e.contains("4 rows") && e.contains("3x1"), "{e}");
    let ws = [1.0f64, 2.0, f64::INFINITY, 3.0];
    let e = msg(Kernel::laplace(1.0)
        .unwrap()
        .apply(x, x, rows(&ws, 4, 1).unwrap(), &dev)
        .unwrap_err());
    assert!(e.contains("`w`") && e.contains("inf"), "{e}");
    let e = msg(rows(&xs, 5, 3).unwrap_err());
    assert!(e.contains("5·3") && e.contains("12 entries"), "{e}");
    let e = msg(Kernel::laplace(1.0)
        .unwrap()
        .eval(&[1.0, 2.0], &[1.0])
        .unwrap_err());
    assert!(e.contains("2 entries") && e.contains("1 entries"), "{e}");
}

/// Column-major and strided views give the same matrix as row-major ones.
#[test]
fn any_memory_layout_is_accepted() {
    let (n, d) = (70, 9);
    let xs = data(n, d, 3, 1.0);
    let x = rows(&xs, n, d).unwrap();
    let col_major = x.to_owned();
    let k = Kernel::gaussian(2.0).unwrap();
    let a = k.self_matrix(x, &Device::cpu()).unwrap();
    let b = k.self_matrix(col_major.as_ref(), &Device::cpu()).unwrap();
    let wide = Mat::<f64>::from_fn(
        n,
        2 * d,
        |i, j| if j % 2 == 0 { x[(i, j / 2)] } else { 99.0 },
    );
    let strided: MatRef<'_, f64> =
        unsafe { MatRef::from_raw_parts(wide.as_ptr(), n, d, 1, 2 * wide.col_stride()) };
    let c = k.self_matrix(strided, &Device::cpu()).unwrap();
    for i in 0..n {
        for j in 0..n {
            assert!((a[(i, j)] - b[(i, j)]).abs() < 1e-14);
            assert!((a[(i, j)] - c[(i, j)]).abs() < 1e-14);
        }
    }
}

/// `matrix_into` writes every entry of a reused, NaN-filled buffer with the reference values
/// (every kernel, shapes past one tile, both precisions), and refuses a wrong shape or a
/// row-major buffer.
#[test]
fn matrix_into_fills_a_reused_buffer() {
    let dev = Device::cpu();
    for (n, m, d) in [(1, 1, 1), (300, 270, 7), (513, 20, 3)] {
        for kernel in all_kernels(2.5, 1.2) {
            let (xs, zs) = (data(n, d, 3, 1.0), data(m, d, 4, 1.0));
            let (x, z) = (rows(&xs, n, d).unwrap(), rows(&zs, m, d).unwrap());
            let mut out = Mat::from_fn(n, m, |_, _| f64::NAN);
            for _ in 0..2 {
                kernel.matrix_into(x, z, out.as_mut(), &dev).unwrap();
                check_against_reference(&kernel, x, z, &out, f64::EPSILON, TOL_F64).unwrap();
            }
            let (xf, zf) = (to_f32(&xs), to_f32(&zs));
            let (x, z) = (rows(&xf, n, d).unwrap(), rows(&zf, m, d).unwrap());
            let mut out = Mat::from_fn(n, m, |_, _| f32::NAN);
            kernel.matrix_into(x, z, out.as_mut(), &dev).unwrap();
            check_against_reference(&kernel, x, z, &out, f32::EPSILON as f64, TOL_F32).unwrap();
        }
    }
    let kernel = Kernel::laplace(1.0).unwrap();
    let xs = data(4, 2, 1, 1.0);
    let x = rows(&xs, 4, 2).unwrap();
    let mut wrong = Mat::<f64>::zeros(4, 3);
    let err = kernel.matrix_into(x, x, wrong.as_mut(), &dev);
    assert!(matches!(err, Err(Error::ShapeMismatch { .. })), "{err:?}");
    let mut square = Mat::<f64>::zeros(4, 4);
    let err = kernel.matrix_into(x, x, square.as_mut().transpose_mut(), &dev);
    assert!(matches!(err, Err(Error::InvalidArgument { .. })), "{err:?}");
}
