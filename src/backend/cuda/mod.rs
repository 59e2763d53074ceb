//! The CUDA runtime behind [`Device::cuda`](crate::backend::Device::cuda): finding the driver and
//! NVRTC, compiling the handwritten kernels of `cuda/*.cu` for the device's own compute capability,
//! and keeping one context, stream and module per process.
//!
//! Both libraries are loaded at run time (cudarc's `dynamic-loading`). Nothing here panics on a
//! machine without CUDA: every probe first asks whether the library can be opened, and the whole
//! initialisation runs under `catch_unwind`, so a missing symbol becomes a one-line reason.
//!
//! NVRTC is found by its usual names (`libnvrtc.so.13`, `libnvrtc.so.12`, ...) on the loader path,
//! then in `$CUDA_PATH`, `$CUDA_HOME` and `/usr/local/cuda`. `DOUBLEDESCENT_NVRTC` names a library
//! file to use instead, for example the one inside the `nvidia-cuda-nvrtc` Python wheel.

//!
//! The launchers beside this file ([`kernels`], [`svd`], [`sgld`]) upload, launch through the typed
//! wrappers of [`launch`] (each kernel's argument list declared once) and copy back; driver errors
//! become [`Error::Device`] in [`derr`] alone, and a missing driver, NVRTC or device becomes
//! [`Error::DeviceUnavailable`] here.

pub(crate) mod kernels;
pub mod launch;
pub(crate) mod sgld;
pub(crate) mod svd;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cudarc::driver::sys::CUdevice_attribute;
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, DriverError};
use cudarc::nvrtc::{CompileError, CompileOptions, Ptx, compile_ptx_with_opts};

use crate::error::{Error, Result};

/// The one conversion of a CUDA driver error into the crate's error: `what` says which step
/// failed (allocating, copying, launching `dd_kmat`, ...).
pub(crate) fn derr(what: &'static str) -> impl Fn(DriverError) -> Error {
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

/// The NVRTC that was found.
#[derive(Clone, Debug)]
pub struct NvrtcInfo {
    /// (major, minor) of NVRTC.
    pub version: (i32, i32),
    /// The virtual architectures it can compile for, as `10 * major + minor` (75, 80, 90, ...).
    pub archs: Vec<i32>,
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Opens `path` with `RTLD_GLOBAL` and keeps it loaded for the life of the process, so that
/// cudarc's later `dlopen` by soname finds it.
fn preload(path: &Path) -> std::result::Result<(), String> {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading NVRTC (or its builtins) runs only their initialisers, which have no
    // preconditions.
    let lib = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }
        .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    std::mem::forget(lib);
    Ok(())
}

/// Preloads the NVRTC library at `path`, with its builtins library from the same folder first
/// (NVRTC opens `libnvrtc-builtins.so.X.Y` by name, which the loader would not find otherwise).
fn preload_nvrtc_file(path: &Path) -> std::result::Result<(), String> {
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if let Some(dir) = path.parent()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("libnvrtc-builtins.so") && !name.contains(".alt") {
                preload(&entry.path())?;
            }
        }
    }
    preload(path)
}

fn nvrtc_present() -> bool {
    // SAFETY: only tries to open the library by its candidate names.
    catch_unwind(|| unsafe { cudarc::nvrtc::sys::is_culib_present() }).unwrap_or(false)
}

fn toolkit_candidates() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["CUDA_PATH", "CUDA_HOME"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    let mut out = Vec::new();
    for root in roots {
        for sub in ["lib64", "targets/x86_64-linux/lib", "lib"] {
            for name in ["libnvrtc.so.13", "libnvrtc.so.12"] {
                out.push(root.join(sub).join(name));
            }
        }
    }
    out
}

fn find_nvrtc() -> std::result::Result<NvrtcInfo, String> {
    if let Some(path) = std::env::var_os(NVRTC_ENV) {
        let path = PathBuf::from(path);
        preload_nvrtc_file(&path).map_err(|e| format!("{NVRTC_ENV}: {e}"))?;
        if !nvrtc_present() {
            return Err(format!(
                "{NVRTC_ENV}={} was loaded but does not match a version this build looks for \
                 (feature cuda-13 finds NVRTC 13 and 12, cuda-12 finds NVRTC 12)",
                path.display()
            ));
        }
    } else if !nvrtc_present() {
        let found = toolkit_candidates()
            .into_iter()
            .find(|p| p.is_file() && preload_nvrtc_file(p).is_ok() && nvrtc_present());
        if found.is_none() {
            return Err(format!(
                "NVRTC not found (no libnvrtc.so on the loader path or in the CUDA toolkit folders; \
                 set {NVRTC_ENV} to the library file)"
            ));
        }
    }
    catch_unwind(|| {
        use cudarc::nvrtc::sys;
        let (mut major, mut minor, mut count) = (0, 0, 0);
        // SAFETY: plain out-parameters; NVRTC is loaded (checked above).
        unsafe {
            if sys::nvrtcVersion(&mut major, &mut minor) != sys::nvrtcResult::NVRTC_SUCCESS {
                return Err("nvrtcVersion failed".to_string());
            }
            if sys::nvrtcGetNumSupportedArchs(&mut count) != sys::nvrtcResult::NVRTC_SUCCESS {
                return Err("nvrtcGetNumSupportedArchs failed".to_string());
            }
            let mut archs = vec![0i32; count.max(0) as usize];
            if count > 0
                && sys::nvrtcGetSupportedArchs(archs.as_mut_ptr())
                    != sys::nvrtcResult::NVRTC_SUCCESS
            {
                return Err("nvrtcGetSupportedArchs failed".to_string());
            }
            archs.sort_unstable();
            Ok(NvrtcInfo {
                version: (major, minor),
                archs,
            })
        }
    })
    .unwrap_or_else(|p| Err(format!("NVRTC probe panicked: {}", panic_text(p))))
}

/// Finds and loads NVRTC once per process (no GPU needed); [`Error::DeviceUnavailable`] with a
/// one-line reason when it cannot.
pub fn nvrtc() -> Result<NvrtcInfo> {
    static NVRTC: OnceLock<std::result::Result<NvrtcInfo, String>> = OnceLock::new();
    NVRTC
        .get_or_init(find_nvrtc)
        .clone()
        .map_err(Error::DeviceUnavailable)
}

/// The newest architecture NVRTC supports that a device of compute capability `cc`
/// (`10 * major + minor`) can run.
pub fn pick_arch(info: &NvrtcInfo, cc: i32) -> Result<i32> {
    info.archs
        .iter()
        .copied()
        .filter(|&a| a <= cc)
        .max()
        .ok_or_else(|| {
            format!(
                "NVRTC {}.{} compiles for compute_{}..compute_{}, but the device is sm_{cc}",
                info.version.0,
                info.version.1,
                info.archs.first().unwrap_or(&0),
                info.archs.last().unwrap_or(&0)
            )
        })
        .map_err(Error::DeviceUnavailable)
}

/// Compiles one source to PTX for `compute_{arch}`. Needs NVRTC but no GPU; the error
/// ([`Error::Device`]) carries the compiler log.
pub fn compile(source: &CudaSource, arch: i32) -> Result<String> {
    nvrtc()?;
    let opts = CompileOptions {
        options: vec![
            format!("--gpu-architecture=compute_{arch}"),
            "--std=c++17".into(),
        ],
        name: Some(source.file.into()),
        ..Default::default()
    };
    let ptx = catch_unwind(|| compile_ptx_with_opts(source.text, opts))
        .map_err(|p| {
            Error::Device(format!(
                "NVRTC panicked on {}: {}",
                source.file,
                panic_text(p)
            ))
        })?
        .map_err(|e| match e {
            CompileError::CompileError { log, .. } => {
                format!(
                    "{} does not compile: {}",
                    source.file,
                    log.to_string_lossy()
                )
            }
            other => format!("{}: {other:?}", source.file),
        })
        .map_err(Error::Device)?;
    Ok(ptx.to_src())
}

/// A CUDA context on device 0 with the crate's kernels loaded.
pub struct CudaRuntime {
    pub(crate) ctx: Arc<CudaContext>,
    pub(crate) stream: Arc<CudaStream>,
    name: String,
    cc: i32,
    arch: i32,
    nvrtc: (i32, i32),
    pub(crate) sm_count: usize,
    functions: Vec<(String, CudaFunction)>,
}

impl CudaRuntime {
    pub(crate) fn function(&self, name: &str) -> Result<&CudaFunction> {
        self.functions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f)
            .ok_or_else(|| Error::Device(format!("kernel {name} is not loaded")))
    }

    /// Free device memory in bytes.
    pub(crate) fn free_memory(&self) -> Result<usize> {
        self.ctx
            .mem_get_info()
            .map(|(free, _)| free)
            .map_err(derr("cuMemGetInfo"))
    }

    /// `cuda: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, PTX compute_90 by NVRTC 13.0)`.
    pub fn describe(&self) -> String {
        format!(
            "cuda: {} (sm_{}, {} SMs, PTX compute_{} by NVRTC {}.{})",
            self.name, self.cc, self.sm_count, self.arch, self.nvrtc.0, self.nvrtc.1
        )
    }
}

/// [`CudaRuntime::describe`], for the device seam.
pub(crate) fn describe(rt: &CudaRuntime) -> String {
    rt.describe()
}

fn init() -> std::result::Result<Arc<CudaRuntime>, String> {
    // SAFETY: only tries to open the driver library by its candidate names.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda.so not found)".into());
    }
    let count = CudaContext::device_count().map_err(|e| format!("cuInit: {e}"))?;
    if count < 1 {
        return Err("CUDA_ERROR_NO_DEVICE: the driver sees no device".into());
    }
    let info = nvrtc().map_err(|e| e.to_string())?;
    let ctx =
        CudaContext::new(0).map_err(|e| format!("cannot create a context on device 0: {e}"))?;
    let name = ctx.name().map_err(|e| format!("cuDeviceGetName: {e}"))?;
    let (major, minor) = ctx
        .compute_capability()
        .map_err(|e| format!("compute capability: {e}"))?;
    let cc = 10 * major + minor;
    let sm_count = ctx
        .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
        .map_err(|e| format!("multiprocessor count: {e}"))?
        .max(1) as usize;
    let arch = pick_arch(&info, cc).map_err(|e| e.to_string())?;
    let mut functions = Vec::new();
    for src in SOURCES {
        let ptx = compile(src, arch).map_err(|e| e.to_string())?;
        let module = ctx
            .load_module(Ptx::from_src(ptx))
            .map_err(|e| format!("loading the PTX of {}: {e}", src.file))?;
        for entry in src.entries() {
            let f = module
                .load_function(&entry)
                .map_err(|e| format!("{} has no kernel {entry}: {e}", src.file))?;
            functions.push((entry, f));
        }
    }
    let stream = ctx.default_stream();
    Ok(Arc::new(CudaRuntime {
        ctx,
        stream,
        name,
        cc,
        arch,
        nvrtc: info.version,
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
            catch_unwind(AssertUnwindSafe(init))
                .unwrap_or_else(|p| Err(format!("CUDA initialisation panicked: {}", panic_text(p))))
        })
        .clone()
        .map_err(Error::DeviceUnavailable)
}
