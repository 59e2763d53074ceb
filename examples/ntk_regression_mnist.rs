//! The infinite-width baseline of DoubleDescentTutorialPart2: the
//! closed-form NTK of a 1-hidden-layer ReLU network with first-layer bias (N(0, 1) weights,
//! √(2/k) scaling), K(x, x') = NNGP + x̃ᵀx̃'·(π − arccos ξ)/π, solved directly with no ridge:
//! A = K(X, X)⁻¹Y, predictions K(x, X)A. The notebook printed `Train MSE: 0.00000 Train Error:
//! 0.00000 Test Error: 0.04390` on its MNIST split (4000 train, 10000 test, 2.26 s).
//!
//! Default: the embedded subset (first 400 per class for training, the other 6000 for testing);
//! `--mnist DIR` uses the full MNIST files exactly as the notebook; `--precision f32` runs the
//! kernels, the solve and the predictions in single precision.
//!
//! `cargo run --release --example ntk_regression_mnist`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::data::{Dataset, mse, multiclass_error};
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table, run_example,
    write_labeled_csv,
};
use doubledescent::kernels::Kernel;
use doubledescent::solvers::{Fit, KernelRidge, Predict, Solver};
use doubledescent::{Device, Float, Precision, Result};

/// Closed-form ReLU NTK regression on MNIST.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Folder with the full MNIST files instead of the embedded subset
    #[arg(long)]
    mnist: Option<std::path::PathBuf>,
    /// Training digits per class [default: 400; 40 with --quick]
    #[arg(long)]
    per_class: Option<usize>,
    /// Working precision of the kernels, the solve and the predictions: f64 or f32
    #[arg(long, default_value = "f64")]
    precision: Precision,
}

/// Train MSE, train error, test MSE, test error and seconds of one kernel's interpolant.
type Scores = (f64, f64, f64, f64, f64);

/// Fits `kernel` on (x, y) in precision T and scores it on both sets.
fn fit_and_score<T: Float>(
    kernel: Kernel,
    train: &Dataset,
    test: &Dataset,
    device: &Device,
) -> Result<Scores> {
    let x: faer::Mat<T> = train.unit_rows()?;
    let x_test: faer::Mat<T> = test.unit_rows()?;
    let (y, y_test) = (train.one_hot::<T>()?, test.one_hot::<T>()?);
    let t0 = std::time::Instant::now();
    let model = KernelRidge::new(kernel, 0.0, Solver::Lu, device)?.fit(x.as_ref(), y.as_ref())?;
    let p_train: faer::Mat<T> = model.predict(x.as_ref())?;
    let p_test = model.predict(x_test.as_ref())?;
    let secs = t0.elapsed().as_secs_f64();
    Ok((
        mse(p_train.as_ref(), y.as_ref())?,
        multiclass_error(p_train.as_ref(), y.as_ref())?,
        mse(p_test.as_ref(), y_test.as_ref())?,
        multiclass_error(p_test.as_ref(), y_test.as_ref())?,
        secs,
    ))
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("ntk_regression_mnist")?;
    let device = args.fig.device()?;
    let per_class = args.fig.pick(args.per_class, 400, 40);
    let (train, test) = common::mnist_split(args.mnist.as_deref(), per_class)?;
    println!(
        "train {} digits, test {} digits, {}",
        train.len(),
        test.len(),
        args.precision
    );

    let mut table = Table::new([
        "kernel",
        "train MSE",
        "train err",
        "test MSE",
        "test err",
        "seconds",
    ]);
    let kernels = [
        ("ReLU NTK (bias)", "relu_ntk_bias", Kernel::relu_ntk(true)),
        (
            "ReLU NNGP (bias)",
            "relu_nngp_bias",
            Kernel::relu_nngp(true),
        ),
        ("Laplace σ=10", "laplace_sigma10", Kernel::laplace(10.0)?),
    ];
    let mut errs = vec![];
    for (name, _, kernel) in kernels {
        let (tr_mse, tr_err, te_mse, te_err, secs) = match args.precision {
            Precision::F64 => fit_and_score::<f64>(kernel, &train, &test, &device)?,
            Precision::F32 => fit_and_score::<f32>(kernel, &train, &test, &device)?,
        };
        if name.starts_with("ReLU NTK") {
            println!(
                "Train MSE: {tr_mse:.5}  Train Error: {tr_err:.5}  Test Error: {te_err:.5}\nTime taken: {secs:.2} s"
            );
        }
        table.row([
            name.to_string(),
            format!("{tr_mse:.2e}"),
            format!("{:.2}%", 100.0 * tr_err),
            format!("{te_mse:.4}"),
            format!("{:.2}%", 100.0 * te_err),
            format!("{secs:.2}"),
        ]);
        errs.push(te_err);
    }
    common::print_table(
        &format!(
            "Kernel interpolation (direct LU solve, no ridge, {}) on MNIST; the notebook's NTK: 4.39% test error",
            args.precision
        ),
        &table,
    );
    let idx = vec![0.0, 1.0, 2.0];
    let panel = LinePanel::new(
        "Infinite-width kernels on MNIST",
        Axis::linear("kernel").range(-0.5, 2.5).format(kernel_name),
        Axis::linear("test error (1 - Acc.)")
            .range(0.0, errs.iter().cloned().fold(0.0, f64::max) * 1.5),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line("test error", idx.clone(), errs.clone(), Rgb::hex(0x1F77B4))
            .styled(Style::Points),
    );
    let files = Figure::new(1)
        .panel_size(640, 420)
        .with(Panel::Line(panel))
        .save(&dir, "ntk_regression_mnist")?;
    let csv = dir.join("ntk_regression_mnist.csv");
    let names: Vec<&str> = kernels.iter().map(|k| k.1).collect();
    write_labeled_csv(&csv, "kernel", &names, &["test_error"], &[&errs])?;
    common::report(&files);
    common::report(&[csv]);
    Ok(())
}

/// Tick labels of the kernel axis.
fn kernel_name(v: f64) -> String {
    match v.round() as i64 {
        0 if (v - 0.0).abs() < 1e-9 => "NTK".into(),
        1 if (v - 1.0).abs() < 1e-9 => "NNGP".into(),
        2 if (v - 2.0).abs() < 1e-9 => "Laplace".into(),
        _ => String::new(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("ntk_regression_mnist", || run(&args))
}
