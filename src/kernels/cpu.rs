//! The CPU path: blocked and fused. The inner products X·Zᵀ come from the crate's GEMM
//! ([`crate::backend::gemm`]); each strip of its output (at most 256 rows × 12 columns) gets the
//! norms and the kernel's transform as soon as the micro-kernel has written it, while it is in
//! L1, so the n×m matrix is written once and never read back.

use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::{KernelId, Params, arccos_level, dispersal, distance2, gaussian, laplace};
use crate::backend::Float;
use crate::backend::gemm::{Shared, matmul, matmul_then};

/// Rows of the arc-cosine scratch columns: the most rows of a GEMM strip.
const TILE_ROWS: usize = 256;
/// Columns of a block of K·W's K (the matrix-free product).
const TILE_COLS: usize = 256;

/// ‖aᵢ‖² for every row.
pub(crate) fn sqnorms<T: Float>(a: MatRef<'_, T>) -> Vec<T> {
    (0..a.nrows())
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let row = a.row(i);
            match row.try_as_row_major() {
                Some(r) => r.as_slice().iter().fold(T::ZERO, |s, &v| s + v * v),
                None => (0..a.ncols()).fold(T::ZERO, |s, k| s + row[k] * row[k]),
            }
        })
        .collect()
}

/// Applies `f(‖xᵢ‖², ‖zⱼ‖², tile[i, j])` to every entry of a column-major tile.
#[inline(always)]
fn map_tile_body<T: Float, F: Fn(T, T, T) -> T>(mut tile: MatMut<'_, T>, xn: &[T], zn: &[T], f: F) {
    for (jj, &nz) in zn.iter().enumerate().take(tile.ncols()) {
        let col = tile
            .rb_mut()
            .col_mut(jj)
            .try_as_col_major_mut()
            .expect("output tiles are column-major")
            .as_slice_mut();
        for (v, &nx) in col.iter_mut().zip(xn) {
            *v = f(nx, nz, *v);
        }
    }
}

/// The same loop compiled for AVX2 + FMA: the transform (sqrt, the branch-free exp) vectorises
/// four f64 or eight f32 lanes wide instead of SSE2's two or four.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn map_tile_avx2<T: Float, F: Fn(T, T, T) -> T>(tile: MatMut<'_, T>, xn: &[T], zn: &[T], f: F) {
    map_tile_body(tile, xn, zn, f)
}

/// Runtime dispatch between the AVX2 and the baseline loop.
#[inline(always)]
fn map_tile<T: Float, F: Fn(T, T, T) -> T>(tile: MatMut<'_, T>, xn: &[T], zn: &[T], f: F) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { map_tile_avx2(tile, xn, zn, f) };
    }
    map_tile_body(tile, xn, zn, f)
}

/// Turns a tile of inner products into kernel values, with one monomorphised loop per kernel so
/// that the branch on the kind is outside the loop.
pub(crate) fn transform_tile<T: Float>(p: &Params<T>, tile: MatMut<'_, T>, xn: &[T], zn: &[T]) {
    let (p1, p2, b, depth) = (p.p1, p.p2, p.bias, p.depth);
    match p.kind {
        KernelId::Laplace => map_tile(tile, xn, zn, |nx, nz, g| laplace(p1, distance2(nx, nz, g))),
        KernelId::Gaussian => {
            map_tile(tile, xn, zn, |nx, nz, g| gaussian(p1, distance2(nx, nz, g)))
        }
        KernelId::Dispersal => map_tile(tile, xn, zn, |nx, nz, g| {
            dispersal(p1, p2, distance2(nx, nz, g))
        }),
        KernelId::Nngp => arccos_tile::<T, false>(depth, b, tile, xn, zn),
        KernelId::Ntk => arccos_tile::<T, true>(depth, b, tile, xn, zn),
    }
}

/// The arc-cosine recursion of [`super::arccos`] over a column-major tile, level by level: for
/// each column, one pass over its entries per layer, so that the per-entry work (a square root,
/// a division, the branch-free arccos) runs in vector lanes; the same operations in the same
/// order as the per-entry function, so the values are identical.
#[inline(always)]
fn arccos_tile_body<T: Float, const NTK: bool>(
    depth: u32,
    bias: T,
    mut tile: MatMut<'_, T>,
    xn: &[T],
    zn: &[T],
) {
    let mut sxx = [T::ZERO; TILE_ROWS];
    let mut theta = [T::ZERO; TILE_ROWS];
    let mut rr = [T::ZERO; TILE_ROWS];
    for (jj, &nz) in zn.iter().enumerate().take(tile.ncols()) {
        let col = tile
            .rb_mut()
            .col_mut(jj)
            .try_as_col_major_mut()
            .expect("output tiles are column-major")
            .as_slice_mut();
        let mb = col.len();
        let (sxx, theta, rr) = (&mut sxx[..mb], &mut theta[..mb], &mut rr[..mb]);
        let mut szz = nz + bias;
        for (i, (v, s)) in col.iter_mut().zip(sxx.iter_mut()).enumerate() {
            *s = xn[i] + bias;
            *v += bias; // Σ¹ₓ_z, carried in the tile
        }
        for l in 1..=depth {
            // One step of the recursion at entry i: (r, ξ, (π − arccos ξ)/π, the NNGP value).
            let level = |i: usize, sxx: &[T], col: &[T]| arccos_level(sxx[i], szz, col[i]);
            // The four loops keep the branches on the level outside the vectorised bodies.
            match (l == 1, l == depth) {
                (first, true) => {
                    for i in 0..mb {
                        let (r, xi, a, nngp) = level(i, sxx, col);
                        if first {
                            theta[i] = r * xi;
                            rr[i] = r;
                        }
                        let v = if NTK { nngp + theta[i] * a } else { nngp };
                        #[allow(clippy::neg_cmp_op_on_partial_ord)] // also true for NaN
                        let zero = !(rr[i] > T::ZERO);
                        col[i] = if zero { T::ZERO } else { v };
                    }
                }
                (true, false) => {
                    for i in 0..mb {
                        let (r, xi, a, nngp) = level(i, sxx, col);
                        rr[i] = r;
                        let next = nngp + bias;
                        col[i] = next;
                        sxx[i] += bias;
                        if NTK {
                            theta[i] = (r * xi) * a + next;
                        }
                    }
                }
                (false, false) => {
                    for i in 0..mb {
                        let (_, _, a, nngp) = level(i, sxx, col);
                        let next = nngp + bias;
                        col[i] = next;
                        sxx[i] += bias;
                        if NTK {
                            theta[i] = theta[i] * a + next;
                        }
                    }
                }
            }
            szz += bias;
        }
    }
}

/// [`arccos_tile_body`] compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn arccos_tile_avx2<T: Float, const NTK: bool>(
    depth: u32,
    bias: T,
    tile: MatMut<'_, T>,
    xn: &[T],
    zn: &[T],
) {
    arccos_tile_body::<T, NTK>(depth, bias, tile, xn, zn)
}

/// Runtime dispatch between the AVX2 and the baseline arc-cosine tile.
#[inline(always)]
fn arccos_tile<T: Float, const NTK: bool>(
    depth: u32,
    bias: T,
    tile: MatMut<'_, T>,
    xn: &[T],
    zn: &[T],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { arccos_tile_avx2::<T, NTK>(depth, bias, tile, xn, zn) };
    }
    arccos_tile_body::<T, NTK>(depth, bias, tile, xn, zn)
}

/// out = transform(X Zᵀ): the GEMM with the transform as its epilogue; with `lower`, only the
/// entries on and below the diagonal are certain to be written.
#[allow(clippy::too_many_arguments)] // the operands, their norms and the two modes
fn fused<T: Float>(
    p: &Params<T>,
    out: MatMut<'_, T>,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    xn: &[T],
    zn: &[T],
    par: Par,
    lower: bool,
) {
    matmul_then(out, x, z.transpose(), par, lower, &|strip, i0, j0| {
        let (mb, nb) = (strip.nrows(), strip.ncols());
        transform_tile(p, strip, &xn[i0..i0 + mb], &zn[j0..j0 + nb]);
    });
}

/// An n×m matrix whose entries the caller overwrites entirely: skips the single-threaded
/// zero-fill, so the first touch of each page happens in the parallel tile loop.
fn uninit_output<T: Float>(n: usize, m: usize) -> Mat<T> {
    let mut out = Mat::<T>::with_capacity(n, m);
    // SAFETY: T is f32 or f64, for which every bit pattern is a valid value, and the capacity
    // covers n×m; every caller writes every entry before reading it.
    unsafe { out.set_dims(n, m) };
    if m > 0 {
        let bytes = out.col_stride() as usize * m * std::mem::size_of::<T>();
        advise_huge_pages(out.as_mut().as_ptr_mut().cast(), bytes);
    }
    out
}

/// Asks Linux for transparent huge pages over a large fresh buffer (`madvise(MADV_HUGEPAGE)`,
/// effective where THP is in `madvise` mode): the first touch of a 4096² f32 matrix then takes
/// 32 faults of 2 MiB instead of 16 384 of 4 KiB, which at small d cost more than the kernel.
/// Only the 2 MiB-aligned interior is advised; a refusal is harmless and ignored.
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        if bytes < 4 * HUGE {
            return;
        }
        let start = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize + bytes) / HUGE * HUGE;
        if end > start {
            // SAFETY: [start, end) lies inside the live allocation `ptr..ptr + bytes`, which this
            // function does not free or move; MADV_HUGEPAGE only changes how its pages are backed.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes);
}

/// K(X, Z), n×m.
pub(crate) fn matrix<T: Float>(p: &Params<T>, x: MatRef<'_, T>, z: MatRef<'_, T>) -> Mat<T> {
    let mut out = uninit_output::<T>(x.nrows(), z.nrows());
    matrix_into(p, x, z, out.as_mut());
    out
}

/// K(X, Z) into a column-major n×m `out` (every entry written).
pub(crate) fn matrix_into<T: Float>(
    p: &Params<T>,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    out: MatMut<'_, T>,
) {
    let (xn, zn) = (sqnorms(x), sqnorms(z));
    fused(p, out, x, z, &xn, &zn, Par::rayon(0), false);
}

/// Copies the strict lower triangle onto the upper one, in 64×64 blocks (cache friendly on both
/// sides), in parallel over column blocks of the upper triangle.
fn mirror_lower_to_upper<T: Float>(mut a: MatMut<'_, T>) {
    const B: usize = 64;
    let n = a.nrows();
    debug_assert_eq!(n, a.ncols());
    assert_eq!(a.row_stride(), 1, "mirror expects a column-major matrix");
    let cs = a.col_stride();
    let base = Shared(a.rb_mut().as_ptr_mut());
    (0..n.div_ceil(B)).into_par_iter().for_each(move |cb| {
        let base = base;
        let (c0, c1) = (cb * B, ((cb + 1) * B).min(n));
        for r0 in (0..c1).step_by(B) {
            let r1 = (r0 + B).min(c1);
            for c in c0..c1 {
                for r in r0..r1.min(c) {
                    // SAFETY: (r, c) with r < c lies in the strict upper triangle and in column
                    // block cb, which only this task writes; (c, r) lies in the strict lower
                    // triangle, which no task writes. Both are inside the n×n matrix.
                    unsafe {
                        let src = *base.get().offset(c as isize + r as isize * cs);
                        *base.get().offset(r as isize + c as isize * cs) = src;
                    }
                }
            }
        }
    });
}

/// K(X, X): one GEMM over the lower triangle with the transform as its epilogue, the exact
/// diagonal, then a mirror.
pub(crate) fn self_matrix<T: Float>(p: &Params<T>, x: MatRef<'_, T>) -> Mat<T> {
    let n = x.nrows();
    let xn = sqnorms(x);
    let mut out = uninit_output::<T>(n, n);
    fused(p, out.as_mut(), x, x, &xn, &xn, Par::rayon(0), true);
    for (j, &v) in xn.iter().enumerate() {
        out[(j, j)] = p.diagonal(v);
    }
    mirror_lower_to_upper(out.as_mut());
    out
}

/// K(X, Z)·W without forming K: each task owns a block of output rows and a single K tile.
pub(crate) fn apply<T: Float>(
    p: &Params<T>,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    w: MatRef<'_, T>,
) -> Mat<T> {
    let (n, m, c) = (x.nrows(), z.nrows(), w.ncols());
    let (xn, zn) = (sqnorms(x), sqnorms(z));
    // Enough row blocks to keep every thread busy, but tall enough for an efficient GEMM.
    let rows = n
        .div_ceil(4 * rayon::current_num_threads())
        .clamp(32, TILE_ROWS);
    let mut out = Mat::<T>::zeros(n, c);
    out.as_mut()
        .par_row_chunks_mut(rows)
        .enumerate()
        .for_each(|(ic, mut orows)| {
            let i0 = ic * rows;
            let mb = orows.nrows();
            let xi = x.subrows(i0, mb);
            let mut buf = Mat::<T>::zeros(mb, TILE_COLS);
            for j0 in (0..m).step_by(TILE_COLS) {
                let nb = TILE_COLS.min(m - j0);
                let mut tile = buf.as_mut().subcols_mut(0, nb);
                fused(
                    p,
                    tile.rb_mut(),
                    xi,
                    z.subrows(j0, nb),
                    &xn[i0..i0 + mb],
                    &zn[j0..j0 + nb],
                    Par::Seq,
                    false,
                );
                matmul(
                    orows.rb_mut(),
                    Accum::Add,
                    tile.rb(),
                    w.subrows(j0, nb),
                    T::ONE,
                    Par::Seq,
                );
            }
        });
    out
}
