//! The CUDA runtime behind [`Device::cuda`](crate::backend::Device::cuda): finding the driver and
//! NVRTC, compiling the handwritten kernels of `cuda/*.cu` for the device's own compute capability,
//! and keeping one context, stream and module per process.
//!
//! Both libraries are loaded at run time (cudarc's `dynamic-loading`). Nothing here panics on a
//! machine without CUDA: every probe first asks whether the library can be opened, and the whole
//! initialisation runs under `catch_unwind`, so a missing symbol becomes a one-line reason.
//!
//! NVRTC is loaded by the crate itself ([`nvrtc_for`]): 13 when it supports the device, else 12,
//! or the file `DOUBLEDESCENT_NVRTC` names (for example the one inside the `nvidia-cuda-nvrtc`
//! Python wheel). Kernels are compiled to a CUBIN for the device's own architecture when NVRTC
//! knows it, else to PTX for the newest older one.
//!
//! The launchers beside this file (`kernels.rs`, `svd.rs`, `sgld.rs`) upload, launch through the
//! typed wrappers of [`launch`] (each kernel's argument list declared once) and copy back; driver
//! errors become [`Error::Device`] in one function (`derr`), and a missing driver, NVRTC or device becomes
//! [`Error::DeviceUnavailable`] here.

pub mod emulate;
pub(crate) mod kernels;
pub mod launch;
mod memory;
mod nvrtc;
pub(crate) mod sgld;
pub mod source;
pub(crate) mod svd;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys::{CUdevice_attribute, CUfunction_attribute};
use cudarc::driver::{CudaContext, CudaFunction, CudaStream};
use cudarc::nvrtc::Ptx;

pub use nvrtc::{Code, Nvrtc, Target, nvrtc_for};
pub use svd::{SharedPlan, shared_plan};

use crate::error::{Error, Result};

/// The one conversion of a CUDA driver error into the crate's error: `what` says which step
/// failed (allocating, copying, launching `dd_kmat`, ...).
pub(crate) fn derr<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Device(format!("{what}: {e}"))
}

/// A 32-bit index argument, or an error naming the size that does not fit.
pub(crate) fn as_i32(name: &'static str, v: usize) -> Result<i32> {
    i32::try_from(v)
        .map_err(|_| Error::invalid(name, v, "exceeds the CUDA path's 32-bit index range"))
}

/// One CUDA source file, embedded in the crate.
#[derive(Debug)]
pub struct CudaSource {
    /// File name under `cuda/`.
    pub file: &'static str,
    /// The source text.
    pub text: &'static str,
}

impl CudaSource {
    /// The `extern "C"` kernels the crate launches from this file, in both precisions (from the
    /// declarations of [`launch`]).
    pub fn entries(&self) -> Vec<String> {
        launch::signatures::<f32>()
            .into_iter()
            .chain(launch::signatures::<f64>())
            .filter(|s| s.file == self.file)
            .map(|s| s.name)
            .collect()
    }
}

/// Every `.cu` file of the crate.
pub const SOURCES: &[CudaSource] = &[
    CudaSource {
        file: "kernels.cu",
        text: include_str!("../../../cuda/kernels.cu"),
    },
    CudaSource {
        file: "svd.cu",
        text: include_str!("../../../cuda/svd.cu"),
    },
    CudaSource {
        file: "sgld.cu",
        text: include_str!("../../../cuda/sgld.cu"),
    },
];

/// Environment variable naming an NVRTC library file (`.../libnvrtc.so.13`) to load.
pub const NVRTC_ENV: &str = "DOUBLEDESCENT_NVRTC";

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The first NVRTC found (13, else 12, or `DOUBLEDESCENT_NVRTC`), for compiling without a
/// device; [`Error::DeviceUnavailable`] with a one-line reason when there is none.
pub fn nvrtc() -> Result<&'static Nvrtc> {
    nvrtc_for(None)
}

/// The CUDA driver's version as (major, minor), or `None` when it cannot be read.
fn driver_version() -> Option<(i32, i32)> {
    let mut v = 0;
    // SAFETY: one out-parameter; the driver library is loaded (checked by the caller).
    let ok = unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut v) }
        == cudarc::driver::sys::CUresult::CUDA_SUCCESS;
    ok.then_some((v / 1000, (v % 1000) / 10))
}

/// What the launchers drive: a real card through cudarc, or the emulated device.
pub(crate) enum Gpu {
    /// A CUDA context on device 0 and its default stream.
    Cuda {
        ctx: Arc<CudaContext>,
        stream: Arc<CudaStream>,
        /// The code loaded and the NVRTC that compiled it.
        target: Target,
        nvrtc: (i32, i32),
    },
    /// The CPU emulation of `emulate.rs` (tests, and users checking a kernel change).
    Emulated(emulate::Emulator),
}

/// A loaded kernel of either device.
pub(crate) enum Handle {
    Cuda(CudaFunction),
    Emulated(emulate::EmuKernel),
}

/// One kernel, with the most dynamic shared memory a launch of it may ask for (the device's
/// opt-in limit less the kernel's static shared memory, already granted to the function).
pub(crate) struct Function {
    name: String,
    pub(crate) handle: Handle,
    max_dynamic: usize,
}

/// A CUDA device (or the emulated one) with the crate's kernels loaded.
pub struct CudaRuntime {
    pub(crate) gpu: Gpu,
    name: String,
    cc: i32,
    pub(crate) sm_count: usize,
    functions: Vec<Function>,
}

impl CudaRuntime {
    pub(crate) fn function(&self, name: &str) -> Result<&Function> {
        self.functions
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::Device(format!("kernel {name} is not loaded")))
    }

    /// The most dynamic shared memory a launch of kernel `name` may ask for.
    pub(crate) fn max_dynamic_shared(&self, name: &str) -> Result<usize> {
        self.function(name).map(|f| f.max_dynamic)
    }

    /// Free device memory in bytes.
    pub(crate) fn free_memory(&self) -> Result<usize> {
        match &self.gpu {
            Gpu::Cuda { ctx, .. } => ctx
                .mem_get_info()
                .map(|(free, _)| free)
                .map_err(derr("cuMemGetInfo")),
            Gpu::Emulated(e) => Ok(e.free_memory()),
        }
    }

    /// Whether this is the emulated device.
    pub fn is_emulated(&self) -> bool {
        matches!(self.gpu, Gpu::Emulated(_))
    }

    /// `cuda: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, CUBIN sm_90 by NVRTC 13.0)`, or for the
    /// emulated device `cuda: EMULATED on the CPU, not a compute device (NVIDIA H100 80GB HBM3
    /// limits, sm_90, 227 KiB shared; g++ 12.2.0, UBSan + ASan)`.
    pub fn describe(&self) -> String {
        match &self.gpu {
            Gpu::Cuda { target, nvrtc, .. } => {
                let code = match target {
                    Target::Cubin(a) => format!("CUBIN sm_{a}"),
                    Target::Ptx(a) => format!("PTX compute_{a}"),
                };
                format!(
                    "cuda: {} (sm_{}, {} SMs, {code} by NVRTC {}.{})",
                    self.name, self.cc, self.sm_count, nvrtc.0, nvrtc.1
                )
            }
            Gpu::Emulated(e) => format!(
                "cuda: EMULATED on the CPU, not a compute device ({} limits, sm_{}, {} KiB shared; {})",
                self.name,
                self.cc,
                e.card.shared_optin >> 10,
                e.toolchain
            ),
        }
    }
}

/// [`CudaRuntime::describe`], for the device seam.
pub(crate) fn describe(rt: &CudaRuntime) -> String {
    rt.describe()
}

/// The emulated device for `card` (`DOUBLEDESCENT_EMULATE_CUDA`), announced once on stderr.
fn init_emulated(card: emulate::Card) -> std::result::Result<Arc<CudaRuntime>, String> {
    let (emu, kernels) = emulate::Emulator::start(card)?;
    let functions = kernels
        .into_iter()
        .map(|k| Function {
            name: k.name().to_string(),
            max_dynamic: card.shared_optin.saturating_sub(k.static_shared),
            handle: Handle::Emulated(k),
        })
        .collect();
    let rt = CudaRuntime {
        name: card.name.to_string(),
        cc: card.cc,
        sm_count: card.sm_count,
        functions,
        gpu: Gpu::Emulated(emu),
    };
    eprintln!(
        "doubledescent: {}={}: {} (for testing kernels: slow)",
        emulate::EMULATE_ENV,
        std::env::var(emulate::EMULATE_ENV).unwrap_or_default(),
        rt.describe()
    );
    Ok(Arc::new(rt))
}

fn init() -> std::result::Result<Arc<CudaRuntime>, String> {
    if let Some(card) = emulate::requested().map_err(|e| e.to_string())? {
        return init_emulated(card);
    }
    // SAFETY: only tries to open the driver library by its candidate names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda.so not found)".into());
    }
    let count = CudaContext::device_count().map_err(|e| format!("cuInit: {e}"))?;
    if count < 1 {
        return Err("CUDA_ERROR_NO_DEVICE: the driver sees no device".into());
    }
    let ctx =
        CudaContext::new(0).map_err(|e| format!("cannot create a context on device 0: {e}"))?;
    let name = ctx.name().map_err(|e| format!("cuDeviceGetName: {e}"))?;
    let (major, minor) = ctx
        .compute_capability()
        .map_err(|e| format!("compute capability: {e}"))?;
    let cc = 10 * major + minor;
    let attribute = |a, what: &str| {
        ctx.attribute(a)
            .map_err(|e| format!("{what}: {e}"))
            .map(|v| v.max(0) as usize)
    };
    let sm_count = attribute(
        CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
        "multiprocessor count",
    )?
    .max(1);
    let optin = attribute(
        CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
        "the opt-in shared-memory limit",
    )?;
    let nvrtc = nvrtc_for(Some(cc)).map_err(|e| e.to_string())?;
    let target = nvrtc.target_for(cc).map_err(|e| e.to_string())?;
    let versions = || {
        let d = driver_version().map_or("unknown".into(), |(a, b)| format!("{a}.{b}"));
        format!("driver CUDA {d}, {nvrtc:?}")
    };
    let mut functions = Vec::new();
    for src in SOURCES {
        let module = match nvrtc.compile(src, target).map_err(|e| e.to_string())? {
            Code::Cubin(image) => ctx.load_module(Ptx::from_binary(image)).or_else(|e| {
                // A CUBIN the driver refuses: fall back to PTX for the same architecture.
                match nvrtc.compile(src, Target::Ptx(cc)) {
                    Ok(Code::Ptx(ptx)) => ctx.load_module(Ptx::from_src(ptx)),
                    _ => Err(e),
                }
            }),
            Code::Ptx(ptx) => ctx.load_module(Ptx::from_src(ptx)),
        }
        .map_err(|e| format!("loading {} for sm_{cc} ({}): {e}", src.file, versions()))?;
        for entry in src.entries() {
            let f = module
                .load_function(&entry)
                .map_err(|e| format!("{} has no kernel {entry}: {e}", src.file))?;
            let fixed = f
                .shared_size_bytes()
                .map_err(|e| format!("static shared memory of {entry}: {e}"))?
                .max(0) as usize;
            // Granted once, to the maximum, so that launches of any size need no further change
            // (and concurrent launches of different sizes cannot lower it under each other). If
            // the driver refuses, the function keeps the default 48 KB less its static memory.
            let granted = f
                .set_attribute(
                    CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    optin.saturating_sub(fixed) as i32,
                )
                .is_ok();
            let limit = if granted { optin } else { 48 * 1024 };
            functions.push(Function {
                name: entry,
                handle: Handle::Cuda(f),
                max_dynamic: limit.saturating_sub(fixed),
            });
        }
    }
    let stream = ctx.default_stream();
    Ok(Arc::new(CudaRuntime {
        gpu: Gpu::Cuda {
            ctx,
            stream,
            target,
            nvrtc: nvrtc.version,
        },
        name,
        cc,
        sm_count,
        functions,
    }))
}

/// The process-wide runtime, created on first use; [`Error::DeviceUnavailable`] with a one-line
/// reason when there is no usable GPU.
pub(crate) fn runtime() -> Result<Arc<CudaRuntime>> {
    static RUNTIME: OnceLock<std::result::Result<Arc<CudaRuntime>, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            quiet_catch_unwind(init)
                .unwrap_or_else(|p| Err(format!("CUDA initialisation panicked: {}", panic_text(p))))
        })
        .clone()
        .map_err(Error::DeviceUnavailable)
}

thread_local! {
    /// Set while this thread runs [`quiet_catch_unwind`]: its panics are caught and reported as
    /// one line, so the panic hook stays silent.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind(f)` with the panic message and backtrace suppressed on this thread only (a
/// hook installed once that defers to the previous hook everywhere else): a driver library that
/// lacks a symbol makes cudarc panic, and the user should see the one-line reason, not
/// `thread 'main' panicked at …`.
fn quiet_catch_unwind<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    out
}
