//! The sweep runner on a real SLURM cluster (CI starts a one-node cluster with
//! `.ci/slurm-cluster`): a job array of 8 DLN λ̂ runs, one task cancelled with `scancel` while it
//! runs, a resubmission of only the missing run, and the merged table equal, run for run, to the
//! same grid run on this machine.
//!
//! Without `sbatch` on the PATH (or without a cluster answering `sinfo`) the test is skipped with
//! the reason printed; with `DOUBLEDESCENT_REQUIRE_SLURM=1` (set by `.ci/run`) that is a failure.

use std::path::Path;
use std::process::Command;

mod bins;
use bins::{example, init, ok, sweep};
use std::time::{Duration, Instant};

use doubledescent::sweep::{RunStore, Status, merge, slurm};

/// Why SLURM cannot be used here, or `None` when it can.
fn slurm_missing() -> Option<String> {
    match Command::new("sbatch").arg("--version").output() {
        Err(_) => return Some("sbatch is not on the PATH".into()),
        Ok(o) if !o.status.success() => return Some("sbatch --version failed".into()),
        Ok(_) => {}
    }
    match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => None,
        Ok(o) => Some(format!(
            "no SLURM controller answers sinfo ({}); start one with .ci/slurm-cluster and export SLURM_CONF",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("sinfo: {e}")),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn job_array_with_a_cancelled_task_resubmits_and_equals_a_local_run() {
    if let Some(why) = slurm_missing() {
        if std::env::var("DOUBLEDESCENT_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
            panic!("DOUBLEDESCENT_REQUIRE_SLURM=1 but {why}");
        }
        eprintln!("skipping the SLURM sweep test: {why}");
        return;
    }
    let t_start = Instant::now();
    let base = std::env::temp_dir().join(format!("dd-sweep-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (on_slurm, local) = (base.join("slurm"), base.join("local"));
    let bin = example("sweep");
    // 8 networks of the DLN sweep, a few seconds each on one core.
    for dir in [&on_slurm, &local] {
        init(
            dir,
            &["index:int=0..8"],
            &[s(&bin), "task", "dln-llc", "--quick", "--steps", "2500"],
        );
    }

    let out = ok(&sweep(&[
        "submit",
        s(&on_slurm),
        "--time",
        "10",
        "--mem",
        "500M",
        "--max-parallel",
        "2",
    ]));
    println!("{}", out.trim());
    let store = RunStore::open(&on_slurm).unwrap();
    let subs = slurm::submissions(&store).unwrap();
    assert_eq!(subs.len(), 1);
    let job = subs[0].job_id.clone().expect("a job id");
    assert_eq!(subs[0].shards.len(), 8);

    // Cancel the first task seen running (its run takes seconds; the record comes at the end).
    let t0 = Instant::now();
    let cancelled = loop {
        let q = slurm::queue(&store).unwrap().expect("squeue answers");
        if let Some(t) = q.iter().find(|t| t.state == "RUNNING") {
            let task = format!("{job}_{}", t.shard);
            let st = Command::new("scancel").arg(&task).status().unwrap();
            assert!(st.success(), "scancel {task}");
            break t.shard;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no task started running within 2 minutes: {q:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let cancelled_run = subs[0].shards[cancelled][0].clone();
    ok(&sweep(&["wait", s(&on_slurm), "--timeout", "600"]));
    let p = store.progress().unwrap();
    assert_eq!(p.done, 7, "the other 7 tasks finished");
    assert!(p.failed.is_empty());
    assert_eq!(p.missing.len(), 1);
    assert_eq!(
        p.missing[0].id, cancelled_run,
        "the cancelled task's run has no record"
    );

    // Resubmitting submits only the missing run.
    ok(&sweep(&["submit", s(&on_slurm), "--time", "10", "--wait"]));
    let subs = slurm::submissions(&store).unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[1].shards, vec![vec![cancelled_run.clone()]]);
    let p = store.progress().unwrap();
    assert_eq!((p.done, p.missing.len()), (8, 0));
    // A third submission has nothing to do.
    ok(&sweep(&["submit", s(&on_slurm)]));
    assert_eq!(slurm::submissions(&store).unwrap().len(), 2);
    let slurm_secs = t_start.elapsed().as_secs_f64();

    // Every record says where it ran.
    for r in store.records().unwrap() {
        let task = r.slurm.as_ref().expect("ran under SLURM");
        let expected_job = if r.id == cancelled_run {
            subs[1].job_id.clone()
        } else {
            subs[0].job_id.clone()
        };
        assert_eq!(task.array_job_id, expected_job);
    }
    assert_eq!(std::fs::read_dir(on_slurm.join("work")).unwrap().count(), 0);

    // The same grid on this machine: equal, run for run (wall times aside).
    ok(&sweep(&["run", s(&local), "--workers", "2"]));
    let (a, b) = (
        merge(&store).unwrap().runs,
        merge(&RunStore::open(&local).unwrap()).unwrap().runs,
    );
    assert_eq!(a.columns, b.columns);
    assert_eq!(a.rows.len(), 8);
    let wall = a.column("wall_s").unwrap();
    let status = a.column("status").unwrap();
    for (ra, rb) in a.rows.iter().zip(&b.rows) {
        assert_eq!(ra[status], serde_json::json!("done"));
        for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
            if j != wall {
                assert_eq!(x, y, "column {} of run {}", a.columns[j], ra[0]);
            }
        }
    }
    let local_records = RunStore::open(&local).unwrap().records().unwrap();
    for (x, y) in store.records().unwrap().iter().zip(&local_records) {
        assert_eq!((&x.id, &x.result), (&y.id, &y.result));
        assert_eq!(x.status, Status::Done);
    }
    println!(
        "SLURM part: {slurm_secs:.1} s (8 runs, a cancel and a resubmission); whole test {:.1} s",
        t_start.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&base);
}
