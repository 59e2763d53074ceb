//! The regressors behind the scikit-learn estimators: direct kernel ridge regression, EigenPro
//! and minimum-norm random features. Fitting returns NumPy arrays (dual coefficients, feature
//! weights) so that the Python estimators stay picklable; predictions are matrix-free products.

use doubledescent::linalg::Cutoff;
use doubledescent::random::seeded;
use doubledescent::solvers::{
    EigenPro, EigenProOptions, FeatureMap, Fit, KernelRidge, MinNormFeatures, RandomFourier,
    RandomRelu, Solver,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{Matrix, Real, Targets, Vector, common_dtype, vector_out};
use crate::device::device;
use crate::errors::{IntoPy, choose};
use crate::kernels::Kernel;

fn solver(name: &str, rcond: Option<f64>) -> PyResult<Solver> {
    let pinv = Solver::Pinv(rcond.map_or(Cutoff::numpy_pinv(), Cutoff::relative));
    choose(
        "solver",
        name,
        &[
            ("cholesky", Solver::Cholesky),
            ("lu", Solver::Lu),
            ("pinv", pinv),
        ],
    )
}

/// Dual coefficients A of (K(X, X) + ridge·I) A = Y (n × c, or length n for a 1-D y).
#[pyfunction]
#[pyo3(signature = (kernel, x, y, ridge = 0.0, solver = "cholesky", rcond = None, device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn kernel_ridge_fit<'py>(
    py: Python<'py>,
    kernel: &Kernel,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    ridge: f64,
    solver: &str,
    rcond: Option<f64>,
    device: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let krr = KernelRidge::new(
        kernel.inner,
        ridge,
        self::solver(solver, rcond)?,
        &self::device(device)?,
    )
    .py_err()?;
    fn run<'py, T: Real>(
        py: Python<'py>,
        krr: &KernelRidge,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let x = Matrix::<T>::new("x", x)?;
        let y = Targets::<T>::new("y", y)?;
        let (xm, ym) = (x.mat(), y.mat());
        let fit = py.detach(|| krr.fit(xm, ym)).py_err()?;
        y.output(py, fit.coef().to_owned())
    }
    by_dtype!(common_dtype(&[("x", x), ("y", y)])?, run(py, &krr, x, y))
}

/// EigenPro (Ma & Belkin 2017) for `epochs` epochs: `(weight, history, setup)` with the dual
/// coefficients in the order of x, one dict per epoch (train MSE and error, seconds) and the
/// setup values the original prints (subsample size, top-q, batch size, step, eigenvalues).
#[pyfunction]
#[pyo3(signature = (kernel, x, y, epochs = 10, n_subsamples = None, top_q = None, batch_size = None,
                    eta = None, seed = 1, device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn eigenpro_fit<'py>(
    py: Python<'py>,
    kernel: &Kernel,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    epochs: usize,
    n_subsamples: Option<usize>,
    top_q: Option<usize>,
    batch_size: Option<usize>,
    eta: Option<f64>,
    seed: u64,
    device: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let options = EigenProOptions {
        n_subsamples,
        top_q,
        batch_size,
        eta,
        seed,
        ..Default::default()
    };
    options.validate().py_err()?;
    let dev = self::device(device)?;
    fn run<'py, T: Real>(
        py: Python<'py>,
        kernel: doubledescent::kernels::Kernel,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        epochs: usize,
        options: EigenProOptions,
        dev: &doubledescent::Device,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let x = Matrix::<T>::new("x", x)?;
        let y = Targets::<T>::new("y", y)?;
        let (xm, ym) = (x.mat(), y.mat());
        let (fit, setup) = py
            .detach(|| {
                let ep = EigenPro::new(kernel, xm, ym.ncols(), options, dev)?;
                let fit = ep.fit(ym, &[epochs], None, &mut |_| {})?;
                Ok((fit, ep.setup().clone()))
            })
            .py_err()?;
        let history = crate::errors::json_to_py(py, &fit.history)?;
        let setup = crate::errors::json_to_py(py, &setup)?;
        Ok((y.output(py, fit.weight)?, history, setup))
    }
    by_dtype!(
        common_dtype(&[("x", x), ("y", y)])?,
        run(py, kernel.inner, x, y, epochs, options, &dev)
    )
}

/// Minimum-norm random features (float64): `kind` "relu" (φ(x) = √(2/k)·max(0, Vx + b), V, b ~ N(0, 1))
/// or "fourier" (e^{i⟨v, x⟩}, v ~ N(0, I/σ²)); returns the dict of the fitted map and weights.
#[pyfunction]
#[pyo3(signature = (kind, x, y, n_features, bandwidth = 1.0, seed = 0, rcond = 1e-15))]
#[allow(clippy::too_many_arguments)]
pub fn random_features_fit<'py>(
    py: Python<'py>,
    kind: &str,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    n_features: usize,
    bandwidth: f64,
    seed: u64,
    rcond: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let x = Matrix::<f64>::new("x", x)?;
    let y = Vector::<f64>::new("y", y)?;
    let (xm, ys) = (x.mat(), y.slice());
    let d = xm.ncols();
    if n_features == 0 {
        return Err(PyValueError::new_err(
            "invalid argument `n_features` = 0: must be positive",
        ));
    }
    doubledescent::check::check_alloc::<f64>("the random feature weights", n_features, d)
        .py_err()?;
    let cutoff = Cutoff::relative(rcond);
    let out = PyDict::new(py);
    match kind {
        "relu" => {
            let map = RandomRelu::sample(n_features, d, &mut seeded(seed)).py_err()?;
            let fit = py
                .detach(|| MinNormFeatures::new(map, cutoff).and_then(|m| m.fit(xm, ys)))
                .py_err()?;
            let (v, b) = fit.features().parts();
            out.set_item("v", vector_out(py, v.to_vec()))?;
            out.set_item("b", vector_out(py, b.to_vec()))?;
            out.set_item("coef", vector_out(py, fit.coef().clone()))?;
            out.set_item("rank", fit.rank())?;
        }
        "fourier" => {
            let map =
                RandomFourier::sample(n_features, d, bandwidth, &mut seeded(seed)).py_err()?;
            let fit = py
                .detach(|| MinNormFeatures::new(map, cutoff).and_then(|m| m.fit(xm, ys)))
                .py_err()?;
            out.set_item("v", vector_out(py, fit.features().frequencies().to_vec()))?;
            out.set_item("coef_re", vector_out(py, fit.coef().re.clone()))?;
            out.set_item("coef_im", vector_out(py, fit.coef().im.clone()))?;
            out.set_item("rank", fit.rank())?;
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "invalid argument `features` = {other:?}: expected relu or fourier"
            )));
        }
    }
    Ok(out)
}

/// Predictions of a fitted random-feature map (the dict of [`random_features_fit`]) at x; the
/// real part for Fourier features.
#[pyfunction]
pub fn random_features_predict<'py>(
    py: Python<'py>,
    kind: &str,
    fitted: &Bound<'py, PyDict>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let x = Matrix::<f64>::new("x", x)?;
    let xm = x.mat();
    let d = xm.ncols();
    let get = |k: &str| -> PyResult<Vec<f64>> {
        let item = fitted
            .get_item(k)?
            .ok_or_else(|| PyValueError::new_err(format!("the fitted features lack `{k}`")))?;
        Ok(Vector::<f64>::new(k, &item)?.slice().to_vec())
    };
    let pred = match kind {
        "relu" => {
            let (v, b, coef) = (get("v")?, get("b")?, get("coef")?);
            let k = b.len();
            let map = RandomRelu::from_parts(v, b, k, d).py_err()?;
            py.detach(|| map.evaluate(&coef, xm)).py_err()?
        }
        "fourier" => {
            let (v, re, im) = (get("v")?, get("coef_re")?, get("coef_im")?);
            let k = re.len();
            let map = RandomFourier::from_frequencies(v, k, d).py_err()?;
            py.detach(|| map.evaluate(&doubledescent::solvers::ComplexCoef { re, im }, xm))
                .py_err()?
                .0
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "invalid argument `features` = {other:?}: expected relu or fourier"
            )));
        }
    };
    Ok(vector_out(py, pred).into_any())
}
