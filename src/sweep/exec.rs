//! Running one run of a grid: its command in a private working folder, then its record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::grid::Run;
use super::store::{
    CsvTable, RECORD_FORMAT, Record, RunStore, SlurmTask, Status, host_name, unique_suffix,
};
use crate::error::{Error, Result};

/// Bytes of standard output and error kept in a record.
pub const TAIL_BYTES: usize = 4096;

/// How to run one run.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    /// Threads each run may use (`RAYON_NUM_THREADS` of the command); `None` leaves the
    /// environment as it is.
    pub threads: Option<usize>,
    /// The program to start instead of the grid's own first word (SLURM tasks start the copy in
    /// the output folder).
    pub program: Option<PathBuf>,
}

/// Runs `run`: creates `work/<id>.<host>.<pid>.<n>/`, starts the command there with
/// `DD_RUN_ID`, `DD_RUN_DIR`, `DD_RUN_OUTPUT` and `DD_RUN_PARAMS` (JSON) in its environment and
/// standard output and error in files, waits, reads `{output}` (JSON) and every CSV file under
/// the folder, writes the record atomically and removes the folder. A command that cannot start,
/// exits non-zero, is killed by a signal or leaves unreadable outputs gives a `failed` record
/// with the reason and the tail of its standard error; only a failure of the store itself (disk
/// full, permissions) is an `Err`.
pub fn execute(store: &RunStore, run: &Run, opts: &ExecOptions) -> Result<Record> {
    let work = store
        .dir()
        .join("work")
        .join(format!("{}.{}", run.id, unique_suffix()));
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let output = work.join("result.json");
    let mut argv = store.grid().argv(run, &output, &work);
    if let Some(p) = &opts.program {
        argv[0] = p.display().to_string();
    }
    let params = run.params_json();
    let (out_path, err_path) = (work.join(".stdout"), work.join(".stderr"));
    let stdout = std::fs::File::create(&out_path).map_err(|e| Error::io(&out_path, e))?;
    let stderr = std::fs::File::create(&err_path).map_err(|e| Error::io(&err_path, e))?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(&work)
        .env("DD_RUN_ID", &run.id)
        .env("DD_RUN_DIR", &work)
        .env("DD_RUN_OUTPUT", &output)
        .env(
            "DD_RUN_PARAMS",
            serde_json::Value::Object(params.clone()).to_string(),
        )
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    if let Some(t) = opts.threads {
        cmd.env("RAYON_NUM_THREADS", t.max(1).to_string());
    }
    let started_unix = super::unix_now();
    let t0 = Instant::now();
    let status = cmd.spawn().and_then(|mut child| child.wait());
    let wall_s = t0.elapsed().as_secs_f64();

    let mut record = Record {
        format: RECORD_FORMAT.into(),
        id: run.id.clone(),
        params,
        argv: argv.clone(),
        status: Status::Failed,
        exit_code: None,
        signal: None,
        error: String::new(),
        stderr_tail: tail(&err_path),
        stdout_tail: tail(&out_path),
        started_unix,
        wall_s,
        host: host_name(),
        slurm: SlurmTask::from_env(),
        result: None,
        tables: BTreeMap::new(),
    };
    match status {
        Err(e) => record.error = format!("could not start `{}`: {e}", argv[0]),
        Ok(s) => {
            record.exit_code = s.code();
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                record.signal = s.signal();
            }
            if !s.success() {
                record.error = match (record.exit_code, record.signal) {
                    (Some(c), _) => format!("exited with status {c}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    _ => "ended abnormally".into(),
                };
            } else {
                match collect(&work, &output) {
                    Ok((result, tables)) => {
                        record.result = result;
                        record.tables = tables;
                        record.status = Status::Done;
                    }
                    Err(e) => record.error = e.to_string(),
                }
            }
        }
    }
    store.write_record(&record)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(record)
}

/// The last [`TAIL_BYTES`] of a file, from a line start, as text.
fn tail(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let start = bytes.len().saturating_sub(TAIL_BYTES);
    let mut s = &bytes[start..];
    if start > 0
        && let Some(nl) = s.iter().position(|&b| b == b'\n')
    {
        s = &s[nl + 1..];
    }
    String::from_utf8_lossy(s).trim_end().to_string()
}

type Outputs = (Option<serde_json::Value>, BTreeMap<String, CsvTable>);

/// Reads the result JSON and the CSV files under `work`.
fn collect(work: &Path, output: &Path) -> Result<Outputs> {
    let result = match std::fs::read_to_string(output) {
        Ok(text) => Some(serde_json::from_str(&text).map_err(|e| {
            Error::Format(format!(
                "the run's result {} is not valid JSON: {e}",
                output.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(output, e)),
    };
    let mut tables = BTreeMap::new();
    let mut stack = vec![work.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io(&d, e))?;
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                let rel = p
                    .strip_prefix(work)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .replace('\\', "/");
                tables.insert(rel, read_csv(&p)?);
            }
        }
    }
    Ok((result, tables))
}

/// A CSV file as a table: cells that parse as finite numbers become numbers.
pub fn read_csv(path: &Path) -> Result<CsvTable> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
    let columns: Vec<String> = r
        .headers()
        .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = vec![];
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        rows.push(rec.iter().map(cell).collect());
    }
    Ok(CsvTable { columns, rows })
}

fn cell(s: &str) -> serde_json::Value {
    if let Ok(i) = s.parse::<i64>() {
        return i.into();
    }
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() => x.into(),
        _ => s.into(),
    }
}
