//! EigenPro kernel regression (Ma & Belkin 2017, 2019): stochastic gradient descent on the dual
//! coefficients of f(x) = Σ_j α_j k(x, x_j), preconditioned by the top Nyström eigensystem of a
//! fixed subsample. This is `FKR_EigenPro` of EigenPro-pytorch@2613356, as the double-descent
//! tutorial runs it (`eigenpro.py` and `svd.py` of EigenPro-pytorch, with `kernel.py`), step by step:
//!
//! 1. s = min(n, 2000) subsample points S (12000 when n ≥ 100000), drawn without replacement.
//! 2. bs_gpu = #{b < s : ((d + 3l + b + 1)·n + 1000·s)·4 < (mem_gb − 1)·2³⁰} (the memory rule).
//! 3. The top svd_q = min(s − 1, 1000) eigenpairs (λ_i, u_i) of K_S/s ([`crate::kernels::nystrom`]).
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
//! Setup (steps 1–7, [`EigenPro::new`], in `setup.rs`) depends only on X, so one [`EigenPro`]
//! fits many label sets (the tutorial's ten noise levels) with [`EigenPro::fit`] (step 8, in
//! `iterate.rs`); each fit is an [`EigenProFit`] that owns its weights and history and predicts
//! through [`Predict`]. [`EigenProRegressor`] does both for one label set, in the [`Fit`] shape. On the CPU the n × n kernel matrix is cached when it fits
//! [`EigenProOptions::cache_bytes`]; otherwise, and on CUDA, every batch evaluates K(X_B, X)·α
//! and K(S, X_B)·g matrix-free with [`Kernel::apply`]. Everything random derives from

mod iterate;
mod setup;

use std::sync::Arc;

use faer::{Mat, MatRef};

use super::{Fit, Predict};
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::kernels::{EigenMethod, Kernel};

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

/// The kernel, the centers (stored subsample first) and the device: what a fit predicts with,
/// shared by the solver and all its fits.
#[derive(Debug)]
struct Centers<T> {
    kernel: Kernel,
    x: Mat<T>,
    /// `order[i]` = the caller's index of internal point i (subsample first).
    order: Vec<usize>,
    device: Device,
}

/// A fitted model: the dual coefficients, the checkpoint history, and the centers it predicts
/// with.
#[derive(Clone, Debug)]
pub struct EigenProFit<T> {
    /// Dual coefficients α (n × l), in the caller's order of the centers.
    pub weight: Mat<T>,
    /// One report per checkpoint.
    pub history: Vec<EpochReport>,
    centers: Arc<Centers<T>>,
}

impl<T: Float> Predict<MatRef<'_, T>> for EigenProFit<T> {
    type Output = Mat<T>;

    /// Predictions K(z, X)·α (n_z × l), matrix-free on the solver's device.
    fn predict(&self, z: MatRef<'_, T>) -> Result<Mat<T>> {
        let c = &self.centers;
        let n = c.x.nrows();
        // Weights are in the caller's order; the centers are stored permuted.
        let w = Mat::from_fn(n, self.weight.ncols(), |i, j| self.weight[(c.order[i], j)]);
        c.kernel.apply(z, c.x.as_ref(), w.as_ref(), &c.device)
    }
}

/// The EigenPro solver for one set of centers X (steps 1–7 done).
pub struct EigenPro<T> {
    centers: Arc<Centers<T>>,
    outputs: usize,
    sample_ids: Vec<usize>,
    eigvecs: Mat<T>,
    diag: Vec<T>,
    setup: EigenProSetup,
    cache: Option<Mat<T>>,
    options: EigenProOptions,
}

impl<T> EigenPro<T> {
    /// The setup values (what the original prints).
    pub fn setup(&self) -> &EigenProSetup {
        &self.setup
    }

    /// Indices of the subsample S in X.
    pub fn sample_ids(&self) -> &[usize] {
        &self.sample_ids
    }
}

/// EigenPro in the [`Fit`] shape: setup on X, then `epochs` epochs on one label set.
#[derive(Clone, Debug)]
pub struct EigenProRegressor {
    kernel: Kernel,
    epochs: usize,
    options: EigenProOptions,
    device: Device,
}

impl EigenProRegressor {
    /// A regressor running `epochs` ≥ 1 epochs; the options are checked here.
    pub fn new(
        kernel: Kernel,
        epochs: usize,
        options: EigenProOptions,
        device: &Device,
    ) -> Result<Self> {
        if epochs == 0 {
            return Err(Error::invalid("epochs", 0, "need at least one epoch"));
        }
        options.validate()?;
        Ok(EigenProRegressor {
            kernel,
            epochs,
            options,
            device: device.clone(),
        })
    }
}

impl<T: Float> Fit<MatRef<'_, T>, MatRef<'_, T>> for EigenProRegressor {
    type Fitted = EigenProFit<T>;

    fn fit(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<EigenProFit<T>> {
        EigenPro::new(
            self.kernel,
            x,
            y.ncols(),
            self.options.clone(),
            &self.device,
        )?
        .fit(y, &[self.epochs], None, &mut |_| {})
    }
}
