//! The papers' theory from Python: the multi-scale teacher–student curves (Pezeshki et al., ICML
//! 2022: the fast–slow approximation and exact seed averages with the test error of gradient
//! descent), and the least-squares double-descent sweep with its ablations (Schaeffer et al.,
//! arXiv 2303.14151).

use doubledescent::data::RegressionData;
use doubledescent::science::least_squares::{SweepConfig, sweep};
use doubledescent::science::teacher_student::{
    Config, CurveRequest, Dynamics, Freeze, analytic_times, empirical_times, fast_slow,
    seed_average,
};
use numpy::PyArray2;
use numpy::ndarray::Array2;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{Matrix, Vector, vector_out};
use crate::device::device;
use crate::errors::{IntoPy, choose};

fn config(
    n: usize,
    d: usize,
    p: usize,
    kappa: f64,
    noise: f64,
    ridge: f64,
    n_test: Option<usize>,
) -> Config {
    let mut c = Config::new(n, d, p, kappa)
        .with_noise(noise)
        .with_ridge(ridge);
    if let Some(t) = n_test {
        c = c.with_n_test(t);
    }
    c
}

/// The fast–slow approximation of the teacher–student curves R(t), Q(t) and E_G(t).
#[pyfunction]
#[pyo3(signature = (n, d, p, kappa, *, noise = 0.0, ridge = 0.0, times = None, freeze = "none"))]
#[allow(clippy::too_many_arguments)]
pub fn teacher_student_fast_slow<'py>(
    py: Python<'py>,
    n: usize,
    d: usize,
    p: usize,
    kappa: f64,
    noise: f64,
    ridge: f64,
    times: Option<Vec<f64>>,
    freeze: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let freeze = choose(
        "freeze",
        freeze,
        &[
            ("none", Freeze::None),
            ("fast_only", Freeze::FastOnly),
            ("slow_only", Freeze::SlowOnly),
        ],
    )?;
    let cfg = config(n, d, p, kappa, noise, ridge, None);
    let times = times.unwrap_or_else(analytic_times);
    let c = py.detach(|| fast_slow(&cfg, &times, freeze)).py_err()?;
    let out = PyDict::new(py);
    out.set_item("times", vector_out(py, c.times))?;
    out.set_item("r", vector_out(py, c.r))?;
    out.set_item("q", vector_out(py, c.q))?;
    out.set_item("eg", vector_out(py, c.eg))?;
    Ok(out)
}

/// Exact teacher–student curves averaged over `seeds`, with the test error of the trained
/// student when `test_error`.
#[pyfunction]
#[pyo3(signature = (n, d, p, kappa, seeds, *, noise = 0.0, ridge = 0.0, n_test = None, times = None,
                    dynamics = "gd", test_error = true, device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn teacher_student_seed_average<'py>(
    py: Python<'py>,
    n: usize,
    d: usize,
    p: usize,
    kappa: f64,
    seeds: Vec<u64>,
    noise: f64,
    ridge: f64,
    n_test: Option<usize>,
    times: Option<Vec<f64>>,
    dynamics: &str,
    test_error: bool,
    device: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dynamics = choose(
        "dynamics",
        dynamics,
        &[
            ("gd", Dynamics::GradientDescent),
            ("flow", Dynamics::GradientFlow),
        ],
    )?;
    let dev = self::device(device)?;
    let cfg = config(n, d, p, kappa, noise, ridge, n_test);
    let mut req = CurveRequest::new(times.unwrap_or_else(empirical_times), dynamics);
    if test_error {
        req = req.with_test_error();
    }
    let avg = py
        .detach(|| seed_average(&cfg, &seeds, std::slice::from_ref(&req), &|| {}, &dev))
        .py_err()?;
    let a = &avg[0];
    let out = PyDict::new(py);
    out.set_item("times", vector_out(py, a.times.clone()))?;
    out.set_item("r", vector_out(py, a.r_mean.clone()))?;
    out.set_item("q", vector_out(py, a.q_mean.clone()))?;
    out.set_item("eg", vector_out(py, a.eg_paper.clone()))?;
    out.set_item("eg_teacher", vector_out(py, a.eg_teacher_mean.clone()))?;
    out.set_item("test_mean", a.test_mean.clone().map(|v| vector_out(py, v)))?;
    out.set_item("test_std", a.test_std.clone().map(|v| vector_out(py, v)))?;
    Ok(out)
}

/// The least-squares double-descent sweep on a table (x, y): per training-set size and repeat,
/// the minimum-norm fit and the ablations. Returns a dict of arrays with one row per fit.
#[pyfunction]
#[pyo3(signature = (x, y, sizes, *, repeats = 50, cutoffs = vec![], leading_modes = vec![],
                    adversarial_test = vec![], adversarial_train = vec![], name = "table", device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn least_squares_sweep<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    sizes: Vec<usize>,
    repeats: usize,
    cutoffs: Vec<f64>,
    leading_modes: Vec<usize>,
    adversarial_test: Vec<f64>,
    adversarial_train: Vec<f64>,
    name: &str,
    device: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let dev = self::device(device)?;
    let (xm, yv) = (Matrix::<f64>::new("x", x)?, Vector::<f64>::new("y", y)?);
    let d = xm.mat().ncols();
    let data = RegressionData::new(
        name,
        (0..d).map(|j| format!("x{j}")).collect(),
        "y",
        xm.mat().to_owned(),
        yv.slice().to_vec(),
    )
    .py_err()?;
    let cfg = SweepConfig {
        sizes,
        repeats,
        cutoffs,
        leading_modes,
        adversarial_test,
        adversarial_train,
    };
    let s = py.detach(|| sweep(&data, &cfg, &dev)).py_err()?;
    let f = &s.fits;
    let col = |g: &dyn Fn(&doubledescent::science::least_squares::FitRecord) -> f64| {
        vector_out(py, f.iter().map(g).collect::<Vec<f64>>())
    };
    let table =
        |k: usize, g: &dyn Fn(&doubledescent::science::least_squares::FitRecord, usize) -> f64| {
            PyArray2::from_owned_array(
                py,
                Array2::from_shape_fn((f.len(), k), |(i, j)| g(&f[i], j)),
            )
        };
    let out = PyDict::new(py);
    out.set_item("n", f.iter().map(|r| r.n).collect::<Vec<_>>())?;
    out.set_item("repeat", f.iter().map(|r| r.repeat).collect::<Vec<_>>())?;
    out.set_item("rank", f.iter().map(|r| r.rank).collect::<Vec<_>>())?;
    out.set_item(
        "smallest_singular_value",
        col(&|r| r.smallest_singular_value),
    )?;
    out.set_item("train_mse", col(&|r| r.train_mse))?;
    out.set_item("test_mse", col(&|r| r.test_mse))?;
    out.set_item("test_bias_squared", col(&|r| r.test_bias_squared))?;
    out.set_item(
        "cutoff_train_mse",
        table(cfg.cutoffs.len(), &|r, j| r.cutoffs[j].train),
    )?;
    out.set_item(
        "cutoff_test_mse",
        table(cfg.cutoffs.len(), &|r, j| r.cutoffs[j].test),
    )?;
    out.set_item(
        "leading_modes_test_mse",
        table(cfg.leading_modes.len(), &|r, j| r.leading_modes[j]),
    )?;
    out.set_item("no_residuals_train_mse", col(&|r| r.no_residuals.train))?;
    out.set_item("no_residuals_test_mse", col(&|r| r.no_residuals.test))?;
    out.set_item(
        "adversarial_test_mse",
        table(cfg.adversarial_test.len(), &|r, j| r.adversarial_test[j]),
    )?;
    out.set_item(
        "adversarial_train_train_mse",
        table(cfg.adversarial_train.len(), &|r, j| {
            r.adversarial_train[j].train
        }),
    )?;
    out.set_item(
        "adversarial_train_test_mse",
        table(cfg.adversarial_train.len(), &|r, j| {
            r.adversarial_train[j].test
        }),
    )?;
    out.set_item("ideal", vector_out(py, s.ideal.clone()))?;
    Ok(out)
}

/// The diabetes table (442 × 10, standardised as the original), as (x, y).
#[pyfunction]
pub fn diabetes(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, PyAny>)> {
    let d = doubledescent::data::diabetes().py_err()?;
    let x = d.x().to_owned();
    Ok((
        crate::arrays::matrix_out(py, x)?.into_any(),
        vector_out(py, d.y().to_vec()).into_any(),
    ))
}
