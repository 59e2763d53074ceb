//! The IDX format of the MNIST files (LeCun et al.), plain or gzip-compressed.
//!
//! Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type MNIST uses), the number
//! of dimensions, then every dimension as a big-endian u32, then the values in row-major order.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Dataset, Split};
use crate::error::{Error, Result};

/// An unsigned-byte IDX array.
#[derive(Clone, Debug)]
pub struct IdxArray {
    /// The dimensions, outermost first (for example `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file; a `.gz` file (detected by its magic bytes, not its name) is decompressed.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_idx_bytes(&bytes, &path.display().to_string())
}

/// Parses IDX bytes (gzip or not); `what` names the source in error messages.
pub fn read_idx_bytes(bytes: &[u8], what: &str) -> Result<IdxArray> {
    let raw;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| Error::Format(format!("{what}: gzip stream is corrupt: {e}")))?;
        raw = out;
        &raw[..]
    } else {
        bytes
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::Format(format!(
            "{what}: not an IDX file (the first two bytes must be zero)"
        )));
    }
    if bytes[2] != 0x08 {
        return Err(Error::Format(format!(
            "{what}: IDX value type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(Error::Format(format!(
            "{what}: truncated IDX header ({ndim} dimensions, {} bytes)",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|k| {
            let b = &bytes[4 + 4 * k..8 + 4 * k];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Format(format!("{what}: IDX dimensions {dims:?} overflow")))?;
    if bytes.len() - header != len {
        return Err(Error::Format(format!(
            "{what}: IDX dimensions {dims:?} need {len} values, the file holds {}",
            bytes.len() - header
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// The full public MNIST split from folder `dir`: `train-images-idx3-ubyte` and
/// `train-labels-idx1-ubyte` (or `t10k-*` for [`Split::Test`]), with or without `.gz`.
pub fn mnist(dir: impl AsRef<Path>, split: Split) -> Result<Dataset> {
    let dir = dir.as_ref();
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images = read_idx(find(dir, &format!("{prefix}-images-idx3-ubyte"))?)?;
    let labels = read_idx(find(dir, &format!("{prefix}-labels-idx1-ubyte"))?)?;
    Dataset::from_idx(images, labels, 10)
}

/// `dir/name`, or `dir/name.gz`, or the same with torchvision's `MNIST/raw/` layout.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let candidates = [
        dir.join(name),
        dir.join(format!("{name}.gz")),
        dir.join("MNIST/raw").join(name),
        dir.join("MNIST/raw").join(format!("{name}.gz")),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::io(
                dir.join(name),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no {name} or {name}.gz in {}", dir.display()),
                ),
            )
        })
}
