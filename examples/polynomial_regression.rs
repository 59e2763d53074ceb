//! "Double Descent Demystified", `polynomial_regression.py`: minimum-norm
//! regression of 2x + cos(25x) on Legendre polynomials P_1 … P_p at N = 15 uniform points of
//! [−1, 1], p = 1 … 25, 30, 40, 50, 100, 200, 30 repeats. The test error (1000 grid points)
//! spikes by ~10 orders of magnitude at p = N = 15 and then falls below its best
//! under-parameterised value. The points come from NumPy's legacy stream with the original's
//! seed and order, so `mse.csv` is the original's file (same columns, same numbers).
//!
//! Writes `polynomial_regression.{png,svg,csv}` (mean, median, 95% interval per p) and `mse.csv`.
//!
//! `cargo run --release --example polynomial_regression`

mod common;

use common::tables;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table, run_example,
    write_csv,
};
use doubledescent::linalg::linspace;
use doubledescent::science::polynomial_regression::{PolynomialConfig, polynomial_sweep};
use doubledescent::{Error, Result};
use tables::{TEST, TRAIN, means, medians, sci, shade, threshold};

/// Test and train MSE against the number of Legendre features.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Training points N
    #[arg(long, default_value_t = 15)]
    num_data: usize,
    /// Repeats per feature count (default: the original's 30; the run takes a fraction of a
    /// second, so --quick keeps them)
    #[arg(long)]
    repeats: Option<usize>,
    /// Seed of NumPy's legacy generator
    #[arg(long, default_value_t = 0)]
    seed: u32,
}

/// Spec §5 (the committed mse.csv): p, train mean, test mean, test median.
const SPEC: [(usize, f64, f64, f64); 14] = [
    (1, 0.478, 0.519, 0.511),
    (5, 0.300, 1.33, 0.79),
    (10, 0.135, 6.3e4, 14.1),
    (12, 0.037, 2.4e9, 777.0),
    (14, 0.0039, 8.5e9, 2.4e5),
    (15, 5e-18, 3.4e9, 6.7e6),
    (16, 6e-19, 1.6e9, 6.4e4),
    (18, 0.0, 9.2e4, 271.0),
    (20, 0.0, 432.0, 30.0),
    (25, 0.0, 0.67, 0.46),
    (30, 0.0, 0.358, 0.351),
    (40, 0.0, 0.487, 0.481),
    (100, 0.0, 0.579, 0.553),
    (200, 0.0, 0.579, 0.556),
];

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("polynomial_regression")?;
    let device = args.fig.device()?;
    let mut cfg = PolynomialConfig::original();
    cfg.num_data = args.num_data;
    cfg.repeats = args.repeats.unwrap_or(30);
    cfg.seed = args.seed;
    let start = std::time::Instant::now();
    let sweep = polynomial_sweep(&cfg, &device)?;
    println!(
        "{} fits in {:.3} s",
        sweep.fits.len(),
        start.elapsed().as_secs_f64()
    );
    let p: Vec<f64> = cfg.num_features.iter().map(|&v| v as f64).collect();
    let test = sweep.summary(|f| f.test_mse)?;
    let train = sweep.summary(|f| f.train_mse)?;
    let (tm, tmed, rm) = (means(&test), medians(&test), means(&train));

    let lo = 1e-3;
    let hi = 2.0 * tm.iter().copied().fold(0.0, f64::max);
    let mse = LinePanel::new(
        format!("Polynomial regression (N = {})", cfg.num_data),
        Axis::log("number of parameters (Legendre features)"),
        Axis::log("MSE").range(lo, hi),
    )
    .with(Series::line("train (mean)", p.clone(), rm.clone(), TRAIN))
    .with(Series::line("test (mean)", p.clone(), tm.clone(), TEST))
    .with(Series::line("test (median)", p.clone(), tmed.clone(), TEST).styled(Style::Dashed))
    .with(threshold(cfg.num_data as f64, &[&[lo, hi]]))
    .legend(Legend::UpperRight);

    // Fits of repeat 0 at a few feature counts, against the target.
    let grid = linspace(-1.0, 1.0, 400);
    let mut fits = LinePanel::new(
        "fits of repeat 0",
        Axis::linear("x"),
        Axis::linear("y").range(-3.0, 3.0),
    )
    .with(Series::line(
        "2x + cos(25x)",
        grid.clone(),
        grid.iter().map(|&x| (cfg.target)(x)).collect(),
        Rgb(0, 0, 0),
    ))
    .legend(Legend::LowerRight);
    let show: Vec<usize> = [5, cfg.num_data, 30, 200]
        .into_iter()
        .filter(|q| cfg.num_features.contains(q))
        .collect();
    for (i, &q) in show.iter().enumerate() {
        let j = cfg
            .num_features
            .iter()
            .position(|&v| v == q)
            .ok_or_else(|| Error::invalid("num_features", q, "feature count not in the sweep"))?;
        let fit = &sweep.at(j)[0];
        let y = sweep.predict(fit, &grid)?;
        fits = fits.with(Series::line(
            format!("p = {q}"),
            grid.clone(),
            y,
            shade(i + 1, show.len() + 1),
        ));
    }
    // Every fit has its own points (one global stream); show those of the p = N fit.
    if let Some(j) = cfg.num_features.iter().position(|&v| v == cfg.num_data) {
        let fit = &sweep.at(j)[0];
        fits = fits.with(
            Series::line(
                format!("points of the p = {} fit", cfg.num_data),
                fit.x.clone(),
                fit.x.iter().map(|&x| (cfg.target)(x)).collect(),
                Rgb(0, 0, 0),
            )
            .styled(Style::Points),
        );
    }

    let fig = Figure::new(2)
        .panel_size(620, 460)
        .with(Panel::Line(mse))
        .with(Panel::Line(fits));
    let mut files = fig.save(&dir, "polynomial_regression")?;
    let path = dir.join("polynomial_regression.csv");
    let col = |f: fn(&doubledescent::stats::RepeatStats) -> f64, s: &[_]| -> Vec<f64> {
        s.iter().map(f).collect()
    };
    write_csv(
        &path,
        &[
            "num_features",
            "train_mean",
            "train_median",
            "test_mean",
            "test_median",
            "test_ci_low",
            "test_ci_high",
        ],
        &[
            &p,
            &rm,
            &medians(&train),
            &tm,
            &tmed,
            &col(|r| r.ci_low, &test),
            &col(|r| r.ci_high, &test),
        ],
    )?;
    files.push(path);
    // The original's mse.csv, one row per fit.
    let path = dir.join("mse.csv");
    let rows = sweep.fits.len();
    let nd = vec![cfg.num_data as f64; rows];
    let np: Vec<f64> = sweep.fits.iter().map(|f| f.p as f64).collect();
    let rep: Vec<f64> = sweep.fits.iter().map(|f| f.repeat as f64).collect();
    let tr: Vec<f64> = sweep.fits.iter().map(|f| f.train_mse).collect();
    let te: Vec<f64> = sweep.fits.iter().map(|f| f.test_mse).collect();
    write_csv(
        &path,
        &[
            "Num. Data",
            "Num. Parameters (Num Features)",
            "repeat_idx",
            "Train MSE",
            "Test MSE",
        ],
        &[&nd, &np, &rep, &tr, &te],
    )?;
    files.push(path);
    for f in &files {
        println!("wrote {}", f.display());
    }

    let mut t = Table::new([
        "p",
        "train mean",
        "test mean",
        "test median",
        "original train",
        "original test mean",
        "original median",
    ]);
    for (j, &q) in cfg.num_features.iter().enumerate() {
        let spec = SPEC.iter().find(|s| s.0 == q && cfg.num_data == 15);
        if spec.is_none() && !(q <= 3 || q % 5 == 0) {
            continue;
        }
        let mut row = vec![q.to_string(), sci(rm[j]), sci(tm[j]), sci(tmed[j])];
        match spec {
            Some(&(_, a, b, c)) => row.extend([sci(a), sci(b), sci(c)]),
            None => row.extend(["-".into(), "-".into(), "-".into()]),
        }
        t.row(row);
    }
    let jmax = tables::argmax(&tmed);
    println!(
        "\nPolynomial regression, N = {}, {} repeats: median test MSE peaks at p = {}\n{t}",
        cfg.num_data, cfg.repeats, cfg.num_features[jmax]
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("polynomial_regression", || run(&args))
}
