//! The crate's GEMM (`backend::gemm`) against a plain triple loop summed in f64, for every
//! micro-kernel family this processor runs, over random shapes that cross every blocking edge
//! (MR/NR slivers, the MC/KC/NC blocks), every layout (column-major, row-major, strided views,
//! reversed strides), both accumulation modes and any α; and the same bits on any number of threads.

use doubledescent::backend::gemm::{Isa, gemm, gemm_with};
use doubledescent::{Error, Float};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use proptest::prelude::*;

/// Deterministic values in [−1, 1).
fn fill<T: Float>(r: usize, c: usize, seed: u64) -> Mat<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Mat::from_fn(r, c, |_, _| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        T::of((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
    })
}

/// A view of `m` in one of four layouts: as is (column-major), row-major (through a transposed
/// copy), every other column of a wider matrix, or with both strides reversed.
fn layout<'a, T: Float>(m: &'a Mat<T>, store: &'a mut Vec<Mat<T>>, kind: u8) -> MatRef<'a, T> {
    match kind % 4 {
        0 => m.as_ref(),
        1 => {
            store.push(m.transpose().to_owned());
            store.last().unwrap().transpose()
        }
        2 => {
            let mut wide = Mat::<T>::zeros(m.nrows(), 2 * m.ncols());
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    wide[(i, 2 * j)] = m[(i, j)];
                }
            }
            store.push(wide);
            let w = store.last().unwrap();
            // SAFETY: the view's extents lie inside `w` (column stride 2·nrows).
            unsafe {
                MatRef::from_raw_parts(w.as_ptr(), m.nrows(), m.ncols(), 1, 2 * w.col_stride())
            }
        }
        _ => {
            let mut rev = Mat::<T>::zeros(m.nrows(), m.ncols());
            for j in 0..m.ncols() {
                for i in 0..m.nrows() {
                    rev[(m.nrows() - 1 - i, m.ncols() - 1 - j)] = m[(i, j)];
                }
            }
            store.push(rev);
            store.last().unwrap().as_ref().reverse_rows_and_cols()
        }
    }
}

/// Σₚ a[i, p]·b[p, j] in f64, and Σₚ |a[i, p]·b[p, j]| (the rounding scale).
fn reference<T: Float>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> (Mat<f64>, Mat<f64>) {
    let (m, n, k) = (a.nrows(), b.ncols(), a.ncols());
    let mut c = Mat::<f64>::zeros(m, n);
    let mut s = Mat::<f64>::zeros(m, n);
    for j in 0..n {
        for p in 0..k {
            let bp = b[(p, j)].to_f64();
            for i in 0..m {
                let t = a[(i, p)].to_f64() * bp;
                c[(i, j)] += t;
                s[(i, j)] += t.abs();
            }
        }
    }
    (c, s)
}

/// Runs one product on `isa` into a destination of layout `dk` and checks every entry against
/// the reference within (k + 2)·ε·scale.
#[allow(clippy::too_many_arguments)]
fn check<T: Float>(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    kinds: [u8; 3],
    add: bool,
    alpha: f64,
    seed: u64,
) {
    let (a0, b0, c0) = (
        fill::<T>(m, k, seed),
        fill::<T>(k, n, seed + 1),
        fill::<T>(m, n, seed + 2),
    );
    let (mut sa, mut sb) = (Vec::new(), Vec::new());
    let (a, b) = (
        layout(&a0, &mut sa, kinds[0]),
        layout(&b0, &mut sb, kinds[1]),
    );
    // The destination: column-major, or row-major through a transposed matrix.
    let mut dst_col = c0.clone();
    let mut dst_row = c0.transpose().to_owned();
    let dst: MatMut<'_, T> = if kinds[2].is_multiple_of(2) {
        dst_col.as_mut()
    } else {
        dst_row.as_mut().transpose_mut()
    };
    let accum = if add { Accum::Add } else { Accum::Replace };
    gemm_with(isa, dst, accum, a, b, T::of(alpha), Par::rayon(0)).unwrap();
    let got = |i: usize, j: usize| {
        if kinds[2].is_multiple_of(2) {
            dst_col[(i, j)]
        } else {
            dst_row[(j, i)]
        }
    };
    let (r, s) = reference(a, b);
    let eps = T::EPS;
    for j in 0..n {
        for i in 0..m {
            let base = if add { c0[(i, j)].to_f64() } else { 0.0 };
            let want = base + T::of(alpha).to_f64() * r[(i, j)];
            let tol = (k as f64 + 4.0) * eps * (alpha.abs() * s[(i, j)] + base.abs()) + 1e-300;
            let g = got(i, j).to_f64();
            assert!(
                (g - want).abs() <= tol,
                "{isa} {} {m}×{n}×{k} layouts {kinds:?} add {add}: C[{i},{j}] = {g}, want {want} (tol {tol:e})",
                T::NAME
            );
        }
    }
}

fn every_isa<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    kinds: [u8; 3],
    add: bool,
    alpha: f64,
    seed: u64,
) {
    for isa in Isa::available() {
        check::<T>(isa, m, n, k, kinds, add, alpha, seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Small and edge shapes (0 … 70: slivers of 4, 6, 8, 12, 16 and 32 and their remainders).
    #[test]
    fn gemm_matches_a_triple_loop_on_small_shapes(
        m in 0usize..70, n in 0usize..70, k in 0usize..40,
        kinds in any::<[u8; 3]>(), add in any::<bool>(), alpha in -2.0f64..2.0, seed in any::<u64>(),
    ) {
        every_isa::<f64>(m, n, k, kinds, add, alpha, seed);
        every_isa::<f32>(m, n, k, kinds, add, alpha, seed);
    }
}

/// Shapes that cross the cache blocks: k past KC = 256 (two and three passes), m past MC
/// (128 f64, 256 f32) and n past NC (1024 scalar, 2040 f64, 4092 f32).
#[test]
fn gemm_matches_a_triple_loop_across_cache_blocks() {
    for (m, n, k) in [
        (300, 37, 600),
        (129, 50, 257),
        (17, 4100, 9),
        (260, 2050, 3),
    ] {
        for (t, kinds) in [[0u8, 0, 0], [1, 1, 1], [2, 3, 0]].into_iter().enumerate() {
            every_isa::<f64>(m, n, k, kinds, t == 1, 0.75, 7 + t as u64);
            every_isa::<f32>(m, n, k, kinds, t == 2, -1.5, 9 + t as u64);
        }
    }
}

/// The same bits from one thread and from all of them, on the default family.
#[test]
fn gemm_is_the_same_on_any_number_of_threads() {
    let (m, n, k) = (700, 650, 530);
    let (a, b) = (fill::<f32>(m, k, 1), fill::<f32>(k, n, 2));
    let mut one = Mat::<f32>::zeros(m, n);
    let mut all = Mat::<f32>::zeros(m, n);
    gemm(
        one.as_mut(),
        Accum::Replace,
        a.as_ref(),
        b.as_ref(),
        1.0,
        Par::Seq,
    )
    .unwrap();
    gemm(
        all.as_mut(),
        Accum::Replace,
        a.as_ref(),
        b.as_ref(),
        1.0,
        Par::rayon(0),
    )
    .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let mut three = Mat::<f32>::zeros(m, n);
    pool.install(|| {
        gemm(
            three.as_mut(),
            Accum::Replace,
            a.as_ref(),
            b.as_ref(),
            1.0,
            Par::rayon(0),
        )
        .unwrap()
    });
    for (name, other) in [("all threads", &all), ("three threads", &three)] {
        for j in 0..n {
            for i in 0..m {
                assert_eq!(
                    one[(i, j)].to_bits(),
                    other[(i, j)].to_bits(),
                    "{name}: ({i}, {j})"
                );
            }
        }
    }
}

/// Mismatched shapes and a family the processor lacks are errors naming the argument.
#[test]
fn gemm_refuses_mismatched_shapes() {
    let (a, b) = (Mat::<f64>::zeros(3, 4), Mat::<f64>::zeros(5, 2));
    let mut c = Mat::<f64>::zeros(3, 2);
    let e = gemm(
        c.as_mut(),
        Accum::Replace,
        a.as_ref(),
        b.as_ref(),
        1.0,
        Par::Seq,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "lhs, rhs, dst",
                ..
            }
        ),
        "{e:?}"
    );
    for isa in [Isa::Avx2, Isa::Avx512] {
        if !isa.is_available() {
            let b = Mat::<f64>::zeros(4, 2);
            let e = gemm_with(
                isa,
                c.as_mut(),
                Accum::Replace,
                a.as_ref(),
                b.as_ref(),
                1.0,
                Par::Seq,
            )
            .unwrap_err();
            assert!(
                matches!(e, Error::InvalidArgument { name: "isa", .. }),
                "{e:?}"
            );
        }
    }
}
