//! "Double Descent Demystified" (Schaeffer et al.), `linear_regression_ablations.py`:
//! minimum-norm least squares on N = 1..39 training rows, 50
//! splits per N, tested on every other row. The test MSE spikes at N = D (P/N = 1), and each of the
//! three ablations removes the spike:
//!
//! * (a) singular values below an absolute cutoff (10⁻³ … 1) set to zero;
//! * (b) test features projected onto the leading k singular directions of the training matrix;
//! * (c) targets replaced by the predictions Xβ_ideal of the full-table least-squares fit.
//!
//! Also drawn: the smallest non-zero singular value and the squared mean test bias per N. Runs on
//! the bundled diabetes table (sklearn scaling) and the student–teacher set (30 teacher features,
//! 20 seen); `--csv FILE --target COLUMN` runs on your own table (California Housing, WHO Life
//! Expectancy, …). Per table: `<table>_ablations.{png,svg,csv}` (means, medians, 95% bootstrap
//! intervals over the splits) and `<table>_fits.csv` (every fit).
//!
//! `cargo run --release --example ls_ablations`

mod common;

use common::tables;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Series, Style, Table, run_example,
    write_csv,
};
use doubledescent::science::least_squares::{FitRecord, Sweep};
use tables::{
    GREEN, TEST, TRAIN, TableArgs, argmax, means, medians, mse_limits, run_sweeps, sci, shade,
    sig3, slug, threshold,
};

/// The unablated curve and the three ablations, per table.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    tables: TableArgs,
}

/// The original code's diabetes values at N = D = 10 (means over its 50 splits).
const DIABETES_AT_D: [(&str, f64); 14] = [
    ("unablated", 5.98e7),
    ("unablated (median)", 5.1e5),
    ("σ_min (mean)", 0.00264),
    ("cutoff 0.001", 1.68e6),
    ("cutoff 0.00316", 3.37e5),
    ("cutoff 0.01", 1.75e5),
    ("cutoff 0.0316", 7.63e4),
    ("cutoff 0.1", 3.85e4),
    ("cutoff 0.316", 2.91e4),
    ("cutoff 1", 2.91e4),
    ("k = 1", 2.96e4),
    ("k = 5", 4.2e4),
    ("k = 8", 1.33e5),
    ("k = 9", 6.15e5),
];

type Extract = Box<dyn Fn(&FitRecord) -> f64>;

/// Every recorded quantity, with its CSV column name.
fn columns(s: &Sweep) -> Vec<(String, Extract)> {
    let mut c: Vec<(String, Extract)> = vec![
        (
            "smallest_singular_value".into(),
            Box::new(|f| f.smallest_singular_value),
        ),
        ("train_mse".into(), Box::new(|f| f.train_mse)),
        ("test_mse".into(), Box::new(|f| f.test_mse)),
        (
            "test_bias_squared".into(),
            Box::new(|f| f.test_bias_squared),
        ),
    ];
    for (j, cut) in s.config.cutoffs.iter().enumerate() {
        c.push((
            format!("cutoff_{cut:.3e}_train"),
            Box::new(move |f| f.cutoffs[j].train),
        ));
        c.push((
            format!("cutoff_{cut:.3e}_test"),
            Box::new(move |f| f.cutoffs[j].test),
        ));
    }
    for (j, k) in s.config.leading_modes.iter().enumerate() {
        c.push((
            format!("leading_{k}_test"),
            Box::new(move |f| f.leading_modes[j]),
        ));
    }
    c.push((
        "no_residuals_train".into(),
        Box::new(|f| f.no_residuals.train),
    ));
    c.push((
        "no_residuals_test".into(),
        Box::new(|f| f.no_residuals.test),
    ));
    c
}

fn panel(title: &str, y: &str) -> LinePanel {
    LinePanel::new(
        title,
        Axis::log("P/N (parameters / training samples)"),
        Axis::log(y),
    )
}

fn study(s: &Sweep, dir: &std::path::Path) -> Result<Table> {
    let x = s.ratios();
    let d = s.dim;
    let stem = slug(&s.dataset);
    let cols = columns(s);
    let mut stats = Vec::new();
    for (_, f) in &cols {
        stats.push(s.summary(f)?);
    }
    let col = |name: &str| {
        let i = cols
            .iter()
            .position(|(n, _)| n == name)
            .expect("known column");
        &stats[i]
    };

    // Unablated: train and test mean, test median.
    let test = means(col("test_mse"));
    let train = means(col("train_mse"));
    let (lo, hi) = mse_limits(&s.config.sizes, s.dim, &train, &[&test]);
    let limited = |p: LinePanel| LinePanel {
        y: p.y.clone().range(lo, hi),
        ..p
    };
    let mut p1 = panel(&format!("{}: unablated", s.dataset), "MSE")
        .with(Series::line(
            "train (mean)",
            x.clone(),
            train.clone(),
            TRAIN,
        ))
        .with(Series::line("test (mean)", x.clone(), test.clone(), TEST))
        .with(
            Series::line("test (median)", x.clone(), medians(col("test_mse")), TEST)
                .styled(Style::Dashed),
        )
        .legend(Legend::UpperRight);
    p1 = limited(p1.with(threshold(1.0, &[&[lo, hi]])));
    let smin = means(col("smallest_singular_value"));
    let p2 = panel("smallest non-zero singular value", "mean σ_min")
        .with(Series::line("σ_min (mean)", x.clone(), smin.clone(), GREEN))
        .with(threshold(1.0, &[&smin]))
        .legend(Legend::LowerLeft);
    let bias = means(col("test_bias_squared"));
    let p3 = panel("test bias squared", "(mean bias)²")
        .with(Series::line(
            "test bias² (mean)",
            x.clone(),
            bias.clone(),
            TEST,
        ))
        .with(threshold(1.0, &[&bias]))
        .legend(Legend::UpperLeft);

    let mut pa =
        panel("(a) no small singular values", "test MSE (mean)").legend(Legend::UpperRight);
    let mut all_a = vec![test.clone()];
    let nc = s.config.cutoffs.len();
    for (j, cut) in s.config.cutoffs.iter().enumerate() {
        let v = means(col(&format!("cutoff_{cut:.3e}_test")));
        pa = pa.with(Series::line(
            format!("cutoff {}", sig3(*cut)),
            x.clone(),
            v.clone(),
            shade(j, nc),
        ));
        all_a.push(v);
    }
    pa = limited(pa.with(threshold(1.0, &[&[lo, hi]])));

    let mut pb = panel("(b) test features in leading-k subspace", "test MSE (mean)")
        .legend(Legend::UpperRight);
    let nm = s.config.leading_modes.len();
    let mut all_b = vec![test.clone()];
    for (j, k) in s.config.leading_modes.iter().enumerate() {
        let v = means(col(&format!("leading_{k}_test")));
        pb = pb.with(Series::line(
            format!("k = {k}"),
            x.clone(),
            v.clone(),
            shade(j, nm),
        ));
        all_b.push(v);
    }
    pb = limited(pb.with(threshold(1.0, &[&[lo, hi]])));

    let nores = means(col("no_residuals_test"));
    // Its own lower limit: the no-residual error lies below the others and is 0 for N >= D.
    let lo_c = s
        .config
        .sizes
        .iter()
        .zip(&nores)
        .filter(|(n, v)| **n < d && **v > 0.0)
        .map(|(_, v)| 0.5 * v)
        .fold(lo, f64::min);
    let pc = panel("(c) no residuals in ideal fit", "test MSE (mean)")
        .with(Series::line(
            "test (0 for N ≥ D; train 0)",
            x.clone(),
            nores.clone(),
            TEST,
        ))
        .with(threshold(1.0, &[&[lo_c, hi]]))
        .legend(Legend::UpperRight);
    let pc = LinePanel {
        y: pc.y.clone().range(lo_c, hi),
        ..pc
    };

    let fig = Figure::new(3)
        .panel_size(560, 420)
        .titled(format!(
            "{} (D = {d}, {} rows, {} splits per N)",
            s.dataset, s.rows, s.config.repeats
        ))
        .with(Panel::Line(p1))
        .with(Panel::Line(p2))
        .with(Panel::Line(p3))
        .with(Panel::Line(pa))
        .with(Panel::Line(pb))
        .with(Panel::Line(pc));
    let mut files = fig.save(dir, &format!("{stem}_ablations"))?;

    // Summary CSV: mean, median and 95% interval of every quantity per N.
    let n: Vec<f64> = s.config.sizes.iter().map(|&v| v as f64).collect();
    let mut header = vec!["n".to_string(), "p_over_n".to_string()];
    let mut data: Vec<Vec<f64>> = vec![n.clone(), x.clone()];
    for ((name, _), st) in cols.iter().zip(&stats) {
        for (suffix, get) in [
            (
                "mean",
                (|r: &doubledescent::stats::RepeatStats| r.mean) as fn(&_) -> f64,
            ),
            ("median", |r| r.median),
            ("ci_low", |r| r.ci_low),
            ("ci_high", |r| r.ci_high),
        ] {
            header.push(format!("{name}_{suffix}"));
            data.push(st.iter().map(get).collect());
        }
    }
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let c: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
    let path = dir.join(format!("{stem}_ablations.csv"));
    write_csv(&path, &h, &c)?;
    files.push(path);
    // Every fit.
    let mut header = vec!["n".to_string(), "repeat".to_string()];
    let mut data: Vec<Vec<f64>> = vec![
        s.fits.iter().map(|f| f.n as f64).collect(),
        s.fits.iter().map(|f| f.repeat as f64).collect(),
    ];
    for (name, f) in &cols {
        header.push(name.clone());
        data.push(s.fits.iter().map(f).collect());
    }
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let c: Vec<&[f64]> = data.iter().map(Vec::as_slice).collect();
    let path = dir.join(format!("{stem}_fits.csv"));
    write_csv(&path, &h, &c)?;
    files.push(path);
    for f in &files {
        println!("wrote {}", f.display());
    }

    // The table: test MSE (mean over splits) at N = 1, N = D and the largest N, and where the
    // curve peaks.
    let at_d = s.config.sizes.iter().position(|&m| m == d);
    let last = s.config.sizes.len() - 1;
    let mut t = Table::new([
        "curve",
        "N=1",
        "N=D",
        "largest N",
        "max (min) at N",
        "original N=D",
    ]);
    let mut row = |label: String, v: &[f64], lowest: bool| {
        let spec = if s.dataset == "Diabetes" {
            DIABETES_AT_D
                .iter()
                .find(|(l, _)| *l == label)
                .map_or("-".into(), |(_, v)| sci(*v))
        } else {
            "-".into()
        };
        t.row([
            label,
            sci(v[0]),
            at_d.map_or("-".into(), |i| sci(v[i])),
            sci(v[last]),
            if lowest {
                let neg: Vec<f64> = v.iter().map(|a| -a).collect();
                format!("({})", s.config.sizes[argmax(&neg)])
            } else {
                s.config.sizes[argmax(v)].to_string()
            },
            spec,
        ]);
    };
    row("unablated".into(), &test, false);
    row(
        "unablated (median)".into(),
        &medians(col("test_mse")),
        false,
    );
    for (j, cut) in s.config.cutoffs.iter().enumerate() {
        row(format!("cutoff {}", sig3(*cut)), &all_a[j + 1], false);
    }
    for (j, k) in s.config.leading_modes.iter().enumerate() {
        row(format!("k = {k}"), &all_b[j + 1], false);
    }
    row("no residuals".into(), &nores, false);
    row("σ_min (mean)".into(), &smin, true);
    Ok(t)
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("ls_ablations")?;
    let device = args.fig.device()?;
    for s in run_sweeps(&args.tables, args.fig.quick, &device, |_| {})? {
        let t = study(&s, &dir)?;
        println!(
            "\n{} — mean test MSE over {} splits\n{t}",
            s.dataset, s.config.repeats
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("ls_ablations", || run(&args))
}
