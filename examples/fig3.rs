//! Fig. 3 of Pezeshki et al. (ICML 2022 Fig. 4): the (R, Q) phase diagram with the trajectories
//! of the fast–slow approximation for κ ∈ {1, 7, 12, 30, 100, 1000, 1e5}, on the background
//! 1 − 2R + Q, and E_G(t) for each κ: the second descent moves right by ≈ κ² in time.
//!
//! `cargo run --release --example fig3`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{Figure, FigureArgs, Panel, Table, run_example};
use doubledescent::science::teacher_student::{Config, Freeze, fast_slow};

/// Phase diagram and κ sweep of the fast–slow approximation.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Training samples
    #[arg(long, default_value_t = 110)]
    n: usize,
    /// Input dimension
    #[arg(long, default_value_t = 100)]
    d: usize,
    /// Fast directions
    #[arg(long, default_value_t = 70)]
    p: usize,
    /// Condition numbers κ to sweep (comma separated)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,7,12,30,100,1000,100000"
    )]
    kappas: Vec<f64>,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("fig3")?;
    let base = Config::new(args.n, args.d, args.p, 1.0);
    let (phase, eg, curves) = common::fig3_panels(&base, &args.kappas)?;
    let fig = Figure::new(2)
        .panel_size(700, 460)
        .with(Panel::Heatmap(phase))
        .with(Panel::Line(eg));
    let files = fig.save(&dir, "fig3")?;

    common::write_kappa_sweep(&dir.join("fig3.csv"), &args.kappas, &curves)?;
    let x = common::plus_one(&curves[0].times);

    // E_G at x = t + 1 = 10^k, evaluated exactly (x = 1 is the grid's first time, 1e-3).
    let xs: Vec<f64> = (0..8).map(|k| 10f64.powi(k)).collect();
    let ts: Vec<f64> = xs.iter().map(|x| (x - 1.0).max(1e-3)).collect();
    let mut table = Table::new(
        ["κ".to_string()]
            .into_iter()
            .chain(xs.iter().map(|x| format!("x={}", common::short(*x))))
            .chain([
                "first min".into(),
                "then max".into(),
                "max Q (R)".into(),
                "end R, Q".into(),
            ]),
    );
    for (k, c) in args.kappas.iter().zip(&curves) {
        let cfg = Config {
            kappa: *k,
            ..base.clone()
        };
        let at = fast_slow(&cfg, &ts, Freeze::None)?;
        let (mn, mx) = common::min_then_max(&x, &c.eg);
        let iq = (0..c.q.len())
            .max_by(|a, b| c.q[*a].total_cmp(&c.q[*b]))
            .unwrap_or(0);
        let last = c.q.len() - 1;
        table.row(
            [common::kappa_label(*k)]
                .into_iter()
                .chain(at.eg.iter().map(|v| format!("{v:.4}")))
                .chain([
                    common::at(mn),
                    common::at(mx),
                    format!("{:.3} ({:.3})", c.q[iq], c.r[iq]),
                    format!("{:.4}, {:.4}", c.r[last], c.q[last]),
                ]),
        );
    }
    common::print_table(
        &format!(
            "E_G(t) of the fast–slow approximation, n={} d={} p={} (x = t + 1)",
            args.n, args.d, args.p
        ),
        &table,
    );
    common::report(&files);
    common::report(&[dir.join("fig3.csv")]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("fig3", || run(&args))
}
