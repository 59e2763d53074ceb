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
    /// A sampler's chain stopped exploring or gave an estimate impossible for its model: MALA
    /// acceptance collapsed to 0, or λ̂ exceeds the number of parameters.
    #[error(
        "{process} {index} failed at step {step} with epsilon = {epsilon:e}: {reason}; lower the \
         step size"
    )]
    ChainFailed {
        /// `"SGLD chain"` or `"MALA chain"`.
        process: &'static str,
        /// Which chain.
        index: usize,
        /// The step at which the failure shows (the collapse's first step, or the chain's length).
        step: usize,
        /// The step size ε of the chain.
        epsilon: f64,
        /// What went wrong, with the numbers.
        reason: String,
    },
    /// An allocation the arguments ask for exceeds the memory budget: the memory this machine
    /// has available, or the limit set by [`set_memory_limit`](crate::check::set_memory_limit) or `DOUBLEDESCENT_MEMORY_LIMIT`.
    #[error("{name} needs {}, more than the {} {budget}", human_bytes(*.needed_bytes), human_bytes(*.available_bytes))]
    TooLarge {
        /// The argument or result that would be allocated, with its value where it helps.
        name: String,
        /// What it needs, in bytes (saturated at u64::MAX).
        needed_bytes: u64,
        /// The budget, in bytes.
        available_bytes: u64,
        /// Where the budget comes from (available memory, or a limit the user set).
        budget: String,
    },
}

/// 23.1 GiB, 512 MiB, 6.87e4 EiB.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
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
