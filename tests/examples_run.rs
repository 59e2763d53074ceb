//! Runs every figure example with `--quick` (cargo builds examples before running tests) and
//! checks that it writes its PNG, SVG and CSV files, prints its summary, and that bad input
//! ends in a clear message and a non-zero exit status.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/<test-binary> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join("examples").join(name)
}

fn run_quick(name: &str, extra: &[&str]) -> (PathBuf, String) {
    let out =
        std::env::temp_dir().join(format!("doubledescent-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let bin = example(name);
    assert!(bin.exists(), "{} not built", bin.display());
    let res = Command::new(&bin)
        .args(["--quick", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout).to_string();
    assert!(
        res.status.success(),
        "{name} failed: {}\n{stdout}",
        String::from_utf8_lossy(&res.stderr)
    );
    (out, stdout)
}

fn assert_files(dir: &std::path::Path, stem: &str) {
    for ext in ["png", "svg"] {
        let f = dir.join(format!("{stem}.{ext}"));
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{} missing or empty", f.display());
    }
    let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn fig1_writes_figure_csv_and_summary() {
    let (dir, stdout) = run_quick("fig1", &[]);
    assert_files(&dir, "fig1");
    let csv = std::fs::read_to_string(dir.join("fig1.csv")).unwrap();
    assert!(csv.starts_with("t_plus_1,eg_fast,eg_slow,eg_both,r_both,q_both"));
    assert_eq!(csv.lines().count(), 301);
    // The summary prints the spec's headline numbers (first minimum and bump of "both").
    assert!(
        stdout.contains("0.2327 @ 14.2") && stdout.contains("0.2677 @ 331"),
        "{stdout}"
    );
}

#[test]
fn fig3_fig2cd_and_variants_run() {
    let (dir, stdout) = run_quick("fig3", &[]);
    assert_files(&dir, "fig3");
    assert!(stdout.contains("1.225 (0.700)"), "{stdout}");
    let (dir, _) = run_quick("fig2_cd", &[]);
    assert_files(&dir, "fig2_cd");
    let (dir, _) = run_quick("variants_of_fig1", &[]);
    assert_files(&dir, "variants_of_fig1");
    assert!(dir.join("variant_n300_d280_p50.csv").exists());
    let (dir, _) = run_quick("variants_of_fig3", &[]);
    assert_files(&dir, "variants_of_fig3");
}

#[test]
fn emp_vs_analytic_quick_runs() {
    let (dir, stdout) = run_quick("emp_vs_analytic", &["--seeds", "12"]);
    assert_files(&dir, "emp_vs_analytic");
    assert!(dir.join("gd_vs_exact.csv").exists() && dir.join("analytic_k100.csv").exists());
    assert!(stdout.contains("max |GD−exact|"), "{stdout}");
}

#[test]
fn bad_arguments_exit_nonzero_with_a_message() {
    for (name, args, needle) in [
        ("fig1", vec!["--p", "70", "--n", "70"], "n = p = 70"),
        ("fig3", vec!["--p", "120"], "`p` = 120"),
        ("fig2_cd", vec!["--lambdas", "5"], "`lambdas` = 5"),
        (
            "dd_random_features",
            vec!["--rff-widths", "0"],
            "`widths` = 0",
        ),
        (
            "interpolation_with_noise",
            vec!["--bandwidth=-1"],
            "`bandwidth` = -1",
        ),
        (
            "interpolation_with_noise",
            vec!["--per-class", "2000"],
            "class 0 has only 1001",
        ),
        (
            "ntk_regression_mnist",
            vec!["--mnist", "/nonexistent"],
            "train-images-idx3-ubyte",
        ),
        (
            "ls_ablations",
            vec!["--csv", "/nonexistent.csv", "--target", "y"],
            "/nonexistent.csv",
        ),
        (
            "ls_adversarial",
            vec!["--max-size", "0"],
            "`--max-size` = 0",
        ),
        (
            "polynomial_regression",
            vec!["--num-data", "0"],
            "`num_data` = 0",
        ),
    ] {
        let out =
            std::env::temp_dir().join(format!("doubledescent-bad-{name}-{}", std::process::id()));
        let res = Command::new(example(name))
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(!res.status.success(), "{name} {args:?} should fail");
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
}

#[test]
fn tutorial_examples_run_and_print_their_tables() {
    let (dir, stdout) = run_quick("dd_random_features", &[]);
    assert_files(&dir, "dd_random_features");
    // The notebook's printed numbers (NumPy's streams are regenerated exactly).
    assert!(
        stdout.contains("1.6053903387") && stdout.contains("0.2678602200"),
        "{stdout}"
    );
    assert!(stdout.contains("0.8432877145"), "{stdout}");
    let csv = std::fs::read_to_string(dir.join("rff.csv")).unwrap();
    assert!(csv.starts_with("k,train_mse,test_mse"));

    let (dir, stdout) = run_quick("interpolation_with_noise", &["--device", "cpu"]);
    assert_files(&dir, "interpolation_with_noise");
    assert!(
        stdout.contains("top_q:") && stdout.contains("beta="),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("interpolation_with_noise.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    // Interpolation: zero training error at every noise level.
    for line in csv.lines().skip(1) {
        let train: f64 = line.split(',').nth(2).unwrap().parse().unwrap();
        assert_eq!(train, 0.0, "{line}");
    }

    let (dir, stdout) = run_quick("ntk_regression_mnist", &["--device", "cpu"]);
    assert_files(&dir, "ntk_regression_mnist");
    assert!(stdout.contains("Train Error: 0.00000"), "{stdout}");
}

#[test]
fn llc_examples_run_and_print_their_tables() {
    let (dir, stdout) = run_quick("dln_llc_vs_truth", &[]);
    assert_files(&dir, "dln_llc_vs_truth");
    assert!(
        stdout.contains("λ (Aoyagi)") && stdout.contains("3 of 3 finite"),
        "{stdout}"
    );
    let (dir, stdout) = run_quick("dln_saddle_dynamics", &[]);
    assert_files(&dir, "dln_saddle_dynamics");
    assert!(stdout.contains("effective rank"), "{stdout}");
    let csv = std::fs::read_to_string(dir.join("dln_saddle_dynamics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2000 / 50);
    let (dir, stdout) = run_quick("mala_vs_sgld", &[]);
    assert_files(&dir, "mala_vs_sgld");
    assert!(stdout.contains("SGLD λ̂"), "{stdout}");
    let (dir, stdout) = run_quick("rescaling_invariance", &[]);
    assert_files(&dir, "rescaling_invariance");
    assert!(stdout.contains("preconditioned"), "{stdout}");
    let (dir, _) = run_quick("llc_over_training", &[]);
    assert_files(&dir, "llc_over_training");
}

#[test]
fn least_squares_examples_run_and_print_their_tables() {
    let (dir, stdout) = run_quick("ls_ablations", &["--device", "cpu"]);
    for stem in ["diabetes_ablations", "student_teacher_ablations"] {
        assert_files(&dir, stem);
    }
    let csv = std::fs::read_to_string(dir.join("diabetes_ablations.csv")).unwrap();
    assert!(
        csv.starts_with("n,p_over_n,smallest_singular_value_mean"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 40);
    let fits = std::fs::read_to_string(dir.join("diabetes_fits.csv")).unwrap();
    assert_eq!(fits.lines().count(), 1 + 39 * 10);
    // The unablated row of each table peaks at N = D.
    let peak = |d: &str| {
        stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("unablated "))
            .any(|l| l.split_whitespace().nth(4) == Some(d))
    };
    assert!(peak("10") && peak("20"), "{stdout}");

    let (dir, stdout) = run_quick("ls_adversarial", &["--device", "cpu"]);
    assert_files(&dir, "diabetes_adversarial");
    assert_files(&dir, "student_teacher_adversarial");
    assert!(stdout.contains("max Δtrain / train"), "{stdout}");

    // A user table through --csv: y = x0 + 2 x1 − x2 + noise, 60 rows, 3 features.
    let csv = std::env::temp_dir().join(format!("dd-user-table-{}.csv", std::process::id()));
    let mut text = String::from("x0,x1,x2,label,y\n");
    let mut rs = doubledescent::random::numpy::RandomState::new(4);
    for i in 0..60 {
        let v = rs.randn(4);
        let y = v[0] + 2.0 * v[1] - v[2] + 0.5 * v[3];
        text += &format!("{},{},{},row{i},{y}\n", v[0], v[1], v[2]);
    }
    std::fs::write(&csv, text).unwrap();
    let path = csv.to_str().unwrap();
    let (dir, stdout) = run_quick(
        "ls_ablations",
        &[
            "--csv",
            path,
            "--target",
            "y",
            "--features",
            "x0,x1,x2",
            "--max-size",
            "12",
        ],
    );
    let stem = csv.file_stem().unwrap().to_str().unwrap().replace('-', "_");
    assert_files(&dir, &format!("{stem}_ablations"));
    assert!(stdout.contains("60 rows x D = 3"), "{stdout}");

    let (dir, stdout) = run_quick("smallest_singular_value", &["--device", "cpu"]);
    assert_files(&dir, "smallest_singular_value");
    // The original's seed-0 prefix (spec §4): n = 3 gives 87.2, 2.52, 0.354.
    assert!(stdout.contains("87.2, 2.52, 0.354"), "{stdout}");
    assert!(dir.join("prefix_eigenvalues.csv").exists());

    let (dir, stdout) = run_quick("polynomial_regression", &["--device", "cpu"]);
    assert_files(&dir, "polynomial_regression");
    assert!(
        stdout.contains("median test MSE peaks at p = 15"),
        "{stdout}"
    );
    let mse = std::fs::read_to_string(dir.join("mse.csv")).unwrap();
    assert_eq!(mse.lines().count(), 901);
    assert!(
        mse.starts_with("Num. Data,Num. Parameters (Num Features),repeat_idx,Train MSE,Test MSE")
    );
}
