//! The emulated CUDA device: the crate's `cuda/*.cu` sources compiled as C++ for the CPU, behind
//! the same seam as the real driver, so that every launcher and every kernel runs (and is checked)
//! where there is no GPU. It is a test instrument, not a compute device: a kernel that takes a
//! millisecond on a GPU takes seconds here.
//!
//! Selected by `DOUBLEDESCENT_EMULATE_CUDA` ([`EMULATE_ENV`]) = `1` or `h100` (Hopper's limits), or
//! `v100` (Volta's); [`Device::cuda`](crate::backend::Device::cuda) then returns the emulated
//! device, says so in its description and once on stderr.
//!
//! * **Compilation.** Each source is compiled at run time, like NVRTC does on a real card, by the
//!   C++ compiler `DOUBLEDESCENT_EMULATE_CXX` (default `c++`) into a shared library cached under
//!   the system's temporary folder (`DOUBLEDESCENT_EMULATE_CACHE` overrides it), with the SIMT
//!   header `cuda/emulate/simt.h` in front (threads as fibres, `__syncthreads` as a block barrier,
//!   warp shuffles through per-warp slots, `__shared__` as thread-local memory) and, behind it, one
//!   generated entry per kernel that unpacks `void** args` as `cuLaunchKernel` does, using the
//!   argument lists declared in [`super::launch`]. `-fsanitize=undefined` (array bounds, overflow,
//!   misaligned access; the first report aborts) is always on; `-fsanitize=address` is added when
//!   the process runs under AddressSanitizer (`LD_PRELOAD` of the compiler's `libasan.so`, as
//!   `.ci/run` does), `-fsanitize=thread` under ThreadSanitizer (`libtsan.so`), which then checks
//!   every block for data races between its threads (accesses no barrier separates).
//!   `__CUDA_ARCH__` is the card's (700 or 900).
//! * **Memory.** Every device allocation is its own mapping between two inaccessible guard pages,
//!   its end flush against the upper one: one element read or written past the end faults, as on
//!   a real device. Under AddressSanitizer the slack below the start is poisoned too. Memory from
//!   an uninitialised allocation reads as 0xFF bytes (NaN).
//! * **Launches** are checked as the driver checks them, and refused with the driver's error name:
//!   a block of more than 1024 threads or beyond (1024, 1024, 64), more threads than the kernel's
//!   `__launch_bounds__`, a grid beyond (2³¹−1, 65535, 65535) or with a zero dimension, static plus
//!   dynamic shared memory beyond the card's opt-in limit (96 KiB on the V100, 227 KiB on the
//!   H100). Blocks run in parallel on rayon's threads; the threads of a block run as fibres.
//!
//! What only a real GPU can tell: speed, the real memory ordering between threads that run at the
//! same time (here a thread runs until it blocks), and NVRTC's code generation and rounding.

use std::ffi::{c_char, c_int, c_void};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use cudarc::driver::LaunchConfig;
use libloading::Library;
use rayon::prelude::*;

use super::SOURCES;
use super::launch::signatures;
use super::source::{dynamic_shared, kernels_in};
use crate::error::{Error, Result};

/// The environment variable that selects the emulated device: `1` or `h100`, or `v100`.
pub const EMULATE_ENV: &str = "DOUBLEDESCENT_EMULATE_CUDA";
/// The C++ compiler the emulated device uses (default `c++`).
pub const EMULATE_CXX_ENV: &str = "DOUBLEDESCENT_EMULATE_CXX";
/// The folder of compiled kernel libraries (default: the system's temporary folder).
pub const EMULATE_CACHE_ENV: &str = "DOUBLEDESCENT_EMULATE_CACHE";
/// A folder whose `kernels.cu`, `svd.cu` and `sgld.cu` replace the embedded sources (to try a
/// kernel change, or a deliberate mutation, without rebuilding the crate).
pub const EMULATE_SOURCES_ENV: &str = "DOUBLEDESCENT_EMULATE_SOURCES";

/// The SIMT header, embedded like the sources.
const SIMT_H: &str = include_str!("../../../cuda/emulate/simt.h");

/// The limits of a real card that the emulated device enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Card {
    /// The card's name.
    pub name: &'static str,
    /// Compute capability, 10 × major + minor.
    pub cc: i32,
    /// Streaming multiprocessors (the launchers size their grids by it).
    pub sm_count: usize,
    /// The opt-in shared-memory limit per block, in bytes.
    pub shared_optin: usize,
    /// Device memory in bytes.
    pub memory: usize,
}

/// The Tesla V100 (sm_70): 80 SMs, 96 KiB of shared memory per block, 32 GiB.
pub const V100: Card = Card {
    name: "Tesla V100-SXM2-32GB",
    cc: 70,
    sm_count: 80,
    shared_optin: 98_304,
    memory: 32 << 30,
};

/// The H100 (sm_90): 132 SMs, 227 KiB of shared memory per block, 80 GiB.
pub const H100: Card = Card {
    name: "NVIDIA H100 80GB HBM3",
    cc: 90,
    sm_count: 132,
    shared_optin: 232_448,
    memory: 80 << 30,
};

/// The card `DOUBLEDESCENT_EMULATE_CUDA` asks for: `None` when unset, empty or `0`.
pub fn requested() -> Result<Option<Card>> {
    let Ok(v) = std::env::var(EMULATE_ENV) else {
        return Ok(None);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "0" => Ok(None),
        "1" | "h100" | "sm_90" => Ok(Some(H100)),
        "v100" | "sm_70" => Ok(Some(V100)),
        _ => Err(Error::invalid(
            EMULATE_ENV,
            v,
            "expected 1, h100 or v100 (or 0 to use a real GPU)",
        )),
    }
}

type Thunk = unsafe extern "C" fn(*mut *mut c_void);
type RunBlock = unsafe extern "C" fn(
    Thunk,
    *mut *mut c_void,
    *const u32,
    *const u32,
    u32,
    u32,
    u32,
    usize,
    *mut c_char,
    usize,
) -> c_int;

impl EmuKernel {
    /// The entry point's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// One kernel of a loaded library.
pub(crate) struct EmuKernel {
    name: String,
    thunk: Thunk,
    run_block: RunBlock,
    host_sync: unsafe extern "C" fn(c_int),
    /// `__launch_bounds__`, or 1024.
    bound: usize,
    /// Static shared memory in bytes.
    pub(crate) static_shared: usize,
}

/// The emulated device: the card it mimics and the compiled kernels' libraries.
pub(crate) struct Emulator {
    pub(crate) card: Card,
    /// `g++ (Debian 12.2.0-14) 12.2.0, UBSan + ASan`.
    pub(crate) toolchain: String,
    _libraries: Vec<Library>,
}

/// `dlsym(RTLD_DEFAULT, name)`: a symbol of the process, or null.
#[cfg(target_os = "linux")]
fn process_symbol(name: &std::ffi::CStr) -> *mut c_void {
    // SAFETY: a lookup by name in the global scope.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// Elsewhere the emulated device does not start (see [`Emulator::start`]).
#[cfg(not(target_os = "linux"))]
fn process_symbol(_: &std::ffi::CStr) -> *mut c_void {
    std::ptr::null_mut()
}

/// The sanitizer runtime the process runs under, if any: `"address"` (AddressSanitizer) or
/// `"thread"` (ThreadSanitizer), preloaded (a library cannot bring its own). The emulated device
/// compiles the kernels with the same sanitizer.
pub fn sanitizer() -> Option<&'static str> {
    if !process_symbol(c"__asan_init").is_null() {
        Some("address")
    } else if !process_symbol(c"__tsan_init").is_null() {
        Some("thread")
    } else {
        None
    }
}

/// The C++ file for one source: the SIMT header, the source, and per kernel the entry that
/// unpacks `void** args` by the launcher's declared types, its `__launch_bounds__` and its static
/// shared memory.
fn translation_unit(file: &str, text: &str) -> String {
    let mut out = String::with_capacity(SIMT_H.len() + text.len() + 4096);
    out.push_str(SIMT_H);
    out.push_str(&format!("\n#line 1 \"cuda/{file}\"\n"));
    out.push_str(text);
    out.push_str("\n#line 1 \"generated by src/backend/cuda/emulate.rs\"\n");
    // Dynamic shared memory: the `extern __shared__` arrays, defined at the largest card's size.
    let code = super::source::preprocess(text);
    let dynamic = dynamic_shared(&code);
    for (decl, _) in &dynamic {
        out.push_str(&format!("{decl}[DD_EMU_SHARED_CAP];\n"));
    }
    out.push_str(&format!(
        "static unsigned char* dd_emu_dynamic_shared() {{ return {}; }}\n",
        dynamic
            .first()
            .map_or("nullptr".into(), |(_, n)| format!("(unsigned char*){n}"))
    ));
    let declared: Vec<_> = signatures::<f32>()
        .into_iter()
        .chain(signatures::<f64>())
        .filter(|s| s.file == file)
        .collect();
    let parsed = kernels_in(&code);
    for sig in &declared {
        let args: Vec<String> = sig
            .params
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("*({ty}*)a[{i}]"))
            .collect();
        out.push_str(&format!(
            "extern \"C\" DD_EMU_RUNTIME void dd_emu_thunk_{0}(void** a) {{ {0}({1}); }}\n",
            sig.name,
            args.join(", ")
        ));
        let decl = parsed.iter().find(|k| k.name == sig.name);
        let bound = decl
            .and_then(|k| k.launch_bounds.clone())
            .unwrap_or_else(|| "1024".into());
        let shared: Vec<String> = decl
            .map(|k| {
                k.static_shared
                    .iter()
                    .map(|t| format!("sizeof({t})"))
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "extern \"C\" int dd_emu_bound_{}() {{ return {bound}; }}\n",
            sig.name
        ));
        out.push_str(&format!(
            "extern \"C\" unsigned long long dd_emu_static_shared_{}() {{ return 0ull{}; }}\n",
            sig.name,
            shared.iter().map(|s| format!(" + {s}")).collect::<String>()
        ));
    }
    out
}

/// The first line of `cxx --version`.
fn compiler_version(cxx: &str) -> std::result::Result<String, String> {
    let out = Command::new(cxx)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run the C++ compiler `{cxx}` ({e}); set {EMULATE_CXX_ENV}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or(cxx)
        .trim()
        .to_string())
}

fn cache_dir() -> PathBuf {
    std::env::var_os(EMULATE_CACHE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("doubledescent-emulate"))
}

/// Compiles one translation unit into `dir`, or reuses the library a previous run compiled from
/// the same text and flags.
fn compile(
    cxx: &str,
    version: &str,
    flags: &[String],
    dir: &Path,
    stem: &str,
    unit: &str,
) -> std::result::Result<PathBuf, String> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (version, flags, unit).hash(&mut h);
    let key = format!("{stem}-{:016x}", h.finish());
    let lib = dir.join(format!("{key}.so"));
    if lib.is_file() {
        return Ok(lib);
    }
    // Per-process names until the rename: two processes may compile the same unit at once.
    let src = dir.join(format!("{key}.{}.cpp", std::process::id()));
    std::fs::write(&src, unit).map_err(|e| format!("writing {}: {e}", src.display()))?;
    let tmp = dir.join(format!("{key}.{}.tmp.so", std::process::id()));
    let out = Command::new(cxx)
        .args(flags)
        .arg(&src)
        .arg("-o")
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run `{cxx}`: {e}"))?;
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stderr);
        let first: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("error"))
            .take(3)
            .collect();
        return Err(format!(
            "`{cxx}` could not compile {} for the emulated device: {}",
            src.display(),
            first.join(" | ")
        ));
    }
    std::fs::rename(&tmp, &lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    // Kept beside the library: the sanitizers' reports name its lines.
    std::fs::rename(&src, dir.join(format!("{key}.cpp"))).ok();
    Ok(lib)
}

impl Emulator {
    /// Compiles and loads every source for `card`: the emulator and its kernels by name.
    pub(crate) fn start(card: Card) -> std::result::Result<(Emulator, Vec<EmuKernel>), String> {
        if !cfg!(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        )) {
            return Err("the emulated CUDA device runs on Linux (x86-64 or aarch64) only".into());
        }
        let cxx = std::env::var(EMULATE_CXX_ENV).unwrap_or_else(|_| "c++".into());
        let version = compiler_version(&cxx)?;
        let sanitizer = sanitizer();
        let mut flags: Vec<String> = [
            "-std=c++17",
            "-O2",
            "-g",
            "-fPIC",
            "-shared",
            "-fno-omit-frame-pointer",
            "-Wall",
            "-Wno-unknown-pragmas",
            "-Wno-unused-function",
            "-fsanitize=undefined",
            "-fno-sanitize-recover=all",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(which) = sanitizer {
            flags.push(format!("-fsanitize={which}"));
        }
        flags.push(format!("-D__CUDA_ARCH__={}", card.cc * 10));
        let dir = cache_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let texts: Vec<String> = match std::env::var_os(EMULATE_SOURCES_ENV) {
            None => SOURCES.iter().map(|s| s.text.to_string()).collect(),
            Some(folder) => SOURCES
                .iter()
                .map(|s| {
                    let p = Path::new(&folder).join(s.file);
                    std::fs::read_to_string(&p).map_err(|e| {
                        format!("{EMULATE_SOURCES_ENV}: cannot read {}: {e}", p.display())
                    })
                })
                .collect::<std::result::Result<_, _>>()?,
        };
        // The sources compile in parallel (a few seconds each).
        let libs: Vec<std::result::Result<PathBuf, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = SOURCES
                .iter()
                .zip(&texts)
                .map(|(src, text)| {
                    let (cxx, version, flags, dir) = (&cxx, &version, &flags, &dir);
                    s.spawn(move || {
                        let stem = src.file.trim_end_matches(".cu");
                        let unit = translation_unit(src.file, text);
                        compile(cxx, version, flags, dir, stem, &unit)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("compiler thread panicked".into()))
                })
                .collect()
        });
        let mut libraries = Vec::new();
        let mut kernels = Vec::new();
        for (src, lib) in SOURCES.iter().zip(libs) {
            let path = lib?;
            // SAFETY: a library this function just compiled from the crate's own sources; its
            // initialisers are the sanitizers' and the C++ runtime's.
            let library = unsafe { Library::new(&path) }
                .map_err(|e| format!("loading {}: {e}", path.display()))?;
            // SAFETY: the symbols have the types the generated code and simt.h define.
            unsafe {
                let run_block = *library
                    .get::<RunBlock>(b"dd_emu_run_block\0")
                    .map_err(|e| format!("{}: {e}", src.file))?;
                let host_sync = *library
                    .get::<unsafe extern "C" fn(c_int)>(b"dd_emu_host_sync\0")
                    .map_err(|e| format!("{}: {e}", src.file))?;
                for entry in src.entries() {
                    let get = |what: &str| format!("dd_emu_{what}_{entry}\0");
                    let thunk = *library
                        .get::<Thunk>(get("thunk").as_bytes())
                        .map_err(|e| format!("{entry}: {e}"))?;
                    let bound = library
                        .get::<unsafe extern "C" fn() -> c_int>(get("bound").as_bytes())
                        .map_err(|e| format!("{entry}: {e}"))?();
                    let fixed = library
                        .get::<unsafe extern "C" fn() -> u64>(get("static_shared").as_bytes())
                        .map_err(|e| format!("{entry}: {e}"))?();
                    kernels.push(EmuKernel {
                        name: entry,
                        thunk,
                        run_block,
                        host_sync,
                        bound: bound.clamp(1, 1024) as usize,
                        static_shared: fixed as usize,
                    });
                }
            }
            libraries.push(library);
        }
        let sanitizers = match sanitizer {
            Some("address") => "UBSan + ASan",
            Some(_) => "UBSan + TSan",
            None => "UBSan",
        };
        Ok((
            Emulator {
                card,
                toolchain: format!("{version}, {sanitizers}"),
                _libraries: libraries,
            },
            kernels,
        ))
    }

    /// Device memory not yet allocated.
    pub(crate) fn free_memory(&self) -> usize {
        self.card
            .memory
            .saturating_sub(ALLOCATED.load(Ordering::Relaxed))
    }

    /// A buffer of `bytes` bytes between guard pages, filled with `fill`.
    pub(crate) fn alloc(&self, bytes: usize, fill: u8) -> Result<EmuBuffer> {
        let oom = || {
            Error::Device(format!(
                "CUDA_ERROR_OUT_OF_MEMORY: {bytes} bytes on the emulated {} ({} free)",
                self.card.name,
                self.free_memory()
            ))
        };
        if bytes > self.free_memory() {
            return Err(oom());
        }
        EmuBuffer::map(bytes, fill).ok_or_else(oom)
    }

    /// Runs `k` over the grid of `cfg` with the packed arguments, after the driver's checks.
    pub(crate) fn launch(&self, k: &EmuKernel, cfg: &LaunchConfig, args: &EmuArgs) -> Result<()> {
        let refuse = |code: &str, why: String| {
            Err(Error::Device(format!(
                "launching {} on the emulated {}: {code}: {why}",
                k.name, self.card.name
            )))
        };
        let (g, b) = (cfg.grid_dim, cfg.block_dim);
        let threads = b.0 as u64 * b.1 as u64 * b.2 as u64;
        if threads == 0 || g.0 == 0 || g.1 == 0 || g.2 == 0 {
            return refuse(
                "CUDA_ERROR_INVALID_VALUE",
                format!("grid {g:?} or block {b:?} has a zero dimension"),
            );
        }
        if threads > 1024 || b.0 > 1024 || b.1 > 1024 || b.2 > 64 {
            return refuse(
                "CUDA_ERROR_INVALID_VALUE",
                format!("block {b:?} exceeds 1024 threads or (1024, 1024, 64)"),
            );
        }
        if threads > k.bound as u64 {
            return refuse(
                "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
                format!("block of {threads} threads, __launch_bounds__({})", k.bound),
            );
        }
        if g.0 > i32::MAX as u32 || g.1 > 65_535 || g.2 > 65_535 {
            return refuse(
                "CUDA_ERROR_INVALID_VALUE",
                format!("grid {g:?} exceeds (2147483647, 65535, 65535)"),
            );
        }
        let dynamic = cfg.shared_mem_bytes as usize;
        if k.static_shared + dynamic > self.card.shared_optin {
            return refuse(
                "CUDA_ERROR_INVALID_VALUE",
                format!(
                    "{} bytes of static and {dynamic} of dynamic shared memory exceed the card's {}",
                    k.static_shared, self.card.shared_optin
                ),
            );
        }
        let grid = [g.0, g.1, g.2];
        let block = [b.0, b.1, b.2];
        let mut pointers: Vec<*mut c_void> = args
            .slots
            .iter()
            .map(|s| s as *const u64 as *mut c_void)
            .collect();
        let shared = Shared(pointers.as_mut_ptr());
        let blocks = g.0 as u64 * g.1 as u64 * g.2 as u64;
        // SAFETY: a function of the kernel's library without arguments to check.
        unsafe { (k.host_sync)(0) };
        let failure = (0..blocks).into_par_iter().find_map_first(|lin| {
            let shared = &shared;
            let (bx, rest) = ((lin % g.0 as u64) as u32, lin / g.0 as u64);
            let (by, bz) = ((rest % g.1 as u64) as u32, (rest / g.1 as u64) as u32);
            let mut err = [0u8; 1024];
            // SAFETY: the thunk and run_block come from the library compiled for this kernel;
            // the argument slots hold the kernel's declared parameters and outlive the launch;
            // the buffers they point to are the launcher's, sized by its safety contract.
            let rc = unsafe {
                (k.run_block)(
                    k.thunk,
                    shared.0,
                    grid.as_ptr(),
                    block.as_ptr(),
                    bx,
                    by,
                    bz,
                    dynamic,
                    err.as_mut_ptr().cast(),
                    err.len(),
                )
            };
            (rc != 0).then(|| {
                let end = err.iter().position(|&c| c == 0).unwrap_or(err.len());
                String::from_utf8_lossy(&err[..end]).into_owned()
            })
        });
        // SAFETY: as above.
        unsafe { (k.host_sync)(1) };
        match failure {
            Some(why) => Err(Error::Device(format!(
                "launching {} on the emulated {}: {why}",
                k.name, self.card.name
            ))),
            None => Ok(()),
        }
    }
}

/// The argument array of one launch, shared read-only by the blocks.
struct Shared(*mut *mut c_void);
// SAFETY: the slots are only read during the launch, which the caller waits for.
unsafe impl Sync for Shared {}

/// A launch's arguments: one 8-byte slot per parameter, holding its value (a device pointer or
/// a scalar) in the slot's first bytes, as the entry's `*(T*)a[i]` reads it.
#[derive(Default)]
pub(crate) struct EmuArgs {
    slots: Vec<u64>,
}

impl EmuArgs {
    /// Appends one value of at most 8 bytes.
    pub(crate) fn push<V: Copy>(&mut self, v: V) {
        const { assert!(std::mem::size_of::<V>() <= 8) };
        let mut slot = 0u64;
        // SAFETY: copies size_of::<V>() ≤ 8 bytes of a Copy value into the slot.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&v as *const V).cast::<u8>(),
                (&mut slot as *mut u64).cast::<u8>(),
                std::mem::size_of::<V>(),
            )
        };
        self.slots.push(slot);
    }
}

/// Device memory of the emulated device: its own mapping, [guard page | slack | data | guard page],
/// the data's end flush against the upper guard page.
pub(crate) struct EmuBuffer {
    map: *mut u8,
    map_len: usize,
    data: *mut u8,
}

// SAFETY: a plain allocation; access is synchronised by the launchers (one stream).
unsafe impl Send for EmuBuffer {}
unsafe impl Sync for EmuBuffer {}

const PAGE: usize = 4096;

/// Bytes mapped for the emulated device's buffers (there is one emulated device per process).
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

type Poison = unsafe extern "C" fn(*const c_void, usize);

impl EmuBuffer {
    #[cfg(not(target_os = "linux"))]
    fn map(_: usize, _: u8) -> Option<EmuBuffer> {
        None
    }

    #[cfg(target_os = "linux")]
    fn map(bytes: usize, fill: u8) -> Option<EmuBuffer> {
        let data_pages = bytes.div_ceil(PAGE).max(1);
        let map_len = (data_pages + 2) * PAGE;
        // SAFETY: an anonymous private mapping; the guard pages are then made inaccessible.
        let map = unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if m == libc::MAP_FAILED {
                return None;
            }
            let m = m.cast::<u8>();
            libc::mprotect(m.cast(), PAGE, libc::PROT_NONE);
            libc::mprotect(m.add(map_len - PAGE).cast(), PAGE, libc::PROT_NONE);
            m
        };
        // SAFETY: within the mapping.
        let data = unsafe { map.add(map_len - PAGE - bytes) };
        let slack_start = unsafe { map.add(PAGE) };
        // SAFETY: the data and slack pages are readable and writable.
        unsafe { std::ptr::write_bytes(slack_start, fill, map_len - 2 * PAGE) };
        let buf = EmuBuffer { map, map_len, data };
        buf.poison_slack(c"__asan_poison_memory_region");
        ALLOCATED.fetch_add(map_len, Ordering::Relaxed);
        Some(buf)
    }

    fn poison_slack(&self, which: &std::ffi::CStr) {
        let f = process_symbol(which);
        if !f.is_null() {
            // SAFETY: ASan's (un)poisoning entry point, over the slack pages of this mapping.
            unsafe {
                let f: Poison = std::mem::transmute::<*mut c_void, Poison>(f);
                let start = self.map.add(PAGE);
                f(start.cast(), self.data.offset_from(start) as usize);
            }
        }
    }

    /// The first byte of the data.
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.data
    }
}

impl Drop for EmuBuffer {
    fn drop(&mut self) {
        self.poison_slack(c"__asan_unpoison_memory_region");
        // SAFETY: the mapping made in `map`.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::munmap(self.map.cast(), self.map_len)
        };
        ALLOCATED.fetch_sub(self.map_len, Ordering::Relaxed);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn cfg(grid: (u32, u32, u32), block: (u32, u32, u32), shared: u32) -> LaunchConfig {
        LaunchConfig {
            grid_dim: grid,
            block_dim: block,
            shared_mem_bytes: shared,
        }
    }

    /// The V100's limits; a machine without a C++ compiler says why and passes.
    fn v100() -> Option<(Emulator, Vec<EmuKernel>)> {
        match Emulator::start(V100) {
            Ok(e) => Some(e),
            Err(e) if e.contains("cannot run the C++ compiler") => {
                eprintln!("SKIPPED: {e}");
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Static shared memory as the driver would report it (from the declarations in the
    /// sources, counted by hand), launches that run, and launches beyond the card's limits
    /// refused with the driver's error names before anything runs.
    #[test]
    fn launches_beyond_the_cards_limits_are_refused_like_the_driver_refuses_them() {
        let Some((emu, ks)) = v100() else { return };
        let k = |n: &str| ks.iter().find(|k| k.name == n).unwrap();
        // xs, zs: 16 × 65 values each; ws: 64 × 8; tile: 32 × 33; `rotated`: one int.
        assert_eq!(k("dd_kmat_f32").static_shared, 2 * 16 * 65 * 4);
        assert_eq!(k("dd_kw_f64").static_shared, (2 * 16 * 65 + 64 * 8) * 8);
        assert_eq!(k("dd_mirror_f64").static_shared, 32 * 33 * 8);
        assert_eq!(k("dd_jacobi_svd_f32").static_shared, 4);
        assert_eq!(k("dd_sgld_update_f64").static_shared, 0);
        assert_eq!(
            (k("dd_kmat_f64").bound, k("dd_sqnorms_f32").bound),
            (256, 1024)
        );

        // ‖x_i‖² of 3 rows of 40 ones, one warp per row: 40 each, written over the NaN fill.
        let (n, d) = (3usize, 40usize);
        let x = emu.alloc(4 * n * d, 0).unwrap();
        // SAFETY: the mapping holds n·d floats.
        unsafe { std::slice::from_raw_parts_mut(x.ptr().cast::<f32>(), n * d) }.fill(1.0);
        let out = emu.alloc(4 * n, 0xFF).unwrap();
        let mut args = EmuArgs::default();
        args.push(x.ptr() as *const f32);
        args.push(out.ptr().cast::<f32>());
        args.push(n as i32);
        args.push(d as i32);
        let sq = k("dd_sqnorms_f32");
        emu.launch(sq, &cfg((1, 1, 1), (96, 1, 1), 0), &args)
            .unwrap();
        // SAFETY: the mapping holds n floats.
        let norms = unsafe { std::slice::from_raw_parts(out.ptr().cast::<f32>(), n) };
        assert_eq!(norms, [40.0; 3]);

        let refused = |k: &EmuKernel, c: LaunchConfig, code: &str| {
            let e = emu.launch(k, &c, &args).unwrap_err().to_string();
            assert!(e.contains(code) && e.contains(&k.name), "{e}");
        };
        for (grid, block) in [
            ((1, 1, 1), (2048, 1, 1)),
            ((1, 1, 1), (1, 1, 65)),
            ((0, 1, 1), (32, 1, 1)),
            ((1, 65_536, 1), (32, 1, 1)),
        ] {
            refused(sq, cfg(grid, block, 0), "CUDA_ERROR_INVALID_VALUE");
        }
        // __launch_bounds__(256): a 16 × 32 block of dd_kmat.
        refused(
            k("dd_kmat_f32"),
            cfg((1, 1, 1), (16, 32, 1), 0),
            "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
        );
        // 96 KiB in all on the V100: 4 bytes static, so 98 300 dynamic at most.
        let svd = k("dd_jacobi_svd_f64");
        refused(svd, cfg((1, 1, 1), (32, 1, 1), 98_301), "shared memory");
    }
}
