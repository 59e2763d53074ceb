//! Where heavy kernels run: the CPU (faer + rayon) or an NVIDIA GPU (handwritten CUDA through
//! cudarc, compiled at run time by NVRTC).
//!
//! A [`Device`] is chosen in one of three ways, the first that applies winning:
//! 1. the API: [`Device::select`] with [`DeviceRequest::Cpu`] or [`DeviceRequest::Cuda`]
//!    (or [`Device::cpu`], [`Device::cuda`]);
//! 2. the environment: `DOUBLEDESCENT_DEVICE=cpu|cuda|auto` (read by [`DeviceRequest::Auto`]);
//! 3. automatically: CUDA when a driver, NVRTC and a device are present, the CPU otherwise.
//!
//! Asking for CUDA where there is none is an [`Error::DeviceUnavailable`], never a panic. The
//! automatic choice falls back to the CPU and keeps the one-line reason in [`Device::note`].
//!
//! `DOUBLEDESCENT_EMULATE_CUDA=h100|v100` makes the CUDA device an emulated one: the same kernels
//! and launchers, run on the CPU to test them (`cuda::emulate`), which says so in its description.
//!
//! The CUDA backend is compiled in by the `cuda-13` (default) or `cuda-12` feature; it loads the
//! driver and NVRTC dynamically, so a build with it still runs on machines without CUDA. A build
//! without it compiles every call site against a stand-in runtime that cannot be constructed
//! (`cuda_stub.rs`), so [`Device::cuda`] returns [`Error::DeviceUnavailable`] and no other code
//! needs a `cfg`.
//!
//! This folder is the lowest layer of the crate: the device seam ([`Device`], and the crate-private
//! `Compute` that every heavy function matches on), the scalar trait [`Float`], the argument
//! structs shared by the CPU and CUDA paths ([`abi`]) and the CUDA runtime with its launchers
//! ([`cuda`]). It is the only place that names the `cuda` feature.

pub mod abi;
#[cfg(feature = "cuda")]
pub mod cuda;
#[cfg(not(feature = "cuda"))]
#[path = "cuda_stub.rs"]
pub mod cuda;
pub mod fastmath;
mod float;
pub mod gemm;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use float::{CType, Float, Precision, exp_f32, exp_f64};

use crate::error::{Error, Result};

/// The environment variable that forces a backend: `cpu`, `cuda` or `auto`.
pub const DEVICE_ENV: &str = "DOUBLEDESCENT_DEVICE";

/// The two backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// faer for dense linear algebra, rayon for parallel loops.
    Cpu,
    /// An NVIDIA GPU through cudarc and NVRTC.
    Cuda,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "cpu",
            Backend::Cuda => "cuda",
        })
    }
}

/// What the caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// `DOUBLEDESCENT_DEVICE` if set, else CUDA when present, else the CPU.
    #[default]
    Auto,
    /// The CPU, whatever the environment says.
    Cpu,
    /// CUDA, or an error.
    Cuda,
}

impl FromStr for DeviceRequest {
    type Err = Error;

    /// Parses `auto`, `cpu`, `cuda` (or `gpu`), in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" | "gpu" => Ok(DeviceRequest::Cuda),
            other => Err(Error::invalid(
                "device",
                other,
                "expected one of cpu, cuda, auto",
            )),
        }
    }
}

#[derive(Clone)]
enum Inner {
    Cpu,
    Cuda(Arc<cuda::CudaRuntime>),
}

/// What a heavy function matches on: the CPU, or the CUDA runtime to launch on. In a build without
/// the `cuda` feature the runtime type has no values, so the `Cuda` arm is never taken.
pub(crate) enum Compute<'a> {
    Cpu,
    Cuda(&'a cuda::CudaRuntime),
}

/// A backend ready to run kernels. Cheap to clone; the CUDA context and the compiled module are
/// created once per process and shared.
#[derive(Clone)]
pub struct Device {
    inner: Inner,
    note: Option<String>,
}

impl Device {
    /// The CPU backend.
    pub fn cpu() -> Device {
        Device {
            inner: Inner::Cpu,
            note: None,
        }
    }

    /// The first CUDA device, or [`Error::DeviceUnavailable`] with the reason (no CUDA support
    /// compiled in, no driver, no NVRTC, no device, or a failed kernel compilation).
    pub fn cuda() -> Result<Device> {
        Ok(Device {
            inner: Inner::Cuda(cuda::runtime()?),
            note: None,
        })
    }

    /// Resolves a request: an explicit `Cpu`/`Cuda` wins; `Auto` reads `DOUBLEDESCENT_DEVICE`
    /// and otherwise prefers CUDA, falling back to the CPU with the reason in [`Device::note`].
    pub fn select(request: DeviceRequest) -> Result<Device> {
        match request {
            DeviceRequest::Cpu => Ok(Device::cpu()),
            DeviceRequest::Cuda => Device::cuda(),
            DeviceRequest::Auto => {
                let env = std::env::var(DEVICE_ENV).unwrap_or_default();
                let from_env = env.parse::<DeviceRequest>().map_err(|_| {
                    Error::invalid(DEVICE_ENV, &env, "expected one of cpu, cuda, auto")
                })?;
                match from_env {
                    DeviceRequest::Cpu => Ok(Device {
                        inner: Inner::Cpu,
                        note: Some(format!("{DEVICE_ENV}={env}")),
                    }),
                    DeviceRequest::Cuda => Device::cuda(),
                    DeviceRequest::Auto => Ok(match Device::cuda() {
                        Ok(dev) => dev,
                        Err(Error::DeviceUnavailable(reason)) => Device {
                            inner: Inner::Cpu,
                            note: Some(format!("CUDA unavailable: {reason}")),
                        },
                        Err(e) => Device {
                            inner: Inner::Cpu,
                            note: Some(format!("CUDA unavailable: {e}")),
                        },
                    }),
                }
            }
        }
    }

    /// `Device::select(DeviceRequest::Auto)`.
    pub fn auto() -> Result<Device> {
        Device::select(DeviceRequest::Auto)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Cpu => Backend::Cpu,
            Inner::Cuda(_) => Backend::Cuda,
        }
    }

    /// Why the CPU was chosen when the choice was not explicit (one line), if it was not CUDA.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// A one-line description: the GPU's name and architecture, or the CPU's thread count.
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Cpu => format!("cpu ({} rayon threads)", rayon::current_num_threads()),
            Inner::Cuda(rt) => cuda::describe(rt),
        }
    }

    /// The backend to dispatch on, with the CUDA runtime when there is one.
    pub(crate) fn compute(&self) -> Compute<'_> {
        match &self.inner {
            Inner::Cpu => Compute::Cpu,
            Inner::Cuda(rt) => Compute::Cuda(rt),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())?;
        if let Some(note) = &self.note {
            write!(f, " [{note}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_reject_unknown_names() {
        assert_eq!("CPU".parse::<DeviceRequest>().unwrap(), DeviceRequest::Cpu);
        assert_eq!(
            "cuda".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Cuda
        );
        assert_eq!("gpu".parse::<DeviceRequest>().unwrap(), DeviceRequest::Cuda);
        assert_eq!("".parse::<DeviceRequest>().unwrap(), DeviceRequest::Auto);
        let err = "tpu".parse::<DeviceRequest>().unwrap_err().to_string();
        assert!(
            err.contains("tpu") && err.contains("cpu, cuda, auto"),
            "{err}"
        );
    }

    /// A build without the `cuda` feature still compiles every call site, and asking it for CUDA
    /// is a one-line `DeviceUnavailable`, never a panic.
    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_lean_build_reports_that_it_has_no_cuda() {
        match Device::cuda() {
            Err(Error::DeviceUnavailable(reason)) => {
                assert!(reason.contains("no CUDA backend"), "{reason}")
            }
            other => panic!("expected DeviceUnavailable, got {other:?}"),
        }
        let auto = Device::select(DeviceRequest::Auto).unwrap();
        assert_eq!(auto.backend(), Backend::Cpu);
    }

    #[test]
    fn explicit_cpu_wins() {
        let dev = Device::select(DeviceRequest::Cpu).unwrap();
        assert_eq!(dev.backend(), Backend::Cpu);
        assert!(dev.note().is_none());
    }
}
