//! One run of the phase diagram's training from Python: the NTK-scaled network trained by the
//! adaptive gradient flow with the α trick (Geiger, Spigler, Jacot & Wyart, arXiv 1906.08034;
//! `mariogeiger/feature_lazy@3e50d5c`, `main.py: run_regular`), returned as the crate's JSON run
//! record (checkpoints, stop reason, kernel change) parsed into a dict.

use doubledescent::models::{Activation, MarginLoss};
use doubledescent::training::{Budget, Precision, RunConfig, RunData, train};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{Matrix, Real, Vector, common_dtype};
use crate::errors::IntoPy;

/// Trains one network with the α trick and returns its run record as a dict.
#[pyfunction]
#[pyo3(signature = (x_train, y_train, x_test, y_test, *, h, alpha, depth = 2, beta = 10.0,
                    bias = false, loss_beta = 20.0, seed_init = 0, max_steps = None,
                    max_wall = None, stop_margin = 1.0, x_kernel = None, keep_weights = true))]
#[allow(clippy::too_many_arguments)]
pub fn train_margin<'py>(
    py: Python<'py>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    y_test: &Bound<'py, PyAny>,
    h: usize,
    alpha: f64,
    depth: usize,
    beta: f64,
    bias: bool,
    loss_beta: f64,
    seed_init: u64,
    max_steps: Option<u64>,
    max_wall: Option<f64>,
    stop_margin: f64,
    x_kernel: Option<&Bound<'py, PyAny>>,
    keep_weights: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut cfg = RunConfig::original(h, alpha, seed_init, 0.0);
    cfg.depth = depth;
    cfg.activation = Activation::Swish { beta };
    cfg.bias = bias;
    cfg.loss = MarginLoss::SoftHinge { beta: loss_beta };
    cfg.budget = Budget {
        max_wall,
        max_steps: Some(max_steps.unwrap_or(100_000)),
    };
    cfg.stop_margin = stop_margin;
    cfg.delta_kernel = x_kernel.is_some();
    cfg.threads = 0;
    cfg.keep_weights = keep_weights;
    fn run<'py, T: Real>(
        py: Python<'py>,
        cfg: &mut RunConfig,
        sets: [&Bound<'py, PyAny>; 4],
        x_kernel: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        cfg.precision = if T::DTYPE == crate::arrays::Dtype::F32 {
            Precision::F32
        } else {
            Precision::F64
        };
        let (xtr, ytr) = (
            Matrix::<T>::new("x_train", sets[0])?,
            Vector::<T>::new("y_train", sets[1])?,
        );
        let (xte, yte) = (
            Matrix::<T>::new("x_test", sets[2])?,
            Vector::<T>::new("y_test", sets[3])?,
        );
        let xk = x_kernel
            .map(|k| Matrix::<T>::new("x_kernel", k))
            .transpose()?;
        let empty = faer::Mat::<T>::zeros(0, xtr.mat().ncols());
        let data = RunData {
            x_train: xtr.mat(),
            y_train: ytr.slice(),
            x_test: xte.mat(),
            y_test: yte.slice(),
            x_kernel: xk.as_ref().map_or(empty.as_ref(), |k| k.mat()),
            name: "python",
        };
        let cfg = &*cfg;
        let record = py.detach(|| train(cfg, &data, &|_| {})).py_err()?;
        let out = crate::errors::json_to_py(py, &record)?.cast_into::<PyDict>()?;
        out.set_item("init_seed", cfg.init_seed(data.x_train.nrows()))?;
        Ok(out)
    }
    let sets = [x_train, y_train, x_test, y_test];
    let dtype = common_dtype(&[
        ("x_train", x_train),
        ("y_train", y_train),
        ("x_test", x_test),
        ("y_test", y_test),
    ])?;
    by_dtype!(dtype, run(py, &mut cfg, sets, x_kernel))
}
