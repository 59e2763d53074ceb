//! Helpers shared by the least-squares examples (dd_demystified): which regression tables to run
//! on, the sweep settings from the command line, and plotting over P/N.
#![allow(dead_code)]

use std::path::PathBuf;

use doubledescent::Device;
use doubledescent::data::{self, CsvOptions, RegressionData};
use doubledescent::figure::{Colormap, Rgb, Series, Style};
use doubledescent::science::least_squares::{Sweep, SweepConfig, sweep};
use doubledescent::stats::RepeatStats;
use doubledescent::{Error, Result};

/// The tables: the bundled diabetes and student–teacher sets, or the user's CSV.
#[derive(clap::Args, Clone, Debug)]
pub struct TableArgs {
    /// Run on this CSV table (header row, comma-separated) instead of the bundled ones
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Target column of --csv
    #[arg(long, requires = "csv")]
    pub target: Option<String>,
    /// Feature columns of --csv (comma-separated; default: every other column)
    #[arg(long, value_delimiter = ',', requires = "csv")]
    pub features: Option<Vec<String>>,
    /// Drop rows of --csv with a missing cell in any column (pandas' dropna)
    #[arg(long, requires = "csv")]
    pub drop_missing: bool,
    /// Repeats per training-set size (default: the original's 50; 10 with --quick)
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Largest training-set size N (sizes 1..=N; default: the original's 39)
    #[arg(long, default_value_t = 39)]
    pub max_size: usize,
}

impl TableArgs {
    /// The tables to study, each with the leading-mode counts k of its ablation (b): the
    /// original's for the bundled tables, 1..=D for a CSV table.
    pub fn tables(&self) -> Result<Vec<(RegressionData, Vec<usize>)>> {
        match &self.csv {
            Some(path) => {
                let target = self.target.clone().ok_or_else(|| {
                    Error::invalid("--target", "none", "name the target column of --csv")
                })?;
                let opts = CsvOptions {
                    target,
                    features: self.features.clone(),
                    drop_missing: self.drop_missing,
                };
                let mut table = data::read_csv(path, &opts)?;
                // A user's table never takes a bundled table's name (nor its reference values
                // or output files), whatever its file is called.
                table.name = format!("csv {}", table.name);
                let modes = (1..=table.dim()).collect();
                Ok(vec![(table, modes)])
            }
            None => Ok(vec![
                (
                    data::diabetes()?,
                    SweepConfig::DIABETES_LEADING_MODES.to_vec(),
                ),
                (
                    data::student_teacher(1000, 30, 20, 0)?,
                    SweepConfig::STUDENT_TEACHER_LEADING_MODES.to_vec(),
                ),
            ]),
        }
    }

    /// The original's settings for `table`, with this run's repeats and sizes (capped so that
    /// every size leaves a test row).
    pub fn config(
        &self,
        table: &RegressionData,
        leading_modes: Vec<usize>,
        quick: bool,
    ) -> Result<SweepConfig> {
        let mut cfg = SweepConfig::original(leading_modes);
        cfg.repeats = self.repeats.unwrap_or(if quick { 10 } else { 50 }); // the user's value wins
        if self.max_size == 0 {
            return Err(Error::invalid("--max-size", 0, "must be >= 1"));
        }
        let top = self.max_size.min(table.len() - 1);
        cfg.sizes = (1..=top).collect();
        Ok(cfg)
    }
}

/// Runs the sweep on every table (settings from [`TableArgs::config`], then `tweak`), printing
/// each table's size and the time the sweep took.
pub fn run_sweeps(
    args: &TableArgs,
    quick: bool,
    device: &Device,
    tweak: impl Fn(&mut SweepConfig),
) -> Result<Vec<Sweep>> {
    let mut out = Vec::new();
    for (table, modes) in args.tables()? {
        let mut cfg = args.config(&table, modes, quick)?;
        tweak(&mut cfg);
        let start = std::time::Instant::now();
        let s = sweep(&table, &cfg, device)?;
        println!(
            "{}: {} rows x D = {}, {} fits in {:.3} s",
            table.name,
            table.len(),
            table.dim(),
            s.fits.len(),
            start.elapsed().as_secs_f64()
        );
        out.push(s);
    }
    Ok(out)
}

/// File-name form of a table name: "Student-Teacher" → "student_teacher".
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.trim_matches('_').to_string()
}

pub const TRAIN: Rgb = Rgb::hex(0x1F77B4);
pub const TEST: Rgb = Rgb::hex(0xFF7F0E);
pub const GREEN: Rgb = Rgb::hex(0x2CA02C);

/// Colour `i` of `n` ablation settings (light to dark).
pub fn shade(i: usize, n: usize) -> Rgb {
    Colormap::Plasma.at(0.85 * i as f64 / (n.max(2) - 1) as f64)
}

/// The dashed black "interpolation threshold" line at x = `x` spanning the positive finite
/// values of `curves`.
pub fn threshold(x: f64, curves: &[&[f64]]) -> Series {
    let pos = curves
        .iter()
        .flat_map(|c| c.iter().copied())
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = pos.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (1e-3, 1.0) };
    Series::line(
        "interpolation threshold",
        vec![x, x],
        vec![lo, hi],
        Rgb(0, 0, 0),
    )
    .styled(Style::Dashed)
}

pub fn means(stats: &[RepeatStats]) -> Vec<f64> {
    stats.iter().map(|s| s.mean).collect()
}

pub fn medians(stats: &[RepeatStats]) -> Vec<f64> {
    stats.iter().map(|s| s.median).collect()
}

/// 3 significant digits: 5.98e7, 0.00264, 156.
pub fn sci(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x == 0.0 {
        "0".into()
    } else if !(1e-2..1e4).contains(&x.abs()) {
        format!("{x:.2e}")
    } else {
        let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    }
}

/// Index of the largest value.
pub fn argmax(v: &[f64]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

/// 3 significant digits without trailing zeros: 0.001, 0.00316, 0.1, 1.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The original's shared y-limits of a table's MSE plots: 2·max(mean train, curves) on top, half
/// the mean train MSE at N = D + 1 below (the smallest positive curve value if there is none).
pub fn mse_limits(sizes: &[usize], dim: usize, train: &[f64], curves: &[&[f64]]) -> (f64, f64) {
    let all = || {
        train
            .iter()
            .chain(curves.iter().flat_map(|c| c.iter()))
            .copied()
    };
    let hi = 2.0 * all().filter(|v| v.is_finite()).fold(0.0, f64::max);
    let lo = sizes
        .iter()
        .position(|&n| n == dim + 1)
        .map(|i| 0.5 * train[i])
        .filter(|v| *v > 0.0)
        .unwrap_or_else(|| {
            curves
                .iter()
                .flat_map(|c| c.iter().copied())
                .filter(|v| *v > 0.0)
                .fold(f64::MAX, f64::min)
        });
    (lo, hi)
}
