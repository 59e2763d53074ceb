//! The crate-wide error type.
//!
//! Every public function that can fail returns [`Result<T>`]. Messages name the offending argument
//! and its value, so that an example can print the error as is and exit non-zero.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `doubledescent`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is outside its valid range (non-positive bandwidth, `p > d`, empty data, ...).
    #[error("invalid argument `{name}` = {value}: {reason}")]
    InvalidArgument {
        /// Name of the argument as it appears in the API.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What the valid range is.
        reason: String,
    },
    /// Two arguments have incompatible shapes.
    #[error("shape mismatch: {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which arguments disagree.
        what: String,
        /// Expected shape.
        expected: String,
        /// Actual shape.
        got: String,
    },
    /// NaN or infinity in input data.
    #[error("non-finite value in `{name}` at {location}: {value}")]
    NonFinite {
        /// Name of the argument holding the value.
        name: &'static str,
        /// Index of the value (for example `row 3, col 7`).
        location: String,
        /// The value itself.
        value: f64,
    },
    /// A setting at which a formula is singular (division by zero, interpolation threshold, ...).
    #[error("singular setting: {0}")]
    Singular(String),
    /// A numerical routine did not converge or produced a non-finite result.
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// File-system or output error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A figure could not be drawn.
    #[error("plotting error: {0}")]
    Plot(String),
    /// A backend was asked for that this machine cannot provide (CUDA without a driver, ...).
    #[error("device unavailable: {0}")]
    DeviceUnavailable(String),
    /// The CUDA driver, NVRTC or a kernel launch reported an error.
    #[error("CUDA error: {0}")]
    Device(String),
    /// Data could not be serialised or parsed.
    #[error("data format error: {0}")]
    Format(String),

    /// An external program the crate drives (`sbatch`, `squeue`, a sweep's runs) failed.
    #[error("{program} failed: {message}")]
    External {
        /// The program.
        program: String,
        /// What it said, in one line.
        message: String,
    },
    /// A sampler or training run produced a non-finite loss.
    #[error("{process} {index} diverged at step {step}: loss = {loss}; lower the step size")]
    Diverged {
        /// What diverged: `"SGLD chain"`, `"MALA chain"`, `"SGD run"`.
        process: &'static str,
        /// Which chain or run.
        index: usize,
        /// The step at which the loss stopped being finite.
        step: usize,
        /// The loss there (NaN or ±∞).
        loss: f64,
    },
    /// An allocation the arguments ask for exceeds this machine's memory.
    #[error(
        "`{name}` needs {needed_mib} MiB, more than this machine's {available_mib} MiB of memory"
    )]
    TooLarge {
        /// The argument or result that would be allocated.
        name: &'static str,
        /// What it needs.
        needed_mib: u64,
        /// Physical memory of this machine.
        available_mib: u64,
    },
}

impl Error {
    /// Convenience constructor for [`Error::InvalidArgument`].
    pub fn invalid(
        name: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidArgument {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Convenience constructor for [`Error::Io`].
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`, read once per process), or `None`
/// where it cannot be read.
fn physical_memory() -> Option<u64> {
    static TOTAL: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// Checks that a `rows × cols` matrix of `T` can be allocated: its size must not overflow and must
/// fit in physical memory. Call it before allocating anything whose size comes from user input.
pub fn check_alloc<T>(name: &'static str, rows: usize, cols: usize) -> Result<()> {
    let bytes = (rows as u128) * (cols as u128) * (std::mem::size_of::<T>() as u128);
    let available = physical_memory().map_or(isize::MAX as u128, |m| m as u128);
    if bytes > available.min(isize::MAX as u128) {
        return Err(Error::TooLarge {
            name,
            needed_mib: (bytes >> 20).min(u64::MAX as u128) as u64,
            available_mib: (available >> 20) as u64,
        });
    }
    Ok(())
}

/// The first (row, col) of `a` holding NaN or ±∞, scanning column by column.
pub(crate) fn first_non_finite<T: crate::backend::Float>(
    a: faer::MatRef<'_, T>,
) -> Option<(usize, usize)> {
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .find(|&(i, j)| !a[(i, j)].is_finite())
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of matrix `a`; `prefix` goes
/// before the position in the message (for example `matrix 3, `).
pub(crate) fn check_finite_mat_at<T: crate::backend::Float>(
    name: &'static str,
    prefix: &str,
    a: faer::MatRef<'_, T>,
) -> Result<()> {
    match first_non_finite(a) {
        Some((i, j)) => Err(Error::NonFinite {
            name,
            location: format!("{prefix}row {i}, col {j}"),
            value: a[(i, j)].to_f64(),
        }),
        None => Ok(()),
    }
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of matrix `a`.
pub(crate) fn check_finite_mat<T: crate::backend::Float>(
    name: &'static str,
    a: faer::MatRef<'_, T>,
) -> Result<()> {
    check_finite_mat_at(name, "", a)
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of `values` (indexed linearly).
pub fn check_finite(name: &'static str, values: impl IntoIterator<Item = f64>) -> Result<()> {
    for (i, v) in values.into_iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite {
                name,
                location: format!("index {i}"),
                value: v,
            });
        }
    }
    Ok(())
}
