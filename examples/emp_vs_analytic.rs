//! Simulated gradient descent against the theory (original `extra_experiments/emp_vs_analytic.py`):
//! for κ ∈ {1, 100, 1e4}, n = 150, d = 100, p = 70, the test error of GD averaged over 1000 seeds
//! (error bars ½·std on every second point) against the exact seed-averaged result ("Eq. 9",
//! left) and the fast–slow approximation ("Eqs. 12–14", right).
//!
//! `cargo run --release --example emp_vs_analytic [-- --seeds 1000]`

mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table,
    check_flag_memory, progress_bar, run_example, write_csv,
};
use doubledescent::science::teacher_student::{
    Config, CurveRequest, Dynamics, Freeze, analytic_times, empirical_times, fast_slow,
    seed_average,
};

/// GD (simulated on 1000 test points) vs the exact and the approximate theory.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Seeds per κ [default: 1000, or 40 with --quick]
    #[arg(long)]
    seeds: Option<u64>,
    /// Condition numbers κ (comma separated)
    #[arg(long, value_delimiter = ',', default_value = "1,100,10000")]
    kappas: Vec<f64>,
}

const COLORS: [Rgb; 3] = [Rgb::hex(0x1F77B4), Rgb::hex(0xFF7F0E), Rgb::hex(0x2CA02C)];

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("emp_vs_analytic")?;
    let n_seeds = args.fig.pick(args.seeds, 1000, 40);
    let device = args.fig.device()?;
    let t_emp = empirical_times();
    let t_an = analytic_times();
    // Per seed: its number and R, Q, E_G, the test error and their copies on both time grids.
    check_flag_memory(
        "seeds",
        n_seeds,
        n_seeds as u128 * (8 + 6 * 8 * (t_emp.len() + t_an.len()) as u128),
    )?;
    let seeds: Vec<u64> = (0..n_seeds).collect();
    let x_emp = common::plus_one(&t_emp);
    let x_an = common::plus_one(&t_an);
    let requests = [
        CurveRequest::new(t_emp.clone(), Dynamics::GradientFlow).with_test_error(),
        CurveRequest::new(t_an.clone(), Dynamics::GradientFlow),
    ];
    let ax = || Axis::log("Training time t+1").range(1.0, 1e5);
    let ay = || Axis::linear("E_G").range(0.0, 0.5);
    let mut left =
        LinePanel::new("GD vs exact analytical results", ax(), ay()).legend(Legend::UpperRight);
    let mut right = LinePanel::new("GD vs approximate analytical results", ax(), ay())
        .legend(Legend::UpperRight);
    let mut table = Table::new([
        "κ",
        "seeds",
        "time (s)",
        "GD min (x)",
        "exact min (x)",
        "approx min (x)",
        "max |GD−exact|",
        "mean ½std(GD)",
        "GD E_G(1e5)",
    ]);
    let mut header = vec!["t_plus_1".to_string()];
    let mut cols: Vec<Vec<f64>> = vec![x_emp.clone()];
    let pb = progress_bar(n_seeds * args.kappas.len() as u64, "seeds");
    for (i, &kappa) in args.kappas.iter().enumerate() {
        let cfg = Config::new(150, 100, 70, kappa);
        let start = Instant::now();
        let avg = seed_average(&cfg, &seeds, &requests, &|| pb.inc(1), &device)?;
        let secs = start.elapsed().as_secs_f64();
        let approx = fast_slow(&cfg, &t_an, Freeze::None)?;
        let (emp, exact) = (&avg[0], &avg[1]);
        let gd_mean = emp.test_mean.clone().unwrap_or_default();
        let gd_std = emp.test_std.clone().unwrap_or_default();
        let yerr: Vec<Option<f64>> = gd_std
            .iter()
            .enumerate()
            .map(|(j, s)| (j % 2 == 0).then_some(0.5 * s))
            .collect();
        let color = COLORS[i % COLORS.len()];
        let kl = common::kappa_label(kappa);
        let gd = Series::line(format!("GD, κ={kl}"), x_emp.clone(), gd_mean.clone(), color)
            .styled(Style::DashedPoints)
            .with_yerr(yerr);
        left = left.with(gd.clone()).with(Series::line(
            format!("Exact (Eq. 9), κ={kl}"),
            x_an.clone(),
            exact.eg_paper.clone(),
            color,
        ));
        right = right.with(gd).with(Series::line(
            format!("Approx. (Eqs. 12–14), κ={kl}"),
            x_an.clone(),
            approx.eg.clone(),
            color,
        ));

        // GD vs the exact result on the GD grid (same seeds, same students).
        let max_gap = gd_mean
            .iter()
            .zip(&emp.eg_paper)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let half_std = gd_std.iter().map(|s| 0.5 * s).sum::<f64>() / gd_std.len() as f64;
        let argmin = |x: &[f64], y: &[f64]| {
            let j = (0..y.len())
                .min_by(|a, b| y[*a].total_cmp(&y[*b]))
                .unwrap_or(0);
            (x[j], y[j])
        };
        let in_range = x_an.iter().position(|v| *v > 1e5).unwrap_or(x_an.len());
        let fmt = |(x, y): (f64, f64)| format!("{y:.4} ({})", common::short(x));
        // First local minimum where one exists (the κ = 1 curves decrease monotonically).
        let first_min = |x: &[f64], y: &[f64]| match common::min_then_max(x, y).0 {
            Some(p) => fmt(p),
            None => fmt(argmin(x, y)),
        };
        table.row([
            kl.clone(),
            n_seeds.to_string(),
            format!("{secs:.2}"),
            first_min(&x_emp, &gd_mean),
            first_min(&x_an[..in_range], &exact.eg_paper[..in_range]),
            first_min(&x_an[..in_range], &approx.eg[..in_range]),
            format!("{max_gap:.4}"),
            format!("{half_std:.4}"),
            format!("{:.4}", gd_mean[gd_mean.len() - 1]),
        ]);
        header.extend([
            format!("gd_mean_k{kl}"),
            format!("gd_std_k{kl}"),
            format!("exact_k{kl}"),
            format!("exact_teacher_norm_k{kl}"),
        ]);
        cols.extend([
            gd_mean,
            gd_std,
            emp.eg_paper.clone(),
            emp.eg_teacher_mean.clone(),
        ]);
        let hdr_an = [
            "t_plus_1",
            "exact_eg",
            "exact_r",
            "exact_q",
            "approx_eg",
            "approx_r",
            "approx_q",
        ];
        write_csv(
            &dir.join(format!("analytic_k{kl}.csv")),
            &hdr_an,
            &[
                &x_an,
                &exact.eg_paper,
                &exact.r_mean,
                &exact.q_mean,
                &approx.eg,
                &approx.r,
                &approx.q,
            ],
        )?;
    }
    pb.finish_and_clear();
    let fig = Figure::new(2)
        .panel_size(700, 480)
        .with(Panel::Line(left))
        .with(Panel::Line(right));
    let files = fig.save(&dir, "emp_vs_analytic")?;
    let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
    let col_refs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    write_csv(&dir.join("gd_vs_exact.csv"), &hdr, &col_refs)?;
    common::print_table(
        "GD test error (1000 test points) vs theory, n=150 d=100 p=70; x = t + 1",
        &table,
    );
    common::report(&files);
    common::report(&[dir.join("gd_vs_exact.csv")]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("emp_vs_analytic", || run(&args))
}
