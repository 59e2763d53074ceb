//! DoubleDescentTutorial part 1: double descent when only the last layer is
//! trained, on 10 one-dimensional points y = w·x + N(0, 0.5²).
//!
//! * Random Fourier features φ(x) = k^{-1/2}e^{i v x}, v ~ N(0, 1), minimum-norm fit ŵ = y·pinv(Φ),
//!   widths 1 … 200000: the test error peaks at k = n = 10.
//! * Its "infinite width" line. The notebook's code computes exp(−|x − x'|/2), a **Laplace** kernel
//!   of bandwidth 2 (non-squared distances), not the Gaussian exp(−|x − x'|²/2) its text derives;
//!   both are drawn and printed here (the notebook printed 0.26786 for the Laplace one; the true
//!   Gaussian gives 10.07, the value the finite RFF widths actually approach).
//! * Random ReLU features √(2/k)·relu(v x + b) against the arc-cosine NNGP with bias (0.84329).
//!
//! Data and features are drawn from NumPy's legacy generator with the notebook's seeds (2134,
//! 4321, 1717), so the printed numbers are the notebook's.
//!
//! `cargo run --release --example dd_random_features`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::backend::Device;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table,
    check_flag_memory, progress_bar, run_example, write_csv,
};
use doubledescent::kernels::Kernel;
use doubledescent::linalg::Cutoff;
use doubledescent::linalg::linspace;
use doubledescent::random::numpy::RandomState;
use doubledescent::solvers::{
    Fit, KernelRidge, MinNormFeatures, Predict, RandomFourier, RandomRelu, Solver, complex_mse,
};
use doubledescent::{Error, Result};
use faer::Mat;

/// Random Fourier / ReLU features against their infinite-width kernels.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Random Fourier widths [default: 1,5,10,50,100,500,1000,5000,10000,100000,200000;
    /// 1,5,10,50,1000 with --quick]
    #[arg(long, value_delimiter = ',')]
    rff_widths: Option<Vec<usize>>,
    /// Random ReLU widths [default: 1,5,10,50,100,500,1000,5000,10000,100000; 1,5,10,50,1000
    /// with --quick]
    #[arg(long, value_delimiter = ',')]
    relu_widths: Option<Vec<usize>>,
}

fn mean_sq(pred: &[f64], y: &[f64]) -> f64 {
    pred.iter()
        .zip(y)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / y.len() as f64
}

/// np.isclose(v, 0) → 0, as the notebook does.
fn snap(v: f64) -> f64 {
    if v.abs() <= 1e-8 { 0.0 } else { v }
}

fn kernel_limit(
    kernel: Kernel,
    x: &Mat<f64>,
    y: &[f64],
    xt: &Mat<f64>,
    yt: &[f64],
    device: &Device,
) -> Result<(f64, f64)> {
    let ym = Mat::from_fn(y.len(), 1, |i, _| y[i]);
    let model = KernelRidge::new(kernel, 0.0, Solver::Pinv(Cutoff::numpy_pinv()), device)?
        .fit(x.as_ref(), ym.as_ref())?;
    let col = |m: Mat<f64>| (0..m.nrows()).map(|i| m[(i, 0)]).collect::<Vec<_>>();
    let tr = col(model.predict(x.as_ref())?);
    let te = col(model.predict(xt.as_ref())?);
    Ok((mean_sq(&tr, y), mean_sq(&te, yt)))
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("dd_random_features")?;
    let device = args.fig.device()?;
    let quick_widths = vec![1, 5, 10, 50, 1000];
    let rff_widths = args.fig.pick(
        args.rff_widths.clone(),
        vec![1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100_000, 200_000],
        quick_widths.clone(),
    );
    let relu_widths = args.fig.pick(
        args.relu_widths.clone(),
        vec![1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100_000],
        quick_widths,
    );
    if let Some(&k) = rff_widths.iter().chain(&relu_widths).find(|&&k| k == 0) {
        return Err(Error::invalid("widths", k, "every width must be positive"));
    }
    // A width k holds its frequencies and the complex features of 10 training and 1000 test
    // points (and their copies in the least-squares solve).
    for (flag, widths) in [("rff-widths", &rff_widths), ("relu-widths", &relu_widths)] {
        let k = widths.iter().copied().max().unwrap_or(1);
        check_flag_memory(flag, k, k as u128 * (1 + 4 * 1010) * 8)?;
    }
    // dataloader.make_dataset(n=10, d=1, eps=.5) under np.random.seed(2134).
    let n = 10;
    let mut rs = RandomState::new(2134);
    let xs = rs.randn(n);
    let w = rs.randn(1)[0];
    let noise = rs.randn(n);
    let y: Vec<f64> = xs
        .iter()
        .zip(&noise)
        .map(|(x, e)| w * x + 0.5 * e)
        .collect();
    let lo = xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let xt_v = linspace(lo, hi, 1000);
    let yt: Vec<f64> = xt_v.iter().map(|x| w * x).collect();
    let x = Mat::from_fn(n, 1, |i, _| xs[i]);
    let xt = Mat::from_fn(xt_v.len(), 1, |i, _| xt_v[i]);
    println!("w = {w:.7}, x ∈ [{lo:.5}, {hi:.5}], n = {n}, 1000 noiseless test points");

    // Random Fourier features, seed 4321 set once, V drawn per width in order.
    let mut rs = RandomState::new(4321);
    let pb = progress_bar((rff_widths.len() + relu_widths.len()) as u64, "widths");
    let mut rff = Vec::new();
    for &k in &rff_widths {
        let feats = RandomFourier::from_frequencies(rs.randn(k), k, 1)?;
        let fit = MinNormFeatures::new(feats, Cutoff::numpy_pinv())?.fit(x.as_ref(), &y)?;
        let (re, im) = fit.predict(x.as_ref())?;
        let (ret, imt) = fit.predict(xt.as_ref())?;
        rff.push((
            snap(complex_mse(&re, &im, &y)?),
            complex_mse(&ret, &imt, &yt)?,
        ));
        pb.inc(1);
    }
    // Random ReLU features, seed 1717, V then b per width.
    let mut rs = RandomState::new(1717);
    let mut relu = Vec::new();
    for &k in &relu_widths {
        let v = rs.randn(k);
        let b = rs.randn(k);
        let feats = RandomRelu::from_parts(v, b, k, 1)?;
        let fit = MinNormFeatures::new(feats, Cutoff::numpy_pinv())?.fit(x.as_ref(), &y)?;
        let tr = fit.predict(x.as_ref())?;
        let te = fit.predict(xt.as_ref())?;
        relu.push((snap(mean_sq(&tr, &y)), mean_sq(&te, &yt)));
        pb.inc(1);
    }
    pb.finish_and_clear();

    let laplace = kernel_limit(Kernel::laplace(2.0)?, &x, &y, &xt, &yt, &device)?;
    let gaussian = kernel_limit(Kernel::gaussian(1.0)?, &x, &y, &xt, &yt, &device)?;
    let nngp = kernel_limit(Kernel::relu_nngp(true), &x, &y, &xt, &yt, &device)?;

    let mut t = Table::new(["k", "RFF train MSE", "RFF test MSE"]);
    for (k, (tr, te)) in rff_widths.iter().zip(&rff) {
        t.row([k.to_string(), format!("{tr:.10}"), format!("{te:.10}")]);
    }
    common::print_table("Random Fourier features (minimum-norm, complex)", &t);
    let mut t = Table::new(["k", "ReLU train MSE", "ReLU test MSE"]);
    for (k, (tr, te)) in relu_widths.iter().zip(&relu) {
        t.row([k.to_string(), format!("{tr:.5}"), format!("{te:.5}")]);
    }
    common::print_table("Random ReLU features with bias (minimum-norm)", &t);
    let mut t = Table::new(["infinite-width kernel", "train MSE", "test MSE"]);
    for (name, (tr, te)) in [
        (
            "Laplace exp(-|x-x'|/2) (the notebook's \"Gaussian\")",
            laplace,
        ),
        ("Gaussian exp(-|x-x'|^2/2) (the RFF limit)", gaussian),
        ("ReLU NNGP with bias (arc-cosine)", nngp),
    ] {
        t.row([name.to_string(), format!("{tr:.2e}"), format!("{te:.10}")]);
    }
    common::print_table("Infinite Width Test Error (pinv of the kernel matrix)", &t);

    let kf = |ws: &[usize]| ws.iter().map(|&k| k as f64).collect::<Vec<_>>();
    let (kr, kl) = (kf(&rff_widths), kf(&relu_widths));
    let flat = |ks: &[f64], v: f64| vec![v; ks.len()];
    let test = |v: &[(f64, f64)]| v.iter().map(|p| p.1).collect::<Vec<_>>();
    let train = |v: &[(f64, f64)]| v.iter().map(|p| p.0).collect::<Vec<_>>();
    let rff_panel = LinePanel::new(
        "Double Descent with RFF",
        Axis::log("number of features k"),
        Axis::log("test MSE"),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line(
            "RFF (finite width)",
            kr.clone(),
            test(&rff),
            Rgb::hex(0x1F77B4),
        )
        .styled(Style::DashedPoints),
    )
    .with(
        Series::line(
            "Laplace σ=2 (notebook's line)",
            kr.clone(),
            flat(&kr, laplace.1),
            Rgb::hex(0x000000),
        )
        .styled(Style::Dashed),
    )
    .with(
        Series::line(
            "true Gaussian kernel",
            kr.clone(),
            flat(&kr, gaussian.1),
            Rgb::hex(0xD62728),
        )
        .styled(Style::Dashed),
    );
    let relu_panel = LinePanel::new(
        "Double Descent with Random ReLU Features",
        Axis::log("number of features k"),
        Axis::log("test MSE"),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line(
            "random ReLU features",
            kl.clone(),
            test(&relu),
            Rgb::hex(0x1F77B4),
        )
        .styled(Style::DashedPoints),
    )
    .with(
        Series::line(
            "NNGP (infinite width)",
            kl.clone(),
            flat(&kl, nngp.1),
            Rgb::hex(0x000000),
        )
        .styled(Style::Dashed),
    );
    let files = Figure::new(2)
        .panel_size(620, 440)
        .with(Panel::Line(rff_panel))
        .with(Panel::Line(relu_panel))
        .save(&dir, "dd_random_features")?;
    let c1 = dir.join("rff.csv");
    write_csv(
        &c1,
        &[
            "k",
            "train_mse",
            "test_mse",
            "laplace_test",
            "gaussian_test",
        ],
        &[
            &kr,
            &train(&rff),
            &test(&rff),
            &flat(&kr, laplace.1),
            &flat(&kr, gaussian.1),
        ],
    )?;
    let c2 = dir.join("relu_features.csv");
    write_csv(
        &c2,
        &["k", "train_mse", "test_mse", "nngp_test"],
        &[&kl, &train(&relu), &test(&relu), &flat(&kl, nngp.1)],
    )?;
    common::report(&files);
    common::report(&[c1, c2]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("dd_random_features", || run(&args))
}
