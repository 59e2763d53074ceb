//! New science (no source offers it): the local learning coefficient λ̂ of the tutorial's
//! one-hidden-layer ReLU networks across the interpolation threshold, where their test error
//! peaks (`DoubleDescentTutorialPart2.ipynb` of `aradha5772/deep_learning_theory_tutorial@f2750a9`
//! for the networks; Lau et al., arXiv 2308.12108, for the estimator).
//!
//! Each width is trained as in `width_sweep_mnist` (f(x) = a·√(2/k)·relu(Bx + b), every parameter
//! N(0, 1), full-batch gradient descent at lr 10 on the squared error of one-hot MNIST labels),
//! then λ̂ is estimated at the final parameters on the training loss: SGLD chains on the
//! localised tempered posterior (γ = 100, nβ = n/log n), with ε calibrated per width by pilot
//! chains to a MALA acceptance of 0.9. Two panels: test error and λ̂ (with d/2 for scale)
//! against the number of parameters, the threshold n·10 marked.
//!
//! Default: 50 digits per class pooled to 14×14 (n = 500, threshold 5000 parameters at width
//! 24.2), 9 widths around it, 25 000 steps in f32 (as `width_sweep_mnist`), 4 chains × 2000
//! SGLD steps: 40 s on 2 cores. `--quick` is seconds. λ̂ depends on γ here (README, "New here"):
//! `--gamma` sets it.
//!
//! `cargo run --release --example llc_across_threshold`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table,
    check_flag_memory, progress_bar, run_example, write_csv,
};
use doubledescent::science::llc_of_networks::{NetworkLlc, width_run_llc};
use doubledescent::science::width_sweep::{WidthSweep, interpolation_threshold, width_sweep};
use doubledescent::{Error, Result};

/// λ̂ of trained ReLU networks across the interpolation threshold.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Folder with the MNIST IDX files (default: the embedded 10 000 digits)
    #[arg(long)]
    mnist: Option<std::path::PathBuf>,
    /// Training digits per class [default: 50; 10 with --quick]
    #[arg(long)]
    per_class: Option<usize>,
    /// Hidden widths [default: 6,12,18,22,24,27,30,60,120; 2,5,10,20 with --quick]
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,
    /// Gradient-descent steps [default: 25000; 300 with --quick]
    #[arg(long)]
    steps: Option<usize>,
    /// Gradient-descent step size (the notebook's)
    #[arg(long, default_value_t = 10.0)]
    lr: f64,
    #[command(flatten)]
    llc: common::llc::LlcArgs,
    /// Seed of the initialisations and the chains
    #[arg(long, default_value_t = 2134)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let fig = &args.fig;
    let dir = fig.dir("llc_across_threshold")?;
    let device = fig.device()?;
    let per_class = fig.pick(args.per_class, 50, 10);
    let steps = fig.pick(args.steps, 25_000, 300);
    let widths = args.widths.clone().unwrap_or_else(|| {
        if fig.quick {
            vec![2, 5, 10, 20]
        } else {
            vec![6, 12, 18, 22, 24, 27, 30, 60, 120]
        }
    });
    for (flag, v) in [("--per-class", per_class), ("--steps", steps)] {
        if v == 0 {
            return Err(Error::invalid(flag, 0, "must be positive"));
        }
    }
    check_flag_memory("widths", widths.len(), widths.len() as u128 * 1024)?;
    let (train, test) = common::mnist_split(args.mnist.as_deref(), per_class)?;
    let (train, test) = (train.pooled(2)?, test.pooled(2)?);
    let (x, x_test) = (train.unit_rows::<f32>()?, test.unit_rows::<f32>()?);
    let (y, y_test) = (train.one_hot::<f32>()?, test.one_hot::<f32>()?);
    let n = train.len();
    let threshold = interpolation_threshold(n, train.classes());
    let k_star = threshold as f64 / (train.dim() + 1 + train.classes()) as f64;
    println!(
        "train {n} digits ({per_class} per class, {} pixels), test {}; threshold n·10 = {threshold} parameters (width {k_star:.1}); widths {widths:?}, {steps} GD steps at lr {}, f32",
        train.dim(),
        test.len(),
        args.lr
    );
    let sweep = WidthSweep {
        widths: widths.clone(),
        steps,
        lr: args.lr,
        log_every: steps,
        seeds: 1,
        seed: args.seed,
    };
    let pb = progress_bar(widths.len() as u64, "training");
    let runs = width_sweep(
        &sweep,
        x.as_ref(),
        y.as_ref(),
        x_test.as_ref(),
        y_test.as_ref(),
        &|_, step| {
            if step == steps {
                pb.inc(1);
            }
        },
    )?;
    pb.finish_and_clear();

    let llc = args.llc.settings(fig, n, args.seed)?;
    println!("{}", llc.describe(n, "the squared error"));
    let pb = progress_bar(runs.len() as u64, "λ̂");
    let mut rows: Vec<(usize, usize, f64, f64, Option<NetworkLlc>, String)> = vec![];
    for r in &runs {
        let (est, note) = common::llc::kept(width_run_llc(
            r,
            x.as_ref(),
            y.as_ref(),
            llc.localisation,
            &llc.cfg,
            Some(&llc.search),
            &device,
        ))?;
        let last = r.last();
        rows.push((r.width, r.params, last.train_err, last.test_err, est, note));
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mut table = Table::new([
        "width",
        "#params",
        "train err",
        "test err",
        "λ̂ ± sd",
        "λ̂ / (d/2)",
        "ε",
        "R̂",
        "ESS",
    ]);
    for (k, d, tr, te, est, note) in &rows {
        let [llc, ratio, eps, r_hat, ess] = common::llc::cells(est.as_ref(), note, *d);
        table.row([
            k.to_string(),
            d.to_string(),
            format!("{tr:.4}"),
            format!("{te:.4}"),
            llc,
            ratio,
            eps,
            r_hat,
            ess,
        ]);
    }
    common::print_table(
        &format!("λ̂ at the end of training, threshold n·10 = {threshold} parameters"),
        &table,
    );

    let params: Vec<f64> = rows.iter().map(|r| r.1 as f64).collect();
    let test_err: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let llc: Vec<f64> = rows
        .iter()
        .map(|r| r.4.as_ref().map_or(f64::NAN, |e| e.summary.llc_mean))
        .collect();
    let llc_sd: Vec<Option<f64>> = rows
        .iter()
        .map(|r| r.4.as_ref().map(|e| e.summary.llc_std))
        .collect();
    let (lo, hi) = (
        params[0].min(threshold as f64) / 1.3,
        params[params.len() - 1].max(threshold as f64) * 1.3,
    );
    let top_err = test_err.iter().copied().fold(0.0, f64::max) * 1.1;
    let threshold_line = |bottom: f64, top: f64| {
        Series::line(
            "n·10 (threshold)",
            vec![threshold as f64; 2],
            vec![bottom, top],
            Rgb::hex(0xFF0000),
        )
        .styled(Style::Dashed)
    };
    let errors = LinePanel::new(
        "Test error across the interpolation threshold",
        Axis::log("number of parameters").range(lo, hi),
        Axis::linear("test error (1 - Acc.)").range(0.0, top_err),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line(
            "trained network",
            params.clone(),
            test_err.clone(),
            Rgb::hex(0x0000FF),
        )
        .styled(Style::DashedPoints),
    )
    .with(threshold_line(0.0, top_err));
    // λ̂ runs from near 0 (a network whose units are all off) to d/2: the axis shows the
    // positive estimates and the d/2 line.
    let top_llc = params[params.len() - 1] / 2.0 * 1.5;
    let low_llc = llc.iter().copied().filter(|v| *v > 0.0).fold(1.0, f64::min) / 2.0;
    let lambdas = LinePanel::new(
        "λ̂ at the end of training",
        Axis::log("number of parameters").range(lo, hi),
        Axis::log("λ̂").range(low_llc, top_llc),
    )
    .legend(Legend::UpperLeft)
    .with(
        Series::line("λ̂ (SGLD)", params.clone(), llc.clone(), Rgb::hex(0x2CA02C))
            .styled(Style::DashedPoints)
            .with_yerr(llc_sd.clone()),
    )
    .with(
        Series::line(
            "d/2 (regular model)",
            params.clone(),
            params.iter().map(|d| d / 2.0).collect(),
            Rgb::hex(0x888888),
        )
        .styled(Style::Dashed),
    )
    .with(threshold_line(low_llc, top_llc));
    let files = Figure::new(2)
        .panel_size(600, 440)
        .with(Panel::Line(errors))
        .with(Panel::Line(lambdas))
        .save(&dir, "llc_across_threshold")?;
    common::report(&files);
    let csv = dir.join("llc_across_threshold.csv");
    let ests: Vec<Option<&NetworkLlc>> = rows.iter().map(|r| r.4.as_ref()).collect();
    let est_cols = common::llc::columns(&ests);
    let mut header = vec!["width", "params", "train_err", "test_err"];
    header.extend(common::llc::COLUMNS);
    header.push("threshold");
    let widths_col: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
    let train_col: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let threshold_col = vec![threshold as f64; rows.len()];
    let mut cols: Vec<&[f64]> = vec![&widths_col, &params, &train_col, &test_err];
    cols.extend(est_cols.iter().map(|c| c.as_slice()));
    cols.push(&threshold_col);
    write_csv(&csv, &header, &cols)?;
    common::report(&[csv]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("llc_across_threshold", || run(&args))
}
