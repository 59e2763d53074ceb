//! A grid on this machine: a bounded number of workers, each running one run at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::exec::{ExecOptions, execute};
use super::grid::Run;
use super::store::{Record, RunStore};
use crate::error::{Error, Result};

/// Runs `runs` with `workers` concurrent commands (each given `threads` threads, default: this
/// machine's cores shared among the workers), in the order given. `on_done` sees every record as
/// it is written. A run that fails is recorded as failed and the others go on; a failure of the
/// store stops the workers after their current run and is returned.
pub fn run_local(
    store: &RunStore,
    runs: &[Run],
    workers: usize,
    threads: Option<usize>,
    on_done: &(dyn Fn(&Run, &Record) + Sync),
) -> Result<Vec<Record>> {
    if workers == 0 {
        return Err(Error::invalid("workers", 0, "need at least one worker"));
    }
    if threads == Some(0) {
        return Err(Error::invalid(
            "threads",
            0,
            "need at least one thread per run",
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = workers.min(runs.len().max(1));
    let opts = ExecOptions {
        threads: Some(threads.unwrap_or((cores / workers).max(1))),
        program: None,
    };
    // Leftovers of runs that were killed before: their folders are not needed any more.
    clear_work(store, runs);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let out: Mutex<Vec<(usize, Record)>> = Mutex::new(Vec::with_capacity(runs.len()));
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = runs.get(i) else { break };
                    match execute(store, run, &opts) {
                        Ok(r) => {
                            on_done(run, &r);
                            if let Ok(mut o) = out.lock() {
                                o.push((i, r));
                            }
                        }
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut f) = first_error.lock() {
                                f.get_or_insert(e);
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut out = out.into_inner().unwrap_or_default();
    out.sort_by_key(|o| o.0);
    Ok(out.into_iter().map(|o| o.1).collect())
}

/// Removes the working folders left by earlier, killed attempts at `runs`.
pub(crate) fn clear_work(store: &RunStore, runs: &[Run]) {
    let Ok(entries) = std::fs::read_dir(store.dir().join("work")) else {
        return;
    };
    let ids: std::collections::HashSet<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some((id, _)) = name.split_once('.')
            && ids.contains(id)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
