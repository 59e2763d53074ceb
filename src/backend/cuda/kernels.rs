//! The CUDA path: uploads row-major copies of the data, launches the kernels of
//! `cuda/kernels.cu` and copies the result into a faer matrix.
//!
//! * Full and self matrices: `dd_kmat` (64×64 tiles, 16×16 threads with 4×4 register blocks,
//!   features staged through shared memory 16 at a time, distance and transform fused). A self
//!   matrix computes the tiles on and above the diagonal and mirrors them (`dd_mirror`). When the
//!   n×m result does not fit in free device memory, it is produced in row blocks.
//! * K·W: `dd_kw` keeps each K tile in registers, multiplies it by the matching rows of W in shared
//!   memory and reduces across lanes; the columns of Z are split over blocks to fill the GPU, and
//!   `dd_kw_reduce` adds the per-split partial sums in a fixed order (deterministic).

use cudarc::driver::LaunchConfig;
use faer::{Mat, MatRef};

use super::launch::{
    KmatArgs, KwArgs, KwReduceArgs, MirrorArgs, SqnormsArgs, dd_kmat, dd_kw, dd_kw_reduce,
    dd_mirror, dd_sqnorms,
};
use super::memory::DeviceBuffer;
use super::{CudaRuntime, as_i32};
use crate::backend::Float;
use crate::backend::abi::KernelParams;
use crate::error::{Error, Result};

/// Tile edge of `dd_kmat` and `dd_kw` (TM = TN in the .cu file).
const TILE: usize = 64;
/// Columns of W per pass of `dd_kw` (CW in the .cu file).
const CW: usize = 8;
/// Largest grid y dimension.
const MAX_GRID_Y: usize = 65_535;

/// Row-major copy of `a` on the device.
fn upload<T: Float>(rt: &CudaRuntime, a: MatRef<'_, T>) -> Result<DeviceBuffer<T>> {
    let (n, d) = (a.nrows(), a.ncols());
    let contiguous = n == 1 || (a.col_stride() == 1 && a.row_stride() == d as isize);
    let host: Vec<T>;
    let slice: &[T] = if contiguous && a.col_stride() == 1 {
        // SAFETY: a row-major view with unit column stride and row stride d covers n·d
        // consecutive elements starting at its pointer.
        unsafe { std::slice::from_raw_parts(a.as_ptr(), n * d) }
    } else {
        host = (0..n)
            .flat_map(|i| (0..d).map(move |k| a[(i, k)]))
            .collect();
        &host
    };
    rt.upload(slice)
}

/// ‖aᵢ‖² on the device (`dd_sqnorms`, one warp per row).
fn sqnorms<T: Float>(
    rt: &CudaRuntime,
    a: &DeviceBuffer<T>,
    n: usize,
    d: usize,
) -> Result<DeviceBuffer<T>> {
    let mut out = rt.uninit::<T>(n)?;
    let (ni, di) = (as_i32("n", n)?, as_i32("d", d)?);
    let cfg = LaunchConfig {
        grid_dim: ((n * 32).div_ceil(256) as u32, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: a holds n·d values and out n values.
    unsafe {
        dd_sqnorms::<T>(
            rt,
            cfg,
            SqnormsArgs {
                x: &a.view(),
                out: &mut out,
                n: ni,
                d: di,
            },
        )
    }?;
    Ok(out)
}

/// K(X, Z), or K(X, X) when `z` is `None`.
pub(crate) fn matrix<T: Float>(
    rt: &CudaRuntime,
    p: &KernelParams<T>,
    x: MatRef<'_, T>,
    z: Option<MatRef<'_, T>>,
) -> Result<Mat<T>> {
    let self_mode = z.is_none();
    let z = z.unwrap_or(x);
    let (n, m, d) = (x.nrows(), z.nrows(), x.ncols());
    let (mi, di) = (as_i32("m", m)?, as_i32("d", d)?);
    as_i32("n", n)?;
    if m.div_ceil(TILE) > MAX_GRID_Y {
        return Err(Error::invalid(
            "z",
            format!("{m} rows"),
            "the CUDA path handles at most 4,194,240 columns of K",
        ));
    }
    let xd = upload(rt, x)?;
    let zd_own = if self_mode {
        None
    } else {
        Some(upload(rt, z)?)
    };
    let zd = zd_own.as_ref().unwrap_or(&xd);
    let xn = sqnorms(rt, &xd, n, d)?;
    let zn_own = if self_mode {
        None
    } else {
        Some(sqnorms(rt, zd, m, d)?)
    };
    let zn = zn_own.as_ref().unwrap_or(&xn);

    // Row blocks of the output that fit in 90% of the free memory.
    let size = std::mem::size_of::<T>();
    let budget = rt.free_memory()? / 10 * 9;
    let rows = if n * m * size <= budget {
        n
    } else {
        ((budget / (m * size)) / TILE * TILE).max(TILE).min(n)
    };
    // Every entry of the first rc·m values is written by dd_kmat (or dd_mirror) before it is
    // copied back.
    let mut dev = rt.uninit::<T>(rows * m).map_err(|e| {
        Error::Device(format!(
            "allocating a {rows}x{m} block of K ({} MiB): {e}",
            (rows * m * size) >> 20
        ))
    })?;
    let mut host = vec![T::ZERO; rows * m];
    let mut out = Mat::<T>::zeros(n, m);
    let (kind, p1, p2) = (p.kind.cuda_id(), p.p1, p.p2);
    let bias = i32::from(p.bias > T::ZERO);
    let depth = p.depth as i32;
    let self_diag = i32::from(self_mode);
    for r0 in (0..n).step_by(rows) {
        let rc = rows.min(n - r0);
        let upper_only = i32::from(self_mode && rc == n);
        let (rci, r0i, ld) = (rc as i32, r0 as i32, rc as i64);
        let xv = xd.slice(r0 * d..(r0 + rc) * d);
        let xnv = xn.slice(r0..r0 + rc);
        let cfg = LaunchConfig {
            grid_dim: (rc.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1),
            block_dim: (16, 16, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: X holds rc·d values, Z m·d, the norms rc and m, and dev at least rc·m = ld·m.
        unsafe {
            dd_kmat::<T>(
                rt,
                cfg,
                KmatArgs {
                    x: &xv,
                    z: &zd.view(),
                    xn: &xnv,
                    zn: &zn.view(),
                    out: &mut dev,
                    n: rci,
                    m: mi,
                    d: di,
                    ld,
                    row0: r0i,
                    self_diag,
                    upper_only,
                    kind,
                    p1,
                    p2,
                    bias,
                    depth,
                },
            )
        }?;
        if upper_only == 1 {
            let blocks = n.div_ceil(32) as u32;
            let cfg = LaunchConfig {
                grid_dim: (blocks, blocks, 1),
                block_dim: (32, 8, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: the n×n block written just before.
            unsafe {
                dd_mirror::<T>(
                    rt,
                    cfg,
                    MirrorArgs {
                        a: &mut dev,
                        n: rci,
                        ld,
                    },
                )
            }?;
        }
        rt.download(dev.slice(0..rc * m), &mut host[..rc * m])?;
        out.as_mut()
            .submatrix_mut(r0, 0, rc, m)
            .copy_from(MatRef::from_column_major_slice(&host[..rc * m], rc, m));
    }
    Ok(out)
}

/// K(X, Z)·W.
pub(crate) fn apply<T: Float>(
    rt: &CudaRuntime,
    p: &KernelParams<T>,
    x: MatRef<'_, T>,
    z: MatRef<'_, T>,
    w: MatRef<'_, T>,
) -> Result<Mat<T>> {
    let (n, m, d, c) = (x.nrows(), z.nrows(), x.ncols(), w.ncols());
    let (ni, mi, di, ci) = (
        as_i32("n", n)?,
        as_i32("m", m)?,
        as_i32("d", d)?,
        as_i32("w columns", c)?,
    );
    if n.div_ceil(TILE) > i32::MAX as usize {
        return Err(Error::invalid(
            "x",
            format!("{n} rows"),
            "too many rows for one grid",
        ));
    }
    let xd = upload(rt, x)?;
    let zd = upload(rt, z)?;
    let wd = upload(rt, w)?;
    let xn = sqnorms(rt, &xd, n, d)?;
    let zn = sqnorms(rt, &zd, m, d)?;

    // Split the columns of K over enough blocks to fill the GPU (4 blocks per SM).
    let size = std::mem::size_of::<T>();
    let row_blocks = n.div_ceil(TILE);
    let tiles = m.div_ceil(TILE);
    let budget = rt.free_memory()? / 10 * 9;
    let mut splits = (4 * rt.sm_count)
        .div_ceil(row_blocks)
        .clamp(1, tiles.min(MAX_GRID_Y));
    splits = splits.min((budget / (n * CW * size).max(1)).max(1));
    let tiles_per_split = tiles.div_ceil(splits);
    let splits = tiles.div_ceil(tiles_per_split);
    let (tps, si) = (tiles_per_split as i32, splits as i32);

    // dd_kw writes every partial[s][i][q] for s < splits, i < n, q < cw before dd_kw_reduce
    // reads them; dd_kw_reduce writes every out[i][q].
    let mut partial = rt.uninit::<T>(splits * n * CW)?;
    let mut outd = rt.uninit::<T>(n * c)?;
    let (kind, p1, p2) = (p.kind.cuda_id(), p.p1, p.p2);
    let bias = i32::from(p.bias > T::ZERO);
    let depth = p.depth as i32;
    for col0 in (0..c).step_by(CW) {
        let cw = CW.min(c - col0);
        let (col0i, cwi) = (col0 as i32, cw as i32);
        let cfg = LaunchConfig {
            grid_dim: (row_blocks as u32, splits as u32, 1),
            block_dim: (16, 16, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: partial holds splits·n·CW >= splits·n·cw values; the inputs their n·d, m·d,
        // n, m and m·c values.
        unsafe {
            dd_kw::<T>(
                rt,
                cfg,
                KwArgs {
                    x: &xd.view(),
                    z: &zd.view(),
                    xn: &xn.view(),
                    zn: &zn.view(),
                    w: &wd.view(),
                    partial: &mut partial,
                    n: ni,
                    m: mi,
                    d: di,
                    c_total: ci,
                    col0: col0i,
                    cw: cwi,
                    tiles_per_split: tps,
                    kind,
                    p1,
                    p2,
                    bias,
                    depth,
                },
            )
        }?;
        let cfg = LaunchConfig {
            grid_dim: ((n * cw).div_ceil(256) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: out holds n·c values, partial splits·n·CW.
        unsafe {
            dd_kw_reduce::<T>(
                rt,
                cfg,
                KwReduceArgs {
                    partial: &partial.view(),
                    out: &mut outd,
                    n: ni,
                    c_total: ci,
                    col0: col0i,
                    cw: cwi,
                    splits: si,
                },
            )
        }?;
    }
    let host = rt.to_host(&outd)?;
    Ok(MatRef::from_row_major_slice(&host, n, c).to_owned())
}
