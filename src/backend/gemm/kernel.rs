//! The generic parts of the GEMM, written once over a lane type [`Simd`] and inlined into one
//! entry point per instruction set: packing of the operands into micro-panels and the
//! register-blocked micro-kernel (Goto & van de Geijn, "Anatomy of high-performance matrix
//! multiplication", ACM TOMS 34(3), 2008; the BLIS loop order of Van Zee & van de Geijn, ACM
//! TOMS 41(3), 2015).
//!
//! Layouts (MR = `MV·W` rows of A per micro-panel, NR columns of B):
//! * packed A: for each sliver of MR rows, for each p in 0..kc, the MR values A[i, p] (rows past
//!   the matrix are zero);
//! * packed B: for each sliver of NR columns, for each p in 0..kc, the NR values B[p, j].
//!
//! The micro-kernel keeps an MR×NR block of C in `MV·NR` registers and, per step of p, loads MV
//! registers of A and broadcasts NR values of B: `MV·NR` fused multiply–adds per `MV` loads.

use super::simd::Simd;
use crate::backend::Float;

/// Strided read-only operand: element (i, j) at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

/// Strided output.
#[derive(Clone, Copy)]
pub(crate) struct Output<T> {
    pub ptr: *mut T,
    pub rs: isize,
    pub cs: isize,
}

/// One block of work for one thread: C[rows, cols] (+)= α·A[rows, pc]·B[pc, cols], with B
/// already packed for the columns and A packed here into `apack`.
pub(crate) struct Task<'a, T> {
    /// A at (row 0 of the block, column p0).
    pub a: Operand<T>,
    /// Packed B for this task's columns (whole NR slivers, from the first of them), or null
    /// when B is read in place through `b`.
    pub bpack: *const T,
    /// B at (row p0, the task's first column): read in place when `bpack` is null.
    pub b: Operand<T>,
    /// C at (row 0, column 0) of the block.
    pub c: Output<T>,
    /// Rows of the block (≤ the blocking's mc).
    pub mc: usize,
    /// Columns of the block.
    pub nc: usize,
    /// Depth of this pass.
    pub kc: usize,
    /// Scale of the product.
    pub alpha: T,
    /// Add to C (true) or overwrite it (false).
    pub add: bool,
    /// Room for the packed A block (mc rounded up to MR, times kc).
    pub apack: *mut T,
    /// Only the lower triangle is wanted: micro-blocks strictly above the diagonal of C (as
    /// placed by `diag`) are skipped.
    pub lower: bool,
    /// This block's first column minus its first row, in C: entry (i, j) of the block lies on or
    /// below C's diagonal when i ≥ j + diag.
    pub diag: isize,
    /// Called on each finished column strip as (first row, first column, columns) inside the
    /// block: at most NR columns, the block's rows from the first computed one to the last; only
    /// on the last pass over k.
    pub epilogue: Option<&'a dyn Fn(usize, usize, usize)>,
}

/// Packs A[0..mc, 0..kc] into MR-row slivers, zero-padding the last one.
///
/// # Safety
/// `a` must be valid for mc×kc elements at its strides, `dst` for `mc.div_ceil(mr)·mr·kc`.
#[inline(always)]
pub(crate) unsafe fn pack_a<T: Float>(dst: *mut T, a: Operand<T>, mc: usize, kc: usize, mr: usize) {
    // SAFETY: every index stays inside the extents the caller vouches for.
    unsafe {
        for s in 0..mc.div_ceil(mr) {
            let rows = mr.min(mc - s * mr);
            let d = dst.add(s * mr * kc);
            let src = a.ptr.offset((s * mr) as isize * a.rs);
            if a.rs == 1 {
                for p in 0..kc {
                    let col = src.offset(p as isize * a.cs);
                    let dp = d.add(p * mr);
                    for r in 0..rows {
                        *dp.add(r) = *col.add(r);
                    }
                    for r in rows..mr {
                        *dp.add(r) = T::ZERO;
                    }
                }
            } else {
                for r in 0..rows {
                    let row = src.offset(r as isize * a.rs);
                    for p in 0..kc {
                        *d.add(p * mr + r) = *row.offset(p as isize * a.cs);
                    }
                }
                for p in 0..kc {
                    for r in rows..mr {
                        *d.add(p * mr + r) = T::ZERO;
                    }
                }
            }
        }
    }
}

/// Packs B[0..kc, 0..nc] into NR-column slivers, zero-padding the last one.
///
/// # Safety
/// `b` must be valid for kc×nc elements at its strides, `dst` for `nc.div_ceil(nr)·nr·kc`.
#[inline(always)]
pub(crate) unsafe fn pack_b<T: Float>(dst: *mut T, b: Operand<T>, kc: usize, nc: usize, nr: usize) {
    // SAFETY: as for `pack_a`, with the roles of rows and columns exchanged.
    unsafe {
        pack_a(
            dst,
            Operand {
                ptr: b.ptr,
                rs: b.cs,
                cs: b.rs,
            },
            nc,
            kc,
            nr,
        )
    }
}

/// C[0..mr, 0..nr] (+)= α·(packed A sliver)·(B sliver) over kc steps, where the B sliver's
/// column j is read at `cols[j] + p·step` (packed: `b + j`, step NR; in place: the columns'
/// addresses, step B's row stride).
///
/// # Safety
/// The processor has `S`'s instruction set; `a` holds kc·MV·W elements and every `cols[j]` is
/// valid for kc elements at stride `step`; `c` is valid for mr×nr elements at its strides, with
/// mr ≤ MV·W and nr ≤ NR.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn micro<S: Simd, const MV: usize, const NR: usize>(
    kc: usize,
    a: *const S::T,
    cols: [*const S::T; NR],
    step: isize,
    c: Output<S::T>,
    mr: usize,
    nr: usize,
    alpha: S::T,
    add: bool,
) {
    // SAFETY: the pointer arithmetic stays inside the panels and the block of C described above;
    // the intrinsics run on a processor with the instruction set (the caller's contract).
    unsafe {
        let mrf = MV * S::W;
        let mut acc = [[S::zero(); MV]; NR];
        let mut a = a;
        let mut off = 0isize;
        for _ in 0..kc {
            let mut av = [S::zero(); MV];
            for (v, x) in av.iter_mut().enumerate() {
                *x = S::load(a.add(v * S::W));
            }
            for (j, row) in acc.iter_mut().enumerate() {
                let bj = S::splat(*cols[j].offset(off));
                for (v, x) in row.iter_mut().enumerate() {
                    *x = S::fma(av[v], bj, *x);
                }
            }
            a = a.add(mrf);
            off += step;
        }
        let al = S::splat(alpha);
        if c.rs == 1 && mr == mrf && nr == NR {
            for (j, row) in acc.iter().enumerate() {
                let col = c.ptr.offset(j as isize * c.cs);
                for (v, x) in row.iter().enumerate() {
                    let p = col.add(v * S::W);
                    let r = S::mul(*x, al);
                    S::store(p, if add { S::add(S::load(p), r) } else { r });
                }
            }
        } else {
            // A partial or strided block: through a buffer (largest MR·NR of any kernel: 384).
            let mut buf = [S::T::ZERO; 512];
            debug_assert!(mrf * NR <= buf.len());
            for (j, row) in acc.iter().enumerate() {
                for (v, x) in row.iter().enumerate() {
                    S::store(buf.as_mut_ptr().add(j * mrf + v * S::W), S::mul(*x, al));
                }
            }
            for j in 0..nr {
                for i in 0..mr {
                    let p = c.ptr.offset(i as isize * c.rs + j as isize * c.cs);
                    let r = buf[j * mrf + i];
                    *p = if add { *p + r } else { r };
                }
            }
        }
    }
}

/// One task: packs its A block, then runs the micro-kernel over every (NR-column, MR-row)
/// sliver pair, column sliver outermost so that each B sliver stays in L1 while the A block
/// streams from L2; the epilogue runs on each finished column strip.
///
/// # Safety
/// As for [`micro`], for every sliver of the task.
#[inline(always)]
pub(crate) unsafe fn run_task<S: Simd, const MV: usize, const NR: usize>(t: &Task<'_, S::T>) {
    let mr = MV * S::W;
    // SAFETY: the task's pointers cover its block (the driver's contract).
    unsafe {
        pack_a(t.apack, t.a, t.mc, t.kc, mr);
        for js in 0..t.nc.div_ceil(NR) {
            let j0 = js * NR;
            let nr = NR.min(t.nc - j0);
            // Packed slivers are zero-padded to NR columns; in place, the columns past the
            // matrix repeat its last one (computed, never stored).
            let (cols, step) = if t.bpack.is_null() {
                let b0 = t.b.ptr.offset(j0 as isize * t.b.cs);
                let cols: [*const S::T; NR] =
                    std::array::from_fn(|j| b0.offset(j.min(nr - 1) as isize * t.b.cs));
                (cols, t.b.rs)
            } else {
                let b = t.bpack.add(js * NR * t.kc);
                (std::array::from_fn(|j| b.add(j)), NR as isize)
            };
            let cj = t.c.ptr.offset(j0 as isize * t.c.cs);
            // The first micro-block with a row on or below the diagonal (all of them unless
            // `lower`): those above have every row above every column, strictly upper.
            let first = if t.lower {
                let d = j0 as isize + t.diag; // rows below d are strictly upper in column j0
                (d.max(0) as usize / mr * mr).min(t.mc)
            } else {
                0
            };
            for is in first / mr..t.mc.div_ceil(mr) {
                let i0 = is * mr;
                let c = Output {
                    ptr: cj.offset(i0 as isize * t.c.rs),
                    rs: t.c.rs,
                    cs: t.c.cs,
                };
                let a = t.apack.add(is * mr * t.kc);
                micro::<S, MV, NR>(
                    t.kc,
                    a,
                    cols,
                    step,
                    c,
                    mr.min(t.mc - i0),
                    nr,
                    t.alpha,
                    t.add,
                );
            }
            if let (Some(f), true) = (t.epilogue, first < t.mc) {
                f(first, j0, nr);
            }
        }
    }
}
