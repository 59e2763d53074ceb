//! Example plumbing: command-line arguments, output folder, CSV, summary table, progress, exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{Device, DeviceRequest};
use crate::error::{Error, Result};

/// Arguments every figure example accepts.
#[derive(clap::Args, Clone, Debug)]
pub struct FigureArgs {
    /// Output folder for PNG, SVG and CSV files (default: `figures/<example>`)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A few-second run with fewer seeds and points (used by the tests); flags given explicitly
    /// keep their values
    #[arg(long)]
    pub quick: bool,
    /// Where heavy kernels run: cpu, cuda or auto (auto: DOUBLEDESCENT_DEVICE, else CUDA when
    /// present, else the CPU)
    #[arg(long, default_value = "auto")]
    pub device: DeviceRequest,
}

impl FigureArgs {
    /// The output folder for `example`, created if missing.
    pub fn dir(&self, example: &str) -> Result<PathBuf> {
        output_dir(self.out.clone(), example)
    }

    /// The device the user asked for, announced on one line.
    pub fn device(&self) -> Result<Device> {
        let device = Device::select(self.device)?;
        println!("device: {device}");
        Ok(device)
    }

    /// A setting: the value the user gave, else `quick` under `--quick`, else `full` (the paper's
    /// setting).
    pub fn pick<T>(&self, given: Option<T>, full: T, quick: T) -> T {
        given.unwrap_or(if self.quick { quick } else { full })
    }
}

/// Checks, before anything is allocated, that what the command-line value `--flag value` asks
/// for fits in the memory budget ([`crate::check::memory_budget`]); `bytes` is the example's
/// estimate in wide arithmetic (for example `n as u128 * m as u128 * 8`).
pub fn check_flag_memory(flag: &str, value: impl std::fmt::Display, bytes: u128) -> Result<()> {
    crate::check::check_bytes(format!("--{flag} {value}"), bytes)
}

/// `out`, or `figures/<example>` when `None`; created with its parents.
pub fn output_dir(out: Option<PathBuf>, example: &str) -> Result<PathBuf> {
    let dir = out.unwrap_or_else(|| Path::new("figures").join(example));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// A CSV cell: integers (counts, sizes, seeds) as integers, everything else in shortest
/// round-trip scientific notation.
fn cell(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:e}")
    }
}

/// Writes columns of equal length as CSV with a header row.
pub fn write_csv(path: &Path, header: &[&str], columns: &[&[f64]]) -> Result<()> {
    let rows = columns.first().map_or(0, |c| c.len());
    write_rows(path, None, &vec![""; rows], header, columns)
}

/// The one CSV writer: an optional text column of row labels, then numeric columns, each of
/// `labels.len()` rows.
fn write_rows(
    path: &Path,
    label_header: Option<&str>,
    labels: &[&str],
    header: &[&str],
    columns: &[&[f64]],
) -> Result<()> {
    if header.len() != columns.len() {
        return Err(Error::ShapeMismatch {
            what: "CSV header vs columns".into(),
            expected: header.len().to_string(),
            got: columns.len().to_string(),
        });
    }
    let rows = labels.len();
    if let Some((i, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != rows) {
        return Err(Error::ShapeMismatch {
            what: format!("length of CSV column `{}`", header[i]),
            expected: rows.to_string(),
            got: c.len().to_string(),
        });
    }
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = csv::Writer::from_writer(file);
    let fmt_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        other => Error::Format(format!("{}: {other:?}", path.display())),
    };
    w.write_record(label_header.iter().chain(header))
        .map_err(fmt_err)?;
    for (r, label) in labels.iter().enumerate() {
        let numbers = columns.iter().map(|c| cell(c[r]));
        match label_header {
            Some(_) => w.write_record(std::iter::once(label.to_string()).chain(numbers)),
            None => w.write_record(numbers),
        }
        .map_err(fmt_err)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// Writes a text column of row labels followed by numeric columns, as CSV with a header row (for
/// tables whose rows are named things, such as kernels).
pub fn write_labeled_csv(
    path: &Path,
    label_header: &str,
    labels: &[&str],
    header: &[&str],
    columns: &[&[f64]],
) -> Result<()> {
    write_rows(path, Some(label_header), labels, header, columns)
}

/// `{value:.prec$}`, or `-` when there is no value or it is not finite (summary tables never show
/// NaN).
pub fn fmt_opt(value: Option<f64>, prec: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.prec$}"),
        _ => "-".into(),
    }
}

/// A plain-text table for the summary an example prints.
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: vec![],
        }
    }

    /// Appends a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as aligned text (right-aligned columns, a rule under the header).
    pub fn render(&self) -> String {
        let ncol = self
            .rows
            .iter()
            .map(|r| r.len())
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut width = vec![0; ncol];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            let cells: Vec<String> = (0..ncol)
                .map(|i| {
                    let c = r.get(i).map_or("", |s| s.as_str());
                    format!("{c:>w$}", w = width[i])
                })
                .collect();
            cells.join("  ")
        };
        let mut out = line(&self.header);
        out.push('\n');
        out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * ncol.saturating_sub(1)));
        for r in &self.rows {
            out.push('\n');
            out.push_str(&line(r));
        }
        out
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, message: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message.to_string());
    pb
}

/// Runs an example body: prints its error to stderr and exits non-zero on failure.
pub fn run_example(name: &str, body: impl FnOnce() -> Result<()>) -> ExitCode {
    let start = std::time::Instant::now();
    match body() {
        Ok(()) => {
            println!("{name}: done in {:.2} s", start.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(["a", "bbb"]);
        t.row(["12345", "1"]);
        let s = t.render();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "    a  bbb");
        assert_eq!(lines[2], "12345    1");
    }

    #[test]
    fn csv_cells_keep_integers_and_round_trip() {
        assert_eq!(cell(15.0), "15");
        assert_eq!(cell(-3.0), "-3");
        assert_eq!(cell(0.0), "0");
        assert_eq!(cell(0.1), "1e-1");
        assert_eq!(cell(f64::NAN), "NaN");
        let v = 0.1 + 0.2;
        assert_eq!(cell(v).parse::<f64>().unwrap(), v);
        assert_eq!(cell(1e300).parse::<f64>().unwrap(), 1e300);
    }

    #[test]
    fn write_failures_are_io_errors_naming_the_file() {
        let path = Path::new("/proc/dd-nowhere/x.csv");
        match write_csv(path, &["a"], &[&[1.0]]) {
            Err(Error::Io { path: p, .. }) => assert_eq!(p, path.display().to_string()),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        match output_dir(Some("/proc/dd-nowhere".into()), "x") {
            Err(Error::Io { path: p, .. }) => assert_eq!(p, "/proc/dd-nowhere"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }

    #[test]
    fn csv_rejects_ragged_columns() {
        let dir = std::env::temp_dir().join("dd_csv_test");
        std::fs::create_dir_all(&dir).unwrap();
        let err = write_csv(&dir.join("x.csv"), &["a", "b"], &[&[1.0, 2.0], &[1.0]]).unwrap_err();
        assert!(err.to_string().contains("`b`"), "{err}");
    }
}
