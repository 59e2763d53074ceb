//! A grid as a SLURM job array: one array task per shard of runs, each task running its runs one
//! after the other through the same [`execute`] as a local sweep, writing into the same run
//! store. SLURM schedules; this module writes the `sbatch` script, submits it, reads the queue
//! (`squeue`, and `sacct` where accounting is on) and submits again only the runs that have no
//! record and are not queued any more.
//!
//! The original sweeps were driven the same way: `job.slurm` with one command per array task in
//! `edmundlth/validating_lambdahat`, and `mariogeiger/grid` for `mariogeiger/feature_lazy`.
//!
//! Nothing but the output folder needs to be shared with the compute nodes: the runner binary
//! and the command's program (when it is a file) are copied into `<folder>/bin/` at every
//! submission, and the tasks write only under the folder.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::exec::{ExecOptions, execute};
use super::grid::Run;
use super::local::clear_work;
use super::store::{Record, RunStore, Status};
use crate::error::{Error, Result};

/// Resources and limits of each array task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// Wall-clock limit per task (`--time`): minutes, `MM:SS`, `HH:MM:SS` or `D-HH[:MM[:SS]]`.
    pub time: String,
    /// Memory per task (`--mem`), e.g. `4G`, `500M`; `None` takes the partition's default.
    pub mem: Option<String>,
    /// Cores per task (`--cpus-per-task`); each run gets them as `RAYON_NUM_THREADS`.
    pub cpus_per_task: usize,
    /// Partition (`--partition`).
    pub partition: Option<String>,
    /// Account (`--account`).
    pub account: Option<String>,
    /// At most this many tasks at once (`--array=…%M`).
    pub max_parallel: Option<usize>,
    /// Runs per array task (run one after the other).
    pub runs_per_task: usize,
    /// Job name (`--job-name`).
    pub job_name: String,
    /// Further `sbatch` options, each one word starting with `--` (`--gres=gpu:1`, `--qos=long`).
    pub extra: Vec<String>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            time: "01:00:00".into(),
            mem: None,
            cpus_per_task: 1,
            partition: None,
            account: None,
            max_parallel: None,
            runs_per_task: 1,
            job_name: "dd-sweep".into(),
            extra: vec![],
        }
    }
}

impl SlurmOptions {
    /// Checks every field (they end up in a shell script, so nothing may contain whitespace,
    /// quotes or a line break).
    pub fn check(&self) -> Result<()> {
        let t = &self.time;
        let (days, clock) = match t.split_once('-') {
            Some((d, c)) => (Some(d), c),
            None => (None, t.as_str()),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        let time_ok = days.is_none_or(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            && !parts.is_empty()
            && parts.len() <= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
            && (parts.iter().any(|p| p.chars().any(|c| c != '0'))
                || days.is_some_and(|d| d.chars().any(|c| c != '0')));
        if !time_ok {
            return Err(Error::invalid(
                "time",
                format!("{t:?}"),
                "use minutes, MM:SS, HH:MM:SS or D-HH:MM:SS, and more than zero",
            ));
        }
        if let Some(m) = &self.mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T']);
            if digits.is_empty()
                || m.len() - digits.len() > 1
                || !digits.chars().all(|c| c.is_ascii_digit())
                || digits.chars().all(|c| c == '0')
            {
                return Err(Error::invalid(
                    "mem",
                    format!("{m:?}"),
                    "use a positive size such as 500M, 4G or 4000 (MB)",
                ));
            }
        }
        if self.cpus_per_task == 0 {
            return Err(Error::invalid("cpus-per-task", 0, "need at least one core"));
        }
        if self.runs_per_task == 0 {
            return Err(Error::invalid(
                "runs-per-task",
                0,
                "need at least one run per task",
            ));
        }
        if self.max_parallel == Some(0) {
            return Err(Error::invalid(
                "max-parallel",
                0,
                "need at least one task at a time",
            ));
        }
        for (name, v) in [
            ("partition", self.partition.as_deref()),
            ("account", self.account.as_deref()),
            ("job-name", Some(self.job_name.as_str())),
        ] {
            if let Some(v) = v
                && (v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            {
                return Err(Error::invalid(
                    name,
                    format!("{v:?}"),
                    "use letters, digits, '_', '-' or '.'",
                ));
            }
        }
        for e in &self.extra {
            if !e.starts_with("--")
                || e.len() < 3
                || !e
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=:,.+/%@".contains(c))
            {
                return Err(Error::invalid(
                    "sbatch option",
                    format!("{e:?}"),
                    "each must be one word starting with -- of letters, digits and - _ = : , . + / % @ (for example --gres=gpu:1)",
                ));
            }
        }
        Ok(())
    }
}

/// One submission of a sweep: which runs each array task runs, and the job id SLURM gave it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// 0, 1, 2, … in the order of submission.
    pub number: usize,
    /// The array job's id (`None` when sbatch was not called or failed).
    pub job_id: Option<String>,
    /// Run ids of each array task.
    pub shards: Vec<Vec<String>>,
    /// The runner binary the tasks start (a copy in `<folder>/bin/`).
    pub runner: PathBuf,
    /// The copy of the command's program, when its first word is a file.
    pub program: Option<PathBuf>,
    /// Submission time, seconds since the Unix epoch.
    pub submitted_unix: f64,
    /// The options it was submitted with.
    pub options: SlurmOptions,
}

impl Submission {
    /// The file this submission is kept in.
    pub fn path(store: &RunStore, number: usize) -> PathBuf {
        store
            .dir()
            .join("slurm")
            .join(format!("submission-{number}.json"))
    }

    /// The sbatch script's path.
    pub fn script_path(&self, store: &RunStore) -> PathBuf {
        store
            .dir()
            .join("slurm")
            .join(format!("submission-{}.sbatch", self.number))
    }
}

/// Every submission of the store, in order.
pub fn submissions(store: &RunStore) -> Result<Vec<Submission>> {
    let dir = store.dir().join("slurm");
    let mut out = vec![];
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    for e in entries {
        let p = e.map_err(|e| Error::io(&dir, e))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("submission-") && name.ends_with(".json") {
            let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
            let s: Submission = serde_json::from_str(&text)
                .map_err(|e| Error::Format(format!("{}: {e}", p.display())))?;
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.number);
    Ok(out)
}

/// The next submission for `runs`: shards of `runs_per_task` runs (dealt round-robin, so slow
/// and fast parts of the grid mix), numbered after the existing submissions. Nothing is
/// written; `runner` is the binary whose `exec` subcommand the tasks call (it is copied into the
/// folder by [`submit`]).
pub fn plan(
    store: &RunStore,
    runs: &[Run],
    opts: &SlurmOptions,
    runner: &Path,
) -> Result<Submission> {
    opts.check()?;
    if runs.is_empty() {
        return Err(Error::invalid(
            "runs",
            0,
            "nothing to submit: every run has a record or is queued",
        ));
    }
    let dir = store.dir().display().to_string();
    if dir
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '%' | '\'' | '"' | '$' | '`' | '\\'))
    {
        return Err(Error::invalid(
            "output folder",
            format!("{dir:?}"),
            "SLURM needs a folder path without spaces, quotes, '%', '$' or '\\'",
        ));
    }
    let tasks = runs.len().div_ceil(opts.runs_per_task);
    let mut shards = vec![vec![]; tasks];
    for (i, r) in runs.iter().enumerate() {
        shards[i % tasks].push(r.id.clone());
    }
    let number = submissions(store)?.last().map_or(0, |s| s.number + 1);
    let bin = store.dir().join("bin");
    let runner_name = runner
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "runner".into());
    let program = program_copy(Path::new(&store.grid().command[0]), runner, &bin);
    Ok(Submission {
        number,
        job_id: None,
        shards,
        runner: bin.join(runner_name),
        program,
        submitted_unix: 0.0,
        options: opts.clone(),
    })
}

/// Where the command's program is copied for the tasks, or `None` when it is used in place: a
/// bare name (found on the nodes' PATH), a symbolic link (a virtualenv's `python` only works from
/// its own folder) or a system path (`/usr`, `/bin`, `/sbin`, `/lib`). The runner itself is not
/// copied twice; another program gets the prefix `cmd-`, so it never replaces the runner's copy.
pub fn program_copy(program: &Path, runner: &Path, bin: &Path) -> Option<PathBuf> {
    let system = ["/usr/", "/bin/", "/sbin/", "/lib"]
        .iter()
        .any(|d| program.starts_with(d) || program.to_string_lossy().starts_with(d));
    let is_link = std::fs::symlink_metadata(program).is_ok_and(|m| m.file_type().is_symlink());
    if program.components().count() < 2 || !program.is_file() || system || is_link {
        return None;
    }
    let name = program.file_name()?.to_string_lossy().to_string();
    let same = match (program.canonicalize(), runner.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        runner.file_name().map(|n| bin.join(n))
    } else {
        Some(bin.join(format!("cmd-{name}")))
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `sbatch` script of a submission.
pub fn script(store: &RunStore, sub: &Submission) -> String {
    let o = &sub.options;
    let dir = store.dir().display().to_string();
    let logs = format!("{dir}/slurm/logs");
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name={}\n", o.job_name);
    s += &format!(
        "#SBATCH --array=0-{}{}\n",
        sub.shards.len() - 1,
        o.max_parallel.map_or(String::new(), |m| format!("%{m}"))
    );
    s += &format!("#SBATCH --time={}\n", o.time);
    if let Some(m) = &o.mem {
        s += &format!("#SBATCH --mem={m}\n");
    }
    s += &format!("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
    s += "#SBATCH --ntasks=1\n";
    if let Some(p) = &o.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(a) = &o.account {
        s += &format!("#SBATCH --account={a}\n");
    }
    for e in &o.extra {
        s += &format!("#SBATCH {e}\n");
    }
    s += &format!(
        "#SBATCH --output={logs}/submission-{n}_%A_%a.out\n#SBATCH --error={logs}/submission-{n}_%A_%a.err\n",
        n = sub.number
    );
    s += &format!("#SBATCH --chdir={dir}\n");
    s += &format!(
        "# {} runs of the sweep in {dir}, {} per task; each task runs its shard of\n# {dir}/slurm/submission-{}.json and writes one record per run into {dir}/runs/.\n",
        sub.shards.iter().map(Vec::len).sum::<usize>(),
        o.runs_per_task,
        sub.number
    );
    s += "export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n";
    s += &format!(
        "exec {} exec {} --submission {} --shard \"$SLURM_ARRAY_TASK_ID\"\n",
        quote(&sub.runner.display().to_string()),
        quote(&dir),
        sub.number
    );
    s
}

/// Copies the runner and the command's program into `<folder>/bin/`, writes the submission and
/// its script, and submits it with `sbatch --parsable`. Returns the array job's id.
pub fn submit(store: &RunStore, sub: &mut Submission, runner_src: &Path) -> Result<String> {
    let bin = store.dir().join("bin");
    let logs = store.dir().join("slurm").join("logs");
    for d in [&bin, &logs] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    if let Some(max) = max_array_size()
        && sub.shards.len() > max
    {
        return Err(Error::invalid(
            "runs-per-task",
            sub.options.runs_per_task,
            format!(
                "{} array tasks exceed this cluster's MaxArraySize {max}: put more runs in each task",
                sub.shards.len()
            ),
        ));
    }
    copy_binary(store, runner_src, &sub.runner)?;
    if let Some(p) = sub.program.as_ref().filter(|p| **p != sub.runner) {
        copy_binary(store, Path::new(&store.grid().command[0]), p)?;
    }
    sub.submitted_unix = super::unix_now();
    write_submission(store, sub)?;
    let script_path = sub.script_path(store);
    store.write_atomic(&script_path, script(store, sub).as_bytes())?;
    // Runs of this submission start afresh.
    let ids: HashSet<&String> = sub.shards.iter().flatten().collect();
    let runs: Vec<Run> = store
        .grid()
        .runs()?
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .collect();
    clear_work(store, &runs);
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script_path)
        .output()
        .map_err(|e| Error::External {
            program: "sbatch".into(),
            message: format!("could not start: {e}"),
        })?;
    if !out.status.success() {
        return Err(Error::External {
            program: "sbatch".into(),
            message: super::one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .trim()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::External {
            program: "sbatch".into(),
            message: format!("printed no job id: {:?}", text.trim()),
        });
    }
    sub.job_id = Some(id.clone());
    write_submission(store, sub)?;
    Ok(id)
}

fn write_submission(store: &RunStore, sub: &Submission) -> Result<()> {
    let text =
        serde_json::to_string_pretty(sub).map_err(|e| Error::Format(format!("submission: {e}")))?;
    store.write_atomic(&Submission::path(store, sub.number), text.as_bytes())
}

/// Copies a binary through a temporary name and a rename (tasks still running the old copy keep
/// it), keeping its permissions.
fn copy_binary(store: &RunStore, from: &Path, to: &Path) -> Result<()> {
    if from == to {
        return Ok(());
    }
    let tmp = store.dir().join("tmp").join(format!(
        "{}.{}",
        to.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        super::store::unique_suffix()
    ));
    std::fs::copy(from, &tmp).map_err(|e| Error::io(from, e))?;
    std::fs::rename(&tmp, to).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(to, e)
    })
}

/// `MaxArraySize` from `scontrol show config`, where scontrol answers.
fn max_array_size() -> Option<usize> {
    let out = Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("MaxArraySize"))?;
    line.split('=').nth(1)?.trim().parse().ok()
}

/// The state SLURM gives one array task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    /// Submission number.
    pub submission: usize,
    /// Array task (shard) index.
    pub shard: usize,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `CANCELLED`, `TIMEOUT`, `FAILED`, `OUT_OF_MEMORY`, …
    pub state: String,
}

/// `squeue` on PATH?
pub fn slurm_available() -> bool {
    Command::new("squeue")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The submissions' tasks still in the queue (pending, running, completing, …), from `squeue`;
/// `None` when squeue is not available.
pub fn queue(store: &RunStore) -> Result<Option<Vec<TaskState>>> {
    let subs = submissions(store)?;
    let jobs: BTreeMap<String, usize> = subs
        .iter()
        .filter_map(|s| Some((s.job_id.clone()?, s.number)))
        .collect();
    if jobs.is_empty() {
        return Ok(if slurm_available() {
            Some(vec![])
        } else {
            None
        });
    }
    let out = match Command::new("squeue")
        .args(["--me", "-h", "-r", "-o", "%i|%T"])
        .output()
    {
        Ok(o) => o,
        Err(_) => return Ok(None),
    };
    if !out.status.success() {
        return Err(Error::External {
            program: "squeue".into(),
            message: super::one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(Some(parse_tasks(
        &String::from_utf8_lossy(&out.stdout),
        &jobs,
    )))
}

/// Finished tasks' states from `sacct` (`None` where accounting is off or sacct is absent).
pub fn accounting(store: &RunStore) -> Option<Vec<TaskState>> {
    let subs = submissions(store).ok()?;
    let jobs: BTreeMap<String, usize> = subs
        .iter()
        .filter_map(|s| Some((s.job_id.clone()?, s.number)))
        .collect();
    if jobs.is_empty() {
        return None;
    }
    let ids: Vec<&str> = jobs.keys().map(String::as_str).collect();
    let out = Command::new("sacct")
        .args(["-n", "-P", "-X", "-o", "JobID,State", "-j", &ids.join(",")])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(parse_tasks(&String::from_utf8_lossy(&out.stdout), &jobs))
}

/// Lines `JOB_TASK|STATE` of our array jobs (other jobs and unexpanded ranges skipped).
fn parse_tasks(text: &str, jobs: &BTreeMap<String, usize>) -> Vec<TaskState> {
    let mut out = vec![];
    for line in text.lines() {
        let Some((id, state)) = line.trim().split_once('|') else {
            continue;
        };
        let Some((job, task)) = id.split_once('_') else {
            continue;
        };
        let (Some(&submission), Ok(shard)) = (jobs.get(job), task.parse::<usize>()) else {
            continue;
        };
        out.push(TaskState {
            submission,
            shard,
            // sacct writes "CANCELLED by 0".
            state: state.split_whitespace().next().unwrap_or("").to_string(),
        });
    }
    out
}

/// Ids of the runs whose tasks are still in the queue (they are not missing, only waiting).
pub fn queued_runs(store: &RunStore) -> Result<HashSet<String>> {
    let subs = submissions(store)?;
    let mut out = HashSet::new();
    for t in queue(store)?.unwrap_or_default() {
        if let Some(s) = subs.iter().find(|s| s.number == t.submission)
            && let Some(shard) = s.shards.get(t.shard)
        {
            out.extend(shard.iter().cloned());
        }
    }
    Ok(out)
}

/// What an array task does: runs its shard of a submission one run after the other (runs that
/// already have a `done` record are skipped, so a requeued task does not redo them), each with
/// `SLURM_CPUS_PER_TASK` threads.
pub fn exec_shard(store: &RunStore, number: usize, shard: usize) -> Result<Vec<Record>> {
    let subs = submissions(store)?;
    let sub = subs.iter().find(|s| s.number == number).ok_or_else(|| {
        Error::invalid(
            "submission",
            number,
            format!("{} holds no such submission", store.dir().display()),
        )
    })?;
    let ids = sub.shards.get(shard).ok_or_else(|| {
        Error::invalid(
            "shard",
            shard,
            format!("submission {number} has {} shards", sub.shards.len()),
        )
    })?;
    let by_id = store.grid().by_id()?;
    let threads = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|s| s.parse().ok());
    let opts = ExecOptions {
        threads,
        program: sub.program.clone(),
    };
    let mut out = vec![];
    for id in ids {
        let run = by_id.get(id).ok_or_else(|| {
            Error::Format(format!(
                "submission {number} names run {id}, which the grid in {} no longer has",
                store.dir().display()
            ))
        })?;
        if store.head(id)?.is_some_and(|r| r.status == Status::Done) {
            continue;
        }
        out.push(execute(store, run, &opts)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        let ok = SlurmOptions::default();
        assert!(ok.check().is_ok());
        for bad in ["", "0", "1:2:3:4", "x", "1-", "00:00:00"] {
            let o = SlurmOptions {
                time: bad.into(),
                ..SlurmOptions::default()
            };
            assert!(o.check().is_err(), "{bad}");
        }
        for good in ["30", "1:00:00", "2-00:00:00", "45:00"] {
            let o = SlurmOptions {
                time: good.into(),
                ..SlurmOptions::default()
            };
            assert!(o.check().is_ok(), "{good}");
        }
        let o = SlurmOptions {
            extra: vec!["--gres=gpu:1; rm -rf /".into()],
            ..SlurmOptions::default()
        };
        assert!(o.check().is_err());
        let o = SlurmOptions {
            mem: Some("4GG".into()),
            ..SlurmOptions::default()
        };
        assert!(o.check().is_err());
    }

    #[test]
    fn queue_lines_are_parsed() {
        let jobs: BTreeMap<String, usize> = [("17".to_string(), 0), ("21".to_string(), 1)].into();
        let t = parse_tasks(
            "17_3|RUNNING\n21_0|PENDING\n99_1|RUNNING\n17_[4-7%2]|PENDING\n21_2|CANCELLED by 0\n",
            &jobs,
        );
        assert_eq!(t.len(), 3);
        assert_eq!((t[0].submission, t[0].shard), (0, 3));
        assert_eq!(t[2].state, "CANCELLED");
    }
}
