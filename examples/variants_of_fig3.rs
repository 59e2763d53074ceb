//! The four variants of Fig. 3 (original README, `variants_of_fig3.png`): phase diagram and E_G(t)
//! κ sweeps for (n, d, p) = (110, 100, 70), (150, 100, 70), (110, 100, 30), (120, 100, 90).
//! In every panel the κ = 1e5 trajectory stops at the cusp R = p/d.
//!
//! `cargo run --release --example variants_of_fig3`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{Figure, FigureArgs, Panel, Table, run_example};
use doubledescent::science::teacher_student::Config;

/// Four (n, d, p) variants of fig3.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Condition numbers κ to sweep (comma separated)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,7,12,30,100,1000,100000"
    )]
    kappas: Vec<f64>,
}

const VARIANTS: [(usize, usize, usize); 4] = [
    (110, 100, 70),
    (150, 100, 70),
    (110, 100, 30),
    (120, 100, 90),
];

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("variants_of_fig3")?;
    let mut fig = Figure::new(2).panel_size(640, 420);
    let mut table = Table::new(["n, d, p", "κ", "max Q (at R)", "p/d", "end R, Q", "E_G end"]);
    for (n, d, p) in VARIANTS {
        let base = Config::new(n, d, p, 1.0);
        let (phase, eg, curves) = common::fig3_panels(&base, &args.kappas)?;
        fig = fig.with(Panel::Heatmap(phase)).with(Panel::Line(eg));
        common::write_kappa_sweep(
            &dir.join(format!("variant_n{n}_d{d}_p{p}.csv")),
            &args.kappas,
            &curves,
        )?;
        if let (Some(k), Some(c)) = (args.kappas.last(), curves.last()) {
            let iq = (0..c.q.len())
                .max_by(|a, b| c.q[*a].total_cmp(&c.q[*b]))
                .unwrap_or(0);
            let last = c.q.len() - 1;
            table.row([
                format!("{n}, {d}, {p}"),
                common::kappa_label(*k),
                format!("{:.4} ({:.4})", c.q[iq], c.r[iq]),
                format!("{:.2}", p as f64 / d as f64),
                format!("{:.4}, {:.4}", c.r[last], c.q[last]),
                format!("{:.4}", c.eg[last]),
            ]);
        }
    }
    let files = fig.save(&dir, "variants_of_fig3")?;
    common::print_table(
        "Variants of fig3: the largest κ stops at the cusp R = p/d",
        &table,
    );
    common::report(&files);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("variants_of_fig3", || run(&args))
}
