//! The sweep runner on this machine: grids, the run store, resume, a run killed mid-write, a
//! failing command, merged tables against direct runs, and bad input. (The same runner on a real
//! SLURM cluster: tests/sweep_slurm.rs.)

use std::path::{Path, PathBuf};
use std::process::Command;

mod bins;
use bins::{example, init, ok, sweep};

use doubledescent::Error;
use doubledescent::sweep::{Grid, Param, Record, RunStore, Status, Value, merge, run_local};

fn fresh(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dd-sweep-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn dln_sweep_runs_resumes_and_equals_the_library() {
    let dir = fresh("dln");
    let bin = example("sweep");
    init(
        &dir,
        &["index:int=0..4"],
        &[s(&bin), "task", "dln-llc", "--quick"],
    );
    ok(&sweep(&["run", s(&dir), "--workers", "2"]));
    let store = RunStore::open(&dir).unwrap();
    let records = store.records().unwrap();
    assert_eq!(records.len(), 4);

    // Each run equals the same architecture computed here through the library.
    // The example's --quick settings: n = 2000, 400 steps, f32 chains.
    let arch = doubledescent::sampling::RandomDln::new(5..30, 2..5, 2000);
    let cfg = doubledescent::sampling::LlcConfig {
        sampler: doubledescent::sampling::SgldConfig {
            epsilon: 1e-6,
            batch_size: 500,
            steps: 400,
            seed: 0,
            ..Default::default()
        },
        chains: 4,
        burn_in: doubledescent::sampling::BurnIn::Fraction(0.9),
    };
    for r in &records {
        assert_eq!(r.status, Status::Done, "{}", r.error);
        let i = r.params["index"].as_u64().unwrap();
        let direct = arch
            .draw(0, i)
            .unwrap()
            .llc_vs_truth(
                doubledescent::sampling::Localisation {
                    gamma: 1.0,
                    nbeta: doubledescent::sampling::NBeta::DatasetLog,
                },
                &cfg,
                doubledescent::Precision::F32,
                &doubledescent::Device::cpu(),
            )
            .unwrap();
        let swept: doubledescent::sampling::DlnLlcPoint =
            serde_json::from_value(r.result.clone().unwrap()).unwrap();
        assert_eq!(swept, direct, "architecture {i}");
    }

    // Resume: remove one record; a second pass runs only that run.
    let victim = &records[2];
    std::fs::remove_file(store.record_path(&victim.id)).unwrap();
    assert_eq!(store.pending(false).unwrap().len(), 1);
    ok(&sweep(&["run", s(&dir)]));
    let again = store.records().unwrap();
    for (a, b) in records.iter().zip(&again) {
        if a.id == victim.id {
            assert!(b.started_unix > a.started_unix);
            assert_eq!(a.result, b.result);
        } else {
            assert_eq!(a, b, "run {} was run again", a.id);
        }
    }
    // Nothing left: a third pass does nothing and changes nothing.
    ok(&sweep(&["run", s(&dir)]));
    assert_eq!(store.records().unwrap(), again);
    assert_eq!(std::fs::read_dir(dir.join("work")).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_killed_mid_write_leaves_no_record() {
    let dir = fresh("kill");
    let gate = dir.with_extension("gate");
    let _ = std::fs::remove_file(&gate);
    // The command writes half of its result, then waits for the gate file.
    let script = format!(
        "printf '{{\"x\": ' > \"$DD_RUN_OUTPUT\"; while [ ! -f {g} ]; do sleep 0.05; done; printf '%s}}' \"$1\" >> \"$DD_RUN_OUTPUT\"",
        g = s(&gate)
    );
    init(&dir, &["x:int=7"], &["sh", "-c", &script, "sh", "{x}"]);
    let mut cmd = Command::new(example("sweep"));
    cmd.args(["run", s(&dir)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.spawn().unwrap();
    // Wait until the half result exists, then kill the runner and its command together.
    let t0 = std::time::Instant::now();
    let half = loop {
        let found = std::fs::read_dir(dir.join("work"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("result.json"))
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
        if let Some(p) = found {
            break p;
        }
        assert!(t0.elapsed().as_secs() < 60, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let pgid = child.id();
    let killed = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut child = child;
    child.wait().unwrap();
    assert!(half.exists(), "the half-written result is still there");
    let store = RunStore::open(&dir).unwrap();
    assert_eq!(std::fs::read_dir(dir.join("runs")).unwrap().count(), 0);
    let p = store.progress().unwrap();
    assert_eq!((p.done, p.failed.len(), p.missing.len()), (0, 0, 1));
    // The rerun completes it and clears the dead run's folder.
    std::fs::write(&gate, "").unwrap();
    ok(&sweep(&["run", s(&dir)]));
    let r = store.records().unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].result, Some(serde_json::json!({"x": 7})));
    assert!(!half.exists());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&gate);
}

#[test]
fn a_failing_command_is_recorded_and_the_others_go_on() {
    let dir = fresh("fail");
    // Run v = 2 writes the numbers 1…3000 to stderr (13 893 bytes) and exits 3.
    let script = "if [ \"$1\" = 2 ]; then seq 1 3000 >&2; exit 3; fi; echo \"{\\\"v\\\": $1}\" > \"$DD_RUN_OUTPUT\"";
    init(&dir, &["v:int=1,2,3"], &["sh", "-c", script, "sh", "{v}"]);
    let out = sweep(&["run", s(&dir), "--workers", "1"]);
    assert!(
        !out.status.success(),
        "a failed run makes the sweep exit non-zero"
    );
    let store = RunStore::open(&dir).unwrap();
    let recs = store.records().unwrap();
    assert_eq!(recs.len(), 3);
    let failed: Vec<&Record> = recs.iter().filter(|r| r.status == Status::Failed).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].params["v"], serde_json::json!(2));
    assert_eq!(failed[0].exit_code, Some(3));
    // The record keeps the end of stderr: whole lines, at most TAIL_BYTES, ending at 3000.
    let tail: Vec<u32> = failed[0]
        .stderr_tail
        .lines()
        .map(|l| l.parse().expect("whole lines"))
        .collect();
    assert!(failed[0].stderr_tail.len() <= doubledescent::sweep::TAIL_BYTES);
    assert_eq!(tail.last(), Some(&3000));
    assert!(
        tail.len() > 500 && tail[0] > 1,
        "{} lines from {}",
        tail.len(),
        tail[0]
    );
    assert!(tail.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(failed[0].result.is_none());
    for r in recs.iter().filter(|r| r.status == Status::Done) {
        assert_eq!(r.result.as_ref().unwrap()["v"], r.params["v"]);
    }
    // Failed runs are kept until asked for again.
    assert!(store.pending(false).unwrap().is_empty());
    let retry = store.pending(true).unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].id, failed[0].id);
    let m = merge(&store).unwrap().runs;
    let st = m.column("status").unwrap();
    assert_eq!(
        m.rows
            .iter()
            .filter(|r| r[st] == serde_json::json!("failed"))
            .count(),
        1
    );
    // A program that does not exist fails the same way.
    let dir2 = fresh("noprog");
    init(&dir2, &["a=1"], &["/nonexistent/program"]);
    assert!(!sweep(&["run", s(&dir2)]).status.success());
    let r = RunStore::open(&dir2).unwrap().records().unwrap();
    assert_eq!(r[0].status, Status::Failed);
    assert_eq!(r[0].exit_code, None);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

#[test]
fn an_example_swept_gives_the_csv_it_writes_alone() {
    // Any example: the records keep the CSV files it writes; merged, they equal direct runs.
    let dir = fresh("example");
    let ex = example("dln_llc_vs_truth");
    init(
        &dir,
        &["seed:int=3,5"],
        &[s(&ex), "--quick", "--architectures", "2", "--steps", "200"],
    );
    ok(&sweep(&["run", s(&dir), "--workers", "2"]));
    let store = RunStore::open(&dir).unwrap();
    let m = merge(&store).unwrap();
    let key = "figures/dln_llc_vs_truth/dln_llc_vs_truth.csv";
    let t = m
        .tables
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {:?}", m.tables.keys()));
    let seed_col = t.column("seed").unwrap();
    for seed in [3, 5] {
        let out = fresh(&format!("example-direct-{seed}"));
        let direct = Command::new(&ex)
            .args([
                "--quick",
                "--architectures",
                "2",
                "--steps",
                "200",
                "--seed",
            ])
            .arg(seed.to_string())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(direct.status.success());
        let d = doubledescent::sweep::read_csv(&out.join("dln_llc_vs_truth.csv")).unwrap();
        let swept: Vec<Vec<serde_json::Value>> = t
            .rows
            .iter()
            .filter(|r| r[seed_col] == serde_json::json!(seed))
            .map(|r| {
                d.columns
                    .iter()
                    .map(|c| r[t.column(c).unwrap()].clone())
                    .collect()
            })
            .collect();
        assert_eq!(swept, d.rows, "seed {seed}");
        let _ = std::fs::remove_dir_all(&out);
    }
    // Written out, the merged folder has the run table and the example's table.
    let files = doubledescent::sweep::write_merged(&m, &dir.join("merged")).unwrap();
    assert_eq!(files.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn grid_files_give_the_same_runs_as_the_command_line() {
    let cli = Grid::new(
        vec!["prog".into(), "--quick".into()],
        vec![
            Param::parse("h:int", &["6,8"]).unwrap(),
            Param::parse("alpha:float", &["0.5", "12"]).unwrap(),
            Param::parse("name", &["a,b"]).unwrap(),
        ],
    )
    .unwrap();
    let toml = Grid::from_toml(
        "command = [\"prog\", \"--quick\"]\n[params]\nh = [6, 8]\nalpha = [0.5, 12.0]\nname = [\"a\", \"b\"]\n",
    )
    .unwrap();
    let json = Grid::from_json(
        r#"{"command": "prog --quick", "params": [{"name": "h", "type": "int", "values": [6, 8]},
            {"name": "alpha", "type": "float", "values": [0.5, 12.0]},
            {"name": "name", "type": "str", "values": ["a", "b"]}]}"#,
    )
    .unwrap();
    assert_eq!(toml, cli);
    assert_eq!(json, cli);
    let runs = cli.runs().unwrap();
    assert_eq!(runs.len(), 8);
    // Ids are stable across processes and versions: SHA-256 of "h=i:8\n", as Python's
    // hashlib.sha256(b"h=i:8\n").hexdigest()[:16] gives.
    assert_eq!(runs[0].params[1].1, Value::Float(0.5));
    assert_eq!(
        doubledescent::sweep::Run::id_of(&[("h".into(), Value::Int(8))]),
        "7c6d18b8e7aad44b"
    );
}

#[test]
fn bad_input_is_refused_with_the_argument_named() {
    // An empty grid: no parameter, or a parameter without values.
    let empty = Grid::new(vec!["prog".into()], vec![]);
    assert!(matches!(
        empty,
        Err(Error::InvalidArgument { name: "grid", .. })
    ));
    let no_values = Param::parse("h:int", &[""]);
    assert!(matches!(
        no_values,
        Err(Error::InvalidArgument {
            name: "parameter values",
            ..
        })
    ));
    let toml_empty = Grid::from_toml("command = \"prog\"\n[params]\nh = []\n");
    assert!(matches!(
        toml_empty,
        Err(Error::InvalidArgument {
            name: "parameter values",
            ..
        })
    ));
    // A non-number where a number is declared.
    for (decl, v) in [
        ("h:int", "4,x"),
        ("h:int", "4.5"),
        ("a:float", "1,abc"),
        ("a:float", "nan"),
    ] {
        assert!(
            matches!(
                Param::parse(decl, &[v]),
                Err(Error::InvalidArgument {
                    name: "parameter values",
                    ..
                })
            ),
            "{decl}={v}"
        );
    }
    assert!(matches!(
        Param::parse("h:integer", &["1"]),
        Err(Error::InvalidArgument {
            name: "parameter type",
            ..
        })
    ));
    assert!(matches!(
        Param::parse("bad name", &["1"]),
        Err(Error::InvalidArgument {
            name: "parameter name",
            ..
        })
    ));
    assert!(matches!(
        Grid::from_toml("command = [\"prog\"]\n[params]\nh = [1, \"x\"]\n"),
        Err(Error::InvalidArgument {
            name: "parameter values",
            ..
        })
    ));
    assert!(matches!(Grid::from_json("{"), Err(Error::Format(_))));
    // The output folder is a file.
    let file = fresh("file");
    std::fs::write(&file, "not a folder").unwrap();
    let g = Grid::new(
        vec!["prog".into()],
        vec![Param::parse("a", &["1"]).unwrap()],
    )
    .unwrap();
    assert!(matches!(
        RunStore::create(&file, &g),
        Err(Error::InvalidArgument {
            name: "output folder",
            ..
        })
    ));
    assert!(matches!(
        RunStore::open(&file),
        Err(Error::InvalidArgument {
            name: "output folder",
            ..
        })
    ));
    // The CLI: each exits non-zero and creates nothing.
    let dir = fresh("cli-bad");
    for args in [
        vec!["init", s(&dir), "--", "prog"],
        vec!["init", s(&dir), "-p", "h:int=4,x", "--", "prog"],
        vec!["init", s(&dir), "-p", "h:int=", "--", "prog"],
        vec!["init", s(&dir), "-p", "h=1"],
        vec!["init", s(&file), "-p", "h=1", "--", "prog"],
        vec!["run", s(&dir)],
        vec!["status", s(&file)],
    ] {
        let out = sweep(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim().lines().count(),
            1,
            "{args:?}"
        );
    }
    assert!(!dir.exists());
    // A second grid with another command cannot take over a folder.
    let d2 = fresh("other-command");
    RunStore::create(&d2, &g).unwrap();
    let other = Grid::new(vec!["other".into()], g.params.clone()).unwrap();
    assert!(matches!(
        RunStore::create(&d2, &other),
        Err(Error::InvalidArgument {
            name: "output folder",
            ..
        })
    ));
    // Zero workers, and SLURM options that would break the script.
    let store = RunStore::open(&d2).unwrap();
    assert!(matches!(
        run_local(&store, &[], 0, None, &|_, _| {}),
        Err(Error::InvalidArgument {
            name: "workers",
            ..
        })
    ));
    let out = sweep(&["submit", s(&d2), "--dry-run", "--time", "1:2:3:4"]);
    assert!(!out.status.success());
    let out = sweep(&[
        "submit",
        s(&d2),
        "--dry-run",
        "--sbatch-arg=--gres=gpu:1;reboot",
    ]);
    assert!(!out.status.success());
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(&d2);
}

#[test]
fn dry_run_prints_an_array_over_the_missing_runs_only() {
    let dir = fresh("dry");
    let g = Grid::new(
        vec!["true".into()],
        vec![Param::parse("i:int", &["0..10"]).unwrap()],
    )
    .unwrap();
    let store = RunStore::create(&dir, &g).unwrap();
    // Four runs already have records.
    let runs = g.runs().unwrap();
    run_local(&store, &runs[..4], 2, None, &|_, _| {}).unwrap();
    let out = ok(&sweep(&[
        "submit",
        s(&dir),
        "--dry-run",
        "--runs-per-task",
        "4",
        "--max-parallel",
        "3",
    ]));
    // 6 missing runs in tasks of 4: an array 0-1, at most 3 at once.
    let array = out
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .expect("an --array line");
    assert_eq!(array, "0-1%3");
    assert!(!dir.join("slurm").exists(), "a dry run writes nothing");
    // What the tasks start: the runner's copy for itself, a `cmd-` copy for another binary,
    // programs on the PATH, system paths and symbolic links (a virtualenv's python) in place.
    use doubledescent::sweep::slurm::program_copy;
    let (runner, bin) = (example("sweep"), dir.join("bin"));
    assert_eq!(
        program_copy(&runner, &runner, &bin),
        Some(bin.join("sweep"))
    );
    let other = example("fig1");
    assert_eq!(
        program_copy(&other, &runner, &bin),
        Some(bin.join("cmd-fig1"))
    );
    assert_eq!(program_copy(Path::new("python3"), &runner, &bin), None);
    assert_eq!(program_copy(Path::new("/usr/bin/env"), &runner, &bin), None);
    let link = dir.with_extension("link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&other, &link).unwrap();
    assert_eq!(program_copy(&link, &runner, &bin), None);
    let _ = std::fs::remove_file(&link);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn jamming_scan_from_a_sweep_folder_equals_the_direct_run() {
    // The quick jamming scan's grid (h ∈ {3, 8, 32}, α̃ ∈ {12, 2²⁰}, seeds 100–102) as 18 runs of
    // `sweep task train`, plotted with --from-runs: the same CSV files as the example's own runs.
    let dir = fresh("jamming");
    let bin = example("sweep");
    init(
        &dir,
        &[
            "alpha:float=12,1048576",
            "h:int=3,8,32",
            "seed-init:int=100..103",
        ],
        &[s(&bin), "task", "train", "--quick"],
    );
    ok(&sweep(&["run", s(&dir), "--workers", "2"]));
    let (direct, swept) = (fresh("jamming-direct"), fresh("jamming-swept"));
    let ex = example("jamming_scan");
    for (out, extra) in [(&direct, vec![]), (&swept, vec!["--from-runs", s(&dir)])] {
        let r = Command::new(&ex)
            .args(["--quick", "--out", s(out)])
            .args(&extra)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    for name in ["runs", "mean", "ensemble", "band"] {
        let f = format!("jamming_scan_{name}.csv");
        let (a, b) = (
            std::fs::read_to_string(direct.join(&f)).unwrap(),
            std::fs::read_to_string(swept.join(&f)).unwrap(),
        );
        assert!(a.lines().count() > 1 || name == "band", "{f} is empty");
        assert_eq!(a, b, "{f}");
    }
    for d in [&dir, &direct, &swept] {
        let _ = std::fs::remove_dir_all(d);
    }
}
