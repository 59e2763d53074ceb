//! Tables read from CSV (feature `csv`, on by default): the diabetes table embedded in the crate
//! (Efron et al. 2004, as scikit-learn ships it) and a loader for the user's own table.

use std::path::Path;

use faer::Mat;

use super::RegressionData;
use crate::error::{Error, Result};

const DIABETES_CSV: &str = include_str!("../../data/diabetes.csv");

/// The diabetes table (Efron et al. 2004; 442 patients, 10 baseline variables, target = disease
/// progression after one year) as stored in `data/diabetes.csv`, unscaled.
pub fn diabetes_raw() -> Result<RegressionData> {
    let opts = CsvOptions::new("target");
    let mut d = parse_csv(DIABETES_CSV.as_bytes(), "embedded diabetes.csv", &opts)?;
    d.name = "Diabetes".into();
    Ok(d)
}

/// The diabetes table as `sklearn.datasets.load_diabetes()` returns it (`scaled=True`): every
/// feature column centred and divided by its standard deviation times √n, i.e. unit L2 norm;
/// the target is left as is (25 … 346, mean 152.13).
pub fn diabetes() -> Result<RegressionData> {
    let mut d = diabetes_raw()?;
    let n = d.len();
    for j in 0..d.dim() {
        let mean = (0..n).map(|i| d.x[(i, j)]).sum::<f64>() / n as f64;
        let var = (0..n).map(|i| (d.x[(i, j)] - mean).powi(2)).sum::<f64>() / n as f64;
        let scale = var.sqrt() * (n as f64).sqrt();
        for i in 0..n {
            d.x[(i, j)] = (d.x[(i, j)] - mean) / scale;
        }
    }
    Ok(d)
}

/// What [`read_csv`] reads from a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The target column.
    pub target: String,
    /// Feature columns; `None` takes every column but the target.
    pub features: Option<Vec<String>>,
    /// Drop every row with a missing cell (empty, `NA`, `N/A`, `NaN`, `null`) in **any** column,
    /// as pandas' `dropna()` does; otherwise a missing cell in a used column is an error.
    pub drop_missing: bool,
}

impl CsvOptions {
    /// Every column but `target` as features, missing cells an error.
    pub fn new(target: impl Into<String>) -> Self {
        CsvOptions {
            target: target.into(),
            features: None,
            drop_missing: false,
        }
    }
}

/// Reads a comma-separated table with a header row. Column names match exactly, or after trimming
/// surrounding whitespace when that identifies one column (`"Life expectancy "` can be asked for
/// as `"Life expectancy"`). The table's name is the file stem.
///
/// Errors name the file, row and column: a missing column (listing the ones that exist),
/// a non-numeric or missing cell, fewer than 2 usable rows.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<RegressionData> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::invalid(
            "path",
            path.display(),
            "is a folder, not a CSV file",
        ));
    }
    // Parsed cells take at most 8 bytes for every 2 bytes of text (a digit and a comma), plus
    // the row copies: five times the file size bounds it.
    crate::check::check_bytes(
        format!("CSV table {}", path.display()),
        u128::from(meta.len()) * 5,
    )?;
    let mut d = parse_csv(file, &path.display().to_string(), opts)?;
    if let Some(stem) = path.file_stem() {
        d.name = stem.to_string_lossy().into_owned();
    }
    Ok(d)
}

fn is_missing(cell: &str) -> bool {
    matches!(
        cell.trim(),
        "" | "NA" | "N/A" | "NaN" | "nan" | "null" | "NULL" | "None"
    )
}

fn find_column(header: &[String], name: &str, source: &str) -> Result<usize> {
    if let Some(j) = header.iter().position(|h| h == name) {
        return Ok(j);
    }
    let trimmed: Vec<usize> = (0..header.len())
        .filter(|&j| header[j].trim() == name.trim())
        .collect();
    match trimmed.as_slice() {
        [j] => Ok(*j),
        _ => Err(Error::Format(format!(
            "{source}: no column named {name:?}; the columns are {}",
            header
                .iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// [`read_csv`] on any reader; `source` names it in error messages.
pub fn parse_csv(
    reader: impl std::io::Read,
    source: &str,
    opts: &CsvOptions,
) -> Result<RegressionData> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let fmt = |e: csv::Error| Error::Format(format!("{source}: {e}"));
    let header: Vec<String> = rdr
        .headers()
        .map_err(fmt)?
        .iter()
        .map(str::to_owned)
        .collect();
    let target = find_column(&header, &opts.target, source)?;
    let features: Vec<usize> = match &opts.features {
        Some(names) => {
            if names.is_empty() {
                return Err(Error::invalid("features", "[]", "name at least one column"));
            }
            names
                .iter()
                .map(|f| find_column(&header, f, source))
                .collect::<Result<_>>()?
        }
        None => (0..header.len()).filter(|&j| j != target).collect(),
    };
    if features.is_empty() {
        return Err(Error::Format(format!(
            "{source}: the table has no column besides the target {:?}",
            header[target]
        )));
    }
    if let Some(&j) = features.iter().find(|&&j| j == target) {
        return Err(Error::invalid(
            "features",
            format!("{:?}", header[j]),
            "the target column cannot also be a feature",
        ));
    }
    let mut used = features.clone();
    used.push(target);
    let mut rows: Vec<f64> = Vec::new();
    let mut kept = 0usize;
    for (r, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(fmt)?;
        // Line numbers as a spreadsheet shows them: the header is line 1.
        let line = r + 2;
        if opts.drop_missing && rec.iter().any(is_missing) {
            continue;
        }
        for &j in &used {
            let cell = &rec[j];
            if is_missing(cell) {
                return Err(Error::Format(format!(
                    "{source}: line {line}, column {:?}: missing value {cell:?} \
                     (drop such rows with the drop-missing option)",
                    header[j]
                )));
            }
            let v: f64 = cell.trim().parse().map_err(|_| {
                Error::Format(format!(
                    "{source}: line {line}, column {:?}: {cell:?} is not a number \
                     (choose numeric feature columns)",
                    header[j]
                ))
            })?;
            if !v.is_finite() {
                return Err(Error::Format(format!(
                    "{source}: line {line}, column {:?}: non-finite value {cell:?}",
                    header[j]
                )));
            }
            rows.push(v);
        }
        kept += 1;
    }
    if kept < 2 {
        return Err(Error::Format(format!(
            "{source}: {kept} usable row(s); a regression table needs at least 2"
        )));
    }
    let w = used.len();
    let d = features.len();
    let x = Mat::from_fn(kept, d, |i, j| rows[i * w + j]);
    let y = (0..kept).map(|i| rows[i * w + d]).collect();
    RegressionData::new(
        source,
        features.iter().map(|&j| header[j].clone()).collect(),
        header[target].clone(),
        x,
        y,
    )
}
