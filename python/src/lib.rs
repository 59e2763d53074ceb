//! `doubledescent._core`: the crate's kernels, solvers, spectral tools, samplers, networks and
//! theory for Python, NumPy arrays in and out. The pure-Python package `doubledescent` wraps it
//! (scikit-learn estimators, dict results, docstrings); the library crate stays free of Python.

/// Calls the generic `f::<T>(args…)` in the precision `dtype` ([`arrays::Dtype`]: f32 or f64).
macro_rules! by_dtype {
    ($dtype:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $dtype {
            $crate::arrays::Dtype::F32 => $f::<f32>($($arg),*),
            $crate::arrays::Dtype::F64 => $f::<f64>($($arg),*),
        }
    };
}

mod arrays;
mod device;
mod errors;
mod kernels;
mod linalg;
mod llc;
mod models;
mod solvers;
mod theory;
mod training;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<arrays::MatrixBuffer>()?;
    m.add_class::<kernels::Kernel>()?;
    m.add_class::<models::Dln>()?;
    m.add_class::<models::DenseNet>()?;
    m.add_function(wrap_pyfunction!(device::describe_device, m)?)?;
    m.add_function(wrap_pyfunction!(device::set_memory_limit, m)?)?;
    m.add_function(wrap_pyfunction!(device::memory_budget, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::batched_svd, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::min_norm_lstsq_py, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::pinv, m)?)?;
    m.add_function(wrap_pyfunction!(linalg::nystrom_eigen, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::kernel_ridge_fit, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::eigenpro_fit, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::random_features_fit, m)?)?;
    m.add_function(wrap_pyfunction!(solvers::random_features_predict, m)?)?;
    m.add_function(wrap_pyfunction!(llc::estimate_learning_coeff, m)?)?;
    m.add_function(wrap_pyfunction!(llc::calibrate_epsilon, m)?)?;
    m.add_function(wrap_pyfunction!(llc::rhat, m)?)?;
    m.add_function(wrap_pyfunction!(llc::ess, m)?)?;
    m.add_function(wrap_pyfunction!(llc::dln_learning_coefficient, m)?)?;
    m.add_function(wrap_pyfunction!(models::linearized_predictor, m)?)?;
    m.add_function(wrap_pyfunction!(training::train_margin, m)?)?;
    m.add_function(wrap_pyfunction!(theory::teacher_student_fast_slow, m)?)?;
    m.add_function(wrap_pyfunction!(theory::teacher_student_seed_average, m)?)?;
    m.add_function(wrap_pyfunction!(theory::least_squares_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(theory::diabetes, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
