//! `device="cpu" | "cuda" | "auto"`, resolved once per process and request (the CUDA context and
//! the compiled kernels are shared by every later call), and the memory budget every size from
//! user input is held to.

use std::sync::OnceLock;

use doubledescent::{Device, DeviceRequest};
use pyo3::prelude::*;

use crate::errors::IntoPy;

static AUTO: OnceLock<Device> = OnceLock::new();
static CUDA: OnceLock<Device> = OnceLock::new();

/// The device for a request string.
pub fn device(name: &str) -> PyResult<Device> {
    let request: DeviceRequest = name.parse().py_err()?;
    match request {
        DeviceRequest::Cpu => Ok(Device::cpu()),
        DeviceRequest::Auto => cached(&AUTO, DeviceRequest::Auto),
        DeviceRequest::Cuda => cached(&CUDA, DeviceRequest::Cuda),
    }
}

fn cached(cell: &OnceLock<Device>, request: DeviceRequest) -> PyResult<Device> {
    if let Some(d) = cell.get() {
        return Ok(d.clone());
    }
    let d = Device::select(request).py_err()?;
    Ok(cell.get_or_init(|| d).clone())
}

/// The backend a request resolves to (`"cpu"` or `"cuda"`), and why `auto` fell back to the CPU.
#[pyfunction]
#[pyo3(signature = (device = "auto"))]
pub fn describe_device(device: &str) -> PyResult<(String, Option<String>)> {
    let d = self::device(device)?;
    Ok((d.backend().to_string(), d.note().map(str::to_string)))
}

/// Caps the memory one allocation sized from user input may take: bytes (an int), a size with a
/// suffix ("8G", "512M"), or None to remove the cap (the machine's available memory remains).
/// Larger requests raise `MemoryError` before anything is allocated.
#[pyfunction]
pub fn set_memory_limit(limit: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let bytes = match limit {
        None => None,
        Some(v) => Some(match v.extract::<u64>() {
            Ok(b) if b > 0 => b,
            Ok(_) => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "invalid argument `limit` = 0: must be positive (None removes the cap)",
                ));
            }
            Err(_) => doubledescent::check::parse_memory_size(&v.str()?.to_string()).py_err()?,
        }),
    };
    doubledescent::check::set_memory_limit(bytes);
    Ok(())
}

/// The memory budget now: (bytes, where it comes from).
#[pyfunction]
pub fn memory_budget() -> PyResult<(u64, String)> {
    doubledescent::check::memory_budget().py_err()
}
