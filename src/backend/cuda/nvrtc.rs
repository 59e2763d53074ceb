//! NVRTC, loaded by version: the crate opens `libnvrtc.so.13` or `libnvrtc.so.12` itself (with
//! libloading, a dozen entry points), so it can choose the one that supports the device: NVRTC 13
//! dropped compute_70, so a V100 needs NVRTC 12 even where 13 is installed. A device whose own
//! architecture NVRTC knows gets a CUBIN (no JIT by the driver, so a pip NVRTC newer than a
//! cluster's driver still works); a newer device gets PTX for the newest virtual architecture.
//!
//! Search order for a major version X: `DOUBLEDESCENT_NVRTC` (a library file, used as is), then
//! `libnvrtc.so.X` on the loader path, then `$CUDA_PATH`, `$CUDA_HOME` and `/usr/local/cuda`.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};

use super::{CudaSource, NVRTC_ENV};
use crate::error::{Error, Result};

type Prog = *mut c_void;
type Status = c_int;

/// The entry points the crate calls.
struct Api {
    version: unsafe extern "C" fn(*mut c_int, *mut c_int) -> Status,
    num_archs: unsafe extern "C" fn(*mut c_int) -> Status,
    archs: unsafe extern "C" fn(*mut c_int) -> Status,
    create: unsafe extern "C" fn(
        *mut Prog,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> Status,
    compile: unsafe extern "C" fn(Prog, c_int, *const *const c_char) -> Status,
    log_size: unsafe extern "C" fn(Prog, *mut usize) -> Status,
    log: unsafe extern "C" fn(Prog, *mut c_char) -> Status,
    ptx_size: unsafe extern "C" fn(Prog, *mut usize) -> Status,
    ptx: unsafe extern "C" fn(Prog, *mut c_char) -> Status,
    cubin_size: unsafe extern "C" fn(Prog, *mut usize) -> Status,
    cubin: unsafe extern "C" fn(Prog, *mut c_char) -> Status,
    destroy: unsafe extern "C" fn(*mut Prog) -> Status,
    error_string: unsafe extern "C" fn(Status) -> *const c_char,
}

/// A loaded NVRTC.
pub struct Nvrtc {
    api: Api,
    /// The library file or name it was loaded from.
    pub source: String,
    /// (major, minor).
    pub version: (i32, i32),
    /// The architectures it compiles for, as `10 * major + minor` (75, 80, 90, ...), ascending.
    pub archs: Vec<i32>,
}

impl std::fmt::Debug for Nvrtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NVRTC {}.{} ({}, compute_{}..compute_{})",
            self.version.0,
            self.version.1,
            self.source,
            self.archs.first().unwrap_or(&0),
            self.archs.last().unwrap_or(&0)
        )
    }
}

/// What to compile to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// PTX for the virtual architecture `compute_X` (the driver compiles it at load time).
    Ptx(i32),
    /// A CUBIN for the real architecture `sm_X` (loaded as is).
    Cubin(i32),
}

/// Compiled device code.
#[derive(Clone, Debug)]
pub enum Code {
    /// PTX text.
    Ptx(String),
    /// An ELF image of SASS.
    Cubin(Vec<u8>),
}

/// Opens a library for the life of the process (`RTLD_GLOBAL`, so that NVRTC's own `dlopen` of
/// its builtins library by name finds a builtins library loaded before it).
fn open(name: &Path) -> std::result::Result<&'static Library, String> {
    // SAFETY: loading NVRTC (or its builtins) runs only their initialisers.
    let lib = unsafe { Library::open(Some(name), RTLD_NOW | RTLD_GLOBAL) }
        .map_err(|e| format!("cannot load {}: {e}", name.display()))?;
    Ok(Box::leak(Box::new(lib)))
}

/// Loads the builtins library beside an NVRTC file (NVRTC opens `libnvrtc-builtins.so.X.Y` by
/// name, which the loader would not find in a wheel's folder).
fn open_builtins_beside(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("libnvrtc-builtins.so") && !name.contains(".alt") {
                let _ = open(&entry.path());
            }
        }
    }
}

fn symbol<T: Copy>(lib: &'static Library, name: &str) -> std::result::Result<T, String> {
    // SAFETY: every symbol is read with the C signature NVRTC documents for it (`Api`).
    unsafe { lib.get::<T>(name.as_bytes()) }
        .map(|s| *s)
        .map_err(|e| format!("NVRTC has no {name}: {e}"))
}

impl Nvrtc {
    fn from_library(lib: &'static Library, source: String) -> std::result::Result<Nvrtc, String> {
        let api = Api {
            version: symbol(lib, "nvrtcVersion")?,
            num_archs: symbol(lib, "nvrtcGetNumSupportedArchs")?,
            archs: symbol(lib, "nvrtcGetSupportedArchs")?,
            create: symbol(lib, "nvrtcCreateProgram")?,
            compile: symbol(lib, "nvrtcCompileProgram")?,
            log_size: symbol(lib, "nvrtcGetProgramLogSize")?,
            log: symbol(lib, "nvrtcGetProgramLog")?,
            ptx_size: symbol(lib, "nvrtcGetPTXSize")?,
            ptx: symbol(lib, "nvrtcGetPTX")?,
            cubin_size: symbol(lib, "nvrtcGetCUBINSize")?,
            cubin: symbol(lib, "nvrtcGetCUBIN")?,
            destroy: symbol(lib, "nvrtcDestroyProgram")?,
            error_string: symbol(lib, "nvrtcGetErrorString")?,
        };
        let (mut major, mut minor, mut count) = (0, 0, 0);
        // SAFETY: plain out-parameters of the documented signatures.
        unsafe {
            if (api.version)(&mut major, &mut minor) != 0 || (api.num_archs)(&mut count) != 0 {
                return Err(format!("{source}: nvrtcVersion failed"));
            }
        }
        let mut archs = vec![0 as c_int; count.max(0) as usize];
        // SAFETY: `archs` holds the `count` entries NVRTC writes.
        if count > 0 && unsafe { (api.archs)(archs.as_mut_ptr()) } != 0 {
            return Err(format!("{source}: nvrtcGetSupportedArchs failed"));
        }
        archs.sort_unstable();
        Ok(Nvrtc {
            api,
            source,
            version: (major, minor),
            archs,
        })
    }

    fn error(&self, status: Status) -> String {
        // SAFETY: NVRTC returns a static C string for every status.
        let s = unsafe { (self.api.error_string)(status) };
        if s.is_null() {
            format!("NVRTC error {status}")
        } else {
            // SAFETY: non-null, NUL-terminated, static.
            unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
        }
    }

    /// The newest architecture this NVRTC supports that a device of compute capability `cc`
    /// (`10 * major + minor`) can run, and whether it is the device's own (a CUBIN) or an older
    /// virtual one (PTX for the driver to compile).
    pub fn target_for(&self, cc: i32) -> Result<Target> {
        if self.archs.contains(&cc) {
            return Ok(Target::Cubin(cc));
        }
        self.archs
            .iter()
            .copied()
            .filter(|&a| a <= cc)
            .max()
            .map(Target::Ptx)
            .ok_or_else(|| Error::DeviceUnavailable(format!("{self:?} cannot compile for sm_{cc}")))
    }

    /// Compiles `source` to `target` with C++17; the error ([`Error::Device`]) carries the
    /// compiler log. Needs no GPU.
    pub fn compile(&self, source: &CudaSource, target: Target) -> Result<Code> {
        let fail = |what: String| Error::Device(format!("{}: {what}", source.file));
        let text = CString::new(source.text).map_err(|e| fail(e.to_string()))?;
        let name = CString::new(source.file).map_err(|e| fail(e.to_string()))?;
        let arch = match target {
            Target::Ptx(a) => format!("--gpu-architecture=compute_{a}"),
            Target::Cubin(a) => format!("--gpu-architecture=sm_{a}"),
        };
        let options: Vec<CString> = [arch.as_str(), "--std=c++17"]
            .iter()
            .map(|o| CString::new(*o).expect("options have no NUL"))
            .collect();
        let option_ptrs: Vec<*const c_char> = options.iter().map(|o| o.as_ptr()).collect();
        let mut prog: Prog = std::ptr::null_mut();
        // SAFETY: valid C strings, no headers; `prog` receives the program.
        let status = unsafe {
            (self.api.create)(
                &mut prog,
                text.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if status != 0 {
            return Err(fail(self.error(status)));
        }
        let result = self.compile_program(prog, &option_ptrs, target);
        // SAFETY: `prog` came from nvrtcCreateProgram and is destroyed once.
        unsafe { (self.api.destroy)(&mut prog) };
        result.map_err(fail)
    }

    fn compile_program(
        &self,
        prog: Prog,
        options: &[*const c_char],
        target: Target,
    ) -> std::result::Result<Code, String> {
        // SAFETY: `prog` is live; the options are valid C strings.
        let status = unsafe { (self.api.compile)(prog, options.len() as c_int, options.as_ptr()) };
        if status != 0 {
            let mut size = 0usize;
            // SAFETY: out-parameter, then a buffer of the size NVRTC reported.
            let log = unsafe {
                (self.api.log_size)(prog, &mut size);
                let mut buf = vec![0u8; size.max(1)];
                (self.api.log)(prog, buf.as_mut_ptr().cast());
                String::from_utf8_lossy(&buf)
                    .trim_end_matches('\0')
                    .to_string()
            };
            return Err(format!("does not compile ({}): {log}", self.error(status)));
        }
        let (size_fn, get_fn) = match target {
            Target::Ptx(_) => (self.api.ptx_size, self.api.ptx),
            Target::Cubin(_) => (self.api.cubin_size, self.api.cubin),
        };
        let mut size = 0usize;
        // SAFETY: out-parameter, then a buffer of the size NVRTC reported.
        let mut buf = unsafe {
            let status = size_fn(prog, &mut size);
            if status != 0 {
                return Err(self.error(status));
            }
            let mut buf = vec![0u8; size];
            let status = get_fn(prog, buf.as_mut_ptr().cast());
            if status != 0 {
                return Err(self.error(status));
            }
            buf
        };
        Ok(match target {
            Target::Ptx(_) => {
                while buf.last() == Some(&0) {
                    buf.pop();
                }
                Code::Ptx(String::from_utf8_lossy(&buf).into_owned())
            }
            Target::Cubin(_) => Code::Cubin(buf),
        })
    }
}

fn toolkit_candidates(major: i32) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["CUDA_PATH", "CUDA_HOME"]
        .iter()
        .filter_map(|v| std::env::var_os(v).map(PathBuf::from))
        .collect();
    roots.push(PathBuf::from("/usr/local/cuda"));
    let mut out = Vec::new();
    for root in roots {
        for sub in ["lib64", "targets/x86_64-linux/lib", "lib"] {
            out.push(root.join(sub).join(format!("libnvrtc.so.{major}")));
        }
    }
    out
}

/// NVRTC of major version `major` (13 or 12), found once per process, or the one-line reason.
fn load_major(major: i32) -> std::result::Result<&'static Nvrtc, String> {
    static LOADED: [OnceLock<std::result::Result<Nvrtc, String>>; 2] =
        [OnceLock::new(), OnceLock::new()];
    let slot = &LOADED[usize::from(major != 13)];
    slot.get_or_init(|| {
        let soname = format!("libnvrtc.so.{major}");
        if let Ok(lib) = open(Path::new(&soname)) {
            return Nvrtc::from_library(lib, soname);
        }
        for path in toolkit_candidates(major) {
            if path.is_file() {
                open_builtins_beside(&path);
                if let Ok(lib) = open(&path) {
                    return Nvrtc::from_library(lib, path.display().to_string());
                }
            }
        }
        Err(format!("NVRTC {major} not found"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The NVRTC named by `DOUBLEDESCENT_NVRTC`, once per process.
fn load_env() -> Option<std::result::Result<&'static Nvrtc, String>> {
    static LOADED: OnceLock<Option<std::result::Result<Nvrtc, String>>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = PathBuf::from(std::env::var_os(NVRTC_ENV)?);
            Some(if path.is_file() {
                open_builtins_beside(&path);
                open(&path).and_then(|lib| Nvrtc::from_library(lib, path.display().to_string()))
            } else {
                Err(format!("{NVRTC_ENV}={} is not a file", path.display()))
            })
        })
        .as_ref()
        .map(|r| r.as_ref().map_err(|e| format!("{NVRTC_ENV}: {e}")))
}

/// The NVRTC to compile with for a device of compute capability `cc` (`None`: no device, the
/// first NVRTC found): `DOUBLEDESCENT_NVRTC` when set, else NVRTC 13 when it supports the
/// device, else NVRTC 12. The error says what was tried and why each was refused.
pub fn nvrtc_for(cc: Option<i32>) -> Result<&'static Nvrtc> {
    if let Some(env) = load_env() {
        let nvrtc = env.map_err(Error::DeviceUnavailable)?;
        if let Some(cc) = cc {
            nvrtc.target_for(cc)?;
        }
        return Ok(nvrtc);
    }
    let mut tried = Vec::new();
    for major in [13, 12] {
        match load_major(major) {
            Ok(nvrtc) => match cc.map(|cc| nvrtc.target_for(cc)) {
                Some(Err(e)) => tried.push(e.to_string()),
                _ => return Ok(nvrtc),
            },
            Err(e) => tried.push(e),
        }
    }
    Err(Error::DeviceUnavailable(format!(
        "no usable NVRTC ({}; set {NVRTC_ENV} to a libnvrtc.so file)",
        tried.join("; ")
    )))
}
