//! The four variants of Fig. 1 (original README, `variants_of_fig1.png`): fast-only, slow-only and
//! both-features curves of the fast–slow approximation for (n, d, p) = (150, 100, 70),
//! (120, 100, 70), (150, 100, 80), (300, 280, 50), κ = 100.
//!
//! `cargo run --release --example variants_of_fig1`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{Figure, FigureArgs, Panel, Table, run_example, write_csv};
use doubledescent::science::teacher_student::Config;

/// Four (n, d, p) variants of fig1.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Condition number of the modulation matrix
    #[arg(long, default_value_t = 100.0)]
    kappa: f64,
}

const VARIANTS: [(usize, usize, usize); 4] = [
    (150, 100, 70),
    (120, 100, 70),
    (150, 100, 80),
    (300, 280, 50),
];

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("variants_of_fig1")?;
    let mut fig = Figure::new(2).panel_size(640, 420);
    let mut table = Table::new([
        "n, d, p",
        "fast: first min",
        "fast: plateau",
        "both: first min",
        "both: then max",
        "both: E_G(1e5)",
    ]);
    for (n, d, p) in VARIANTS {
        let cfg = Config::new(n, d, p, args.kappa);
        let curves = common::fig1_curves(&cfg)?;
        fig = fig.with(Panel::Line(common::fig1_panel(&cfg, &curves)));
        let x = common::plus_one(&curves[0].times);
        write_csv(
            &dir.join(format!("variant_n{n}_d{d}_p{p}.csv")),
            &["t_plus_1", "eg_fast", "eg_slow", "eg_both"],
            &[&x, &curves[0].eg, &curves[1].eg, &curves[2].eg],
        )?;
        let i1e5 = x.iter().position(|v| *v >= 1e5).unwrap_or(x.len() - 1);
        let (fmin, _) = common::min_then_max(&x, &curves[0].eg);
        let (bmin, bmax) = common::min_then_max(&x, &curves[2].eg);
        table.row([
            format!("{n}, {d}, {p}"),
            common::at(fmin),
            format!("{:.4}", curves[0].eg[x.len() - 1]),
            common::at(bmin),
            common::at(bmax),
            format!("{:.4}", curves[2].eg[i1e5]),
        ]);
    }
    let files = fig.save(&dir, "variants_of_fig1")?;
    common::print_table(&format!("Variants of fig1, κ = {}", args.kappa), &table);
    common::report(&files);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("variants_of_fig1", || run(&args))
}
