//! Batched thin SVD of many small matrices (the 1000-seed teacher–student runs, the least-squares
//! sweeps, where one call takes every training-set size).
//!
//! * CPU: rayon over the matrices, each a sequential faer SVD ([`linalg::thin_svd`]).
//! * CUDA: the one-sided Jacobi kernel of `cuda/svd.cu` (Hestenes 1958; Demmel & Veselić 1992),
//!   one thread block per matrix, in f32 or f64, for matrices whose smaller side is at most
//!   [`GPU_MAX_COLS`]; larger ones run on the CPU. A batch of mixed shapes is launched once per
//!   shape. Matrices the Jacobi kernel finds numerically
//!   rank-deficient (smallest singular value ≤ ε·max(m, n)·largest) are redone on the CPU, so the
//!   left singular vectors always form an orthonormal set.
//!
//! The result is the same contract on both backends: A = U diag(S) Vᵀ with S descending, U and V
//! with orthonormal columns. Singular vectors are unique only up to sign (and rotation within a
//! repeated singular value), so the backends agree on S and on U diag(S) Vᵀ, not on U and V.
//!
//! ```
//! use doubledescent::{Device, linalg::batched_svd};
//! use faer::Mat;
//!
//! # fn main() -> doubledescent::Result<()> {
//! let mats: Vec<Mat<f64>> = (0..4).map(|k| Mat::from_fn(5, 3, |i, j| (i * 3 + j + k) as f64 % 7.0)).collect();
//! let views: Vec<_> = mats.iter().map(|m| m.as_ref()).collect();
//! let svds = batched_svd(&views, &Device::cpu())?;
//! assert_eq!(svds.len(), 4);
//! assert!(svds[0].s[0] >= svds[0].s[1]);
//! # Ok(())
//! # }
//! ```

use faer::{MatRef, Par};
use rayon::prelude::*;

use crate::backend::{Compute, Device, Float, cuda};
use crate::check::check_finite_mat_at;
use crate::error::{Error, Result};
use crate::linalg::{self, ThinSvd};

/// Largest min(m, n) the CUDA Jacobi kernel takes; larger matrices are decomposed on the CPU.
pub const GPU_MAX_COLS: usize = 128;

/// Thin SVDs of `mats`, in order. The matrices may have different shapes.
///
/// Errors when the batch is empty, a matrix is empty or holds NaN/∞.
pub fn batched_svd<T: Float>(mats: &[MatRef<'_, T>], device: &Device) -> Result<Vec<ThinSvd<T>>> {
    if mats.is_empty() {
        return Err(Error::invalid("matrices", "[]", "need at least one matrix"));
    }
    for (b, a) in mats.iter().enumerate() {
        let (m, n) = a.shape();
        if m == 0 || n == 0 {
            return Err(Error::invalid(
                "matrices",
                format!("matrix {b} of shape {m}x{n}"),
                "SVD needs non-empty matrices",
            ));
        }
        check_finite_mat_at("matrices", &format!("matrix {b}, "), *a)?;
    }
    let rt = match device.compute() {
        Compute::Cpu => return cpu_batch(mats),
        Compute::Cuda(rt) => rt,
    };
    // One launch per shape; shapes too large for the Jacobi kernel, and matrices the kernel
    // hands back (no convergence, numerical rank deficiency), go to the CPU.
    let mut shapes: Vec<(usize, usize)> = mats.iter().map(|a| a.shape()).collect();
    shapes.sort_unstable();
    shapes.dedup();
    let mut out: Vec<Option<ThinSvd<T>>> = (0..mats.len()).map(|_| None).collect();
    for shape in shapes {
        // Matrices whose entries need scaling go to the CPU SVD, which scales them.
        let idx: Vec<usize> = (0..mats.len())
            .filter(|&b| mats[b].shape() == shape)
            .collect();
        let (idx, far): (Vec<usize>, Vec<usize>) = idx
            .into_iter()
            .partition(|&b| linalg::svd_scale(mats[b]).is_none());
        for b in far {
            out[b] = Some(linalg::thin_svd(mats[b], Par::Seq)?);
        }
        if idx.is_empty() {
            continue;
        }
        let group: Vec<MatRef<'_, T>> = idx.iter().map(|&b| mats[b]).collect();
        if shape.0.min(shape.1) > GPU_MAX_COLS {
            for (b, svd) in idx.into_iter().zip(cpu_batch(&group)?) {
                out[b] = Some(svd);
            }
            continue;
        }
        for (b, parts) in idx.into_iter().zip(cuda::svd::batched_svd(rt, &group)?) {
            out[b] = Some(match parts {
                Some((u, s, v)) => ThinSvd { u, s, v },
                None => linalg::thin_svd(mats[b], Par::Seq)?,
            });
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(b, s)| {
            s.ok_or_else(|| Error::Numerical(format!("matrix {b} of the batch was not decomposed")))
        })
        .collect()
}

/// Rayon over the batch, one sequential faer SVD per matrix.
pub(crate) fn cpu_batch<T: Float>(mats: &[MatRef<'_, T>]) -> Result<Vec<ThinSvd<T>>> {
    mats.par_iter()
        .map(|a| linalg::thin_svd(*a, Par::Seq))
        .collect()
}
