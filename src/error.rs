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

/// The first (row, col) of `a` holding NaN or ±∞, scanning column by column.
pub(crate) fn first_non_finite<T: crate::scalar::Float>(
    a: faer::MatRef<'_, T>,
) -> Option<(usize, usize)> {
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .find(|&(i, j)| !a[(i, j)].is_finite())
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of matrix `a`; `prefix` goes
/// before the position in the message (for example `matrix 3, `).
pub(crate) fn check_finite_mat_at<T: crate::scalar::Float>(
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
pub(crate) fn check_finite_mat<T: crate::scalar::Float>(
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
