//! NumPy arrays in and out: float32 and float64 only, C- or F-contiguous inputs viewed without a
//! copy (others copied once, after a memory-budget check), and results handed to NumPy without a
//! copy where the crate's matrix is contiguous.

use doubledescent::Float;
use doubledescent::check::check_alloc;
use faer::{Mat, MatRef};
use numpy::ndarray::{Array2, ArrayView2, ShapeBuilder};
use numpy::{
    Element, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyReadonlyArray1,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::to_py;

/// The two precisions the crate computes in, as NumPy dtypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

/// f32 or f64: a crate scalar that NumPy knows, and the owner of a matrix handed to NumPy.
pub trait Real: Float + Element {
    const DTYPE: Dtype;
    fn own(m: Mat<Self>) -> OwnedMat;
}
impl Real for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn own(m: Mat<f32>) -> OwnedMat {
        OwnedMat::F32(m)
    }
}
impl Real for f64 {
    const DTYPE: Dtype = Dtype::F64;
    fn own(m: Mat<f64>) -> OwnedMat {
        OwnedMat::F64(m)
    }
}

pub enum OwnedMat {
    F32(#[allow(dead_code)] Mat<f32>),
    F64(#[allow(dead_code)] Mat<f64>),
}

/// Keeps a crate matrix alive while a NumPy array views its memory (the array's `base`).
#[pyclass(frozen, module = "doubledescent._core")]
pub struct MatrixBuffer(#[allow(dead_code)] OwnedMat);

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// The array behind `obj`, or a `TypeError` naming the argument.
pub fn untyped<'a, 'py>(
    name: &str,
    obj: &'a Bound<'py, PyAny>,
) -> PyResult<&'a Bound<'py, PyUntypedArray>> {
    obj.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{name}` must be a NumPy array of float32 or float64, got {} (use numpy.asarray)",
            type_name(obj)
        ))
    })
}

/// The precision of `obj`: float32 or float64, anything else a `TypeError`.
pub fn dtype_of(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Dtype> {
    let arr = untyped(name, obj)?;
    let py = obj.py();
    let dt = arr.dtype();
    if dt.is_equiv_to(&numpy::dtype::<f64>(py)) {
        Ok(Dtype::F64)
    } else if dt.is_equiv_to(&numpy::dtype::<f32>(py)) {
        Ok(Dtype::F32)
    } else {
        Err(PyTypeError::new_err(format!(
            "`{name}` has dtype {}: the crate computes in float32 or float64 (convert with \
             {name}.astype(numpy.float64))",
            dt.str()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| "?".into())
        )))
    }
}

/// The common precision of several arrays (the first one's), or a `TypeError`.
pub fn common_dtype(args: &[(&str, &Bound<'_, PyAny>)]) -> PyResult<Dtype> {
    let first = dtype_of(args[0].0, args[0].1)?;
    for (name, obj) in &args[1..] {
        let d = dtype_of(name, obj)?;
        if d != first {
            return Err(PyTypeError::new_err(format!(
                "`{name}` is {} but `{}` is {}: pass both in the same precision",
                dtype_name(d),
                args[0].0,
                dtype_name(first)
            )));
        }
    }
    Ok(first)
}

pub fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "float32",
        Dtype::F64 => "float64",
    }
}

/// Unaligned buffers (`numpy.frombuffer` at an odd offset) cannot be read as `&[T]`: refuse them
/// with the one-line fix instead of reading them.
pub fn check_aligned(name: &str, arr: &Bound<'_, PyUntypedArray>) -> PyResult<()> {
    if arr.is_aligned() {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "`{name}` is not aligned in memory: pass numpy.require({name}, requirements=\"A\")"
        )))
    }
}

fn check_ndim(
    name: &str,
    arr: &Bound<'_, PyUntypedArray>,
    want: &[usize],
    what: &str,
) -> PyResult<()> {
    let nd = arr.ndim();
    if want.contains(&nd) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "`{name}` must be {what}, got a {nd}-d array of shape {:?}",
            arr.shape()
        )))
    }
}

/// A 2-D input: a view of the NumPy buffer when it is C- or F-contiguous, else a row-major copy.
pub enum Matrix<'py, T: Real> {
    View(PyReadonlyArray2<'py, T>),
    Copy {
        data: Vec<T>,
        rows: usize,
        cols: usize,
    },
}

impl<'py, T: Real> Matrix<'py, T> {
    /// `obj` as an n × d matrix (a 1-D array is one column when `column_ok`).
    pub fn new(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let arr = untyped(name, obj)?;
        check_ndim(name, arr, &[2], "a 2-D array (rows are points)")?;
        Self::from_2d(name, obj)
    }

    fn from_2d(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        check_aligned(name, untyped(name, obj)?)?;
        let arr = obj.cast::<PyArray2<T>>().map_err(|_| {
            PyTypeError::new_err(format!("`{name}` must be a {} array", dtype_name(T::DTYPE)))
        })?;
        let ro = arr
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("`{name}` cannot be read: {e}")))?;
        if ro.is_c_contiguous() || ro.is_fortran_contiguous() {
            return Ok(Matrix::View(ro));
        }
        let view = ro.as_array();
        let (rows, cols) = view.dim();
        check_alloc::<T>(
            &format!("a contiguous copy of `{name}` ({rows}x{cols})"),
            rows,
            cols,
        )
        .map_err(to_py)?;
        let data = view.iter().copied().collect();
        Ok(Matrix::Copy { data, rows, cols })
    }

    /// The matrix as the crate sees it.
    pub fn mat(&self) -> MatRef<'_, T> {
        match self {
            Matrix::View(a) => {
                let (rows, cols) = a.as_array().dim();
                let s = a.as_slice().expect("contiguous");
                if a.is_c_contiguous() {
                    MatRef::from_row_major_slice(s, rows, cols)
                } else {
                    MatRef::from_column_major_slice(s, rows, cols)
                }
            }
            Matrix::Copy { data, rows, cols } => MatRef::from_row_major_slice(data, *rows, *cols),
        }
    }
}

/// Targets: a 1-D array (one output) or a 2-D array (n × c); remembers which, so that
/// predictions come back in the same shape.
pub struct Targets<'py, T: Real> {
    pub one_d: bool,
    inner: TargetsInner<'py, T>,
}
enum TargetsInner<'py, T: Real> {
    Matrix(Matrix<'py, T>),
    Vector(Vector<'py, T>),
}

impl<'py, T: Real> Targets<'py, T> {
    pub fn new(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let arr = untyped(name, obj)?;
        check_ndim(name, arr, &[1, 2], "a 1-D or 2-D array")?;
        if arr.ndim() == 1 {
            Ok(Targets {
                one_d: true,
                inner: TargetsInner::Vector(Vector::new(name, obj)?),
            })
        } else {
            Ok(Targets {
                one_d: false,
                inner: TargetsInner::Matrix(Matrix::from_2d(name, obj)?),
            })
        }
    }

    pub fn mat(&self) -> MatRef<'_, T> {
        match &self.inner {
            TargetsInner::Matrix(m) => m.mat(),
            TargetsInner::Vector(v) => {
                let s = v.slice();
                MatRef::from_column_major_slice(s, s.len(), 1)
            }
        }
    }

    /// `out` (n × c) as NumPy, 1-D when the targets were.
    pub fn output<'a>(&self, py: Python<'a>, out: Mat<T>) -> PyResult<Bound<'a, PyAny>> {
        if self.one_d && out.ncols() == 1 {
            Ok(vector_out(py, out.col(0).iter().copied().collect()).into_any())
        } else {
            Ok(matrix_out(py, out)?.into_any())
        }
    }
}

/// A 1-D input, viewed when contiguous, else copied.
pub enum Vector<'py, T: Real> {
    View(PyReadonlyArray1<'py, T>),
    Copy(Vec<T>),
}

impl<'py, T: Real> Vector<'py, T> {
    pub fn new(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let arr = untyped(name, obj)?;
        check_ndim(name, arr, &[1], "a 1-D array")?;
        check_aligned(name, arr)?;
        let arr = obj.cast::<PyArray1<T>>().map_err(|_| {
            PyTypeError::new_err(format!("`{name}` must be a {} array", dtype_name(T::DTYPE)))
        })?;
        let ro = arr
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("`{name}` cannot be read: {e}")))?;
        if ro.as_slice().is_ok() {
            return Ok(Vector::View(ro));
        }
        let len = ro.len();
        check_alloc::<T>(&format!("a contiguous copy of `{name}` ({len})"), len, 1)
            .map_err(to_py)?;
        Ok(Vector::Copy(ro.as_array().iter().copied().collect()))
    }

    pub fn slice(&self) -> &[T] {
        match self {
            Vector::View(a) => a.as_slice().expect("contiguous"),
            Vector::Copy(v) => v,
        }
    }
}

/// Parameters w, inputs x and targets y of a model call, in one precision, viewed or copied once.
pub struct Supervised<'py, T: Real> {
    pub w: Vector<'py, T>,
    pub x: Matrix<'py, T>,
    pub y: Targets<'py, T>,
}

impl<'py, T: Real> Supervised<'py, T> {
    /// `w_name` is the parameter vector's name in the caller's signature (w, w0, w_star).
    pub fn new(
        w_name: &str,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        Ok(Supervised {
            w: Vector::new(w_name, w)?,
            x: Matrix::new("x", x)?,
            y: Targets::new("y", y)?,
        })
    }
}

/// A crate matrix as a NumPy array: zero-copy (F-ordered, owned by a [`MatrixBuffer`]) when its
/// columns are contiguous, else one copy.
pub fn matrix_out<T: Real>(py: Python<'_>, m: Mat<T>) -> PyResult<Bound<'_, PyArray2<T>>> {
    let (rows, cols) = m.shape();
    if rows > 0 && cols > 0 && (m.col_stride() as usize == rows || cols == 1) {
        let ptr = m.as_ptr();
        let owner = Bound::new(py, MatrixBuffer(T::own(m)))?;
        // SAFETY: the buffer holds rows × cols contiguous columns of stride `rows` (checked
        // above); the heap allocation does not move when the Mat moves into `owner`, which the
        // NumPy array keeps alive as its base.
        let view = unsafe { ArrayView2::from_shape_ptr((rows, cols).f(), ptr) };
        Ok(unsafe { PyArray2::borrow_from_array(&view, owner.into_any()) })
    } else {
        let a = Array2::from_shape_fn((rows, cols).f(), |(i, j)| m[(i, j)]);
        Ok(PyArray2::from_owned_array(py, a))
    }
}

/// A vector as a NumPy array (no copy).
pub fn vector_out<T: Real>(py: Python<'_>, v: Vec<T>) -> Bound<'_, PyArray1<T>> {
    PyArray1::from_vec(py, v)
}

/// A list of equal-length rows as a 2-D NumPy array (chains × draws).
pub fn rows_out<'py>(py: Python<'py>, rows: &[Vec<f64>]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let n = rows.len();
    let m = rows.first().map_or(0, Vec::len);
    let a = Array2::from_shape_fn((n, m), |(i, j)| rows[i][j]);
    Ok(PyArray2::from_owned_array(py, a))
}
