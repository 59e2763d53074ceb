//! Sweeps that outgrow one machine: a parameter grid, run locally or as a SLURM job array, with
//! one self-describing record per run in a folder (feature `sweep`, on by default).
//!
//! Every figure of the papers this crate serves came from a sweep: the jamming phase diagram of
//! Geiger, Petrini & Wyart (arXiv 2012.15110) is 7590 runs launched by `mariogeiger/grid`
//! (Cartesian products of argument lists, one pickle per run), the λ̂ validation of Lau et al.
//! (arXiv 2308.12108) hundreds of deep linear networks launched by `job.slurm` array tasks in
//! `edmundlth/validating_lambdahat`. Here SLURM schedules; this module generates, submits,
//! resumes and merges.
//!
//! * [`Grid`]: a command and named parameter lists ([`Param`]: `h:int 6 7 8`, `alpha:float …`,
//!   or a TOML/JSON file); each point is a [`Run`] with a stable id (a hash of its parameters).
//! * [`RunStore`]: the folder. `grid.json`, `runs/<id>.json` (a [`Record`]: parameters,
//!   command line, status, exit code, stderr tail, wall time, host, SLURM task, the JSON the
//!   command wrote to `{output}` and every CSV file it wrote), written atomically.
//! * [`execute`] one run; [`run_local`] many with bounded workers; [`slurm`]: job arrays
//!   ([`slurm::plan`], [`slurm::script`], [`slurm::submit`], [`slurm::queue`],
//!   [`slurm::exec_shard`]); [`merge`]: the records as tables, in memory and as CSV.
//!
//! The `sweep` example is the command line over all of this (`sweep --help`).
//!
//! ```
//! use doubledescent::sweep::{Grid, Param, RunStore, merge, run_local};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let dir = std::env::temp_dir().join(format!("dd-sweep-doc-{}", std::process::id()));
//! // Each run writes its parameters as its JSON result.
//! let grid = Grid::new(
//!     vec!["sh".into(), "-c".into(), "echo \"$DD_RUN_PARAMS\" > \"$DD_RUN_OUTPUT\"".into()],
//!     vec![Param::parse("h:int", &["4", "8"])?, Param::parse("alpha:float", &["0.5,12"])?],
//! )?;
//! let store = RunStore::create(&dir, &grid)?;
//! let records = run_local(&store, &store.pending(false)?, 2, None, &|_, _| {})?;
//! assert_eq!(records.len(), 4);
//! assert!(store.pending(false)?.is_empty()); // a second pass has nothing left to do
//! let table = merge(&store)?.runs;
//! let alpha = table.column("alpha").unwrap();
//! let echoed = table.column("result.alpha").unwrap();
//! assert!(table.rows.iter().all(|r| r[alpha] == r[echoed]));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```

mod exec;
mod grid;
mod local;
mod merge;
pub mod slurm;
mod store;

pub use exec::{ExecOptions, TAIL_BYTES, execute, read_csv};
pub use grid::{Grid, Kind, Param, Run, Value};
pub use local::run_local;
pub use merge::{Merged, Table, merge, merge_records, write_merged};
pub use store::{
    CsvTable, GRID_FORMAT, Progress, RECORD_FORMAT, Record, RecordHead, RunStore, SlurmTask,
    Status, host_name,
};

/// The non-empty lines of a program's message, joined with "; " (errors stay one line).
pub(crate) fn one_line(s: &str) -> String {
    let l: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if l.is_empty() {
        "failed without a message".into()
    } else {
        l.join("; ")
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
