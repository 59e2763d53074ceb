//! The IDX format of the MNIST files (LeCun et al.), plain or gzip-compressed.
//!
//! Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type MNIST uses), the number
//! of dimensions, then every dimension as a big-endian u32, then the values in row-major order.

use std::io::{BufRead, Read};
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

/// Bytes read past the declared end of a gzip-compressed IDX array to detect trailing data.
const TRAILING_SLACK: u64 = 64 << 10;

/// Reads an IDX file; a gzip file (detected by its magic bytes, not its name; every member of a
/// multi-member file, as `zcat` reads it) is decompressed. The header is read first, and no
/// more is read or decompressed than it declares (plus `TRAILING_SLACK` bytes to report
/// trailing data), after checking that size against the memory budget.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_idx_from(std::io::BufReader::new(file), &path.display().to_string())
}

/// Parses IDX bytes (gzip or not); `what` names the source in error messages.
pub fn read_idx_bytes(bytes: &[u8], what: &str) -> Result<IdxArray> {
    read_idx_from(bytes, what)
}

/// [`read_idx`] on any buffered reader.
pub fn read_idx_from(mut reader: impl BufRead, what: &str) -> Result<IdxArray> {
    let io = |e: std::io::Error| Error::Format(format!("{what}: {e}"));
    let gzip = reader.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        let decoder = flate2::bufread::MultiGzDecoder::new(reader);
        parse(decoder, what, true)
    } else {
        parse(reader, what, false)
    }
}

fn parse(mut r: impl Read, what: &str, gzip: bool) -> Result<IdxArray> {
    let fail = |e: std::io::Error| {
        if gzip && e.kind() != std::io::ErrorKind::UnexpectedEof {
            Error::Format(format!("{what}: gzip stream is corrupt: {e}"))
        } else {
            Error::Format(format!("{what}: {e}"))
        }
    };
    let mut head = [0u8; 4];
    let got = read_full(&mut r, &mut head).map_err(fail)?;
    if got < 4 || head[0] != 0 || head[1] != 0 {
        return Err(Error::Format(format!(
            "{what}: not an IDX file (the first two bytes must be zero)"
        )));
    }
    if head[2] != 0x08 {
        return Err(Error::Format(format!(
            "{what}: IDX value type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
            head[2]
        )));
    }
    let ndim = head[3] as usize;
    let mut dim_bytes = vec![0u8; 4 * ndim];
    let got = read_full(&mut r, &mut dim_bytes).map_err(fail)?;
    if ndim == 0 || got < 4 * ndim {
        return Err(Error::Format(format!(
            "{what}: truncated IDX header ({ndim} dimensions, {} bytes)",
            4 + got
        )));
    }
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Format(format!("{what}: IDX dimensions {dims:?} overflow")))?;
    // The declared size, as bytes and as the f32 pixels a dataset makes of them.
    crate::check::check_bytes(
        format!("{what}: IDX array of dimensions {dims:?}"),
        len as u128 * 5,
    )?;
    let mut data = Vec::new();
    (&mut r)
        .take(len as u64)
        .read_to_end(&mut data)
        .map_err(fail)?;
    if data.len() != len {
        return Err(Error::Format(format!(
            "{what}: IDX dimensions {dims:?} need {len} values, the file holds {}",
            data.len()
        )));
    }
    let mut extra = Vec::new();
    r.take(TRAILING_SLACK)
        .read_to_end(&mut extra)
        .map_err(fail)?;
    if !extra.is_empty() {
        return Err(Error::Format(format!(
            "{what}: IDX dimensions {dims:?} need {len} values, the file holds {}{} more \
             (trailing data)",
            if extra.len() as u64 == TRAILING_SLACK {
                "at least "
            } else {
                ""
            },
            extra.len()
        )));
    }
    Ok(IdxArray { dims, data })
}

/// Fills `buf` as far as the reader goes; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
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
