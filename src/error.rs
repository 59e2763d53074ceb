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
    /// has available, or the limit set by [`set_memory_limit`] or `DOUBLEDESCENT_MEMORY_LIMIT`.
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

/// The environment variable that caps the memory a run may allocate: bytes, or a number with
/// a suffix K, M, G or T (powers of 1024), for example `DOUBLEDESCENT_MEMORY_LIMIT=8G`.
pub const MEMORY_LIMIT_ENV: &str = "DOUBLEDESCENT_MEMORY_LIMIT";

/// The limit set through [`set_memory_limit`] (0: none).
static MEMORY_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Caps the memory that one allocation sized from user input may take (`None`: no cap beyond
/// the machine's available memory). Takes precedence over `DOUBLEDESCENT_MEMORY_LIMIT`.
pub fn set_memory_limit(bytes: Option<u64>) {
    MEMORY_LIMIT.store(
        bytes.unwrap_or(0).max(u64::from(bytes.is_some())),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// Parses a memory size: bytes, or a number (may be fractional) with a suffix K, M, G or T
/// (powers of 1024, an optional trailing `B` or `iB`).
pub fn parse_memory_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let body = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (num, shift) = match body.chars().last() {
        Some('K') => (&body[..body.len() - 1], 10),
        Some('M') => (&body[..body.len() - 1], 20),
        Some('G') => (&body[..body.len() - 1], 30),
        Some('T') => (&body[..body.len() - 1], 40),
        _ => (body, 0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 && v * ((1u64 << shift) as f64) < u64::MAX as f64 => {
            Ok((v * (1u64 << shift) as f64) as u64)
        }
        _ => Err(Error::invalid(
            "memory size",
            format!("{t:?}"),
            "must be a positive number of bytes, optionally with K, M, G or T (e.g. 8G)",
        )),
    }
}

/// Bytes of memory available to a new allocation (`MemAvailable` of `/proc/meminfo`), or
/// `None` where it cannot be read.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The memory budget for one allocation sized from user input and where it comes from: the
/// limit of [`set_memory_limit`], else `DOUBLEDESCENT_MEMORY_LIMIT`, capped by the memory this
/// machine has available now (and by `isize::MAX`).
pub fn memory_budget() -> Result<(u64, String)> {
    let mut budget = (isize::MAX as u64, "addressable".to_string());
    if let Some(avail) = available_memory() {
        budget = (avail, "available on this machine".into());
    }
    let set = MEMORY_LIMIT.load(std::sync::atomic::Ordering::Relaxed);
    let user = if set > 0 {
        Some((set, "allowed by set_memory_limit".to_string()))
    } else {
        match std::env::var(MEMORY_LIMIT_ENV) {
            Ok(v) => Some((
                parse_memory_size(&v).map_err(|_| {
                    Error::invalid(
                        "DOUBLEDESCENT_MEMORY_LIMIT",
                        format!("{v:?}"),
                        "must be a positive number of bytes, optionally with K, M, G or T",
                    )
                })?,
                format!("allowed by {MEMORY_LIMIT_ENV}"),
            )),
            Err(_) => None,
        }
    };
    if let Some(u) = user
        && u.0 < budget.0
    {
        budget = u;
    }
    Ok(budget)
}

/// Checks that `bytes` (computed with checked or wide arithmetic from user input) fit in the
/// memory budget ([`memory_budget`]); `name` says what they are for, in the user's terms (for
/// example "`lambdas` = 10000000000: the E_G grid").
pub fn check_bytes(name: impl Into<String>, bytes: u128) -> Result<()> {
    let (available, budget) = memory_budget()?;
    if bytes > u128::from(available) {
        return Err(Error::TooLarge {
            name: name.into(),
            needed_bytes: bytes.min(u128::from(u64::MAX)) as u64,
            available_bytes: available,
            budget,
        });
    }
    Ok(())
}

/// Checks that a `rows × cols` matrix of `T` can be allocated: its size must not overflow and must
/// fit in the memory budget ([`memory_budget`]). Call it before allocating anything whose size
/// comes from user input.
pub fn check_alloc<T>(name: &str, rows: usize, cols: usize) -> Result<()> {
    let bytes = (rows as u128) * (cols as u128) * (std::mem::size_of::<T>() as u128);
    check_bytes(name, bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_memory_size("1024").unwrap(), 1024);
        assert_eq!(parse_memory_size("8G").unwrap(), 8 << 30);
        assert_eq!(parse_memory_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_memory_size(" 512MiB ").unwrap(), 512 << 20);
        assert_eq!(parse_memory_size("2TB").unwrap(), 2 << 40);
        for bad in ["", "G", "-1G", "0", "NaN", "1e30T", "8X"] {
            assert!(
                matches!(parse_memory_size(bad), Err(Error::InvalidArgument { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_memory_limit_caps_the_budget_and_can_be_lifted() {
        set_memory_limit(Some(1 << 30));
        let capped = memory_budget().unwrap().0;
        let refused = check_alloc::<f64>("probe", 1 << 20, 1 << 8); // 2 GiB
        set_memory_limit(None);
        assert!(capped <= 1 << 30, "{capped}");
        match refused {
            Err(Error::TooLarge {
                needed_bytes,
                available_bytes,
                ..
            }) => assert_eq!((needed_bytes, available_bytes), (2 << 30, capped)),
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(
            !matches!(
                memory_budget().unwrap().1.as_str(),
                "allowed by set_memory_limit"
            ),
            "the limit was not lifted"
        );
    }
}
