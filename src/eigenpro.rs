//! EigenPro kernel regression (Ma & Belkin 2017, 2019): stochastic gradient descent on the dual
//! coefficients of f(x) = Σ_j α_j k(x, x_j), preconditioned by the top Nyström eigensystem of a
//! fixed subsample. This is `FKR_EigenPro` of EigenPro-pytorch@2613356, as the double-descent
//! tutorial runs it (dd_tutorial spec §5.3–5.5), step by step:
//!
//! 1. s = min(n, 2000) subsample points S (12000 when n ≥ 100000), drawn without replacement.
//! 2. bs_gpu = #{b < s : ((d + 3l + b + 1)·n + 1000·s)·4 < (mem_gb − 1)·2³⁰} (the memory rule).
//! 3. The top svd_q = min(s − 1, 1000) eigenpairs (λ_i, u_i) of K_S/s ([`crate::nystrom`]).
//! 4. top_q = max(#{i : λ_i^{−α} < max_bs} − 1, 5) with max_bs = min(max(s/5, bs_gpu), s), α = 0.95;
//!    q − 1 directions are kept and λ_q is the tail.
//! 5. E = [u_1 … u_{q−1}]/√s, D_ii = (1 − (λ_q/λ_i)^α)/λ_i, gap = (λ_1/λ_q)^α, and the
//!    preconditioned top eigenvalue λ_1/gap.
//! 6. β = max_j (1 − Σ_{i<q} u_i(j)²) (assumes k(x, x) = 1, as the original; see
//!    [`EigenProOptions::beta`] to override it for kernels such as the NTK).
//! 7. bs = min(⌊β/(λ_1/gap) + 1⌋, bs_gpu); eta = bs/β when bs < β/(λ_1/gap) + 1, else
//!    0.99·2·bs/(β + (bs − 1)·λ_1/gap). The step actually applied is scale·eta/bs.
//! 8. Each epoch draws ⌊n/bs⌋·bs distinct points in random order and splits them into ⌊n/bs⌋
//!    batches B of size bs; for each batch, with g = K(X_B, X)α − y_B:
//!    α_B ← α_B − (eta/bs)·g, then α_S ← α_S + (eta/bs)·E D Eᵀ K(S, X_B) g.
//!
//! Setup (steps 1–7) depends only on X, so one [`EigenPro`] fits many label sets (the tutorial's
//! ten noise levels). On the CPU the n × n kernel matrix is cached when it fits
//! [`EigenProOptions::cache_bytes`]; otherwise, and on CUDA, every batch evaluates K(X_B, X)·α
//! and K(S, X_B)·g matrix-free with [`Kernel::apply`]. Everything random derives from
//! [`EigenProOptions::seed`]: the same seed gives the same CPU result.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::reborrow::Reborrow;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::RngExt;
use rayon::prelude::*;

use crate::data::{mse, multiclass_error};
use crate::device::{Backend, Device};
use crate::error::{Error, Result, check_finite_mat as check_finite, first_non_finite};
use crate::kernels::Kernel;
use crate::nystrom::{EigenMethod, nystrom_eigen};
use crate::random;
use crate::scalar::Float;

/// Settings of [`EigenPro::new`]; `Default` gives the tutorial's (and FKR_EigenPro's defaults).
#[derive(Clone, Debug)]
pub struct EigenProOptions {
    /// Subsample size s; `None`: min(n, 2000) for n < 100000, else 12000.
    pub n_subsamples: Option<usize>,
    /// Number q of eigen-directions (q − 1 kept, λ_q the tail); `None`: the α rule of step 4.
    pub top_q: Option<usize>,
    /// Batch size; `None`: the rule of step 7.
    pub batch_size: Option<usize>,
    /// Printed step `eta` (the applied step is scale·eta/bs); `None`: the rule of step 7.
    pub eta: Option<f64>,
    /// Override of β (for kernels with k(x, x) ≠ 1, for example β = max k(x, x)).
    pub beta: Option<f64>,
    /// Exponent α of the preconditioner (0.95).
    pub alpha: f64,
    /// Smallest top_q of the α rule (5).
    pub min_q: usize,
    /// The `mem_gb` of the original memory rule for bs_gpu (12 in the tutorial).
    pub mem_gb: f64,
    /// Multiplier of the step (`scale`, 1).
    pub scale: f64,
    /// Size of the random training subset on which train metrics are reported (5000).
    pub n_train_eval: usize,
    /// Seed of the subsample, the train-eval subset and the batch order.
    pub seed: u64,
    /// Largest n × n kernel matrix (bytes) the CPU path caches (2 GiB).
    pub cache_bytes: usize,
    /// Nyström eigensolver.
    pub eigen_method: EigenMethod,
}

impl Default for EigenProOptions {
    fn default() -> Self {
        EigenProOptions {
            n_subsamples: None,
            top_q: None,
            batch_size: None,
            eta: None,
            beta: None,
            alpha: 0.95,
            min_q: 5,
            mem_gb: 12.0,
            scale: 1.0,
            n_train_eval: 5000,
            seed: 1,
            cache_bytes: 2 << 30,
            eigen_method: EigenMethod::default(),
        }
    }
}

/// The quantities the original prints after setup.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EigenProSetup {
    /// Subsample size s.
    pub n_subsamples: usize,
    /// bs_gpu of the memory rule.
    pub bs_gpu: usize,
    /// Eigenpairs computed (svd_q).
    pub svd_q: usize,
    /// top_q (q − 1 directions kept).
    pub top_q: usize,
    /// λ_1 of K_S/s.
    pub top_eigval: f64,
    /// λ_1/gap, the top eigenvalue after preconditioning.
    pub new_top_eigval: f64,
    /// β.
    pub beta: f64,
    /// Batch size.
    pub bs: usize,
    /// Printed eta.
    pub eta: f64,
    /// Applied step scale·eta/bs.
    pub step: f64,
    /// Seconds spent on the Nyström eigensystem.
    pub svd_seconds: f64,
    /// Whether the n × n kernel matrix is cached.
    pub cached: bool,
}

/// Metrics at one checkpoint.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochReport {
    /// Epochs done.
    pub epoch: usize,
    /// Mean squared error on the train-eval subset ("train l2").
    pub train_mse: f64,
    /// Multiclass error on the train-eval subset.
    pub train_error: f64,
    /// Validation mean squared error, when a validation set was given.
    pub val_mse: Option<f64>,
    /// Validation multiclass error.
    pub val_error: Option<f64>,
    /// Training seconds so far (evaluation excluded).
    pub seconds: f64,
}

/// A validation set with K(X_val, X) cached when it fits the budget.
pub struct Validation<T> {
    x: Mat<T>,
    y: Mat<T>,
    kernel: Option<Mat<T>>,
}

/// A fitted model: the dual coefficients and the checkpoint history.
#[derive(Clone, Debug)]
pub struct EigenProFit<T> {
    /// Dual coefficients α (n × l).
    pub weight: Mat<T>,
    /// One report per checkpoint.
    pub history: Vec<EpochReport>,
}

/// The EigenPro solver for one set of centers X (steps 1–7 done).
pub struct EigenPro<T> {
    kernel: Kernel,
    x: Mat<T>,
    outputs: usize,
    device: Device,
    sample_ids: Vec<usize>,
    /// `order[i]` = the caller's index of internal point i (subsample first).
    order: Vec<usize>,
    eigvecs: Mat<T>,
    diag: Vec<T>,
    setup: EigenProSetup,
    cache: Option<Mat<T>>,
    options: EigenProOptions,
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
        kernel.validate()?;
        let (n, d) = x.shape();
        if n < 2 || d == 0 {
            return Err(Error::invalid(
                "x",
                format!("{n}x{d} matrix"),
                "EigenPro needs at least 2 points and one feature",
            ));
        }
        check_finite("x", x)?;
        if outputs == 0 {
            return Err(Error::invalid(
                "outputs",
                0,
                "need at least one label column",
            ));
        }
        let o = &options;
        if !(o.alpha.is_finite() && o.alpha > 0.0 && o.alpha <= 1.0) {
            return Err(Error::invalid("alpha", o.alpha, "must lie in (0, 1]"));
        }
        if !(o.mem_gb.is_finite() && o.mem_gb > 1.0) {
            return Err(Error::invalid(
                "mem_gb",
                o.mem_gb,
                "must exceed 1 (1 GB is held back)",
            ));
        }
        if !(o.scale.is_finite() && o.scale > 0.0) {
            return Err(Error::invalid("scale", o.scale, "must be finite and > 0"));
        }
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
        // Step 2: the memory rule.
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
        // Step 1: the subsample.
        let mut rng = random::seeded(o.seed);
        let sample_ids = choose(&mut rng, n, s);
        // Internal order: the subsample first, then the other points in their order, so that
        // K(S, ·) is the leading block of every kernel column.
        let mut in_sample = vec![false; n];
        for &i in &sample_ids {
            in_sample[i] = true;
        }
        let order: Vec<usize> = sample_ids
            .iter()
            .copied()
            .chain((0..n).filter(|&i| !in_sample[i]))
            .collect();
        let x = Mat::from_fn(n, d, |i, j| x[(order[i], j)]);
        let samples = x.as_ref().subrows(0, s);
        // Step 3: the Nyström eigensystem.
        let svd_q = match o.top_q {
            Some(q) => q,
            None => (s - 1).min(1000),
        };
        if svd_q < 2 || svd_q > s - 1 {
            return Err(Error::invalid(
                "top_q",
                svd_q,
                format!("rank must lie in 2..={} (subsample size − 1)", s - 1),
            ));
        }
        let t0 = Instant::now();
        let eig = nystrom_eigen(kernel, samples, svd_q, o.eigen_method, device)?;
        let svd_seconds = t0.elapsed().as_secs_f64();
        let lam: Vec<f64> = eig.values.iter().map(|v| v.to_f64()).collect();
        // Step 4: top_q.
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
        // Step 5: the preconditioner.
        let kept = top_q - 1;
        let e = eig.scaled_vectors();
        let eigvecs = Mat::from_fn(s, kept, |i, j| e[(i, j)]);
        let diag: Vec<T> = (0..kept)
            .map(|i| T::of((1.0 - (tail / lam[i]).powf(o.alpha)) / lam[i]))
            .collect();
        let gap = (lam[0] / tail).powf(o.alpha);
        let new_top = lam[0] / gap;
        // Step 6: β.
        let beta = match o.beta {
            Some(b) if b.is_finite() && b > 0.0 => b,
            Some(b) => return Err(Error::invalid("beta", b, "must be finite and > 0")),
            None => (0..s)
                .map(|j| {
                    1.0 - (0..kept)
                        .map(|i| eig.vectors[(j, i)].to_f64().powi(2))
                        .sum::<f64>()
                })
                .fold(f64::NEG_INFINITY, f64::max),
        };
        if beta.is_nan() || beta <= 0.0 {
            return Err(Error::Numerical(format!(
                "β = {beta:e} is not positive; set EigenProOptions::beta"
            )));
        }
        // Step 7: batch size and step.
        let bound = beta / new_top + 1.0;
        let bs = match o.batch_size {
            Some(b) if b >= 1 && b <= n => b,
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
            Some(v) if v.is_finite() && v > 0.0 => v,
            Some(v) => return Err(Error::invalid("eta", v, "must be finite and > 0")),
            None => {
                if (bs as f64) < bound {
                    bs as f64 / beta
                } else {
                    0.99 * 2.0 * bs as f64 / (beta + (bs as f64 - 1.0) * new_top)
                }
            }
        };
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
            kernel,
            x,
            outputs,
            device: device.clone(),
            sample_ids,
            order,
            eigvecs,
            diag,
            setup,
            cache,
            options,
        })
    }

    /// The setup values (what the original prints).
    pub fn setup(&self) -> &EigenProSetup {
        &self.setup
    }

    /// Indices of the subsample S in X.
    pub fn sample_ids(&self) -> &[usize] {
        &self.sample_ids
    }

    /// A validation set; K(X_val, X) is cached when it fits the cache budget, so several fits
    /// against the same set evaluate it once.
    pub fn validation(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<Validation<T>> {
        if y.nrows() != x.nrows() || y.ncols() != self.outputs {
            return Err(Error::ShapeMismatch {
                what: "validation labels against validation points and outputs".into(),
                expected: format!("{}x{}", x.nrows(), self.outputs),
                got: format!("{}x{}", y.nrows(), y.ncols()),
            });
        }
        check_finite("y_val", y)?;
        let n = self.x.nrows();
        let kernel = if self.device.backend() == Backend::Cpu
            && x.nrows()
                .saturating_mul(n)
                .saturating_mul(std::mem::size_of::<T>())
                <= self.options.cache_bytes
        {
            Some(self.kernel.matrix(x, self.x.as_ref(), &self.device)?)
        } else {
            // Checks the data now rather than at the first checkpoint.
            self.kernel.apply(
                x.subrows(0, 1),
                self.x.as_ref(),
                Mat::<T>::zeros(n, 1).as_ref(),
                &self.device,
            )?;
            None
        };
        Ok(Validation {
            x: x.to_owned(),
            y: y.to_owned(),
            kernel,
        })
    }

    /// Predictions K(z, X)·α for a weight matrix of a fit.
    pub fn predict(&self, weight: MatRef<'_, T>, z: MatRef<'_, T>) -> Result<Mat<T>> {
        let n = self.x.nrows();
        if weight.nrows() != n {
            return Err(Error::ShapeMismatch {
                what: "weight rows against the number of centers".into(),
                expected: format!("{n}"),
                got: format!("{}", weight.nrows()),
            });
        }
        // Weights are in the caller's order; the centers are stored permuted.
        let w = Mat::from_fn(n, weight.ncols(), |i, j| weight[(self.order[i], j)]);
        self.kernel
            .apply(z, self.x.as_ref(), w.as_ref(), &self.device)
    }

    /// Step 8 from α = 0 on labels `y` (n × l), reporting at each checkpoint of `epochs`
    /// (cumulative epoch counts, increasing, e.g. `[150]`). `on_checkpoint` sees every report.
    pub fn fit(
        &self,
        y: MatRef<'_, T>,
        epochs: &[usize],
        val: Option<&Validation<T>>,
        on_checkpoint: &mut dyn FnMut(&EpochReport),
    ) -> Result<EigenProFit<T>> {
        let n = self.x.nrows();
        let l = self.outputs;
        if y.nrows() != n || y.ncols() != l {
            return Err(Error::ShapeMismatch {
                what: "labels y against centers and outputs".into(),
                expected: format!("{n}x{l}"),
                got: format!("{}x{}", y.nrows(), y.ncols()),
            });
        }
        check_finite("y", y)?;
        if epochs.is_empty() || epochs[0] == 0 || epochs.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::invalid(
                "epochs",
                format!("{epochs:?}"),
                "need increasing positive checkpoints",
            ));
        }
        let y = Mat::from_fn(n, l, |i, j| y[(self.order[i], j)]);
        let y = y.as_ref();
        let bs = self.setup.bs;
        let step = T::of(self.setup.step);
        let mut rng = random::substream(self.options.seed, 1);
        let eval_ids = choose(&mut rng, n, n.min(self.options.n_train_eval));
        let y_eval = Mat::from_fn(eval_ids.len(), l, |i, j| y[(eval_ids[i], j)]);
        let mut weight = Mat::<T>::zeros(n, l);
        let mut history = Vec::with_capacity(epochs.len());
        let mut seconds = 0.0;
        let n_batches = n / bs;
        let mut done = 0;
        for &target in epochs {
            let t0 = Instant::now();
            while done < target {
                let ids = choose(&mut rng, n, n_batches * bs);
                for batch in ids.chunks(bs) {
                    self.iterate(weight.as_mut(), y, batch, step)?;
                }
                done += 1;
            }
            seconds += t0.elapsed().as_secs_f64();
            if let Some((i, j)) = first_non_finite(weight.as_ref()) {
                return Err(Error::Numerical(format!(
                    "EigenPro diverged by epoch {done}: weight ({i}, {j}) is {} (step {:.3e}); \
                     lower eta or set batch_size",
                    weight[(i, j)],
                    self.setup.step
                )));
            }
            let pred = self.predict_rows(weight.as_ref(), &eval_ids)?;
            let (val_mse, val_error) = match val {
                Some(v) => {
                    let p = match &v.kernel {
                        Some(k) => crate::linalg::mul(k.as_ref(), weight.as_ref(), Par::rayon(0)),
                        None => self.kernel.apply(
                            v.x.as_ref(),
                            self.x.as_ref(),
                            weight.as_ref(),
                            &self.device,
                        )?,
                    };
                    (
                        Some(mse(p.as_ref(), v.y.as_ref())),
                        Some(multiclass_error(p.as_ref(), v.y.as_ref())),
                    )
                }
                None => (None, None),
            };
            let report = EpochReport {
                epoch: done,
                train_mse: mse(pred.as_ref(), y_eval.as_ref()),
                train_error: multiclass_error(pred.as_ref(), y_eval.as_ref()),
                val_mse,
                val_error,
                seconds,
            };
            on_checkpoint(&report);
            history.push(report);
        }
        let mut out = Mat::<T>::zeros(n, l);
        for j in 0..l {
            for i in 0..n {
                out[(self.order[i], j)] = weight[(i, j)];
            }
        }
        Ok(EigenProFit {
            weight: out,
            history,
        })
    }

    /// Predictions at training points `ids`.
    fn predict_rows(&self, weight: MatRef<'_, T>, ids: &[usize]) -> Result<Mat<T>> {
        match &self.cache {
            Some(k) => Ok(gather_times(k.as_ref(), ids, weight)),
            None => {
                let z = Mat::from_fn(ids.len(), self.x.ncols(), |i, j| self.x[(ids[i], j)]);
                self.kernel
                    .apply(z.as_ref(), self.x.as_ref(), weight, &self.device)
            }
        }
    }

    /// One EigenPro iteration on batch B.
    fn iterate(
        &self,
        mut weight: MatMut<'_, T>,
        y: MatRef<'_, T>,
        batch: &[usize],
        step: T,
    ) -> Result<()> {
        let m = batch.len();
        let l = self.outputs;
        let s = self.sample_ids.len();
        // g = K(X_B, X)·α − y_B  and  t = K(S, X_B)·g.
        let (g, t) = match &self.cache {
            Some(k) => batch_products(k.as_ref(), batch, weight.rb(), y, s),
            None => {
                let d = self.x.ncols();
                let xb = Mat::from_fn(m, d, |i, j| self.x[(batch[i], j)]);
                let mut g =
                    self.kernel
                        .apply(xb.as_ref(), self.x.as_ref(), weight.rb(), &self.device)?;
                for j in 0..l {
                    for (i, &b) in batch.iter().enumerate() {
                        g[(i, j)] -= y[(b, j)];
                    }
                }
                let xs = self.x.as_ref().subrows(0, s);
                let t = self
                    .kernel
                    .apply(xs, xb.as_ref(), g.as_ref(), &self.device)?;
                (g, t)
            }
        };
        // α_B −= step·g.
        for j in 0..l {
            for (i, &b) in batch.iter().enumerate() {
                weight[(b, j)] -= step * g[(i, j)];
            }
        }
        // α_S += step·E D Eᵀ t.
        let mut et = crate::linalg::mul(self.eigvecs.transpose(), t.as_ref(), Par::Seq);
        for j in 0..l {
            for (i, d) in self.diag.iter().enumerate() {
                et[(i, j)] *= *d;
            }
        }
        let corr = crate::linalg::mul(self.eigvecs.as_ref(), et.as_ref(), Par::Seq);
        for j in 0..l {
            for i in 0..s {
                weight[(i, j)] += step * corr[(i, j)];
            }
        }
        Ok(())
    }
}

/// One pass over the columns `rows` of a symmetric cached K (contiguous, unlike its rows): rayon
/// over chunks of 64 indices, each chunk's columns gathered into a buffer `buf` (n × chunk), its
/// products g = K[chunk, :]·α formed by faer, and `per_chunk(chunk, buf, g)` applied. Results come
/// back in chunk order.
fn column_chunks<T: Float, R: Send>(
    k: MatRef<'_, T>,
    rows: &[usize],
    alpha: MatRef<'_, T>,
    per_chunk: impl Fn(&[usize], MatRef<'_, T>, Mat<T>) -> R + Sync,
) -> Vec<R> {
    let n = k.nrows();
    rows.par_chunks(COLUMN_CHUNK)
        .map(|chunk| {
            let mut buf = Mat::<T>::zeros(n, chunk.len());
            for (j, &b) in chunk.iter().enumerate() {
                buf.col_mut(j).copy_from(k.col(b));
            }
            let mut g = Mat::<T>::zeros(chunk.len(), alpha.ncols());
            matmul(
                g.as_mut(),
                Accum::Replace,
                buf.transpose(),
                alpha,
                T::ONE,
                Par::Seq,
            );
            per_chunk(chunk, buf.as_ref(), g)
        })
        .collect()
}

const COLUMN_CHUNK: usize = 64;

/// Stacks per-chunk row blocks into one matrix.
fn stack_rows<T: Float>(parts: &[Mat<T>], rows: usize, cols: usize) -> Mat<T> {
    let mut out = Mat::<T>::zeros(rows, cols);
    for (c, part) in parts.iter().enumerate() {
        out.as_mut()
            .submatrix_mut(c * COLUMN_CHUNK, 0, part.nrows(), cols)
            .copy_from(part);
    }
    out
}

/// For a symmetric cached K whose first `s` points are the subsample: g = K[B, :]·α − y_B and
/// t = K[S, B]·g in one pass over the columns B. The partial sums of t are added in chunk order,
/// so the result does not depend on the number of threads.
fn batch_products<T: Float>(
    k: MatRef<'_, T>,
    batch: &[usize],
    alpha: MatRef<'_, T>,
    y: MatRef<'_, T>,
    s: usize,
) -> (Mat<T>, Mat<T>) {
    let l = alpha.ncols();
    let parts = column_chunks(k, batch, alpha, |chunk, buf, mut g| {
        for j in 0..l {
            for (i, &b) in chunk.iter().enumerate() {
                g[(i, j)] -= y[(b, j)];
            }
        }
        let mut t = Mat::<T>::zeros(s, l);
        matmul(
            t.as_mut(),
            Accum::Replace,
            buf.subrows(0, s),
            g.as_ref(),
            T::ONE,
            Par::Seq,
        );
        (g, t)
    });
    let mut t = Mat::<T>::zeros(s, l);
    for (_, tc) in &parts {
        t += tc;
    }
    let gs: Vec<Mat<T>> = parts.into_iter().map(|(g, _)| g).collect();
    (stack_rows(&gs, batch.len(), l), t)
}

/// K[rows, :]·W for a symmetric cached K.
fn gather_times<T: Float>(k: MatRef<'_, T>, rows: &[usize], w: MatRef<'_, T>) -> Mat<T> {
    let parts = column_chunks(k, rows, w, |_, _, g| g);
    stack_rows(&parts, rows.len(), w.ncols())
}

/// `count` distinct indices of 0..n in random order (partial Fisher–Yates).
fn choose(rng: &mut random::Rng, n: usize, count: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..count.min(n) {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(count);
    idx
}
