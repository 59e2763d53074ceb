//! Kernel matrices K(X, Z), self matrices K(X, X) and the matrix-free product K(X, Z)·W.

use doubledescent::kernels::Kernel as CrateKernel;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::arrays::{Matrix, Real, Targets, common_dtype, matrix_out};
use crate::device::device;
use crate::errors::IntoPy;

/// A kernel with its (validated) constants: `Kernel("laplacian", bandwidth=10.0)`.
#[pyclass(frozen, module = "doubledescent._core")]
#[derive(Clone, Copy)]
pub struct Kernel {
    pub inner: CrateKernel,
    kind: &'static str,
    bandwidth: Option<f64>,
    gamma: Option<f64>,
    depth: u32,
    bias: bool,
}

fn need(name: &'static str, kind: &str, v: Option<f64>) -> PyResult<f64> {
    v.ok_or_else(|| PyValueError::new_err(format!("the {kind} kernel needs `{name}`")))
}

#[pymethods]
impl Kernel {
    /// kind: "laplacian", "gaussian", "dispersal", "relu_nngp" or "relu_ntk".
    #[new]
    #[pyo3(signature = (kind, *, bandwidth = None, gamma = None, depth = 1, bias = false))]
    pub fn new(
        kind: &str,
        bandwidth: Option<f64>,
        gamma: Option<f64>,
        depth: u32,
        bias: bool,
    ) -> PyResult<Self> {
        let (kind, inner): (&'static str, _) = match kind {
            "laplacian" | "laplace" => (
                "laplacian",
                CrateKernel::laplace(need("bandwidth", kind, bandwidth)?).py_err()?,
            ),
            "gaussian" | "rbf" => (
                "gaussian",
                CrateKernel::gaussian(need("bandwidth", kind, bandwidth)?).py_err()?,
            ),
            "dispersal" => (
                "dispersal",
                CrateKernel::dispersal(
                    need("bandwidth", kind, bandwidth)?,
                    need("gamma", kind, gamma)?,
                )
                .py_err()?,
            ),
            "relu_nngp" => (
                "relu_nngp",
                CrateKernel::deep_relu_nngp(depth, bias).py_err()?,
            ),
            "relu_ntk" => (
                "relu_ntk",
                CrateKernel::deep_relu_ntk(depth, bias).py_err()?,
            ),
            other => {
                return Err(PyValueError::new_err(format!(
                    "invalid argument `kind` = {other:?}: expected one of laplacian, gaussian, \
                     dispersal, relu_nngp, relu_ntk"
                )));
            }
        };
        Ok(Kernel {
            inner,
            kind,
            bandwidth,
            gamma,
            depth,
            bias,
        })
    }

    fn __repr__(&self) -> String {
        match self.kind {
            "laplacian" | "gaussian" => {
                format!(
                    "Kernel({:?}, bandwidth={})",
                    self.kind,
                    self.bandwidth.unwrap_or(0.0)
                )
            }
            "dispersal" => format!(
                "Kernel(\"dispersal\", bandwidth={}, gamma={})",
                self.bandwidth.unwrap_or(0.0),
                self.gamma.unwrap_or(0.0)
            ),
            _ => format!(
                "Kernel({:?}, depth={}, bias={})",
                self.kind,
                self.depth,
                if self.bias { "True" } else { "False" }
            ),
        }
    }

    /// K(X, Z) (n × m), or K(X, X) when z is None (each pair computed once, exactly symmetric).
    #[pyo3(signature = (x, z = None, device = "auto"))]
    fn matrix<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        z: Option<&Bound<'py, PyAny>>,
        device: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let dev = self::device(device)?;
        let dtype = match z {
            Some(z) => common_dtype(&[("x", x), ("z", z)])?,
            None => common_dtype(&[("x", x)])?,
        };
        fn run<'py, T: Real>(
            k: CrateKernel,
            py: Python<'py>,
            x: &Bound<'py, PyAny>,
            z: Option<&Bound<'py, PyAny>>,
            dev: &doubledescent::Device,
        ) -> PyResult<Bound<'py, PyAny>> {
            let x = Matrix::<T>::new("x", x)?;
            let z = z.map(|z| Matrix::<T>::new("z", z)).transpose()?;
            let (xm, zm) = (x.mat(), z.as_ref().map(|z| z.mat()));
            let out = py
                .detach(|| match zm {
                    Some(zm) => k.matrix(xm, zm, dev),
                    None => k.self_matrix(xm, dev),
                })
                .py_err()?;
            Ok(matrix_out(py, out)?.into_any())
        }
        by_dtype!(dtype, run(self.inner, py, x, z, &dev))
    }

    /// K(X, Z)·W without forming K (W: m × c, or a vector of length m).
    #[pyo3(signature = (x, z, w, device = "auto"))]
    fn apply<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        z: &Bound<'py, PyAny>,
        w: &Bound<'py, PyAny>,
        device: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let dev = self::device(device)?;
        fn run<'py, T: Real>(
            k: CrateKernel,
            py: Python<'py>,
            x: &Bound<'py, PyAny>,
            z: &Bound<'py, PyAny>,
            w: &Bound<'py, PyAny>,
            dev: &doubledescent::Device,
        ) -> PyResult<Bound<'py, PyAny>> {
            let (x, z) = (Matrix::<T>::new("x", x)?, Matrix::<T>::new("z", z)?);
            let w = Targets::<T>::new("w", w)?;
            let (xm, zm, wm) = (x.mat(), z.mat(), w.mat());
            let out = py.detach(|| k.apply(xm, zm, wm, dev)).py_err()?;
            w.output(py, out)
        }
        by_dtype!(
            common_dtype(&[("x", x), ("z", z), ("w", w)])?,
            run(self.inner, py, x, z, w, &dev)
        )
    }

    /// Seconds of each of `repeats` calls of the crate's `Kernel::matrix(x, z)` timed inside
    /// Rust, on inputs converted once: the reference that `python/benches/bench.py` compares the Python
    /// call with (the binding's overhead is the difference).
    #[pyo3(signature = (x, z, repeats = 5, device = "auto"))]
    fn time_matrix<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        z: &Bound<'py, PyAny>,
        repeats: usize,
        device: &str,
    ) -> PyResult<Vec<f64>> {
        let dev = self::device(device)?;
        fn run<'py, T: Real>(
            k: CrateKernel,
            py: Python<'py>,
            x: &Bound<'py, PyAny>,
            z: &Bound<'py, PyAny>,
            repeats: usize,
            dev: &doubledescent::Device,
        ) -> PyResult<Vec<f64>> {
            let (x, z) = (Matrix::<T>::new("x", x)?, Matrix::<T>::new("z", z)?);
            let (xm, zm) = (x.mat(), z.mat());
            py.detach(|| {
                (0..repeats)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        let m = k.matrix(xm, zm, dev)?;
                        let s = t.elapsed().as_secs_f64();
                        drop(std::hint::black_box(m));
                        Ok(s)
                    })
                    .collect::<doubledescent::Result<Vec<f64>>>()
            })
            .py_err()
        }
        by_dtype!(
            common_dtype(&[("x", x), ("z", z)])?,
            run(self.inner, py, x, z, repeats, &dev)
        )
    }

    /// Pickle support: the constructor's arguments.
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<((&'static str,), Bound<'py, pyo3::types::PyDict>)> {
        let kw = pyo3::types::PyDict::new(py);
        kw.set_item("bandwidth", self.bandwidth)?;
        kw.set_item("gamma", self.gamma)?;
        kw.set_item("depth", self.depth)?;
        kw.set_item("bias", self.bias)?;
        Ok(((self.kind,), kw))
    }

    /// The kernel's name.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }
}
