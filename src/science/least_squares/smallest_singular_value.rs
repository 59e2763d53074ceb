//! The Monte-Carlo law of the smallest non-zero singular value of Gaussian matrices: the
//! supplementary figure of *Double Descent Demystified* showing that σ_min is smallest at N = D.

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use super::scores::smallest_nonzero;
use crate::backend::Device;
use crate::error::{Error, Result};
use crate::linalg::{self, batched_svd};
use crate::stats::{RepeatStats, group_stats};

/// Monte-Carlo law of the smallest non-zero singular value of an n × d matrix with i.i.d.
/// N(0, Σ) rows, for each n in `sizes` (`smallest_nonzero_singular_value.py` of the paper's repository): `draws` matrices per n,
/// every SVD in one batched call. Draw k of size index s uses the stream `substream(seed, ·)`, so
/// results do not depend on the thread count. The minimum over n sits at n = d: each new row
/// shares directions with the earlier ones until the d-th, which gets the least variance.
pub fn gaussian_smallest_singular_values(
    cov: MatRef<'_, f64>,
    sizes: &[usize],
    draws: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<RepeatStats>> {
    let d = cov.nrows();
    if d == 0 || cov.ncols() != d {
        return Err(Error::invalid(
            "cov",
            format!("{}x{} matrix", cov.nrows(), cov.ncols()),
            "need a non-empty square covariance",
        ));
    }
    crate::check::check_finite_mat("cov", cov)?;
    for i in 0..d {
        for j in 0..i {
            let (a, b) = (cov[(i, j)], cov[(j, i)]);
            if (a - b).abs() > 1e-12 * a.abs().max(b.abs()).max(1.0) {
                return Err(Error::invalid(
                    "cov",
                    format!("cov[{i},{j}] = {a} vs cov[{j},{i}] = {b}"),
                    "must be symmetric",
                ));
            }
        }
    }
    // Σ = U diag(S) Uᵀ; positive definite iff every S_i > 0 with u_i·v_i > 0.
    let eig = linalg::thin_svd(cov, Par::Seq)?;
    for i in 0..d {
        let uv: f64 = (0..d).map(|j| eig.u[(j, i)] * eig.v[(j, i)]).sum();
        if !(eig.s[i] > 0.0 && uv > 0.0) {
            return Err(Error::invalid(
                "cov",
                format!("eigenvalue {}", if uv > 0.0 { eig.s[i] } else { -eig.s[i] }),
                "must be positive definite",
            ));
        }
    }
    let root = Mat::from_fn(d, d, |i, j| eig.u[(i, j)] * eig.s[j].sqrt());
    if sizes.is_empty() || sizes.contains(&0) {
        return Err(Error::invalid(
            "sizes",
            format!("{sizes:?}"),
            "need at least one size, each >= 1",
        ));
    }
    if draws == 0 {
        return Err(Error::invalid("draws", 0, "must be >= 1"));
    }
    // Every draw is held with its SVD (U, V and the matrix: about 3·n·d values).
    let values: u128 = sizes
        .iter()
        .map(|&n| 3 * n as u128 * d as u128 + d as u128)
        .sum();
    crate::check::check_bytes(
        format!("`draws` = {draws} (the Gaussian matrices and their SVDs)"),
        values * draws as u128 * 8,
    )?;
    let mats: Vec<Mat<f64>> = (0..sizes.len() * draws)
        .into_par_iter()
        .map(|k| {
            let n = sizes[k / draws];
            let mut rng = crate::random::substream(seed, k as u64);
            let z = crate::random::gaussian_matrix(&mut rng, n, d, 1.0);
            linalg::mul(z.as_ref(), root.as_ref().transpose(), Par::Seq)
        })
        .collect();
    let views: Vec<MatRef<'_, f64>> = mats.iter().map(|m| m.as_ref()).collect();
    let svds = batched_svd(&views, device)?;
    group_stats(&svds, draws, |svd| smallest_nonzero(&svd.s))
}
