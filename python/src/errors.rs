//! The crate's errors as Python exceptions: the message is the crate's one-line message; bad
//! arguments are `ValueError`s, the memory budget a `MemoryError`, and divergence, failed chains,
//! singular systems and missing devices their own classes carrying the crate's fields.

use doubledescent::Error;
use pyo3::exceptions::{PyArithmeticError, PyMemoryError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    _core,
    SingularError,
    PyValueError,
    "A linear system or formula is singular (repeated points, the interpolation threshold)."
);
pyo3::create_exception!(
    _core,
    NumericalError,
    PyArithmeticError,
    "A numerical routine did not converge or produced a non-finite result."
);
pyo3::create_exception!(
    _core,
    DivergedError,
    PyArithmeticError,
    "A sampler chain or a training run produced a non-finite loss. Attributes: process, index, \
     step, loss."
);
pyo3::create_exception!(
    _core,
    ChainFailedError,
    PyRuntimeError,
    "A sampler chain stopped exploring or gave an impossible estimate. Attributes: process, \
     index, step, epsilon, reason."
);
pyo3::create_exception!(
    _core,
    DeviceUnavailableError,
    PyRuntimeError,
    "The requested device (CUDA) is not available on this machine."
);
pyo3::create_exception!(
    _core,
    DeviceError,
    PyRuntimeError,
    "The CUDA driver, NVRTC or a kernel launch reported an error."
);

/// The Python exception for a crate error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::InvalidArgument { .. } | Error::ShapeMismatch { .. } | Error::NonFinite { .. } => {
            PyValueError::new_err(msg)
        }
        Error::TooLarge { .. } => PyMemoryError::new_err(msg),
        Error::Singular(_) => SingularError::new_err(msg),
        Error::Numerical(_) => NumericalError::new_err(msg),
        Error::Diverged {
            process,
            index,
            step,
            loss,
        } => Python::attach(|py| {
            let err = DivergedError::new_err(msg);
            let v = err.value(py);
            let _ = v.setattr("process", process);
            let _ = v.setattr("index", index);
            let _ = v.setattr("step", step);
            let _ = v.setattr("loss", loss);
            err
        }),
        Error::ChainFailed {
            process,
            index,
            step,
            epsilon,
            reason,
        } => Python::attach(|py| {
            let err = ChainFailedError::new_err(msg);
            let v = err.value(py);
            let _ = v.setattr("process", process);
            let _ = v.setattr("index", index);
            let _ = v.setattr("step", step);
            let _ = v.setattr("epsilon", epsilon);
            let _ = v.setattr("reason", reason);
            err
        }),
        Error::DeviceUnavailable(_) => DeviceUnavailableError::new_err(msg),
        Error::Device(_) => DeviceError::new_err(msg),
        Error::Io { .. } => PyOSError::new_err(msg),
        _ => PyRuntimeError::new_err(msg),
    }
}

/// The item named `value` among `choices`, or a `ValueError` naming the argument `arg` and the
/// names it accepts (every string-valued option of the package goes through here).
pub fn choose<T: Copy>(arg: &str, value: &str, choices: &[(&str, T)]) -> PyResult<T> {
    choices
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, item)| *item)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            PyValueError::new_err(format!(
                "invalid argument `{arg}` = {value:?}: expected one of {}",
                names.join(", ")
            ))
        })
}

/// A serialisable crate value (a run record, EigenPro's setup) as Python objects, through JSON
/// (non-finite numbers, which JSON lacks, come back as None).
pub fn json_to_py<'py, S: serde::Serialize>(
    py: Python<'py>,
    value: &S,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| PyRuntimeError::new_err(format!("serialising a result failed: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// `Result` of the crate into `PyResult`.
pub trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}
impl<T> IntoPy<T> for doubledescent::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("SingularError", py.get_type::<SingularError>())?;
    m.add("NumericalError", py.get_type::<NumericalError>())?;
    m.add("DivergedError", py.get_type::<DivergedError>())?;
    m.add("ChainFailedError", py.get_type::<ChainFailedError>())?;
    m.add(
        "DeviceUnavailableError",
        py.get_type::<DeviceUnavailableError>(),
    )?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    Ok(())
}
