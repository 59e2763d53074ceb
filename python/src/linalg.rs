//! Spectral tools: the batched thin SVD of a stack of matrices, minimum-norm least squares, the
//! pseudo-inverse and the top-q Nyström eigensystem of a kernel subsample.

use doubledescent::kernels::{EigenMethod, nystrom_eigen as crate_nystrom};
use doubledescent::linalg::{
    Cutoff, batched_svd as crate_batched_svd, min_norm_lstsq, pinv as crate_pinv,
};
use faer::MatRef;
use numpy::ndarray::{Array2, Array3};
use numpy::{PyArray2, PyArray3, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::arrays::{Matrix, Real, Targets, common_dtype, dtype_name, matrix_out, vector_out};
use crate::device::device;
use crate::errors::{IntoPy, choose, to_py};
use crate::kernels::Kernel;

fn cutoff(rcond: Option<f64>) -> Cutoff {
    match rcond {
        Some(r) => Cutoff::relative(r),
        None => Cutoff::default(),
    }
}

/// Thin SVDs of a stack `a` (b × m × n): `(u, s, vh)` with u: b × m × k, s: b × k, vh: b × k × n,
/// k = min(m, n), singular values descending (as `numpy.linalg.svd(a, full_matrices=False)`).
#[pyfunction]
#[pyo3(signature = (a, device = "auto"))]
pub fn batched_svd<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    device: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let dev = self::device(device)?;
    fn run<'py, T: Real>(
        py: Python<'py>,
        a: &Bound<'py, PyAny>,
        dev: &doubledescent::Device,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let arr = a
            .cast::<PyArray3<T>>()
            .map_err(|_| {
                PyTypeError::new_err(format!("`a` must be a {} array", dtype_name(T::DTYPE)))
            })?
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("`a` cannot be read: {e}")))?;
        let (b, m, n) = arr.as_array().dim();
        doubledescent::check::check_alloc::<T>("a contiguous copy of `a`", b, m.saturating_mul(n))
            .py_err()?;
        // One C-ordered copy only when the stack is not C-contiguous.
        let owned;
        let data: &[T] = match arr.as_slice() {
            Ok(s) if arr.is_c_contiguous() => s,
            _ => {
                owned = arr.as_array().iter().copied().collect::<Vec<T>>();
                &owned
            }
        };
        let mats: Vec<MatRef<'_, T>> = (0..b)
            .map(|i| MatRef::from_row_major_slice(&data[i * m * n..(i + 1) * m * n], m, n))
            .collect();
        let svds = py.detach(|| crate_batched_svd(&mats, dev)).py_err()?;
        let k = m.min(n);
        let u = Array3::from_shape_fn((b, m, k), |(i, r, c)| svds[i].u[(r, c)]);
        let s = Array2::from_shape_fn((b, k), |(i, c)| svds[i].s[c]);
        let vh = Array3::from_shape_fn((b, k, n), |(i, r, c)| svds[i].v[(c, r)]);
        Ok((
            PyArray3::from_owned_array(py, u).into_any(),
            PyArray2::from_owned_array(py, s).into_any(),
            PyArray3::from_owned_array(py, vh).into_any(),
        ))
    }
    let arr = a.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err("`a` must be a NumPy array of float32 or float64 (a stack b × m × n)")
    })?;
    if arr.ndim() != 3 {
        return Err(PyValueError::new_err(format!(
            "`a` must be a 3-d stack of matrices (b × m × n), got a {}-d array of shape {:?}",
            arr.ndim(),
            arr.shape()
        )));
    }
    crate::arrays::check_aligned("a", arr)?;
    by_dtype!(common_dtype(&[("a", a)])?, run(py, a, &dev))
}

/// Minimum-norm least squares: `(x, rank, s)` with x = pinv(a)·b, the numerical rank and the
/// singular values of a.
#[pyfunction]
#[pyo3(signature = (a, b, rcond = None))]
#[pyo3(name = "min_norm_lstsq")]
pub fn min_norm_lstsq_py<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    rcond: Option<f64>,
) -> PyResult<(Bound<'py, PyAny>, usize, Bound<'py, PyAny>)> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        a: &Bound<'py, PyAny>,
        b: &Bound<'py, PyAny>,
        rcond: Option<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, usize, Bound<'py, PyAny>)> {
        let a = Matrix::<T>::new("a", a)?;
        let b = Targets::<T>::new("b", b)?;
        let (am, bm) = (a.mat(), b.mat());
        let ls = py
            .detach(|| min_norm_lstsq(am, bm, cutoff(rcond)))
            .py_err()?;
        Ok((
            b.output(py, ls.coef)?,
            ls.rank,
            vector_out(py, ls.singular_values).into_any(),
        ))
    }
    by_dtype!(common_dtype(&[("a", a), ("b", b)])?, run(py, a, b, rcond))
}

/// The pseudo-inverse: singular values ≤ rcond·σ_max are dropped (numpy's default 1e-15).
#[pyfunction]
#[pyo3(signature = (a, rcond = 1e-15))]
pub fn pinv<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    rcond: f64,
) -> PyResult<Bound<'py, PyAny>> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        a: &Bound<'py, PyAny>,
        rcond: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = Matrix::<T>::new("a", a)?;
        let am = a.mat();
        let p = py
            .detach(|| crate_pinv(am, Cutoff::relative(rcond)))
            .py_err()?;
        Ok(matrix_out(py, p)?.into_any())
    }
    by_dtype!(common_dtype(&[("a", a)])?, run(py, a, rcond))
}

/// The top-q eigenpairs of K(S, S)/s: `(values, vectors)`, values descending, unit vectors as
/// columns (s × q).
#[pyfunction]
#[pyo3(signature = (kernel, samples, q, method = "auto", device = "auto"))]
pub fn nystrom_eigen<'py>(
    py: Python<'py>,
    kernel: &Kernel,
    samples: &Bound<'py, PyAny>,
    q: usize,
    method: &str,
    device: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let method = choose(
        "method",
        method,
        &[
            ("auto", EigenMethod::default()),
            ("dense", EigenMethod::Dense),
            ("krylov", EigenMethod::KrylovCached),
            ("matrix_free", EigenMethod::KrylovMatrixFree),
        ],
    )?;
    let dev = self::device(device)?;
    fn run<'py, T: Real>(
        py: Python<'py>,
        k: doubledescent::kernels::Kernel,
        samples: &Bound<'py, PyAny>,
        q: usize,
        method: EigenMethod,
        dev: &doubledescent::Device,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let s = Matrix::<T>::new("samples", samples)?;
        let sm = s.mat();
        let e = py
            .detach(|| crate_nystrom(k, sm, q, method, dev))
            .map_err(to_py)?;
        Ok((
            vector_out(py, e.values).into_any(),
            matrix_out(py, e.vectors)?.into_any(),
        ))
    }
    by_dtype!(
        common_dtype(&[("samples", samples)])?,
        run(py, kernel.inner, samples, q, method, &dev)
    )
}
