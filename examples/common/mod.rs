//! Helpers shared by the teacher–student examples.
#![allow(dead_code)]

use doubledescent::figure::{Rgb, Table};

/// Colours of the original fig3 (κ in increasing order).
pub const KAPPA_COLORS: [Rgb; 7] = [
    Rgb::hex(0x4337CD),
    Rgb::hex(0x4B62F4),
    Rgb::hex(0x4B8FE8),
    Rgb::hex(0x52B2CD),
    Rgb::hex(0x67C59A),
    Rgb::hex(0xA6C859),
    Rgb::hex(0xEDB832),
];

/// `t + 1` for every time (the original figures' x axis).
pub fn plus_one(times: &[f64]) -> Vec<f64> {
    times.iter().map(|t| t + 1.0).collect()
}

/// First local minimum and the largest later local maximum of a curve (x, y), as in the
/// spec's "min … @ x, max … @ x" summaries; `None` when the curve is monotone there.
pub fn min_then_max(x: &[f64], y: &[f64]) -> (Option<(f64, f64)>, Option<(f64, f64)>) {
    let n = y.len();
    let first_min = (1..n.saturating_sub(1)).find(|&i| y[i] < y[i - 1] && y[i] <= y[i + 1]);
    let Some(i) = first_min else {
        return (None, None);
    };
    let later_max = (i + 1..n.saturating_sub(1))
        .filter(|&j| y[j] > y[j - 1] && y[j] >= y[j + 1])
        .max_by(|&a, &b| y[a].total_cmp(&y[b]));
    (Some((x[i], y[i])), later_max.map(|j| (x[j], y[j])))
}

/// "0.2329 @ 14.2" or "-".
pub fn at(p: Option<(f64, f64)>) -> String {
    p.map_or("-".into(), |(x, y)| format!("{y:.4} @ {}", short(x)))
}

/// Compact number: 14.2, 331, 8.25e3.
pub fn short(x: f64) -> String {
    if x.abs() >= 1e4 {
        format!("{x:.2e}")
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        let r = (x * 10.0).round() / 10.0;
        format!("{r}")
    }
}

/// Prints a titled table.
pub fn print_table(title: &str, table: &Table) {
    println!("\n{title}\n{table}");
}
