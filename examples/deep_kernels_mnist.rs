//! Infinite-width kernels of deeper ReLU networks on MNIST: the NNGP and the NTK of the
//! tutorial's network (N(0, 1) weights and biases, √(2/k) scaling) with L = 1 … 5 hidden layers,
//! by the arc-cosine recursion (Cho & Saul 2009; Jacot et al. 2018; Arora et al. 2019), each
//! solved directly with no ridge as in `DoubleDescentTutorialPart2.ipynb` cell 7 (where L = 1,
//! the NTK, gave 4.39 % test error on full MNIST).
//!
//! Default: the embedded 10k subset, first 400 digits of each class for training (4000) and the
//! other 6000 for testing; `--mnist DIR` uses the full MNIST files as the notebook.
//!
//! `cargo run --release --example deep_kernels_mnist`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::data::{mse, multiclass_error};
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, progress_bar, run_example,
};
use doubledescent::kernels::{Kernel, MAX_DEPTH};
use doubledescent::solvers::{Fit, KernelRidge, Predict, Solver};
use doubledescent::{Error, Result};

/// NNGP and NTK of depth-L ReLU networks on MNIST.
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
    /// Deepest network L (depths 1 … L)
    #[arg(long, default_value_t = 5)]
    max_depth: u32,
    /// Leave out the first-layer and hidden biases
    #[arg(long)]
    no_bias: bool,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("deep_kernels_mnist")?;
    let device = args.fig.device()?;
    if args.max_depth == 0 || args.max_depth > MAX_DEPTH {
        return Err(Error::invalid(
            "--max-depth",
            args.max_depth,
            format!("must lie in 1..={MAX_DEPTH}"),
        ));
    }
    let per_class = args.fig.pick(args.per_class, 400, 40);
    let (train, test) = common::mnist_split(args.mnist.as_deref(), per_class)?;
    let x: faer::Mat<f64> = train.unit_rows()?;
    let x_test: faer::Mat<f64> = test.unit_rows()?;
    let (y, y_test) = (train.one_hot::<f64>()?, test.one_hot::<f64>()?);
    let bias = !args.no_bias;
    println!(
        "train {} digits, test {} digits; ReLU kernels {} biases, direct solve, no ridge",
        train.len(),
        test.len(),
        if bias { "with" } else { "without" }
    );
    let depths: Vec<u32> = (1..=args.max_depth).collect();
    let mut table = Table::new([
        "depth L",
        "kernel",
        "K(x,x)",
        "train MSE",
        "test MSE",
        "test err",
        "seconds",
    ]);
    let (mut nngp_err, mut ntk_err, mut nngp_mse, mut ntk_mse) = (vec![], vec![], vec![], vec![]);
    let pb = progress_bar(2 * depths.len() as u64, "kernels");
    for &depth in &depths {
        for ntk in [false, true] {
            let kernel = if ntk {
                Kernel::deep_relu_ntk(depth, bias)?
            } else {
                Kernel::deep_relu_nngp(depth, bias)?
            };
            let t0 = std::time::Instant::now();
            let model =
                KernelRidge::new(kernel, 0.0, Solver::Lu, &device)?.fit(x.as_ref(), y.as_ref())?;
            let p_train: faer::Mat<f64> = model.predict(x.as_ref())?;
            let p_test = model.predict(x_test.as_ref())?;
            let secs = t0.elapsed().as_secs_f64();
            let tr_mse = mse(p_train.as_ref(), y.as_ref())?;
            let te_mse = mse(p_test.as_ref(), y_test.as_ref())?;
            let te_err = multiclass_error(p_test.as_ref(), y_test.as_ref())?;
            if !(te_mse.is_finite() && tr_mse.is_finite()) {
                return Err(Error::Numerical(format!(
                    "{kernel}: non-finite predictions"
                )));
            }
            let diag = kernel.eval(&[1.0], &[1.0])?; // a unit input
            table.row([
                depth.to_string(),
                if ntk { "NTK" } else { "NNGP" }.to_string(),
                format!("{diag}"),
                format!("{tr_mse:.2e}"),
                format!("{te_mse:.4}"),
                format!("{:.2}%", 100.0 * te_err),
                format!("{secs:.2}"),
            ]);
            if ntk {
                ntk_err.push(te_err);
                ntk_mse.push(te_mse);
            } else {
                nngp_err.push(te_err);
                nngp_mse.push(te_mse);
            }
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    common::print_table(
        "Deep ReLU kernels, interpolation on MNIST (the notebook's L = 1 NTK: 4.39% on full MNIST)",
        &table,
    );
    let ls: Vec<f64> = depths.iter().map(|&d| d as f64).collect();
    let top = nngp_err.iter().chain(&ntk_err).cloned().fold(0.0, f64::max);
    let err_panel = LinePanel::new(
        "Test error of infinite-width ReLU kernels",
        Axis::linear("hidden layers L").range(0.5, args.max_depth as f64 + 0.5),
        Axis::linear("test error (1 - Acc.)").range(0.0, top * 1.3),
    )
    .legend(Legend::LowerRight)
    .with(
        Series::line("NNGP", ls.clone(), nngp_err.clone(), Rgb::hex(0x1F77B4))
            .styled(Style::DashedPoints),
    )
    .with(
        Series::line("NTK", ls.clone(), ntk_err.clone(), Rgb::hex(0xD62728))
            .styled(Style::DashedPoints),
    );
    let top = nngp_mse.iter().chain(&ntk_mse).cloned().fold(0.0, f64::max);
    let mse_panel = LinePanel::new(
        "Test MSE (one-hot targets)",
        Axis::linear("hidden layers L").range(0.5, args.max_depth as f64 + 0.5),
        Axis::linear("test MSE").range(0.0, top * 1.3),
    )
    .legend(Legend::LowerRight)
    .with(
        Series::line("NNGP", ls.clone(), nngp_mse.clone(), Rgb::hex(0x1F77B4))
            .styled(Style::DashedPoints),
    )
    .with(
        Series::line("NTK", ls.clone(), ntk_mse.clone(), Rgb::hex(0xD62728))
            .styled(Style::DashedPoints),
    );
    common::save_lines(
        &dir,
        "deep_kernels_mnist",
        vec![err_panel, mse_panel],
        (520, 400),
        &[
            "depth",
            "nngp_test_error",
            "ntk_test_error",
            "nngp_test_mse",
            "ntk_test_mse",
        ],
        &[&ls, &nngp_err, &ntk_err, &nngp_mse, &ntk_mse],
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("deep_kernels_mnist", || run(&args))
}
