//! The CUDA path of the batched SVD: packs the batch column-major (transposed when m < n, so the
//! kernel always sees mw ≥ nw), launches `dd_jacobi_svd` one block per matrix and maps U, S, V
//! back. Shared memory holds the working copies when they fit the device's per-block limit;
//! otherwise a global scratch buffer does. Matrices the kernel did not converge on, or found
//! numerically rank-deficient, come back as `None` for the caller to redo on the CPU.

use cudarc::driver::LaunchConfig;
use cudarc::driver::sys::{CUdevice_attribute, CUfunction_attribute};
use faer::{Mat, MatRef};

use super::launch::{JacobiSvdArgs, dd_jacobi_svd};
use super::{CudaRuntime, derr};
use crate::backend::Float;
use crate::error::Result;

/// U (m × k), S (descending, length k) and V (n × k) of one matrix, k = min(m, n).
pub(crate) type SvdParts<T> = (Mat<T>, Vec<T>, Mat<T>);

/// Sweeps before the kernel gives up on a matrix (it is then redone on the CPU). Jacobi converges
/// quadratically; well-conditioned 100-column matrices need 8–12 sweeps.
const MAX_SWEEPS: i32 = 60;
/// Matrices per launch at most (bounds the host staging buffers).
const CHUNK: usize = 4096;

/// The SVDs of `mats` (all of one shape, min side ≤ 128), `None` where the CPU must redo it.
pub(crate) fn batched_svd<T: Float>(
    rt: &CudaRuntime,
    mats: &[MatRef<'_, T>],
) -> Result<Vec<Option<SvdParts<T>>>> {
    let (m, n) = mats[0].shape();
    let trans = m < n;
    let (mw, nw) = if trans { (n, m) } else { (m, n) };
    let size = std::mem::size_of::<T>();
    let (wsize, vsize) = (mw * nw, nw * nw);
    let f = rt.function(&format!("dd_jacobi_svd_{}", T::NAME))?;
    let optin = rt
        .ctx
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
        .map_err(derr("querying the shared-memory limit"))? as usize;
    let small = nw * (size + 4);
    let full = (wsize + vsize) * size + small;
    let use_shared = full <= optin;
    let smem = if use_shared { full } else { small };
    if smem > 48 * 1024 {
        f.set_attribute(
            CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            smem as i32,
        )
        .map_err(derr("raising the dynamic shared-memory limit"))?;
    }
    let warps = (nw / 2).clamp(1, 8);
    let tol = T::of(T::EPS * mw as f64);
    let (mwi, nwi) = (mw as i32, nw as i32);
    let shared_flag: i32 = use_shared.into();

    let mut out = Vec::with_capacity(mats.len());
    for chunk in mats.chunks(CHUNK) {
        let nb = chunk.len();
        let mut host = Vec::with_capacity(nb * wsize);
        for a in chunk {
            for j in 0..nw {
                for i in 0..mw {
                    host.push(if trans { a[(j, i)] } else { a[(i, j)] });
                }
            }
        }
        let ad = rt
            .stream
            .clone_htod(&host)
            .map_err(derr("copying matrices to the device"))?;
        let alloc = |len: usize| {
            rt.stream
                .alloc_zeros::<T>(len.max(1))
                .map_err(derr("allocating SVD outputs"))
        };
        let mut ud = alloc(nb * wsize)?;
        let mut sd = alloc(nb * nw)?;
        let mut vd = alloc(nb * vsize)?;
        let mut work = alloc(if use_shared { 1 } else { nb * (wsize + vsize) })?;
        let mut sweeps = rt
            .stream
            .alloc_zeros::<i32>(nb)
            .map_err(derr("allocating sweep counts"))?;
        let cfg = LaunchConfig {
            grid_dim: (nb as u32, 1, 1),
            block_dim: ((32 * warps) as u32, 1, 1),
            shared_mem_bytes: smem as u32,
        };
        // SAFETY: every buffer holds nb matrices of the sizes the kernel indexes, work holds
        // nb·(wsize + vsize) values when use_shared is 0, and smem covers the kernel's layout.
        unsafe {
            dd_jacobi_svd::<T>(
                rt,
                cfg,
                JacobiSvdArgs {
                    a: &ad.as_view(),
                    u: &mut ud,
                    s: &mut sd,
                    v: &mut vd,
                    sweeps: &mut sweeps,
                    work: &mut work,
                    mw: mwi,
                    nw: nwi,
                    tol,
                    max_sweeps: MAX_SWEEPS,
                    use_shared: shared_flag,
                },
            )
        }?;
        let u = rt.stream.clone_dtoh(&ud).map_err(derr("copying U back"))?;
        let s = rt.stream.clone_dtoh(&sd).map_err(derr("copying S back"))?;
        let v = rt.stream.clone_dtoh(&vd).map_err(derr("copying V back"))?;
        let sw = rt
            .stream
            .clone_dtoh(&sweeps)
            .map_err(derr("copying sweep counts back"))?;
        for k in 0..nb {
            let sk = &s[k * nw..(k + 1) * nw];
            let (smin, smax) = (sk[nw - 1].to_f64(), sk[0].to_f64());
            let rank_deficient = smin.is_nan() || smin <= smax * T::EPS * mw as f64;
            if sw[k] < 0 || rank_deficient {
                out.push(None);
                continue;
            }
            let uw = Mat::from_fn(mw, nw, |i, j| u[k * wsize + j * mw + i]);
            let vw = Mat::from_fn(nw, nw, |i, j| v[k * vsize + j * nw + i]);
            let (u, v) = if trans { (vw, uw) } else { (uw, vw) };
            out.push(Some((u, sk.to_vec(), v)));
        }
    }
    Ok(out)
}
