//! Fig. 1 of Pezeshki et al. (ICML 2022): generalisation error of the fast–slow approximation
//! with only the fast features learning, only the slow ones, and both (epoch-wise double descent).
//!
//! `cargo run --release --example fig1 [-- --n 130]` (the ICML camera-ready uses n = 130).

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Table, run_example, write_csv,
};
use doubledescent::science::teacher_student::{
    Config, FREEZE_EARLY, FREEZE_LATE, Freeze, fast_slow_at,
};

/// Fast-only / slow-only / both-features generalisation curves (fast–slow approximation).
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Training samples
    #[arg(long, default_value_t = 150)]
    n: usize,
    /// Input dimension
    #[arg(long, default_value_t = 100)]
    d: usize,
    /// Fast directions
    #[arg(long, default_value_t = 70)]
    p: usize,
    /// Condition number of the modulation matrix
    #[arg(long, default_value_t = 100.0)]
    kappa: f64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("fig1")?;
    let cfg = Config::new(args.n, args.d, args.p, args.kappa);
    let [fast, slow, both] = common::fig1_curves(&cfg)?;
    let x = common::plus_one(&fast.times);

    let ax = || Axis::log("Training time").range(1.0, 1e5);
    let ay = || Axis::linear("MSE Generalization Error").range(0.0, 0.5);
    let top = LinePanel::new(
        format!("n={} d={} p={} κ={}", cfg.n, cfg.d, cfg.p, cfg.kappa),
        ax(),
        ay(),
    )
    .with(Series::line(
        "Fast feature",
        x.clone(),
        fast.eg.clone(),
        Rgb::hex(0x0076BA),
    ))
    .with(Series::line(
        "Slow feature",
        x.clone(),
        slow.eg.clone(),
        Rgb::hex(0xFF9300),
    ))
    .legend(Legend::LowerLeft);
    let bottom = LinePanel::new("", ax(), ay())
        .with(Series::line(
            "Both features",
            x.clone(),
            both.eg.clone(),
            Rgb::hex(0x353535),
        ))
        .legend(Legend::LowerLeft);
    let fig = Figure::new(1)
        .panel_size(700, 380)
        .with(Panel::Line(top))
        .with(Panel::Line(bottom));
    let files = fig.save(&dir, "fig1")?;
    write_csv(
        &dir.join("fig1.csv"),
        &[
            "t_plus_1", "eg_fast", "eg_slow", "eg_both", "r_both", "q_both",
        ],
        &[&x, &fast.eg, &slow.eg, &both.eg, &both.r, &both.q],
    )?;

    // E_G at round values of t + 1, freezing at the original grid's ends.
    let xs = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5];
    let ts: Vec<f64> = xs
        .iter()
        .map(|x: &f64| (x - 1.0).max(FREEZE_EARLY))
        .collect();
    let mut table = Table::new(
        ["curve"]
            .into_iter()
            .map(String::from)
            .chain(xs.iter().map(|x| format!("x={}", common::short(*x))))
            .chain(["first min".into(), "then max".into()]),
    );
    for (name, freeze, curve) in [
        ("fast only", Freeze::FastOnly, &fast),
        ("slow only", Freeze::SlowOnly, &slow),
        ("both", Freeze::None, &both),
    ] {
        let at = fast_slow_at(&cfg, &ts, freeze, FREEZE_EARLY, FREEZE_LATE)?;
        let (mn, mx) = common::min_then_max(&x, &curve.eg);
        table.row(
            [name.to_string()]
                .into_iter()
                .chain(at.eg.iter().map(|v| format!("{v:.4}")))
                .chain([common::at(mn), common::at(mx)]),
        );
    }
    common::print_table("E_G(t) of the fast–slow approximation (x = t + 1)", &table);
    common::report(&files);
    common::report(&[dir.join("fig1.csv")]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("fig1", || run(&args))
}
