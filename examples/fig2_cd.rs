//! Fig. 2 (c, d) of Pezeshki et al. (ICML 2022 Fig. 5 c, d): the fast–slow approximation's E_G
//! over ridge λ = 10^(−ℓ), ℓ ∈ [0.1, 8], and training time t, with three slices (large,
//! intermediate and small λ). Small λ shows epoch-wise double descent; large λ removes it.
//!
//! `cargo run --release --example fig2_cd`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Colormap, Figure, FigureArgs, Heatmap, Legend, LinePanel, Panel, Rgb, Series, Table,
    check_flag_memory, run_example, write_csv,
};
use doubledescent::linalg::linspace;
use doubledescent::science::teacher_student::{Config, Freeze, analytic_times, fast_slow};

/// E_G heat map over (λ, t) with three slices.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Number of ℓ values (λ = 10^-ℓ, ℓ from 0.1 to 8)
    #[arg(long, default_value_t = 100)]
    lambdas: usize,
}

fn neg_pow10(v: f64) -> String {
    let k = v.round();
    if (v - k).abs() > 1e-6 {
        return String::new();
    }
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digits: String = format!("{}", k as u32)
        .chars()
        .map(|c| SUP[c as usize - '0' as usize])
        .collect();
    if k == 0.0 {
        "10⁰".into()
    } else {
        format!("10⁻{digits}")
    }
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("fig2_cd")?;
    if args.lambdas < 31 {
        return Err(doubledescent::Error::invalid(
            "lambdas",
            args.lambdas,
            "need at least 31 values (the slices are columns 10, 30 and the last)",
        ));
    }
    let base = Config::new(120, 100, 80, 40.0).with_noise(0.2);
    let times = analytic_times();
    // The curves, their transpose for the heat map and the CSV: three copies of λ × t values.
    check_flag_memory(
        "lambdas",
        args.lambdas,
        3 * args.lambdas as u128 * times.len() as u128 * 8,
    )?;
    let ells = linspace(0.1, 8.0, args.lambdas);
    let x = common::plus_one(&times);
    let mut by_lambda = Vec::with_capacity(ells.len());
    for &l in &ells {
        let cfg = base.clone().with_ridge(10f64.powf(-l));
        by_lambda.push(fast_slow(&cfg, &times, Freeze::None)?.eg);
    }
    let values: Vec<Vec<f64>> = (0..times.len())
        .map(|it| by_lambda.iter().map(|c| c[it]).collect())
        .collect();
    let heat = Heatmap {
        title: "n=120 d=100 p=80 κ=40 σ=0.2".into(),
        x: Axis::linear("Ridge λ (log scale, decreasing →)").format(neg_pow10),
        y: Axis::log("Training time t+1").range(1.0, 1e4),
        xs: ells.clone(),
        ys: x.clone(),
        values,
        vmin: 0.2,
        vmax: 0.45,
        colormap: Colormap::Plasma,
        colorbar_label: "E_G".into(),
        overlays: vec![],
        legend: Legend::Hidden,
        notes: vec![],
    };
    let last = ells.len() - 1;
    let slices = [
        (10, "Large λ", Rgb::hex(0xD62728)),
        (30, "Intermediate λ", Rgb::hex(0x2CA02C)),
        (last, "Small λ", Rgb::hex(0x1F77B4)),
    ];
    let mut panel = LinePanel::new(
        "Slices",
        Axis::log("Training time t+1").range(1.0, 1e4),
        Axis::linear("MSE generalization loss").range(0.15, 0.5),
    );
    for (col, name, color) in slices {
        let label = format!("{name} (λ={:.3e})", 10f64.powf(-ells[col]));
        panel = panel.with(Series::line(
            label,
            x.clone(),
            by_lambda[col].clone(),
            color,
        ));
    }
    let fig = Figure::new(2)
        .panel_size(680, 460)
        .with(Panel::Heatmap(heat))
        .with(Panel::Line(panel));
    let files = fig.save(&dir, "fig2_cd")?;

    let header: Vec<String> = ["t_plus_1".to_string()]
        .into_iter()
        .chain(ells.iter().map(|l| format!("eg_l{l:.4}")))
        .collect();
    let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut cols: Vec<&[f64]> = vec![&x];
    cols.extend(by_lambda.iter().map(Vec::as_slice));
    write_csv(&dir.join("fig2_cd.csv"), &hdr, &cols)?;

    let mut table = Table::new([
        "slice",
        "ℓ",
        "λ",
        "E_G(t+1≈1)",
        "first min",
        "then max",
        "E_G(1e4)",
    ]);
    let i1e4 = x.iter().position(|v| *v >= 1e4).unwrap_or(x.len() - 1);
    for (col, name, _) in slices {
        let c = &by_lambda[col];
        let in_plot = x.iter().position(|v| *v > 1e4).unwrap_or(x.len());
        let (mn, mx) = common::min_then_max(&x[..in_plot], &c[..in_plot]);
        table.row([
            name.to_string(),
            format!("{:.3}", ells[col]),
            format!("{:.3e}", 10f64.powf(-ells[col])),
            format!("{:.4}", c[0]),
            common::at(mn),
            common::at(mx),
            format!("{:.4}", c[i1e4]),
        ]);
    }
    common::print_table(
        "E_G slices of the (λ, t) heat map (x = t + 1, up to 1e4)",
        &table,
    );
    common::report(&files);
    common::report(&[dir.join("fig2_cd.csv")]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("fig2_cd", || run(&args))
}
