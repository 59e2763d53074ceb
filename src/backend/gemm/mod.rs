//! General matrix multiplication, C = α·A·B (+ C), with our own packed, register-blocked
//! micro-kernels for AVX-512, AVX2 + FMA and a portable fallback, chosen at run time.
//!
//! The loop nest is BLIS's (Van Zee & van de Geijn, "BLIS: a framework for rapidly instantiating
//! BLAS functionality", ACM TOMS 41(3), 2015): for each block of NC columns, for each pass of KC
//! over the inner dimension, B's block is packed once into NR-column slivers and shared; then
//! every (MC-row block, group of slivers) pair is a rayon task that packs its A block into
//! MR-row slivers and runs the MR×NR micro-kernel (`kernel::micro`) over them.
//!
//! Two things set it apart from calling a BLAS:
//! * an **epilogue**: the crate-internal `matmul_then` hands each finished strip of C (≤ MC rows, ≤ NR
//!   columns, still in L1) to a function, which is how the kernel matrices turn inner products
//!   into kernel values without a second pass over memory;
//! * the **instruction set is explicit** ([`Isa`]), so the tests run every kernel the processor
//!   has against the portable one and against a plain triple loop.
//!
//! Results do not depend on the number of threads: each entry of C is summed in the same order
//! (KC passes, p ascending inside a pass) whatever the split.

mod kernel;
mod simd;

use std::any::Any;
use std::cell::Cell;
use std::fmt;

use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use kernel::{Operand, Output, Task, pack_b, run_task};
use simd::{Scalar, Simd};

use crate::backend::Float;
use crate::error::{Error, Result};

/// The micro-kernel families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, one lane (4×4 blocks): every processor.
    Scalar,
    /// AVX2 + FMA, 256-bit registers (16×6 f32, 8×6 f64 blocks).
    Avx2,
    /// AVX-512F, 512-bit registers (32×12 f32, 16×12 f64 blocks).
    Avx512,
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        })
    }
}

impl Isa {
    /// Whether this processor can run the family.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every family this processor can run, widest last.
    pub fn available() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|i| i.is_available())
            .collect()
    }

    /// The widest family this processor runs: what [`gemm`] and the crate use.
    pub fn detected() -> Isa {
        *Isa::available().last().unwrap_or(&Isa::Scalar)
    }
}

/// A strip of finished C: (the strip, its first row, its first column in C).
pub type Epilogue<'a, T> = &'a (dyn Fn(MatMut<'_, T>, usize, usize) + Sync);

/// One micro-kernel with its blocking.
#[derive(Clone, Copy)]
struct Kernel<T: 'static> {
    task: for<'a, 'b> unsafe fn(&'a Task<'b, T>),
    mr: usize,
    nr: usize,
    mc: usize,
    kc: usize,
    nc: usize,
}

/// Declares the entry point of one (lane type, MV, NR) with its instruction set enabled, so that
/// the generic task body and the intrinsics inline into it.
macro_rules! entry {
    ($name:ident, $s:ty, $mv:literal, $nr:literal $(, $feat:literal)?) => {
        $(#[target_feature(enable = $feat)])?
        unsafe fn $name(t: &Task<'_, <$s as Simd>::T>) {
            // SAFETY: dispatched only where the instruction set is present (`kernel_for`).
            unsafe { run_task::<$s, $mv, $nr>(t) }
        }
    };
}

entry!(scalar_f32, Scalar<f32>, 4, 4);
entry!(scalar_f64, Scalar<f64>, 4, 4);
#[cfg(target_arch = "x86_64")]
entry!(avx2_f32, simd::Avx2F32, 2, 6, "avx2,fma");
#[cfg(target_arch = "x86_64")]
entry!(avx2_f64, simd::Avx2F64, 2, 6, "avx2,fma");
#[cfg(target_arch = "x86_64")]
entry!(avx512_f32, simd::Avx512F32, 2, 12, "avx512f");
#[cfg(target_arch = "x86_64")]
entry!(avx512_f64, simd::Avx512F64, 2, 12, "avx512f");

/// A family's entry point with its MR, NR, MC and NC.
type Spec<T> = (
    for<'a, 'b> unsafe fn(&'a Task<'b, T>),
    usize,
    usize,
    usize,
    usize,
);

/// `Some(spec)` on x86-64, `None` elsewhere (where the vector entry points do not exist).
macro_rules! on_x86 {
    ($task:ident, $mr:literal, $nr:literal, $mc:literal, $nc:literal) => {{
        #[cfg(target_arch = "x86_64")]
        {
            Some((
                $task as for<'a, 'b> unsafe fn(&'a Task<'b, _>),
                $mr,
                $nr,
                $mc,
                $nc,
            ))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            None
        }
    }};
}

/// The kernel of `isa` from the specs of [`Isa::Scalar`], [`Isa::Avx2`] and [`Isa::Avx512`].
/// KC·NR of B stays in L1 (≤ 24 KiB), MC·KC of A in L2 (≤ 256 KiB) and KC·NC of B in the shared
/// L3 (≤ 4 MiB); MC ≤ 256 so that an epilogue's strip fits the kernel matrices' scratch rows.
fn pick<T>(isa: Isa, specs: [Option<Spec<T>>; 3]) -> Option<Kernel<T>> {
    if !isa.is_available() {
        return None;
    }
    // The specs are in the order of the variants (Scalar, Avx2, Avx512).
    let (task, mr, nr, mc, nc) = specs[isa as usize]?;
    Some(Kernel {
        task,
        mr,
        nr,
        mc,
        kc: 256,
        nc,
    })
}

/// The f32 kernels: 16×6 (AVX2) and 32×12 (AVX-512) blocks.
fn kernel_f32(isa: Isa) -> Option<Kernel<f32>> {
    let scalar: Spec<f32> = (scalar_f32, 4, 4, 128, 1024);
    let specs = [
        Some(scalar),
        on_x86!(avx2_f32, 16, 6, 256, 4092),
        on_x86!(avx512_f32, 32, 12, 256, 4092),
    ];
    pick(isa, specs)
}

/// The f64 kernels: half the rows of A per block (the same bytes).
fn kernel_f64(isa: Isa) -> Option<Kernel<f64>> {
    let scalar: Spec<f64> = (scalar_f64, 4, 4, 128, 1024);
    let specs = [
        Some(scalar),
        on_x86!(avx2_f64, 8, 6, 128, 2040),
        on_x86!(avx512_f64, 16, 12, 128, 2040),
    ];
    pick(isa, specs)
}

/// The kernel of `isa` for `T`, if this processor runs it.
fn kernel_for<T: Float>(isa: Isa) -> Option<Kernel<T>> {
    if let Some(k) = kernel_f32(isa)
        && let Some(k) = (&k as &dyn Any).downcast_ref::<Kernel<T>>()
    {
        return Some(*k);
    }
    let k = kernel_f64(isa)?;
    (&k as &dyn Any).downcast_ref::<Kernel<T>>().copied()
}

/// A raw pointer that crosses rayon's threads. Every user writes provably disjoint entries: the
/// GEMM driver hands each task a disjoint block of C and its own A buffer (the packed B is
/// written before the tasks start and only read during them), and the kernels' mirror writes
/// each upper entry from one task and reads only lower entries nobody writes.
#[derive(Clone, Copy)]
pub(crate) struct Shared<T>(pub(crate) *mut T);
// SAFETY: see the type's documentation; each user upholds disjointness of its writes.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the whole `Send` wrapper).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

thread_local! {
    /// Per-thread packing buffers (A for tasks, B for the calling thread), kept between calls so
    /// that training loops of small products do not allocate; 64-byte aligned.
    static SCRATCH: [Cell<Vec<Align64>>; 2] = const { [Cell::new(Vec::new()), Cell::new(Vec::new())] };
}

/// One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Align64([u8; 64]);

/// Runs `f` with this thread's scratch buffer `slot`, grown to `len` elements of `T`. A nested
/// call on the same slot (not made by the driver) gets a fresh buffer instead of the busy one.
fn with_scratch<T: Float, R>(slot: usize, len: usize, f: impl FnOnce(*mut T) -> R) -> R {
    let lines = (len * std::mem::size_of::<T>()).div_ceil(64);
    let mut buf = SCRATCH.with(|s| s[slot].take());
    if buf.len() < lines {
        buf = vec![Align64([0; 64]); lines];
    }
    let r = f(buf.as_mut_ptr().cast::<T>());
    SCRATCH.with(|s| s[slot].set(buf));
    r
}

/// Below this many multiply–adds a product runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 18;

/// The driver: C = α·A·B (`Accum::Replace`) or C += α·A·B (`Accum::Add`), with `epilogue` on
/// each finished strip of C. Dimensions must agree (checked by the callers).
#[allow(clippy::too_many_arguments)] // the GEMM's operands and modes, all used together
fn run<T: Float>(
    k: Kernel<T>,
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
    epilogue: Option<Epilogue<'_, T>>,
    lower: bool,
) {
    let (m, n, depth) = (dst.nrows(), dst.ncols(), lhs.ncols());
    assert!(
        lhs.nrows() == m && rhs.nrows() == depth && rhs.ncols() == n,
        "gemm: dst {m}×{n}, lhs {}×{}, rhs {}×{}",
        lhs.nrows(),
        lhs.ncols(),
        rhs.nrows(),
        rhs.ncols()
    );
    if m == 0 || n == 0 {
        return;
    }
    let threads = match par {
        Par::Seq => 1,
        Par::Rayon(t) => t.get().min(rayon::current_num_threads()),
    };
    let parallel = threads > 1 && m * n * depth.max(1) >= PARALLEL_MIN;
    let (rs, cs) = (dst.row_stride(), dst.col_stride());
    let c = Shared(dst.as_ptr_mut());
    let (a, b) = (
        Shared(lhs.as_ptr().cast_mut()),
        Shared(rhs.as_ptr().cast_mut()),
    );
    let (ars, acs, brs, bcs) = (
        lhs.row_stride(),
        lhs.col_stride(),
        rhs.row_stride(),
        rhs.col_stride(),
    );
    let replace = matches!(accum, Accum::Replace);
    // Equal passes and column blocks (784 = 4 × 196, not 3 × 256 + 16; 4096 columns as 2 × 2048,
    // not 4092 + 4): a thin last block would repack all of A for little work. The split depends
    // on the shape only, so the summation order does not depend on the threads.
    let passes = depth.div_ceil(k.kc).max(1);
    let kc_max = depth.div_ceil(passes).max(1);
    let nc_max = n.div_ceil(n.div_ceil(k.nc)).div_ceil(k.nr) * k.nr;
    // With one block of rows each element of B is used by one task only: it is read in place
    // (packing it would copy as many bytes as the product reads), and no B buffer is needed.
    let n_ic = m.div_ceil(k.mc);
    let packed_b = n_ic > 1;
    let b_len = if packed_b { kc_max * nc_max } else { 0 };
    with_scratch::<T, _>(1, b_len, |bpack| {
        let bpack = Shared(bpack);
        for jc in (0..n).step_by(nc_max) {
            let nc = nc_max.min(n - jc);
            let n_sl = nc.div_ceil(k.nr);
            for pass in 0..passes {
                let pc = pass * kc_max;
                let kc = kc_max.min(depth - pc);
                // SAFETY (all blocks below): offsets stay inside the operands' extents
                // (pc + kc ≤ depth, jc + nc ≤ n, i0 + mc ≤ m), the B buffer holds
                // kc_max·nc_max ≥ kc·n_sl·nr elements when B is packed, and each task writes its
                // own block of C.
                let bsrc = |p0: usize, j0: usize| Operand {
                    ptr: unsafe { b.get().offset(p0 as isize * brs + j0 as isize * bcs) }
                        .cast_const(),
                    rs: brs,
                    cs: bcs,
                };
                let pack = |s: usize, dst: &mut [T]| {
                    let j0 = s * k.nr;
                    unsafe {
                        pack_b(
                            dst.as_mut_ptr(),
                            bsrc(pc, jc + j0),
                            kc,
                            k.nr.min(nc - j0),
                            k.nr,
                        )
                    }
                };
                if kc > 0 && packed_b {
                    let packed =
                        unsafe { std::slice::from_raw_parts_mut(bpack.get(), n_sl * k.nr * kc) };
                    if parallel && n_sl * kc * k.nr >= 1 << 14 {
                        packed
                            .par_chunks_mut(k.nr * kc)
                            .enumerate()
                            .for_each(|(s, d)| pack(s, d));
                    } else {
                        packed
                            .chunks_mut(k.nr * kc)
                            .enumerate()
                            .for_each(|(s, d)| pack(s, d));
                    }
                }
                let add = !(replace && pass == 0);
                let last = pass + 1 == passes;
                let groups = if parallel {
                    (4 * threads).div_ceil(n_ic).clamp(1, n_sl)
                } else {
                    1
                };
                let per_group = n_sl.div_ceil(groups);
                let groups = n_sl.div_ceil(per_group);
                let work = |t: usize| {
                    let (ib, g) = (t / groups, t % groups);
                    let (i0, j0) = (ib * k.mc, g * per_group * k.nr);
                    let (mc, ncg) = (k.mc.min(m - i0), (per_group * k.nr).min(nc - j0));
                    let diag = (jc + j0) as isize - i0 as isize;
                    if lower && mc as isize <= diag {
                        return; // the whole block lies above the diagonal
                    }
                    let (bp, cp) = (bpack, c);
                    let (ap, cptr) = unsafe {
                        (
                            a.get().offset(i0 as isize * ars + pc as isize * acs),
                            cp.get().offset(i0 as isize * rs + (jc + j0) as isize * cs),
                        )
                    };
                    let strip = |r0: usize, jj: usize, nr: usize| {
                        if let Some(f) = epilogue {
                            let p = unsafe { cptr.offset(r0 as isize * rs + jj as isize * cs) };
                            let view =
                                unsafe { MatMut::from_raw_parts_mut(p, mc - r0, nr, rs, cs) };
                            f(view, i0 + r0, jc + j0 + jj);
                        }
                    };
                    with_scratch::<T, _>(0, k.mc.div_ceil(k.mr) * k.mr * kc_max, |apack| {
                        let task = Task {
                            a: Operand {
                                ptr: ap.cast_const(),
                                rs: ars,
                                cs: acs,
                            },
                            bpack: if packed_b {
                                unsafe { bp.get().add(g * per_group * k.nr * kc) }.cast_const()
                            } else {
                                std::ptr::null()
                            },
                            b: bsrc(pc, jc + j0),
                            c: Output { ptr: cptr, rs, cs },
                            mc,
                            nc: ncg,
                            kc,
                            alpha,
                            add,
                            apack,
                            lower,
                            diag,
                            epilogue: (last && epilogue.is_some())
                                .then_some(&strip as &dyn Fn(usize, usize, usize)),
                        };
                        unsafe { (k.task)(&task) }
                    })
                };
                if parallel && n_ic * groups > 1 {
                    (0..n_ic * groups).into_par_iter().for_each(work);
                } else {
                    (0..n_ic * groups).for_each(work);
                }
            }
        }
    });
}

/// Below this many multiply–adds, [`matmul`] hands the product to faer, whose unpacked kernels
/// win where packing and task set-up are not amortised (measured on AVX2: faer 1.1–5× faster from
/// 8³ to 256³ and at 1000×128×128; the packed kernels 1.0–1.9× faster from 5000×256×256 up).
const FAER_BELOW: usize = 1 << 25;

/// C = α·A·B or C += α·A·B: the crate's GEMM, a drop-in for `faer::linalg::matmul::matmul`
/// (same arguments). Products of at least [`FAER_BELOW`] multiply–adds run on the widest packed
/// kernel of this processor, smaller ones on faer's. Panics on mismatched dimensions, which every
/// caller in the crate rules out.
pub(crate) fn matmul<T: Float>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    if dst.nrows() * dst.ncols() * lhs.ncols() < FAER_BELOW {
        faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, par);
    } else {
        run(
            detected::<T>(),
            dst,
            accum,
            lhs,
            rhs,
            alpha,
            par,
            None,
            false,
        )
    }
}

/// [`matmul`] for a square C of which only the lower triangle (diagonal included) is wanted, as
/// in a Gram matrix A·Aᵀ: micro-blocks strictly above the diagonal are skipped (about half the
/// work); entries above the diagonal are left as they were or written, and must not be read.
pub(crate) fn matmul_lower<T: Float>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    run(
        detected::<T>(),
        dst,
        accum,
        lhs,
        rhs,
        alpha,
        par,
        None,
        true,
    )
}

/// [`matmul`] with `Accum::Replace` and α = 1, then `epilogue(strip, row0, col0)` on every
/// finished strip of C (at most 256 rows and 12 columns, each exactly once) while it is in L1.
/// With `lower` (as [`matmul_lower`]) the strips start at their first micro-block that reaches
/// the diagonal; entries above them are neither computed nor passed to the epilogue.
pub(crate) fn matmul_then<T: Float>(
    dst: MatMut<'_, T>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    par: Par,
    lower: bool,
    epilogue: Epilogue<'_, T>,
) {
    run(
        detected::<T>(),
        dst,
        Accum::Replace,
        lhs,
        rhs,
        T::ONE,
        par,
        Some(epilogue),
        lower,
    )
}

/// The kernel of the widest family (looked up once per type).
fn detected<T: Float>() -> Kernel<T> {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    let isa = *ISA.get_or_init(Isa::detected);
    kernel_for::<T>(isa).expect("the detected family is available")
}

/// Checks the shapes of dst = lhs·rhs.
fn check_shapes<T: Float>(
    dst: &MatMut<'_, T>,
    lhs: &MatRef<'_, T>,
    rhs: &MatRef<'_, T>,
) -> Result<()> {
    if lhs.ncols() != rhs.nrows() || dst.nrows() != lhs.nrows() || dst.ncols() != rhs.ncols() {
        return Err(Error::invalid(
            "lhs, rhs, dst",
            format!(
                "{}×{} times {}×{} into {}×{}",
                lhs.nrows(),
                lhs.ncols(),
                rhs.nrows(),
                rhs.ncols(),
                dst.nrows(),
                dst.ncols()
            ),
            "the shapes m×k, k×n and m×n",
        ));
    }
    Ok(())
}

/// C = α·A·B (`Accum::Replace`) or C += α·A·B (`Accum::Add`) with the widest micro-kernel this
/// processor has ([`Isa::detected`]), on rayon's threads when `par` allows. Any strides (views,
/// transposes) are accepted; results are the same on any number of threads.
pub fn gemm<T: Float>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) -> Result<()> {
    gemm_with(Isa::detected(), dst, accum, lhs, rhs, alpha, par)
}

/// [`gemm`] on a chosen micro-kernel family; an error if this processor lacks it.
pub fn gemm_with<T: Float>(
    isa: Isa,
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) -> Result<()> {
    check_shapes(&dst, &lhs, &rhs)?;
    let k = kernel_for::<T>(isa).ok_or_else(|| {
        Error::invalid(
            "isa",
            isa,
            "a family this processor runs (Isa::available())",
        )
    })?;
    run(k, dst, accum, lhs, rhs, alpha, par, None, false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// The lower-triangle product equals the full one on and below the diagonal, for every
    /// family, across the MC/KC blocks and with the diagonal crossing micro-blocks at any offset.
    #[test]
    fn lower_triangle_matches_the_full_product() {
        for isa in Isa::available() {
            for (n, k) in [(1, 3), (37, 5), (300, 260), (530, 17)] {
                let a = Mat::<f64>::from_fn(n, k, |i, j| ((i * 7 + j * 13) % 17) as f64 - 8.0);
                let kern = kernel_for::<f64>(isa).unwrap();
                let mut full = Mat::<f64>::zeros(n, n);
                let mut low = Mat::<f64>::from_fn(n, n, |_, _| f64::NAN);
                let par = Par::rayon(0);
                let (lhs, rhs) = (a.as_ref(), a.transpose());
                run(
                    kern,
                    full.as_mut(),
                    Accum::Replace,
                    lhs,
                    rhs,
                    0.5,
                    par,
                    None,
                    false,
                );
                run(
                    kern,
                    low.as_mut(),
                    Accum::Replace,
                    lhs,
                    rhs,
                    0.5,
                    par,
                    None,
                    true,
                );
                let mut skipped = 0;
                for j in 0..n {
                    for i in 0..n {
                        if i >= j {
                            assert_eq!(low[(i, j)], full[(i, j)], "{isa} n {n}: ({i}, {j})");
                        } else if low[(i, j)].is_nan() {
                            skipped += 1;
                        }
                    }
                }
                // Large enough products skip whole micro-blocks above the diagonal.
                if n >= 300 {
                    assert!(skipped > n * n / 4, "{isa} n {n}: only {skipped} skipped");
                }
            }
        }
    }
}
