//! Checks made before any work: the memory budget that sizes from user input are held to, and
//! the finiteness of inputs. They sit above [`crate::backend`] (they read the scalar type) and
//! below everything that allocates; [`crate::error`] holds only the error type.

use crate::backend::Float;
use crate::error::{Error, Result};

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

/// The limit the user set: [`set_memory_limit`], else `DOUBLEDESCENT_MEMORY_LIMIT`, with where it
/// comes from (`None`: no limit set).
fn user_limit() -> Result<Option<(u64, String)>> {
    let set = MEMORY_LIMIT.load(std::sync::atomic::Ordering::Relaxed);
    if set > 0 {
        return Ok(Some((set, "allowed by set_memory_limit".to_string())));
    }
    match std::env::var(MEMORY_LIMIT_ENV) {
        Ok(v) => Ok(Some((
            parse_memory_size(&v).map_err(|_| {
                Error::invalid(
                    "DOUBLEDESCENT_MEMORY_LIMIT",
                    format!("{v:?}"),
                    "must be a positive number of bytes, optionally with K, M, G or T",
                )
            })?,
            format!("allowed by {MEMORY_LIMIT_ENV}"),
        ))),
        Err(_) => Ok(None),
    }
}

/// The memory budget for one allocation sized from user input and where it comes from: the
/// limit of [`set_memory_limit`], else `DOUBLEDESCENT_MEMORY_LIMIT`, capped by the memory this
/// machine has available now (and by `isize::MAX`).
pub fn memory_budget() -> Result<(u64, String)> {
    let mut budget = (isize::MAX as u64, "addressable".to_string());
    if let Some(avail) = available_memory() {
        budget = (avail, "available on this machine".into());
    }
    if let Some(u) = user_limit()?
        && u.0 < budget.0
    {
        budget = u;
    }
    Ok(budget)
}

/// Below this many bytes an allocation is held to the user's limit only: reading the machine's
/// available memory costs a file read (about 19 µs here), which callers that allocate small blocks in
/// a loop (EigenPro's batches, kernel products from Python) would pay on every call.
const SMALL_ALLOCATION: u128 = 16 << 20;

/// Checks that `bytes` (computed with checked or wide arithmetic from user input) fit in the
/// memory budget ([`memory_budget`]); `name` says what they are for, in the user's terms (for
/// example "`lambdas` = 10000000000: the E_G grid").
pub fn check_bytes(name: impl Into<String>, bytes: u128) -> Result<()> {
    let (available, budget) = if bytes < SMALL_ALLOCATION {
        match user_limit()? {
            Some(limit) => limit,
            None => return Ok(()),
        }
    } else {
        memory_budget()?
    };
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
pub(crate) fn first_non_finite<T: Float>(a: faer::MatRef<'_, T>) -> Option<(usize, usize)> {
    (0..a.ncols())
        .flat_map(|j| (0..a.nrows()).map(move |i| (i, j)))
        .find(|&(i, j)| !a[(i, j)].is_finite())
}

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of matrix `a`; `prefix` goes
/// before the position in the message (for example `matrix 3, `).
pub(crate) fn check_finite_mat_at<T: Float>(
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
pub(crate) fn check_finite_mat<T: Float>(name: &'static str, a: faer::MatRef<'_, T>) -> Result<()> {
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
