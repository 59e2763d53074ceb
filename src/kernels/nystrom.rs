//! Top-q eigensystem of a kernel on a subsample (the Nyström approximation EigenPro
//! preconditions with): the eigenpairs (λ_i, u_i) of K_S/s, K_S = K(S, S) on s points, with unit
//! u_i, λ descending (EigenPro-pytorch@2613356 `svd.py`, `nystrom_kernel_svd`).
//! EigenPro's scaled eigenvectors are E = [u_1 … u_q]/√s ([`NystromEigen::scaled_vectors`]).
//!
//! Three methods, chosen by [`EigenMethod::Auto`]:
//! * [`EigenMethod::Dense`]: form K_S and run faer's dense self-adjoint eigensolver (all s pairs);
//!   the choice for s ≤ [`DENSE_MAX`].
//! * [`EigenMethod::KrylovCached`]: form K_S once and run faer's Krylov–Schur
//!   (`faer::matrix_free::eigen::partial_self_adjoint_eigen`) for the top q only.
//! * [`EigenMethod::KrylovMatrixFree`]: Krylov–Schur on the operator v ↦ K(S, S)v/s evaluated in
//!   fused tiles without storing K_S (when s²·size exceeds the memory budget).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::matrix_free::LinOp;
use faer::matrix_free::eigen::{
    PartialEigenParams, partial_self_adjoint_eigen, partial_self_adjoint_eigen_scratch,
};
use faer::reborrow::ReborrowMut;
use faer::{Col, Mat, MatMut, MatRef, Par, Side};

use std::sync::Mutex;

use crate::backend::{Backend, Device, Float};
use crate::error::{Error, Result};
use crate::kernels::Kernel;

/// Largest subsample that [`EigenMethod::Auto`] decomposes densely.
pub const DENSE_MAX: usize = 2500;

/// Below max(this, 2q) points the Krylov methods run the dense decomposition instead (the Krylov
/// search space would span the whole space).
const KRYLOV_MIN: usize = 64;

/// How to compute the top eigenpairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EigenMethod {
    /// Dense for s ≤ [`DENSE_MAX`], else Krylov–Schur on the cached K_S when it fits
    /// `memory_bytes`, else matrix-free Krylov–Schur.
    Auto {
        /// Budget for storing K_S.
        memory_bytes: usize,
    },
    /// Dense eigendecomposition of K_S/s.
    Dense,
    /// Krylov–Schur on a stored K_S/s (dense when s ≤ max(64, 2q), where the result reports
    /// `Dense`).
    KrylovCached,
    /// Krylov–Schur on v ↦ K(S, S)v/s, K_S never stored (dense when s ≤ max(64, 2q), where the
    /// result reports `Dense`).
    KrylovMatrixFree,
}

impl Default for EigenMethod {
    fn default() -> Self {
        EigenMethod::Auto {
            memory_bytes: 2 << 30,
        }
    }
}

/// The top eigenpairs of K_S/s.
#[derive(Clone, Debug)]
pub struct NystromEigen<T> {
    /// λ_1 ≥ … ≥ λ_q, eigenvalues of K_S/s.
    pub values: Vec<T>,
    /// Unit eigenvectors u_i as columns, s × q.
    pub vectors: Mat<T>,
    /// The method that ran (never `Auto`).
    pub method: EigenMethod,
}

impl<T: Float> NystromEigen<T> {
    /// E = [u_1 … u_q]/√s, the eigenvectors EigenPro uses.
    pub fn scaled_vectors(&self) -> Mat<T> {
        let s = self.vectors.nrows();
        let c = T::of(1.0 / (s as f64).sqrt());
        Mat::from_fn(s, self.vectors.ncols(), |i, j| self.vectors[(i, j)] * c)
    }
}

/// The top-`q` eigensystem of K(S, S)/s for the subsample `samples` (s × d).
pub fn nystrom_eigen<T: Float>(
    kernel: Kernel,
    samples: MatRef<'_, T>,
    q: usize,
    method: EigenMethod,
    device: &Device,
) -> Result<NystromEigen<T>> {
    let s = samples.nrows();
    if s == 0 || samples.ncols() == 0 {
        return Err(Error::invalid(
            "samples",
            format!("{s}×{}", samples.ncols()),
            "need at least one sample point with at least one coordinate",
        ));
    }
    crate::check::check_finite_mat("samples", samples)?;
    if q == 0 || q > s {
        return Err(Error::invalid(
            "q",
            q,
            format!("rank must lie in 1..={s} (the subsample size)"),
        ));
    }
    let method = match method {
        EigenMethod::Auto { memory_bytes } => {
            if s <= DENSE_MAX {
                EigenMethod::Dense
            } else if s.saturating_mul(s).saturating_mul(std::mem::size_of::<T>()) <= memory_bytes {
                EigenMethod::KrylovCached
            } else {
                EigenMethod::KrylovMatrixFree
            }
        }
        // faer's Krylov–Schur needs a search space larger than max(64, 2q) below the full
        // dimension; below that size the dense decomposition is exact and no slower.
        EigenMethod::KrylovCached | EigenMethod::KrylovMatrixFree if s <= KRYLOV_MIN.max(2 * q) => {
            EigenMethod::Dense
        }
        m => m,
    };
    let inv_s = T::of(1.0 / s as f64);
    let (values, vectors) = match method {
        EigenMethod::Dense => {
            let mut k = kernel.self_matrix(samples, device)?;
            scale(k.as_mut(), inv_s);
            let evd = k
                .self_adjoint_eigen(Side::Lower)
                .map_err(|e| Error::Numerical(format!("eigendecomposition of K_S/s: {e:?}")))?;
            let (u, d) = (evd.U(), evd.S());
            // Ascending → the top q in descending order.
            let values = (0..q).map(|i| d[s - 1 - i]).collect();
            let vectors = Mat::from_fn(s, q, |r, i| u[(r, s - 1 - i)]);
            (values, vectors)
        }
        EigenMethod::KrylovCached => {
            let mut k = kernel.self_matrix(samples, device)?;
            scale(k.as_mut(), inv_s);
            let diag_mean = (0..s).map(|i| k[(i, i)].to_f64()).sum::<f64>();
            krylov(&k, q, diag_mean)?
        }
        EigenMethod::KrylovMatrixFree => {
            // Validates the data once (the operator then skips the checks).
            kernel.apply(
                samples.subrows(0, 1),
                samples,
                Mat::<T>::zeros(s, 1).as_ref(),
                device,
            )?;
            let op = KernelOperator {
                kernel,
                samples: samples.to_owned(),
                inv_s,
                device: device.clone(),
                failure: Mutex::new(None),
            };
            let p = kernel.params::<T>();
            let trace = (0..s)
                .map(|i| {
                    let row = samples.row(i);
                    let nx: f64 = row.iter().map(|v| v.to_f64() * v.to_f64()).sum();
                    p.diagonal(T::of(nx)).to_f64()
                })
                .sum::<f64>()
                / s as f64;
            let found = krylov(&op, q, trace);
            if let Some(e) = op.failure.lock().map_err(|_| poisoned())?.take() {
                return Err(e);
            }
            found?
        }
        EigenMethod::Auto { .. } => {
            return Err(Error::invalid(
                "method",
                "Auto",
                "was not resolved to a concrete eigensolver",
            ));
        }
    };
    let out = NystromEigen {
        values,
        vectors,
        method,
    };
    if out.values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "non-finite eigenvalue of the subsample kernel matrix".into(),
        ));
    }
    Ok(out)
}

fn scale<T: Float>(mut k: MatMut<'_, T>, c: T) {
    for j in 0..k.ncols() {
        for i in 0..k.nrows() {
            k[(i, j)] *= c;
        }
    }
}

fn poisoned() -> Error {
    Error::Numerical("a kernel product panicked during the Krylov iteration".into())
}

/// v ↦ K(S, S)·v/s in fused tiles, on `device`. faer's operator trait cannot return an error, so
/// the first failed product is kept in `failure` (and zeros are returned) for the caller to
/// report once the iteration ends.
#[derive(Debug)]
struct KernelOperator<T> {
    kernel: Kernel,
    samples: Mat<T>,
    inv_s: T,
    device: Device,
    failure: Mutex<Option<Error>>,
}

impl<T: Float> KernelOperator<T> {
    fn product(&self, rhs: MatRef<'_, T>) -> Result<Mat<T>> {
        let s = self.samples.as_ref();
        match self.device.backend() {
            // The data were checked once before the iteration.
            Backend::Cpu => Ok(self.kernel.apply_cpu_unchecked(s, s, rhs)),
            Backend::Cuda => self.kernel.apply(s, s, rhs, &self.device),
        }
    }
}

impl<T: Float> LinOp<T> for KernelOperator<T> {
    fn apply_scratch(&self, _rhs_ncols: usize, _par: Par) -> faer::dyn_stack::StackReq {
        faer::dyn_stack::StackReq::EMPTY
    }
    fn nrows(&self) -> usize {
        self.samples.nrows()
    }
    fn ncols(&self) -> usize {
        self.samples.nrows()
    }
    fn apply(&self, mut out: MatMut<'_, T>, rhs: MatRef<'_, T>, _par: Par, _stack: &mut MemStack) {
        match self.product(rhs) {
            Ok(kv) => {
                for j in 0..out.ncols() {
                    for i in 0..out.nrows() {
                        out[(i, j)] = kv[(i, j)] * self.inv_s;
                    }
                }
            }
            Err(e) => {
                out.fill(T::ZERO);
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(e);
                }
            }
        }
    }
    fn conj_apply(&self, out: MatMut<'_, T>, rhs: MatRef<'_, T>, par: Par, stack: &mut MemStack) {
        self.apply(out, rhs, par, stack)
    }
}

/// Krylov–Schur for the `q` largest eigenpairs of a positive semi-definite operator whose trace
/// is `trace` (which bounds λ_1 and sets the absolute residual tolerance).
fn krylov<T: Float>(op: &dyn LinOp<T>, q: usize, trace: f64) -> Result<(Vec<T>, Mat<T>)> {
    // A shift δ = ε·trace/100 (below the solver's tolerance, and subtracted again) keeps the
    // Lanczos vectors from vanishing on an exactly low-rank matrix (identical points, zero
    // inputs of the arc-cosine kernels), where faer 0.24's re-orthogonalisation would loop
    // forever on a zero vector.
    let shift = T::of(T::EPS * 0.01 * trace.max(f64::MIN_POSITIVE));
    let shifted = Shifted { op, shift };
    let op: &dyn LinOp<T> = &shifted;
    let n = op.nrows();
    let par = Par::rayon(0);
    let params = PartialEigenParams::default();
    let mut vecs = Mat::<T>::zeros(n, q);
    let mut vals = vec![T::ZERO; q];
    // A fixed, generic start vector (deterministic; not orthogonal to any eigenvector in practice).
    let mut rng = crate::random::seeded(0x6e79_7374);
    let g = crate::random::gaussian_vec(&mut rng, n, 1.0);
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let v0 = Col::<T>::from_fn(n, |i| T::of(g[i] / norm));
    let tol = T::of(T::EPS.sqrt() * 0.1 * trace.max(f64::MIN_POSITIVE));
    let req = partial_self_adjoint_eigen_scratch(op, q, par, params);
    let mut buf = MemBuffer::new(req);
    let info = partial_self_adjoint_eigen(
        vecs.as_mut(),
        &mut vals,
        op,
        v0.as_ref(),
        tol,
        par,
        MemStack::new(&mut buf),
        params,
    );
    if info.n_converged_eigen < q {
        return Err(Error::Numerical(format!(
            "Krylov–Schur converged on {} of {q} eigenpairs",
            info.n_converged_eigen
        )));
    }
    // Largest magnitude = largest for a PSD operator; sort descending to be sure.
    let mut order: Vec<usize> = (0..q).collect();
    order.sort_by(|&a, &b| {
        vals[b]
            .partial_cmp(&vals[a])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let values = order.iter().map(|&i| vals[i] - shift).collect();
    let vectors = Mat::from_fn(n, q, |r, j| vecs[(r, order[j])]);
    Ok((values, vectors))
}

/// v ↦ A·v + δ·v.
#[derive(Debug)]
struct Shifted<'a, T> {
    op: &'a dyn LinOp<T>,
    shift: T,
}

impl<T: Float> LinOp<T> for Shifted<'_, T> {
    fn apply_scratch(&self, rhs_ncols: usize, par: Par) -> faer::dyn_stack::StackReq {
        self.op.apply_scratch(rhs_ncols, par)
    }
    fn nrows(&self) -> usize {
        self.op.nrows()
    }
    fn ncols(&self) -> usize {
        self.op.ncols()
    }
    fn apply(&self, mut out: MatMut<'_, T>, rhs: MatRef<'_, T>, par: Par, stack: &mut MemStack) {
        self.op.apply(out.rb_mut(), rhs, par, stack);
        for j in 0..out.ncols() {
            for i in 0..out.nrows() {
                out[(i, j)] += self.shift * rhs[(i, j)];
            }
        }
    }
    fn conj_apply(&self, out: MatMut<'_, T>, rhs: MatRef<'_, T>, par: Par, stack: &mut MemStack) {
        self.apply(out, rhs, par, stack)
    }
}
