//! `InterpolationWithNoise.ipynb` of the double-descent tutorial
//! (`aradha5772/deep_learning_theory_tutorial@f2750a9`): Laplace-kernel (σ = 10) interpolation of MNIST digits by EigenPro, 150 epochs, with a fraction p of the
//! training labels replaced by random classes, p = 0, 0.1, …, 0.9. The interpolant always reaches
//! zero training error; the test error grows smoothly with p (4.58% → 73.56% in the notebook).
//!
//! Default: the embedded 10k MNIST subset, first 400 digits of each class for training (4000)
//! and the other 6000 for testing. `--mnist DIR` reads the full public MNIST files instead,
//! exactly as the notebook: the first 400 per class of the training set, all 10,000 test digits.
//!
//! `cargo run --release --example interpolation_with_noise`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::data::{corrupt_labels, one_hot};
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table, fmt_opt,
    run_example, write_csv,
};
use doubledescent::kernels::Kernel;
use doubledescent::solvers::{EigenPro, EigenProOptions};
use doubledescent::{Error, Result};

/// Laplace-kernel interpolation of noisy MNIST labels with EigenPro.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Folder with the full MNIST files (train-images-idx3-ubyte[.gz], t10k-*) instead of the
    /// embedded subset
    #[arg(long)]
    mnist: Option<std::path::PathBuf>,
    /// Training digits per class [default: 400; 40 with --quick]
    #[arg(long)]
    per_class: Option<usize>,
    /// EigenPro epochs [default: 150; 20 with --quick]
    #[arg(long)]
    epochs: Option<usize>,
    /// Label-noise levels p [default: 0, 0.1, …, 0.9; 0, 0.5 with --quick]
    #[arg(long, value_delimiter = ',')]
    noise: Option<Vec<f64>>,
    /// Laplace bandwidth σ
    #[arg(long, default_value_t = 10.0)]
    bandwidth: f64,
    /// Seed of the label corruption
    #[arg(long, default_value_t = 2134)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("interpolation_with_noise")?;
    let device = args.fig.device()?;
    let per_class = args.fig.pick(args.per_class, 400, 40);
    let epochs = args.fig.pick(args.epochs, 150, 20);
    let noise = args.fig.pick(
        args.noise.clone(),
        (0..10).map(|i| i as f64 / 10.0).collect(),
        vec![0.0, 0.5],
    );
    let (train, test) = common::mnist_split(args.mnist.as_deref(), per_class)?;
    println!(
        "train {} digits ({} per class), test {} digits, Laplace σ = {}",
        train.len(),
        per_class,
        test.len(),
        args.bandwidth
    );
    let x: faer::Mat<f32> = train.unit_rows()?;
    let x_test: faer::Mat<f32> = test.unit_rows()?;
    let kernel = Kernel::laplace(args.bandwidth)?;
    let t0 = std::time::Instant::now();
    let pro = EigenPro::new(kernel, x.as_ref(), 10, EigenProOptions::default(), &device)?;
    let s = pro.setup();
    println!(
        "SVD time: {:.2}, top_q: {}, top_eigval: {:.2}, new top_eigval: {:.2e}",
        s.svd_seconds, s.top_q, s.top_eigval, s.new_top_eigval
    );
    println!(
        "n_subsamples={}, bs_gpu={}, eta={:.2}, bs={}, top_eigval={:.2e}, beta={:.2}",
        s.n_subsamples, s.bs_gpu, s.eta, s.bs, s.top_eigval, s.beta
    );
    let val = pro.validation(x_test.as_ref(), test.one_hot::<f32>()?.as_ref())?;
    println!(
        "setup (Nyström, kernel caches) {:.2} s",
        t0.elapsed().as_secs_f64()
    );

    let mut checkpoints: Vec<usize> = [1, 2, 5, 10, 20, 50, 100, 150]
        .into_iter()
        .filter(|&e| e < epochs)
        .collect();
    checkpoints.push(epochs);
    let mut table = Table::new([
        "p",
        "#corrupted",
        "train err",
        "test err",
        "train l2",
        "val l2",
        "seconds",
    ]);
    let (mut train_err, mut test_err, mut corrupted) = (vec![], vec![], vec![]);
    let mut json = Vec::new();
    for &p in &noise {
        let (labels, replaced) = corrupt_labels(train.labels(), 10, p, args.seed)?;
        let y = one_hot::<f32>(&labels, 10)?;
        let fit = pro.fit(y.as_ref(), &checkpoints, Some(&val), &mut |r| {
            if let (true, Some(val_error), Some(val_mse)) = (r.epoch == epochs, r.val_error, r.val_mse) {
                println!(
                    "p={p:.1}: train error: {:.2}%\tval error: {:.2}% ({} epochs, {:.2} seconds)\ttrain l2: {:.2e}\tval l2: {:.2e}",
                    100.0 * r.train_error,
                    100.0 * val_error,
                    r.epoch,
                    r.seconds,
                    r.train_mse,
                    val_mse
                );
            }
        })?;
        let Some(last) = fit.history.last() else {
            return Err(Error::invalid("epochs", epochs, "need at least one epoch"));
        };
        table.row([
            format!("{p:.1}"),
            replaced.to_string(),
            format!("{:.2}%", 100.0 * last.train_error),
            format!("{}%", fmt_opt(last.val_error.map(|e| 100.0 * e), 2)),
            format!("{:.2e}", last.train_mse),
            last.val_mse.map_or("-".into(), |v| format!("{v:.2e}")),
            format!("{:.2}", last.seconds),
        ]);
        train_err.push(last.train_error);
        test_err.push(
            last.val_error
                .ok_or_else(|| Error::Numerical("EigenPro reported no validation error".into()))?,
        );
        corrupted.push(replaced as f64);
        json.push(serde_json::json!({"p": p, "corrupted": replaced, "history": fit.history}));
    }
    common::print_table(
        "Laplace-kernel interpolation with label noise (EigenPro)",
        &table,
    );

    let panel = LinePanel::new(
        "Interpolation in the Presence of Noisy Data",
        Axis::linear("Added Label Noise (probability p)"),
        Axis::linear("Classification Error (1 - Acc.)").range(0.0, 1.0),
    )
    .legend(Legend::UpperLeft)
    .with(
        Series::line("test", noise.clone(), test_err.clone(), Rgb::hex(0xD62728))
            .styled(Style::DashedPoints),
    )
    .with(
        Series::line(
            "train",
            noise.clone(),
            train_err.clone(),
            Rgb::hex(0x000000),
        )
        .styled(Style::Dashed),
    )
    .with(
        Series::line("y = p", noise.clone(), noise.clone(), Rgb::hex(0x2CA02C))
            .styled(Style::DashedPoints),
    );
    let files = Figure::new(1)
        .panel_size(700, 480)
        .with(Panel::Line(panel))
        .save(&dir, "interpolation_with_noise")?;
    let csv = dir.join("interpolation_with_noise.csv");
    write_csv(
        &csv,
        &["p", "corrupted", "train_error", "test_error"],
        &[&noise, &corrupted, &train_err, &test_err],
    )?;
    let js = dir.join("interpolation_with_noise.json");
    let doc = serde_json::json!({"setup": pro.setup(), "device": device.describe(), "runs": json});
    std::fs::write(
        &js,
        serde_json::to_string_pretty(&doc)
            .map_err(|e| doubledescent::Error::Format(e.to_string()))?,
    )
    .map_err(|e| doubledescent::Error::io(&js, e))?;
    common::report(&files);
    common::report(&[csv, js]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("interpolation_with_noise", || run(&args))
}
