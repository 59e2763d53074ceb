//! The CIFAR-10 binary format (Krizhevsky 2009, `cifar-10-binary.tar.gz`): records of one label
//! byte and 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each a 32×32 row-major plane).

use std::path::Path;

use super::{Dataset, Split};
use crate::error::{Error, Result};

const RECORD: usize = 1 + 3072;

/// The CIFAR-10 split from folder `dir` (the extracted `cifar-10-batches-bin`, or its parent):
/// `data_batch_1.bin` … `data_batch_5.bin` for [`Split::Train`], `test_batch.bin` for
/// [`Split::Test`]. Pixels keep the file's channel-planar order and are divided by 256.
pub fn cifar10(dir: impl AsRef<Path>, split: Split) -> Result<Dataset> {
    let mut dir = dir.as_ref().to_path_buf();
    if dir.join("cifar-10-batches-bin").is_dir() {
        dir = dir.join("cifar-10-batches-bin");
    }
    let files: Vec<String> = match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".into()],
    };
    // The files' sizes are checked (whole records, and the f32 pixels they make within the
    // memory budget) before any is read.
    let mut total: u128 = 0;
    for f in &files {
        let path = dir.join(f);
        let len = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        if len == 0 || len % RECORD as u64 != 0 {
            return Err(Error::Format(format!(
                "{}: {len} bytes is not a whole number of {RECORD}-byte CIFAR-10 records",
                path.display()
            )));
        }
        total += u128::from(len);
    }
    crate::check::check_bytes(
        format!("CIFAR-10 {} files in {}", files.len(), dir.display()),
        total * 5,
    )?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for f in files {
        let path = dir.join(&f);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(Error::Format(format!(
                "{}: {} bytes is not a whole number of {RECORD}-byte CIFAR-10 records",
                path.display(),
                bytes.len()
            )));
        }
        for rec in bytes.chunks_exact(RECORD) {
            labels.push(rec[0]);
            pixels.extend(rec[1..].iter().map(|&b| b as f32 / 256.0));
        }
    }
    Dataset::new(pixels, labels, 3072, 10)
}
