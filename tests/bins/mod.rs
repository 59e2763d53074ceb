//! The example binaries the integration tests run (cargo builds examples before running tests).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// target/<profile>/deps/<test-binary> → target/<profile>/examples/<name>
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// Runs the `sweep` example with `args`.
pub fn sweep(args: &[&str]) -> Output {
    let bin = example("sweep");
    assert!(bin.exists(), "{} not built", bin.display());
    Command::new(bin).args(args).output().unwrap()
}

/// Its standard output, after checking it succeeded.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sweep failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `sweep init DIR -p P1 -p P2 … -- COMMAND…`, checked to succeed.
pub fn init(dir: &std::path::Path, params: &[&str], command: &[&str]) {
    let mut args = vec!["init", dir.to_str().unwrap()];
    for p in params {
        args.extend(["-p", p]);
    }
    args.push("--");
    args.extend(command);
    ok(&sweep(&args));
}
