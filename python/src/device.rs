//! `device="cpu" | "cuda" | "auto"`, resolved once per process and request (the CUDA context and
//! the compiled kernels are shared by every later call).

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
