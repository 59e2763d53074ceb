//! Ratios against a baseline measured in the same run: after a group, the benches read the
//! medians criterion wrote (`target/criterion/<group>/<id>/new/estimates.json`) and print
//! each row against the baseline, so a speed-up is read off the run itself.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::SystemTime;

/// When this bench process started reading: estimates older than this are from another run.
static START: LazyLock<SystemTime> = LazyLock::new(SystemTime::now);

/// Marks the start of the run (call before the first group), so that only medians this run
/// wrote are used.
pub fn start() {
    LazyLock::force(&START);
}

/// Criterion's median time in ns of `group`/`id`, if this run wrote it (after [`start`]).
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let root = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let safe = |s: &str| s.replace(['/', '\\', ':', '?', '"', '<', '>', '|', '*'], "_");
    let mut path = root.join(safe(group));
    for part in id.split('/') {
        path = path.join(safe(part));
    }
    let file = path.join("new/estimates.json");
    let fresh = std::fs::metadata(&file).ok()?.modified().ok()? >= *START;
    if !fresh {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// Prints each row's time against the baseline's (and the speed-up or slow-down) for `group`.
pub fn print_ratios(group: &str, baseline: &str, rows: &[&str]) {
    let Some(base) = median_ns(group, baseline) else {
        eprintln!("{group}: no median of this run for the baseline {baseline} (filtered out?)");
        return;
    };
    for row in rows {
        match median_ns(group, row) {
            Some(t) => println!(
                "{group}: {row} {:.3} ms = {:.2}x the time of {baseline} ({:.3} ms): {}",
                t / 1e6,
                t / base,
                base / 1e6,
                if t <= base {
                    format!("{:.2}x faster", base / t)
                } else {
                    format!("{:.2}x slower", t / base)
                }
            ),
            None => eprintln!("{group}: no median of this run for {row} (filtered out?)"),
        }
    }
}
