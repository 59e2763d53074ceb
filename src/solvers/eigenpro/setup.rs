//! Steps 1–7 of EigenPro: the subsample, the memory rule, the Nyström eigensystem, top_q, the
//! preconditioner, β and the step (`FKR_EigenPro.__init__` and `_setup` of EigenPro-pytorch
//! `eigenpro.py`). Each rule is a function with the formula in its doc comment.

use std::sync::Arc;
use std::time::Instant;

use faer::{Mat, MatRef};

use super::iterate::choose;
use super::{Centers, EigenPro, EigenProOptions, EigenProSetup};
use crate::backend::{Backend, Device, Float};
use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::kernels::{Kernel, nystrom_eigen};
use crate::random;

impl EigenProOptions {
    /// Checks the settings that do not depend on the data (α, mem_gb, scale, and the given
    /// overrides of β, eta and the batch size).
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(Error::invalid("alpha", self.alpha, "must lie in (0, 1]"));
        }
        if !(self.mem_gb.is_finite() && self.mem_gb > 1.0) {
            return Err(Error::invalid(
                "mem_gb",
                self.mem_gb,
                "must exceed 1 (1 GB is held back)",
            ));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(Error::invalid(
                "scale",
                self.scale,
                "must be finite and > 0",
            ));
        }
        if let Some(b) = self.beta
            && !(b.is_finite() && b > 0.0)
        {
            return Err(Error::invalid("beta", b, "must be finite and > 0"));
        }
        if let Some(v) = self.eta
            && !(v.is_finite() && v > 0.0)
        {
            return Err(Error::invalid("eta", v, "must be finite and > 0"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::invalid("batch_size", 0, "must be >= 1"));
        }
        if self.min_q < 2 {
            return Err(Error::invalid(
                "min_q",
                self.min_q,
                "must be >= 2 (q − 1 directions are kept and λ_q is the tail)",
            ));
        }
        if self.n_train_eval == 0 {
            return Err(Error::invalid(
                "n_train_eval",
                0,
                "must be >= 1 (the training error is reported on that many points)",
            ));
        }
        Ok(())
    }
}

/// Step 1: s = min(n, 2000) for n < 100000, else 12000, unless given; 2 ≤ s ≤ n.
fn subsample_size(o: &EigenProOptions, n: usize) -> Result<usize> {
    let s = o
        .n_subsamples
        .unwrap_or(if n < 100_000 { n.min(2000) } else { 12_000 });
    if s < 2 || s > n {
        return Err(Error::invalid(
            "n_subsamples",
            s,
            format!("must lie in 2..={n} (the number of points)"),
        ));
    }
    Ok(s)
}

/// Step 2: bs_gpu = #{b < s : ((d + 3l + b + 1)·n + 1000·s)·4 < (mem_gb − 1)·2³⁰}.
fn memory_rule(o: &EigenProOptions, n: usize, d: usize, outputs: usize, s: usize) -> Result<usize> {
    let mem_bytes = (o.mem_gb - 1.0) * (1u64 << 30) as f64;
    let bs_gpu = (0..s)
        .filter(|&b| ((((d + 3 * outputs + b + 1) * n + s * 1000) * 4) as f64) < mem_bytes)
        .count();
    if bs_gpu == 0 {
        return Err(Error::invalid(
            "mem_gb",
            o.mem_gb,
            "leaves no room for a single batch under the memory rule",
        ));
    }
    Ok(bs_gpu)
}

/// The internal order of the points: the subsample first, then the other points in their order,
/// so that K(S, ·) is the leading block of every kernel column.
fn subsample_first(sample_ids: &[usize], n: usize) -> Vec<usize> {
    let mut in_sample = vec![false; n];
    for &i in sample_ids {
        in_sample[i] = true;
    }
    sample_ids
        .iter()
        .copied()
        .chain((0..n).filter(|&i| !in_sample[i]))
        .collect()
}

/// Step 3: svd_q = min(s − 1, 1000) eigenpairs, or the given top_q; 2 ≤ svd_q ≤ s − 1.
fn eigenpairs_wanted(o: &EigenProOptions, s: usize) -> Result<usize> {
    if s < 3 {
        return Err(Error::invalid(
            if o.n_subsamples.is_some() {
                "n_subsamples"
            } else {
                "x"
            },
            format!("{s} points"),
            "EigenPro needs a subsample of at least 3 points (2 eigenpairs of K_S/s, one kept and \
             one tail)",
        ));
    }
    let svd_q = o.top_q.unwrap_or((s - 1).min(1000));
    if svd_q < 2 || svd_q > s - 1 {
        return Err(Error::invalid(
            "top_q",
            svd_q,
            format!("rank must lie in 2..={} (subsample size − 1)", s - 1),
        ));
    }
    Ok(svd_q)
}

/// Step 4: top_q = max(#{i : λ_i^{−α} < max_bs} − 1, min_q), at most svd_q, with
/// max_bs = min(max(s/5, bs_gpu), s); the tail λ_q must be positive.
fn top_q_rule(
    o: &EigenProOptions,
    lam: &[f64],
    s: usize,
    svd_q: usize,
    bs_gpu: usize,
) -> Result<usize> {
    let top_q = match o.top_q {
        Some(q) => q,
        None => {
            let max_bs = (s as f64 / 5.0).max(bs_gpu as f64).min(s as f64);
            let count = lam.iter().filter(|&&l| l.powf(-o.alpha) < max_bs).count();
            (count.saturating_sub(1)).max(o.min_q).min(svd_q)
        }
    };
    let tail = lam[top_q - 1];
    if tail.is_nan() || tail <= 0.0 {
        return Err(Error::Numerical(format!(
            "eigenvalue λ_{top_q} = {tail:e} of K_S/s is not positive: the subsample kernel \
             matrix is numerically rank-deficient; lower top_q"
        )));
    }
    Ok(top_q)
}

/// Step 6: β = max_j k(x_j, x_j)·(1 − Σ_{i<q} u_i(j)²) over the subsample, unless given. The
/// original (`asm_eigenpro_fn`) has no k(x_j, x_j) factor: it assumes k(x, x) = 1, true for its
/// Laplace and Gaussian kernels (where both rules agree) but not for the arc-cosine kernels,
/// whose diagonal is ‖x̃‖² or more (13 for a depth-3 NTK on unit inputs); without the factor
/// their step would be too long by that much (upstream `eigenpro2` later took
/// β = max k(x, x)).
fn beta_rule<T: Float>(
    o: &EigenProOptions,
    vectors: MatRef<'_, T>,
    kept: usize,
    diagonal: &[f64],
) -> Result<f64> {
    let beta = match o.beta {
        Some(b) => b,
        None => (0..vectors.nrows())
            .map(|j| {
                diagonal[j]
                    * (1.0
                        - (0..kept)
                            .map(|i| vectors[(j, i)].to_f64().powi(2))
                            .sum::<f64>())
            })
            .fold(f64::NEG_INFINITY, f64::max),
    };
    if beta.is_nan() || beta <= 0.0 {
        return Err(Error::Numerical(format!(
            "β = {beta:e} is not positive; set EigenProOptions::beta"
        )));
    }
    Ok(beta)
}

/// Step 7: bs = min(⌊β/(λ_1/gap) + 1⌋, bs_gpu) unless given (1 ≤ bs ≤ n); eta = bs/β when
/// bs < β/(λ_1/gap) + 1, else 0.99·2·bs/(β + (bs − 1)·λ_1/gap), unless given.
fn step_rule(
    o: &EigenProOptions,
    beta: f64,
    new_top: f64,
    bs_gpu: usize,
    n: usize,
) -> Result<(usize, f64)> {
    let bound = beta / new_top + 1.0;
    let bs = match o.batch_size {
        Some(b) if b <= n => b,
        Some(b) => {
            return Err(Error::invalid(
                "batch_size",
                b,
                format!("must lie in 1..={n}"),
            ));
        }
        None => ((bound.min(i32::MAX as f64)) as usize).min(bs_gpu).max(1),
    };
    let eta = match o.eta {
        Some(v) => v,
        None if (bs as f64) < bound => bs as f64 / beta,
        None => 0.99 * 2.0 * bs as f64 / (beta + (bs as f64 - 1.0) * new_top),
    };
    Ok((bs, eta))
}

impl<T: Float> EigenPro<T> {
    /// Steps 1–7 for centers `x` (n × d) and `outputs` label columns.
    pub fn new(
        kernel: Kernel,
        x: MatRef<'_, T>,
        outputs: usize,
        options: EigenProOptions,
        device: &Device,
    ) -> Result<Self> {
        let (n, d) = x.shape();
        if n < 2 || d == 0 {
            return Err(Error::invalid(
                "x",
                format!("{n}x{d} matrix"),
                "EigenPro needs at least 2 points and one feature",
            ));
        }
        check_finite_mat("x", x)?;
        if outputs == 0 {
            return Err(Error::invalid(
                "outputs",
                0,
                "need at least one label column",
            ));
        }
        let o = &options;
        o.validate()?;
        let s = subsample_size(o, n)?;
        let bs_gpu = memory_rule(o, n, d, outputs, s)?;
        let mut rng = random::seeded(o.seed);
        let sample_ids = choose(&mut rng, n, s);
        let order = subsample_first(&sample_ids, n);
        let x = Mat::from_fn(n, d, |i, j| x[(order[i], j)]);
        let svd_q = eigenpairs_wanted(o, s)?;
        let t0 = Instant::now();
        let eig = nystrom_eigen(
            kernel,
            x.as_ref().subrows(0, s),
            svd_q,
            o.eigen_method,
            device,
        )?;
        let svd_seconds = t0.elapsed().as_secs_f64();
        let lam: Vec<f64> = eig.values.iter().map(|v| v.to_f64()).collect();
        let top_q = top_q_rule(o, &lam, s, svd_q, bs_gpu)?;
        // Step 5: E = [u_1 … u_{q−1}]/√s, D_ii = (1 − (λ_q/λ_i)^α)/λ_i, gap = (λ_1/λ_q)^α.
        let (kept, tail) = (top_q - 1, lam[top_q - 1]);
        let e = eig.scaled_vectors();
        let eigvecs = Mat::from_fn(s, kept, |i, j| e[(i, j)]);
        let diag: Vec<T> = (0..kept)
            .map(|i| T::of((1.0 - (tail / lam[i]).powf(o.alpha)) / lam[i]))
            .collect();
        let new_top = lam[0] / (lam[0] / tail).powf(o.alpha);
        let params = kernel.params::<T>();
        let diagonal: Vec<f64> = (0..s)
            .map(|j| {
                let row = x.row(j);
                let nx = (0..d).fold(T::ZERO, |a, k| a + row[k] * row[k]);
                params.diagonal(nx).to_f64()
            })
            .collect();
        let beta = beta_rule(o, eig.vectors.as_ref(), kept, &diagonal)?;
        let (bs, eta) = step_rule(o, beta, new_top, bs_gpu, n)?;
        let step = o.scale * eta / bs as f64;
        let cache = if device.backend() == Backend::Cpu
            && n.saturating_mul(n).saturating_mul(std::mem::size_of::<T>()) <= o.cache_bytes
        {
            Some(kernel.self_matrix(x.as_ref(), device)?)
        } else {
            None
        };
        let setup = EigenProSetup {
            n_subsamples: s,
            bs_gpu,
            svd_q,
            top_q,
            top_eigval: lam[0],
            new_top_eigval: new_top,
            beta,
            bs,
            eta,
            step,
            svd_seconds,
            cached: cache.is_some(),
        };
        Ok(EigenPro {
            centers: Arc::new(Centers {
                kernel,
                x,
                order,
                device: device.clone(),
            }),
            outputs,
            sample_ids,
            eigvecs,
            diag,
            setup,
            cache,
            options,
        })
    }
}
