//! The run store: one folder per sweep, holding the grid (`grid.json`), one self-describing JSON
//! record per finished run (`runs/<id>.json`), the runs' private working folders while they run
//! (`work/`) and the SLURM submissions (`slurm/`).
//!
//! Records are written to `tmp/` and renamed into `runs/`: a rename within one file system is
//! atomic, so a run that crashes or is killed (by `scancel`, a time limit, a node failure) leaves
//! either a complete record or none, and a resumed sweep runs it again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::grid::{Grid, Run};
use crate::error::{Error, Result};

/// The `format` field of a run record.
pub const RECORD_FORMAT: &str = "doubledescent-sweep-run/1";
/// The `format` field of `grid.json`.
pub const GRID_FORMAT: &str = "doubledescent-sweep-grid/1";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The command exited 0 and its outputs were read.
    Done,
    /// The command could not start, exited non-zero, was killed by a signal, or wrote an
    /// unreadable result.
    Failed,
}

/// A CSV file a run wrote, as columns and rows (numbers as JSON numbers, other cells as text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsvTable {
    /// Header.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Where a run ran under SLURM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmTask {
    /// `SLURM_JOB_ID`.
    pub job_id: String,
    /// `SLURM_ARRAY_JOB_ID`.
    pub array_job_id: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`.
    pub array_task_id: Option<String>,
}

impl SlurmTask {
    /// The task's place from the environment SLURM sets, or `None` outside SLURM.
    pub fn from_env() -> Option<Self> {
        let v = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        Some(SlurmTask {
            job_id: v("SLURM_JOB_ID")?,
            array_job_id: v("SLURM_ARRAY_JOB_ID"),
            array_task_id: v("SLURM_ARRAY_TASK_ID"),
        })
    }
}

/// One run's record: what ran, how it ended and what it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// [`RECORD_FORMAT`].
    pub format: String,
    /// The run id (the file name without `.json`).
    pub id: String,
    /// The run's parameters.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The command line as executed.
    pub argv: Vec<String>,
    /// Done or failed.
    pub status: Status,
    /// Exit code (`None` when killed by a signal or not started).
    pub exit_code: Option<i32>,
    /// The signal that killed the command, if one did.
    pub signal: Option<i32>,
    /// Why it failed, in one line (empty when done).
    pub error: String,
    /// The last lines of standard error (at most 4 KiB).
    pub stderr_tail: String,
    /// The last lines of standard output (at most 4 KiB).
    pub stdout_tail: String,
    /// Start, seconds since the Unix epoch.
    pub started_unix: f64,
    /// Wall-clock seconds of the command.
    pub wall_s: f64,
    /// Host name.
    pub host: String,
    /// The SLURM task, when it ran under SLURM.
    pub slurm: Option<SlurmTask>,
    /// The JSON the command wrote to `{output}` (`DD_RUN_OUTPUT`), if any.
    pub result: Option<serde_json::Value>,
    /// The CSV files the command wrote under its working folder, by relative path.
    pub tables: BTreeMap<String, CsvTable>,
}

impl std::fmt::Display for Status {
    /// `done` or `failed`, as in the records.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Done => "done",
            Status::Failed => "failed",
        })
    }
}

impl Record {
    /// Parses a record, checking its format field.
    pub fn from_json(text: &str, origin: &Path) -> Result<Self> {
        let r: Record = serde_json::from_str(text)
            .map_err(|e| Error::Format(format!("run record {}: {e}", origin.display())))?;
        if r.format != RECORD_FORMAT {
            return Err(Error::Format(format!(
                "run record {}: format {:?}, expected {RECORD_FORMAT:?}",
                origin.display(),
                r.format
            )));
        }
        Ok(r)
    }
}

/// The small fields of a record, read without the result and tables (a run store of thousands
/// of large records is surveyed quickly).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RecordHead {
    /// The run id.
    pub id: String,
    /// Done or failed.
    pub status: Status,
    /// Why it failed.
    pub error: String,
    /// The last lines of standard error.
    pub stderr_tail: String,
}

#[derive(Serialize, Deserialize)]
struct GridDoc {
    format: String,
    #[serde(flatten)]
    grid: Grid,
}

/// A sweep's folder. See the module documentation for the layout.
#[derive(Clone, Debug)]
pub struct RunStore {
    dir: PathBuf,
    grid: Grid,
}

/// Counts of a store against its grid.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Runs of the grid.
    pub total: usize,
    /// Runs with a `done` record.
    pub done: usize,
    /// Runs with a `failed` record.
    pub failed: Vec<RecordHead>,
    /// Runs without a record.
    pub missing: Vec<Run>,
}

impl RunStore {
    /// Creates the folder (and its parents) for `grid`, or opens it when it already holds the
    /// same grid, or a grid with the same command (the grid then is replaced: records are named
    /// by their parameters, so the runs of the old grid that the new one keeps stay done).
    pub fn create(dir: &Path, grid: &Grid) -> Result<Self> {
        grid.check()?;
        check_folder(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let file = dir.join("grid.json");
        if file.exists() {
            let old = Self::open(dir)?;
            if old.grid.command != grid.command {
                return Err(Error::invalid(
                    "output folder",
                    dir.display(),
                    format!(
                        "already holds a sweep of another command ({:?}); use another folder",
                        old.grid.command.join(" ")
                    ),
                ));
            }
        }
        let store = RunStore {
            dir: dir.to_path_buf(),
            grid: grid.clone(),
        };
        for sub in ["runs", "tmp", "work"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        let doc = GridDoc {
            format: GRID_FORMAT.into(),
            grid: grid.clone(),
        };
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| Error::Format(format!("grid: {e}")))?;
        store.write_atomic(&file, text.as_bytes())?;
        Ok(store)
    }

    /// Opens a folder made by [`RunStore::create`].
    pub fn open(dir: &Path) -> Result<Self> {
        check_folder(dir)?;
        let file = dir.join("grid.json");
        if !file.is_file() {
            return Err(Error::invalid(
                "output folder",
                dir.display(),
                "holds no grid.json (create the sweep first: `sweep init`)",
            ));
        }
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let doc: GridDoc = serde_json::from_str(&text)
            .map_err(|e| Error::Format(format!("{}: {e}", file.display())))?;
        if doc.format != GRID_FORMAT {
            return Err(Error::Format(format!(
                "{}: format {:?}, expected {GRID_FORMAT:?}",
                file.display(),
                doc.format
            )));
        }
        doc.grid.check()?;
        for sub in ["runs", "tmp", "work"] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        Ok(RunStore {
            dir: dir.to_path_buf(),
            grid: doc.grid,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Where the record of run `id` lives.
    pub fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join("runs").join(format!("{id}.json"))
    }

    /// The record of run `id`, if it has one.
    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        let p = self.record_path(id);
        match std::fs::read_to_string(&p) {
            Ok(text) => Record::from_json(&text, &p).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// The status fields of run `id`'s record, if it has one (the result is skipped).
    pub fn head(&self, id: &str) -> Result<Option<RecordHead>> {
        let p = self.record_path(id);
        match std::fs::File::open(&p) {
            Ok(f) => serde_json::from_reader(std::io::BufReader::new(f))
                .map(Some)
                .map_err(|e| Error::Format(format!("run record {}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// The records of the grid's runs, in grid order (runs without a record left out).
    pub fn records(&self) -> Result<Vec<Record>> {
        let mut out = vec![];
        for run in self.grid.runs()? {
            if let Some(r) = self.record(&run.id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// How many of the grid's runs have a record (done or failed), from the folder listing
    /// alone: cheap enough to poll while a job array runs.
    pub fn recorded(&self) -> Result<usize> {
        let ids: std::collections::HashSet<String> =
            self.grid.runs()?.into_iter().map(|r| r.id).collect();
        let dir = self.dir.join("runs");
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .is_some_and(|id| ids.contains(id))
            })
            .count())
    }

    /// Done, failed and missing runs.
    pub fn progress(&self) -> Result<Progress> {
        let runs = self.grid.runs()?;
        let mut p = Progress {
            total: runs.len(),
            ..Default::default()
        };
        for run in runs {
            match self.head(&run.id)? {
                Some(r) if r.status == Status::Done => p.done += 1,
                Some(r) => p.failed.push(r),
                None => p.missing.push(run),
            }
        }
        Ok(p)
    }

    /// The runs still to do: those without a record, and with `retry_failed` those whose record
    /// says failed.
    pub fn pending(&self, retry_failed: bool) -> Result<Vec<Run>> {
        let mut out = vec![];
        for run in self.grid.runs()? {
            match self.head(&run.id)? {
                None => out.push(run),
                Some(r) if retry_failed && r.status == Status::Failed => out.push(run),
                Some(_) => {}
            }
        }
        Ok(out)
    }

    /// Writes a record atomically (temporary file in `tmp/`, then rename into `runs/`).
    pub fn write_record(&self, record: &Record) -> Result<()> {
        let text = serde_json::to_string(record)
            .map_err(|e| Error::Format(format!("run record {}: {e}", record.id)))?;
        self.write_atomic(&self.record_path(&record.id), text.as_bytes())
    }

    /// Writes `bytes` to `path` through a uniquely named file in `tmp/` and a rename, after
    /// flushing it to disk: readers see the old file or the whole new one, never a part.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp_dir = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = tmp_dir.join(format!("{name}.{}", unique_suffix()));
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

/// `host.pid.counter`: unique among the processes sharing the folder.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}.{}.{}",
        host_name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn check_folder(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() {
        return Err(Error::invalid("output folder", "\"\"", "is empty"));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Error::invalid(
            "output folder",
            dir.display(),
            "is a file, not a folder",
        ));
    }
    Ok(())
}
