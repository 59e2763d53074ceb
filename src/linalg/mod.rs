//! Dense linear algebra: thin wrappers over faer's decompositions with an explicit parallelism
//! argument, the batched SVD of many small matrices ([`batched_svd()`], CPU and CUDA), and
//! minimum-norm least squares and pinv ([`lstsq`]).
//!
//! faer's convenience methods (`Mat::thin_svd`, `Mat::qr`) use the global parallelism setting.
//! Batched code runs rayon over independent problems and must keep each problem sequential, so
//! these helpers take a [`Par`] and call the low-level routines directly.

use crate::backend::gemm::matmul;
use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::prelude::default;
use faer::{Accum, Mat, MatRef, Par};

pub mod batched_svd;
pub mod lstsq;

pub use batched_svd::{GPU_MAX_COLS, batched_svd};
pub use lstsq::{Cutoff, LeastSquares, min_norm_lstsq, pinv};

use crate::backend::Float;
use crate::error::{Error, Result};

/// Thin singular value decomposition A = U diag(S) Vᵀ, S descending.
#[derive(Clone, Debug)]
pub struct ThinSvd<T = f64> {
    /// Left singular vectors, `m × min(m, n)`.
    pub u: Mat<T>,
    /// Singular values, descending, length `min(m, n)`.
    pub s: Vec<T>,
    /// Right singular vectors, `n × min(m, n)` (columns are the vectors, i.e. V; Vᵀ is
    /// `v.transpose()`).
    pub v: Mat<T>,
}

/// Thin SVD of `a` with the given parallelism (faer's divide-and-conquer bidiagonal SVD).
pub fn thin_svd<T: Float>(a: MatRef<'_, T>, par: Par) -> Result<ThinSvd<T>> {
    let (m, n) = a.shape();
    let k = m.min(n);
    if k == 0 {
        return Err(Error::invalid(
            "a",
            format!("{m}×{n} matrix"),
            "SVD needs a non-empty matrix",
        ));
    }
    crate::check::check_finite_mat("a", a)?;
    // Entries far from 1 are scaled by a power of two first (exact), as LAPACK's drivers do
    // (`dgesdd`: anrm outside [√safmin/ε, ε/√safmin]); the singular values are scaled back.
    let scaled;
    let (a, e) = match svd_scale::<T>(a) {
        Some(e) => {
            scaled = Mat::from_fn(m, n, |i, j| T::of(times_pow2(a[(i, j)].to_f64(), e)));
            (scaled.as_ref(), e)
        }
        None => (a, 0),
    };
    let mut u = Mat::zeros(m, k);
    let mut v = Mat::zeros(n, k);
    let mut s = Diag::zeros(k);
    let thin = faer::linalg::svd::ComputeSvdVectors::Thin;
    let req = faer::linalg::svd::svd_scratch::<T>(m, n, thin, thin, par, default());
    let mut buf = MemBuffer::new(req);
    faer::linalg::svd::svd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        par,
        MemStack::new(&mut buf),
        default(),
    )
    .map_err(|e| Error::Numerical(format!("SVD of a {m}×{n} matrix failed: {e:?}")))?;
    let s: Vec<T> = (0..k)
        .map(|i| T::of(times_pow2(s[i].to_f64(), -e)))
        .collect();
    if s.iter().any(|x| !x.is_finite()) {
        return Err(Error::Numerical(format!(
            "SVD of a {m}×{n} matrix produced non-finite singular values (largest entry {:e}: \
             they overflow {})",
            times_pow2(max_abs(a), -e),
            T::NAME
        )));
    }
    Ok(ThinSvd { u, s, v })
}

/// max |a_ij| in f64.
fn max_abs<T: Float>(a: MatRef<'_, T>) -> f64 {
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max(a[(i, j)].to_f64().abs());
        }
    }
    m
}

/// x·2^e in two exact steps (each factor stays finite for |e| ≤ 2100).
fn times_pow2(x: f64, e: i32) -> f64 {
    let h = e / 2;
    x * f64::from(h).exp2() * f64::from(e - h).exp2()
}

/// The exponent e such that 2^e brings the largest entry of `a` into [1, 2), when that entry
/// lies outside LAPACK's safe range [√(min positive)/ε, ε/√(min positive)] of the precision
/// `T`; `None` when the matrix needs no scaling (or is zero).
pub(crate) fn svd_scale<T: Float>(a: MatRef<'_, T>) -> Option<i32> {
    let amax = max_abs(a);
    let min_positive = if T::EPS > 1e-10 {
        f64::from(f32::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    };
    let small = min_positive.sqrt() / T::EPS;
    if amax == 0.0 || (amax >= small && amax <= 1.0 / small) {
        return None;
    }
    Some(-(amax.log2().floor() as i32))
}

/// Householder QR, sequential: A = QR with Q (m × k) orthonormal columns and R (k × n) upper
/// triangular, k = min(m, n). Errors on an empty matrix or a NaN/∞ entry.
pub fn qr_seq(a: MatRef<'_, f64>) -> Result<(Mat<f64>, Mat<f64>)> {
    use faer::linalg::{householder, qr::no_pivoting::factor};
    let (m, n) = a.shape();
    let k = m.min(n);
    if k == 0 {
        return Err(Error::invalid(
            "a",
            format!("{m}×{n} matrix"),
            "QR needs a non-empty matrix",
        ));
    }
    crate::check::check_finite_mat("a", a)?;
    let par = Par::Seq;
    let mut qr = a.to_owned();
    let bs = factor::recommended_block_size::<f64>(m, n);
    let mut coeff = Mat::zeros(bs, k);
    {
        let req = factor::qr_in_place_scratch::<f64>(m, n, bs, par, default());
        let mut buf = MemBuffer::new(req);
        factor::qr_in_place(
            qr.as_mut(),
            coeff.as_mut(),
            par,
            MemStack::new(&mut buf),
            default(),
        );
    }
    let mut r = Mat::zeros(k, n);
    for j in 0..n {
        for i in 0..=j.min(k - 1) {
            r[(i, j)] = qr[(i, j)];
        }
    }
    let mut q = Mat::<f64>::identity(m, k);
    let req =
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(m, bs, k);
    let mut buf = MemBuffer::new(req);
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        qr.as_ref().get(.., ..k),
        coeff.as_ref(),
        faer::Conj::No,
        q.as_mut(),
        par,
        MemStack::new(&mut buf),
    );
    Ok((q, r))
}

/// C = A·B with the given parallelism (shapes are the caller's contract).
pub(crate) fn mul<T: Float>(a: MatRef<'_, T>, b: MatRef<'_, T>, par: Par) -> Mat<T> {
    let mut c = Mat::zeros(a.nrows(), b.ncols());
    matmul(c.as_mut(), Accum::Replace, a, b, T::ONE, par);
    c
}

/// `n` points spaced evenly in log10 between 10^`lo` and 10^`hi` (NumPy's `10**linspace(lo, hi, n)`).
pub fn logspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    linspace(lo, hi, n)
        .into_iter()
        .map(|e| 10f64.powf(e))
        .collect()
}

/// `n` evenly spaced points from `lo` to `hi` inclusive (NumPy's `linspace`).
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![lo],
        _ => (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}
