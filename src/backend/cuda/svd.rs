//! The CUDA path of the batched SVD: packs the batch column-major (transposed when m < n, so the
//! kernel always sees mw ≥ nw), launches `dd_jacobi_svd` one block per matrix and maps U, S, V
//! back. Shared memory holds the working copies when they fit the function's dynamic
//! shared-memory limit (the device's opt-in maximum less the kernel's static shared memory, set
//! once per function when the runtime starts, see [`shared_plan`]); otherwise a global scratch
//! buffer does. Matrices the kernel did not converge on, or found numerically rank-deficient,
//! come back as `None` for the caller to redo on the CPU.
//!
//! The batch goes to the device in chunks sized to the free device memory; a chunk whose
//! allocation fails anyway is retried at half the size, down to one matrix.

use cudarc::driver::LaunchConfig;
use faer::{Mat, MatRef};

use super::CudaRuntime;
use super::launch::{JacobiSvdArgs, dd_jacobi_svd};
use crate::backend::Float;
use crate::error::{Error, Result};

/// U (m × k), S (descending, length k) and V (n × k) of one matrix, k = min(m, n).
pub(crate) type SvdParts<T> = (Mat<T>, Vec<T>, Mat<T>);

/// Sweeps before the kernel gives up on a matrix (it is then redone on the CPU). Jacobi converges
/// quadratically; well-conditioned 100-column matrices need 8–12 sweeps.
const MAX_SWEEPS: i32 = 60;
/// Matrices per launch at most (bounds the host staging buffers).
const CHUNK: usize = 4096;

/// Where the Jacobi kernel keeps its working copies of W (mw × nw) and V (nw × nw), and how many
/// bytes of dynamic shared memory its launch asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedPlan {
    /// W and V in shared memory (else in the global scratch buffer).
    pub use_shared: bool,
    /// Dynamic shared memory of the launch: W, V, the column norms and the permutation when
    /// `use_shared`, the norms and the permutation alone otherwise.
    pub dynamic_bytes: usize,
}

/// The shared-memory plan of one matrix shape (mw ≥ nw) with `elem`-byte values, for a function
/// whose launches may ask for at most `max_dynamic` bytes of dynamic shared memory (the device's
/// opt-in limit less the function's static shared memory). `None` when not even the norms and
/// the permutation fit: the matrices then go to the CPU.
pub fn shared_plan(mw: usize, nw: usize, elem: usize, max_dynamic: usize) -> Option<SharedPlan> {
    let small = nw.checked_mul(elem + 4)?;
    let full = mw
        .checked_mul(nw)?
        .checked_add(nw.checked_mul(nw)?)?
        .checked_mul(elem)?
        .checked_add(small)?;
    if full <= max_dynamic {
        Some(SharedPlan {
            use_shared: true,
            dynamic_bytes: full,
        })
    } else if small <= max_dynamic {
        Some(SharedPlan {
            use_shared: false,
            dynamic_bytes: small,
        })
    } else {
        None
    }
}

/// The SVDs of `mats` (all of one shape, min side ≤ 128), `None` where the CPU must redo it.
pub(crate) fn batched_svd<T: Float>(
    rt: &CudaRuntime,
    mats: &[MatRef<'_, T>],
) -> Result<Vec<Option<SvdParts<T>>>> {
    let Some(first) = mats.first() else {
        return Ok(Vec::new());
    };
    let (m, n) = first.shape();
    let (mw, nw) = if m < n { (n, m) } else { (m, n) };
    let name = format!("dd_jacobi_svd_{}", T::NAME);
    let size = std::mem::size_of::<T>();
    let Some(plan) = shared_plan(mw, nw, size, rt.max_dynamic_shared(&name)?) else {
        return Ok(mats.iter().map(|_| None).collect());
    };
    // Device bytes per matrix: A, U, S, V, the scratch copies without shared memory, the count.
    let (wsize, vsize) = (mw * nw, nw * nw);
    let scratch = if plan.use_shared { 0 } else { wsize + vsize };
    let per_matrix = (2 * wsize + nw + vsize + scratch) * size + 4;
    let fits = (rt.free_memory()? / 10 * 8 / per_matrix).max(1);
    let mut chunk = CHUNK.min(fits).min(mats.len());
    let mut out = Vec::with_capacity(mats.len());
    let mut start = 0;
    while start < mats.len() {
        let part = &mats[start..(start + chunk).min(mats.len())];
        match launch_chunk(rt, part, plan) {
            Ok(svds) => {
                start += part.len();
                out.extend(svds);
            }
            Err(ChunkError::Allocation(_)) if chunk > 1 => chunk /= 2,
            Err(ChunkError::Allocation(e) | ChunkError::Other(e)) => return Err(e),
        }
    }
    Ok(out)
}

enum ChunkError {
    /// Device memory ran out: retry with fewer matrices.
    Allocation(Error),
    Other(Error),
}

impl From<Error> for ChunkError {
    fn from(e: Error) -> Self {
        ChunkError::Other(e)
    }
}

fn launch_chunk<T: Float>(
    rt: &CudaRuntime,
    chunk: &[MatRef<'_, T>],
    plan: SharedPlan,
) -> std::result::Result<Vec<Option<SvdParts<T>>>, ChunkError> {
    let (m, n) = chunk[0].shape();
    let trans = m < n;
    let (mw, nw) = if trans { (n, m) } else { (m, n) };
    let (wsize, vsize) = (mw * nw, nw * nw);
    let nb = chunk.len();
    let mut host = Vec::with_capacity(nb * wsize);
    for a in chunk {
        for j in 0..nw {
            for i in 0..mw {
                host.push(if trans { a[(j, i)] } else { a[(i, j)] });
            }
        }
    }
    let ad = rt.upload(&host).map_err(ChunkError::Allocation)?;
    let alloc = |len: usize| rt.zeros::<T>(len.max(1)).map_err(ChunkError::Allocation);
    let mut ud = alloc(nb * wsize)?;
    let mut sd = alloc(nb * nw)?;
    let mut vd = alloc(nb * vsize)?;
    let mut work = alloc(if plan.use_shared {
        1
    } else {
        nb * (wsize + vsize)
    })?;
    let mut sweeps = rt.zeros::<i32>(nb).map_err(ChunkError::Allocation)?;
    let warps = (nw / 2).clamp(1, 8);
    let cfg = LaunchConfig {
        grid_dim: (nb as u32, 1, 1),
        block_dim: ((32 * warps) as u32, 1, 1),
        shared_mem_bytes: plan.dynamic_bytes as u32,
    };
    // SAFETY: every buffer holds nb matrices of the sizes the kernel indexes, work holds
    // nb·(wsize + vsize) values when use_shared is 0, and the dynamic shared memory covers the
    // kernel's layout within the function's limit.
    unsafe {
        dd_jacobi_svd::<T>(
            rt,
            cfg,
            JacobiSvdArgs {
                a: &ad.view(),
                u: &mut ud,
                s: &mut sd,
                v: &mut vd,
                sweeps: &mut sweeps,
                work: &mut work,
                mw: mw as i32,
                nw: nw as i32,
                tol: T::of(T::EPS * mw as f64),
                max_sweeps: MAX_SWEEPS,
                use_shared: plan.use_shared.into(),
            },
        )
    }?;
    let u = rt.to_host(&ud)?;
    let s = rt.to_host(&sd)?;
    let v = rt.to_host(&vd)?;
    let sw = rt.to_host(&sweeps)?;
    Ok((0..nb)
        .map(|k| {
            let sk = &s[k * nw..(k + 1) * nw];
            let (smin, smax) = (sk[nw - 1].to_f64(), sk[0].to_f64());
            let rank_deficient = smin.is_nan() || smin <= smax * T::EPS * mw as f64;
            if sw[k] < 0 || rank_deficient {
                return None;
            }
            let uw = Mat::from_fn(mw, nw, |i, j| u[k * wsize + j * mw + i]);
            let vw = Mat::from_fn(nw, nw, |i, j| v[k * vsize + j * nw + i]);
            let (u, v) = if trans { (vw, uw) } else { (uw, vw) };
            Some((u, sk.to_vec(), v))
        })
        .collect())
}
