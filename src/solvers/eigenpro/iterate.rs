//! Step 8 of EigenPro: the preconditioned stochastic iteration on the dual coefficients, with
//! checkpoints (`FKR_EigenPro.fit` and `eigenpro_iterate` of EigenPro-pytorch `eigenpro.py`),
//! and the column-chunk products that serve it when the kernel matrix is cached.

use std::sync::Arc;
use std::time::Instant;

use crate::backend::gemm::matmul;
use faer::reborrow::Reborrow;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::RngExt;
use rayon::prelude::*;

use super::{EigenPro, EigenProFit, EpochReport, Validation};
use crate::backend::{Backend, Float};
use crate::check::{check_finite_mat as check_finite, first_non_finite};
use crate::data::{mse, multiclass_error};
use crate::error::{Error, Result};
use crate::random;

impl<T: Float> EigenPro<T> {
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
        let n = self.centers.x.nrows();
        let kernel = if self.centers.device.backend() == Backend::Cpu
            && x.nrows()
                .saturating_mul(n)
                .saturating_mul(std::mem::size_of::<T>())
                <= self.options.cache_bytes
        {
            Some(
                self.centers
                    .kernel
                    .matrix(x, self.centers.x.as_ref(), &self.centers.device)?,
            )
        } else {
            // Checks the data now rather than at the first checkpoint.
            self.centers.kernel.apply(
                x.subrows(0, 1),
                self.centers.x.as_ref(),
                Mat::<T>::zeros(n, 1).as_ref(),
                &self.centers.device,
            )?;
            None
        };
        Ok(Validation {
            x: x.to_owned(),
            y: y.to_owned(),
            kernel,
        })
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
        let n = self.centers.x.nrows();
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
        let y = Mat::from_fn(n, l, |i, j| y[(self.centers.order[i], j)]);
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
                        None => self.centers.kernel.apply(
                            v.x.as_ref(),
                            self.centers.x.as_ref(),
                            weight.as_ref(),
                            &self.centers.device,
                        )?,
                    };
                    (
                        Some(mse(p.as_ref(), v.y.as_ref())?),
                        Some(multiclass_error(p.as_ref(), v.y.as_ref())?),
                    )
                }
                None => (None, None),
            };
            let report = EpochReport {
                epoch: done,
                train_mse: mse(pred.as_ref(), y_eval.as_ref())?,
                train_error: multiclass_error(pred.as_ref(), y_eval.as_ref())?,
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
                out[(self.centers.order[i], j)] = weight[(i, j)];
            }
        }
        Ok(EigenProFit {
            weight: out,
            history,
            centers: Arc::clone(&self.centers),
        })
    }

    /// Predictions at training points `ids`.
    fn predict_rows(&self, weight: MatRef<'_, T>, ids: &[usize]) -> Result<Mat<T>> {
        match &self.cache {
            Some(k) => Ok(gather_times(k.as_ref(), ids, weight)),
            None => {
                let z = Mat::from_fn(ids.len(), self.centers.x.ncols(), |i, j| {
                    self.centers.x[(ids[i], j)]
                });
                self.centers.kernel.apply(
                    z.as_ref(),
                    self.centers.x.as_ref(),
                    weight,
                    &self.centers.device,
                )
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
                let d = self.centers.x.ncols();
                let xb = Mat::from_fn(m, d, |i, j| self.centers.x[(batch[i], j)]);
                let mut g = self.centers.kernel.apply(
                    xb.as_ref(),
                    self.centers.x.as_ref(),
                    weight.rb(),
                    &self.centers.device,
                )?;
                for j in 0..l {
                    for (i, &b) in batch.iter().enumerate() {
                        g[(i, j)] -= y[(b, j)];
                    }
                }
                let xs = self.centers.x.as_ref().subrows(0, s);
                let t =
                    self.centers
                        .kernel
                        .apply(xs, xb.as_ref(), g.as_ref(), &self.centers.device)?;
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
pub(super) fn choose(rng: &mut random::Rng, n: usize, count: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..count.min(n) {
        let j = rng.random_range(i..n);
        idx.swap(i, j);
    }
    idx.truncate(count);
    idx
}
