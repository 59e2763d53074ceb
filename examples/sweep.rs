//! Sweeps that outgrow one machine: a parameter grid run on this machine or as a SLURM job array,
//! one JSON record per run in a folder, resumed and merged. The grids of the papers this crate
//! serves (the 7590-run jamming phase diagram of Geiger, Petrini & Wyart, arXiv 2012.15110, run
//! with `mariogeiger/grid`; the DLN λ̂ sweeps of Lau et al., arXiv 2308.12108, run as
//! `job.slurm` array tasks) run this way, and the figure examples plot them with `--from-runs`.
//!
//! `cargo run --release --example sweep -- --help`

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use common::dln::DlnArgs;
use common::networks::{NetArgs, config, splits};
use doubledescent::figure::{FigureArgs, Table, progress_bar};
use doubledescent::sweep::{
    Grid, Param, RunStore, Status, merge, run_local, slurm, slurm::SlurmOptions, write_merged,
};
use doubledescent::training::train_on_splits;
use doubledescent::{Error, Result};

const WORKFLOW: &str = "\
Workflow (one folder per sweep; only that folder needs to be shared with the compute nodes):

  1. sweep init DIR -p h:int=8,16,32 -p alpha:float=1,12 -p seed-init:int=0..3 -- COMMAND ARGS...
     (or --grid FILE.toml). Each run executes COMMAND ARGS --h 8 --alpha 1 --seed-init 0 in
     its own working folder (a parameter written {name} inside the command is substituted
     there instead of appended). The run's result is the JSON it writes to {output} (also
     $DD_RUN_OUTPUT) and every CSV file it writes under its folder.
  2. sweep run DIR --workers 2            on this machine, or
     sweep submit DIR --time 0:30:00 --mem 4G --cpus-per-task 2 --max-parallel 100
                                          as a SLURM job array (--dry-run prints the script).
  3. sweep status DIR                     done / failed / missing runs, the queue (squeue,
                                          sacct where accounting is on), failed runs' stderr.
  4. sweep run DIR / sweep submit DIR     again: only runs without a record (and not queued)
                                          run; --retry-failed also reruns failed ones.
  5. sweep merge DIR                      DIR/merged/runs.csv (one row per run) and each CSV
                                          the runs wrote, concatenated; figure examples read the
                                          folder directly: jamming_scan --from-runs DIR.

Records are written atomically (temporary file, then rename): a killed run leaves no record
and is simply run again. Library experiments to sweep: `sweep task train` (one network of the
jamming scan / phase diagram) and `sweep task dln-llc` (one network of the DLN λ̂ sweep).";

/// Parameter grids on this machine or on a SLURM cluster, with a run store and merged tables.
#[derive(Parser, Debug)]
#[command(name = "sweep", after_long_help = WORKFLOW, after_help = WORKFLOW)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Creates a sweep folder: the command and the parameter lists whose product is the grid
    Init(InitArgs),
    /// Runs the missing runs on this machine with a bounded number of workers
    Run(RunArgs),
    /// Submits the missing runs as a SLURM job array (sbatch)
    Submit(SubmitArgs),
    /// Waits until no task of the folder's submissions is in the SLURM queue
    Wait(WaitArgs),
    /// Done, failed and missing runs, and the SLURM queue
    Status(StatusArgs),
    /// Gathers the records into CSV tables
    Merge(MergeArgs),
    /// Runs one array task's shard (what the sbatch script calls)
    Exec(ExecArgs),
    /// Library experiments to use as a sweep's command
    #[command(subcommand)]
    Task(Task),
}

#[derive(clap::Args, Debug)]
struct InitArgs {
    /// The sweep folder (created)
    dir: PathBuf,
    /// A grid file (.toml or .json) with `command` and `params`
    #[arg(long)]
    grid: Option<PathBuf>,
    /// A parameter: NAME[:int|float|str]=V1,V2,… (a..b: the integers a to b − 1); repeat for
    /// each parameter; the first varies slowest
    #[arg(short = 'p', long = "param", value_name = "NAME[:TYPE]=VALUES")]
    params: Vec<String>,
    /// The command each run executes (after --); required without --grid
    #[arg(last = true)]
    command: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The sweep folder
    dir: PathBuf,
    /// Runs at once [default: this machine's cores]
    #[arg(long)]
    workers: Option<usize>,
    /// Threads per run (RAYON_NUM_THREADS) [default: cores / workers]
    #[arg(long)]
    threads: Option<usize>,
    /// Also rerun runs whose record says failed
    #[arg(long)]
    retry_failed: bool,
}

#[derive(clap::Args, Debug)]
struct SubmitArgs {
    /// The sweep folder
    dir: PathBuf,
    /// Wall-clock limit per array task (minutes, HH:MM:SS or D-HH:MM:SS)
    #[arg(long, default_value = "01:00:00")]
    time: String,
    /// Memory per task (500M, 4G, …) [default: the partition's]
    #[arg(long)]
    mem: Option<String>,
    /// Cores per task (each run's RAYON_NUM_THREADS)
    #[arg(long, default_value_t = 1)]
    cpus_per_task: usize,
    /// Partition
    #[arg(long)]
    partition: Option<String>,
    /// Account
    #[arg(long)]
    account: Option<String>,
    /// At most this many tasks at once (--array=…%M)
    #[arg(long)]
    max_parallel: Option<usize>,
    /// Runs per array task, run one after the other
    #[arg(long, default_value_t = 1)]
    runs_per_task: usize,
    /// Job name
    #[arg(long, default_value = "dd-sweep")]
    job_name: String,
    /// A further sbatch option, e.g. --sbatch-arg=--gres=gpu:1 (repeatable)
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Print the script and the shards; submit nothing
    #[arg(long)]
    dry_run: bool,
    /// Also resubmit runs whose record says failed
    #[arg(long)]
    retry_failed: bool,
    /// Wait until the job array has left the queue
    #[arg(long)]
    wait: bool,
}

#[derive(clap::Args, Debug)]
struct WaitArgs {
    /// The sweep folder
    dir: PathBuf,
    /// Give up after this many seconds
    #[arg(long)]
    timeout: Option<f64>,
}

#[derive(clap::Args, Debug)]
struct StatusArgs {
    /// The sweep folder
    dir: PathBuf,
}

#[derive(clap::Args, Debug)]
struct MergeArgs {
    /// The sweep folder
    dir: PathBuf,
    /// Where the CSV files go [default: DIR/merged]
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct ExecArgs {
    /// The sweep folder
    dir: PathBuf,
    /// Submission number
    #[arg(long)]
    submission: usize,
    /// Array task index (SLURM_ARRAY_TASK_ID)
    #[arg(long)]
    shard: usize,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// One network of the jamming scan / phase diagram (the `jamming_scan` and `phase_diagram`
    /// examples' data and training flags); writes {"final": …, "record": RunRecord}
    Train(TrainArgs),
    /// One network of the DLN λ̂ sweep (the `dln_llc_vs_truth` flags); architecture --index of
    /// --seed's sweep
    DlnLlc(DlnTaskArgs),
}

#[derive(clap::Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    net: NetArgs,
    /// Width h
    #[arg(long)]
    h: usize,
    /// α̃
    #[arg(long)]
    alpha: f64,
    /// Initialisation seed
    #[arg(long, default_value_t = 0)]
    seed_init: u64,
    /// Kernel points for the tangent-kernel change ‖ΔΘ‖/‖Θ₀‖ (0: not measured; the phase
    /// diagram uses 300, 2500 with --original)
    #[arg(long, default_value_t = 0)]
    kernel: usize,
    /// Where the JSON result goes [default: $DD_RUN_OUTPUT, else standard output]
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct DlnTaskArgs {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    dln: DlnArgs,
    /// Architecture index within the sweep of --seed
    #[arg(long)]
    index: u64,
    /// Where the JSON result goes [default: $DD_RUN_OUTPUT, else standard output]
    #[arg(long)]
    output: Option<PathBuf>,
}

fn init(a: &InitArgs) -> Result<()> {
    let mut grid = match &a.grid {
        Some(f) => Grid::from_file(f)?,
        // Grid::check below names what is missing (the command after --, or any parameter).
        None => Grid {
            command: a.command.clone(),
            params: vec![],
        },
    };
    if a.grid.is_some() && !a.command.is_empty() {
        grid.command = a.command.clone();
    }
    for p in &a.params {
        let (decl, values) = p.split_once('=').ok_or_else(|| {
            Error::invalid(
                "--param",
                p,
                "write NAME[:TYPE]=V1,V2,… (for example h:int=8,16)",
            )
        })?;
        grid.params
            .retain(|q| q.name != decl.split(':').next().unwrap_or(decl));
        grid.params.push(Param::parse(decl, &[values])?);
    }
    // Paths that exist here are made absolute: runs start in their own folders.
    for (i, w) in grid.command.iter_mut().enumerate() {
        let p = Path::new(w.as_str());
        let looks_like_path = i > 0 || w.contains('/');
        if looks_like_path
            && p.is_relative()
            && p.exists()
            && !w.starts_with('-')
            && let Ok(abs) = p.canonicalize()
        {
            *w = abs.display().to_string();
        }
    }
    grid.check()?;
    let store = RunStore::create(&a.dir, &grid)?;
    let p = store.progress()?;
    println!(
        "{}: {} runs ({}), {} done already",
        store.dir().display(),
        p.total,
        grid.params
            .iter()
            .map(|q| format!("{} × {}", q.values.len(), q.name))
            .collect::<Vec<_>>()
            .join(", "),
        p.done
    );
    println!("command: {}", grid.command.join(" "));
    Ok(())
}

fn run(a: &RunArgs) -> Result<()> {
    let store = RunStore::open(&a.dir)?;
    let runs = store.pending(a.retry_failed)?;
    let total = store.grid().len()?;
    if runs.is_empty() {
        println!("all {total} runs have a record; nothing to do (see `sweep status`)");
        return Ok(());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = a.workers.unwrap_or(cores);
    println!("{} of {total} runs to do, {workers} at a time", runs.len());
    let pb = progress_bar(runs.len() as u64, "runs");
    let failed = Mutex::new(vec![]);
    let records = run_local(&store, &runs, workers, a.threads, &|run, r| {
        pb.inc(1);
        pb.set_message(format!("{}: {}", run.label(), r.status));
        if r.status == Status::Failed
            && let Ok(mut f) = failed.lock()
        {
            f.push(format!(
                "{}: {}{}",
                run.label(),
                r.error,
                last_line(&r.stderr_tail)
            ));
        }
    })?;
    pb.finish_and_clear();
    let failed = failed.into_inner().unwrap_or_default();
    println!(
        "{} runs: {} done, {} failed",
        records.len(),
        records.len() - failed.len(),
        failed.len()
    );
    for f in failed.iter().take(10) {
        println!("  failed {f}");
    }
    any_failed(
        "sweep",
        &records,
        &format!(
            "their records keep the stderr tail; `sweep status {}`",
            store.dir().display()
        ),
    )
}

/// `Err` when any of `records` failed: "k of n runs failed" and where to look.
fn any_failed(program: &str, records: &[doubledescent::sweep::Record], hint: &str) -> Result<()> {
    let failed = records
        .iter()
        .filter(|r| r.status == Status::Failed)
        .count();
    if failed == 0 {
        return Ok(());
    }
    Err(Error::External {
        program: program.into(),
        message: format!("{failed} of {} runs failed ({hint})", records.len()),
    })
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or(String::new(), |l| format!(" — {}", l.trim()))
}

fn submit(a: &SubmitArgs) -> Result<()> {
    let store = RunStore::open(&a.dir)?;
    let opts = SlurmOptions {
        time: a.time.clone(),
        mem: a.mem.clone(),
        cpus_per_task: a.cpus_per_task,
        partition: a.partition.clone(),
        account: a.account.clone(),
        max_parallel: a.max_parallel,
        runs_per_task: a.runs_per_task,
        job_name: a.job_name.clone(),
        extra: a.sbatch_args.clone(),
    };
    opts.check()?;
    let queued = if a.dry_run && !slurm::slurm_available() {
        Default::default()
    } else {
        slurm::queued_runs(&store)?
    };
    let runs: Vec<_> = store
        .pending(a.retry_failed)?
        .into_iter()
        .filter(|r| !queued.contains(&r.id))
        .collect();
    let total = store.grid().len()?;
    if runs.is_empty() {
        println!(
            "nothing to submit: of {total} runs, {} are queued and the rest have a record",
            queued.len()
        );
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("the sweep binary", e))?;
    let mut sub = slurm::plan(&store, &runs, &opts, &exe)?;
    if a.dry_run {
        print!("{}", slurm::script(&store, &sub));
        println!(
            "# dry run: {} runs in {} array tasks ({} queued runs left out); nothing submitted",
            runs.len(),
            sub.shards.len(),
            queued.len()
        );
        return Ok(());
    }
    let id = slurm::submit(&store, &mut sub, &exe)?;
    println!(
        "submitted job array {id}: {} runs in {} tasks (submission {}; script {})",
        runs.len(),
        sub.shards.len(),
        sub.number,
        sub.script_path(&store).display()
    );
    if a.wait {
        wait_for(&store, None)?;
    }
    Ok(())
}

/// Polls squeue until none of the store's tasks is queued, with a bar of runs done.
fn wait_for(store: &RunStore, timeout: Option<f64>) -> Result<()> {
    if !slurm::slurm_available() {
        return Err(Error::External {
            program: "squeue".into(),
            message: "not found on PATH: `sweep wait` needs a SLURM client".into(),
        });
    }
    let t0 = Instant::now();
    let total = store.grid().len()?;
    let pb = progress_bar(total as u64, "runs with a record");
    loop {
        let q = slurm::queue(store)?.unwrap_or_default();
        pb.set_position(store.recorded()? as u64);
        let running = q.iter().filter(|t| t.state == "RUNNING").count();
        pb.set_message(format!("{} tasks queued, {running} running", q.len()));
        if q.is_empty() {
            break;
        }
        if let Some(limit) = timeout
            && t0.elapsed().as_secs_f64() > limit
        {
            pb.finish_and_clear();
            return Err(Error::External {
                program: "sweep wait".into(),
                message: format!("{} tasks still queued after {limit} s", q.len()),
            });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    pb.finish_and_clear();
    let p = store.progress()?;
    println!(
        "queue empty after {:.1} s: {} done, {} failed, {} missing of {total}",
        t0.elapsed().as_secs_f64(),
        p.done,
        p.failed.len(),
        p.missing.len()
    );
    Ok(())
}

fn status(a: &StatusArgs) -> Result<()> {
    let store = RunStore::open(&a.dir)?;
    let g = store.grid();
    let p = store.progress()?;
    println!("{}", store.dir().display());
    println!("command: {}", g.command.join(" "));
    for q in &g.params {
        let shown: Vec<String> = q.values.iter().take(8).map(|v| v.to_string()).collect();
        println!(
            "  {} ({}, {} values): {}{}",
            q.name,
            q.kind,
            q.values.len(),
            shown.join(" "),
            if q.values.len() > 8 { " …" } else { "" }
        );
    }
    let subs = slurm::submissions(&store)?;
    let queue = if subs.is_empty() {
        None
    } else {
        slurm::queue(&store)?
    };
    let queued = slurm::queued_runs(&store).unwrap_or_default();
    let mut t = Table::new(["runs", "done", "failed", "missing", "of which queued"]);
    t.row([
        p.total.to_string(),
        p.done.to_string(),
        p.failed.len().to_string(),
        p.missing.len().to_string(),
        p.missing
            .iter()
            .filter(|r| queued.contains(&r.id))
            .count()
            .to_string(),
    ]);
    println!("{}", t.render());
    if !subs.is_empty() {
        let mut s = Table::new([
            "submission",
            "job",
            "runs",
            "tasks",
            "in queue",
            "finished (sacct)",
        ]);
        let acct = slurm::accounting(&store);
        for sub in &subs {
            let states = |v: Option<&Vec<slurm::TaskState>>| -> String {
                let Some(v) = v else { return "-".into() };
                let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
                for t in v.iter().filter(|t| t.submission == sub.number) {
                    *counts.entry(t.state.as_str()).or_default() += 1;
                }
                if counts.is_empty() {
                    "none".into()
                } else {
                    counts
                        .iter()
                        .map(|(k, n)| format!("{n} {}", k.to_lowercase()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            s.row([
                sub.number.to_string(),
                sub.job_id.clone().unwrap_or_else(|| "not submitted".into()),
                sub.shards.iter().map(Vec::len).sum::<usize>().to_string(),
                sub.shards.len().to_string(),
                states(queue.as_ref()),
                states(acct.as_ref()),
            ]);
        }
        println!("\n{}", s.render());
        if queue.is_none() {
            println!("(squeue not found: queue states unknown)");
        }
        if acct.is_none() {
            println!("(sacct unavailable or accounting off: finished task states unknown)");
        }
    }
    if !p.failed.is_empty() {
        println!("\nfailed runs (rerun with --retry-failed):");
        let by_id = g.by_id()?;
        for r in p.failed.iter().take(20) {
            let label = by_id.get(&r.id).map_or(r.id.clone(), |x| x.label());
            println!(
                "  {label} [{}]: {}{}",
                r.id,
                r.error,
                last_line(&r.stderr_tail)
            );
        }
        if p.failed.len() > 20 {
            println!("  … and {} more", p.failed.len() - 20);
        }
    }
    Ok(())
}

fn merge_cmd(a: &MergeArgs) -> Result<()> {
    let store = RunStore::open(&a.dir)?;
    let m = merge(&store)?;
    let out = a.out.clone().unwrap_or_else(|| store.dir().join("merged"));
    if out.exists() && !out.is_dir() {
        return Err(Error::invalid(
            "--out",
            out.display(),
            "is a file, not a folder",
        ));
    }
    let files = write_merged(&m, &out)?;
    let p = store.progress()?;
    println!(
        "{} records ({} done, {} failed; {} runs missing) → {} rows × {} columns",
        m.runs.rows.len(),
        p.done,
        p.failed.len(),
        p.missing.len(),
        m.runs.rows.len(),
        m.runs.columns.len()
    );
    for (k, t) in &m.tables {
        println!(
            "  table {k}: {} rows × {} columns",
            t.rows.len(),
            t.columns.len()
        );
    }
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn exec(a: &ExecArgs) -> Result<()> {
    let store = RunStore::open(&a.dir)?;
    let records = slurm::exec_shard(&store, a.submission, a.shard)?;
    for r in &records {
        match r.status {
            Status::Done => println!("{} done in {:.1} s", r.id, r.wall_s),
            Status::Failed => println!("{} failed: {}", r.id, r.error),
        }
    }
    any_failed("sweep exec", &records, "of this task")
}

fn write_result(output: &Option<PathBuf>, value: &serde_json::Value) -> Result<()> {
    let path = output
        .clone()
        .or_else(|| std::env::var_os("DD_RUN_OUTPUT").map(PathBuf::from));
    let text = serde_json::to_string(value).map_err(|e| Error::Format(e.to_string()))?;
    match path {
        Some(p) => std::fs::write(&p, text).map_err(|e| Error::io(&p, e)),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

fn task_train(a: &TrainArgs) -> Result<()> {
    if a.h == 0 {
        return Err(Error::invalid("--h", 0, "needs a positive width"));
    }
    if !(a.alpha.is_finite() && a.alpha > 0.0) {
        return Err(Error::invalid(
            "--alpha",
            a.alpha,
            "needs a positive finite α̃",
        ));
    }
    let data = splits(&a.net, &a.fig, a.kernel)?;
    let cfg = config(
        &a.net,
        &a.fig,
        a.h,
        a.alpha,
        a.seed_init,
        (10_000, 3_000),
        a.kernel > 0,
    );
    let rec = train_on_splits(&cfg, &data, common::networks::dataset_name(&a.net), &|_| {})?;
    let last = rec.last();
    println!(
        "h = {}, α̃ = {}, seed {}: {:?} after {} steps; train err {:.4} (nd = {}), test err {:.4}",
        a.h,
        a.alpha,
        a.seed_init,
        rec.stop,
        last.step,
        last.train.err,
        last.train.nd,
        last.test.err
    );
    let value = serde_json::json!({
        "final": {
            "step": last.step,
            "train_err": last.train.err,
            "train_nd": last.train.nd,
            "test_err": last.test.err,
            "stop": format!("{:?}", rec.stop),
            "delta_kernel_ratio": rec.delta_kernel.as_ref().map(|d| d.ratio()),
        },
        "record": rec,
    });
    write_result(&a.output, &value)
}

fn task_dln(a: &DlnTaskArgs) -> Result<()> {
    let (arch, localisation, cfg) = a.dln.settings(&a.fig)?;
    let device = a.fig.device()?;
    let point = arch.draw(a.dln.seed, a.index)?.llc_vs_truth(
        localisation,
        &cfg,
        a.dln.precision,
        &device,
    )?;
    println!(
        "architecture {} of seed {}: sizes {:?}, λ = {}, λ̂ = {}",
        a.index,
        a.dln.seed,
        point.sizes,
        point.lambda,
        point
            .llc_mean
            .map_or_else(|| format!("none ({})", point.note), |m| format!("{m:.3}"))
    );
    let value = serde_json::to_value(&point).map_err(|e| Error::Format(e.to_string()))?;
    write_result(&a.output, &value)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.cmd {
        Cmd::Init(a) => init(a),
        Cmd::Run(a) => run(a),
        Cmd::Submit(a) => submit(a),
        Cmd::Wait(a) => RunStore::open(&a.dir).and_then(|s| {
            if a.timeout.is_some_and(|t| !(t.is_finite() && t > 0.0)) {
                return Err(Error::invalid(
                    "--timeout",
                    a.timeout.unwrap_or_default(),
                    "needs a positive number of seconds",
                ));
            }
            wait_for(&s, a.timeout)
        }),
        Cmd::Status(a) => status(a),
        Cmd::Merge(a) => merge_cmd(a),
        Cmd::Exec(a) => exec(a),
        Cmd::Task(Task::Train(a)) => task_train(a),
        Cmd::Task(Task::DlnLlc(a)) => task_dln(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sweep: error: {e}");
            ExitCode::FAILURE
        }
    }
}
