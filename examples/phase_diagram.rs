//! Fig. 2 of Geiger, Petrini & Wyart, "Perspective: A phase diagram for deep learning unifying
//! jamming, feature learning and lazy training" (arXiv 2012.15110; code
//! `mariogeiger/feature_lazy@3e50d5c`, README "phasespace.pgf"): the (h, α̃) plane of
//! two-hidden-layer networks trained on MNIST-10-PCA parity. Background: the ensemble test error;
//! lines: where the tangent kernel's change ‖ΔΘ‖/‖Θ₀‖ crosses c ∈ {1e-4, 1e-2, 1, 100} (the
//! feature/lazy crossover, α̃* = O(1) for c = 1) and the jamming line at three budgets, with the
//! jammed region shaded. A second panel shows ‖ΔΘ‖/‖Θ₀‖ against α̃ at each width.
//!
//! Default: the embedded digits, P = 1000, 2000 test and 300 kernel points, h ∈ {6, 8, 12, 16,
//! 24, 32, 64}, α̃ = 2⁻⁸ … 2²⁰ in factors of 16, 3 seeds, 10⁴ steps per run with jamming lines at
//! 2500, 5000 and 10⁴ steps (about 8 minutes on 2 cores). The original's thresholds need 4 runs per
//! point and brackets finer than a factor 3 in α̃ and 2 in h; with this grid they are relaxed to 2
//! runs, one grid step in α̃ and any gap in h. `--original` restores them, with the paper's P,
//! test set, seeds, walls and grid (MNIST: 22 widths 20…1248 × the 23 α̃ of
//! `pcaM10d5kp2Lsw10_h_alpha_grid`; CIFAR-10: h ∈ {32, 40, 48, 64, 80} × 2⁻¹² … 2¹⁵);
//! `--records DIR` redraws from saved runs, `--from-runs DIR` from a sweep folder of
//! `sweep task train --kernel 300` runs (README, "Running the paper's grids on a cluster").
//!
//! `cargo run --release --example phase_diagram`

mod common;

use std::process::ExitCode;

use clap::Parser;
use common::networks::{NetArgs, cols, config, positive, runs, splits};
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Colormap, Figure, FigureArgs, Heatmap, Legend, LinePanel, Note, Panel, Rgb, Series,
    Style, Table, fmt_opt, run_example, write_csv,
};
use doubledescent::science::phase_diagram::{
    BudgetAxis, Rules, crossover_line, ensemble_grid, jamming_line,
};

/// The (h, α̃) phase diagram: feature, lazy and jamming.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    net: NetArgs,
    /// Widths h [default: 6,8,12,16,24,32,64; 4,8,32 with --quick; the original's grid with
    /// --original]
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,
    /// Values of α̃ [default: 2⁻⁸, 2⁻⁴, …, 2²⁰; 1, 2⁴, 2⁸, 2¹² with --quick; the original's grid
    /// with --original]
    #[arg(long, value_delimiter = ',')]
    alphas: Option<Vec<f64>>,
    /// Kernel points for ‖ΔΘ‖/‖Θ₀‖ [default: 300; 100 with --quick; 2500 with --original]
    #[arg(long)]
    kernel: Option<usize>,
    /// Budgets of the jamming lines, in steps [default: quarter, half and all of --steps]; with
    /// --original, wall-clock seconds 1800, 3600, 7200
    #[arg(long, value_delimiter = ',')]
    budgets: Option<Vec<f64>>,
}

/// The original's MNIST α̃ grid (`pcaM10d5kp2Lsw10_h_alpha_grid`).
const ORIGINAL_MNIST_ALPHAS: [f64; 23] = [
    0.00031280517578125,
    0.001007080078125,
    0.003173828125,
    0.010009765625,
    0.03125,
    0.1015625,
    0.3125,
    1.0,
    3.125,
    10.0,
    32.0,
    100.0,
    320.0,
    992.0,
    3200.0,
    9984.0,
    31744.0,
    98304.0,
    319488.0,
    1015808.0,
    3145728.0,
    9961472.0,
    31457280.0,
];

const C_VALUES: [(f64, &str, Rgb); 4] = [
    (1e-4, "‖ΔΘ‖ = 1e-4‖Θ₀‖", Rgb::hex(0x1F77B4)),
    (1e-2, "‖ΔΘ‖ = 1e-2‖Θ₀‖", Rgb::hex(0x2CA02C)),
    (1.0, "‖ΔΘ‖ = ‖Θ₀‖", Rgb::hex(0x000000)),
    (1e2, "‖ΔΘ‖ = 100‖Θ₀‖", Rgb::hex(0x9467BD)),
];

fn run(args: &Args) -> Result<()> {
    let (fig, net) = (&args.fig, &args.net);
    let dir = fig.dir("phase_diagram")?;
    let widths = args.widths.clone().unwrap_or_else(|| {
        if net.original && net.cifar.is_some() {
            vec![32, 40, 48, 64, 80]
        } else if net.original {
            common::networks::geometric_widths(20, 1248, 22)
        } else if fig.quick {
            vec![4, 8, 32]
        } else {
            vec![6, 8, 12, 16, 24, 32, 64]
        }
    });
    let alphas = args.alphas.clone().unwrap_or_else(|| {
        if net.original && net.cifar.is_some() {
            (-12..=15).map(|k| 2f64.powi(k)).collect()
        } else if net.original {
            ORIGINAL_MNIST_ALPHAS.to_vec()
        } else {
            let (lo, hi, step) = if fig.quick { (0, 12, 4) } else { (-8, 20, 4) };
            (lo..=hi).step_by(step).map(|k| 2f64.powi(k)).collect()
        }
    });
    positive("--widths", &widths)?;
    positive("--alphas", &alphas)?;
    let seeds = net.seeds.unwrap_or(if net.original {
        20
    } else if fig.quick {
        2
    } else {
        3
    }) as u64;
    let kernel = fig.pick(args.kernel, 300, 100);
    let steps = (10_000u64, 3_000u64);
    common::networks::check_runs(widths.len(), alphas.len(), seeds)?;
    let mut configs = vec![];
    for &h in &widths {
        for &a in &alphas {
            for s in 0..seeds {
                configs.push(config(net, fig, h, a, s, steps, true));
            }
        }
    }
    let data = if net.trains() {
        Some(splits(net, fig, kernel)?)
    } else {
        None
    };
    let records = runs(net, &configs, data.as_ref(), &dir)?;
    let max_steps = records
        .iter()
        .filter_map(|r| r.config.budget.max_steps)
        .max()
        .unwrap_or(steps.0);
    let budgets: Vec<BudgetAxis> = match (&args.budgets, net.original) {
        (Some(b), true) => b.iter().map(|&w| BudgetAxis::Wall(w)).collect(),
        (Some(b), false) => b.iter().map(|&s| BudgetAxis::Steps(s as u64)).collect(),
        (None, true) => [1800.0, 3600.0, 7200.0].map(BudgetAxis::Wall).to_vec(),
        (None, false) => [max_steps / 4, max_steps / 2, max_steps]
            .map(BudgetAxis::Steps)
            .to_vec(),
    };
    let grid_step = {
        let mut a: Vec<f64> = records.iter().map(|r| r.config.alpha).collect();
        a.sort_by(f64::total_cmp);
        a.dedup();
        a.windows(2).map(|w| w[1] / w[0]).fold(1.0, f64::max)
    };
    let rules = if net.original {
        Rules::ORIGINAL
    } else {
        Rules {
            crossover_min_runs: 2,
            crossover_max_ratio: grid_step * 1.01,
            jamming_min_runs: 2,
            jamming_max_gap: usize::MAX,
            ..Rules::ORIGINAL
        }
    };

    // Background: ensemble error over the grid.
    let grid = ensemble_grid(&records, &rules)?;
    let mut hs: Vec<usize> = records.iter().map(|r| r.config.h).collect();
    hs.sort_unstable();
    hs.dedup();
    let mut als: Vec<f64> = records.iter().map(|r| r.config.alpha).collect();
    als.sort_by(f64::total_cmp);
    als.dedup();
    let values: Vec<Vec<f64>> = als
        .iter()
        .map(|&a| {
            hs.iter()
                .map(|&h| {
                    grid.iter()
                        .find(|g| g.h == h && g.alpha == a)
                        .map_or(f64::NAN, |g| g.error)
                })
                .collect()
        })
        .collect();
    let (emin, emax) = grid.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), g| {
        (lo.min(g.error), hi.max(g.error))
    });

    // Crossover lines and jamming lines.
    let mut overlays = vec![];
    let mut cross_csv = vec![vec![]; 5];
    let mut cross_rows = vec![];
    for &(c, label, color) in &C_VALUES {
        let line = crossover_line(
            &records,
            c,
            rules.crossover_min_runs,
            rules.crossover_max_ratio,
        );
        for p in &line {
            for (col, v) in cross_csv
                .iter_mut()
                .zip([c, p.h as f64, p.a1, p.a2, p.alpha_star()])
            {
                col.push(v);
            }
        }
        cross_rows.push((c, line.clone()));
        if !line.is_empty() {
            overlays.push(
                Series::line(
                    label,
                    line.iter().map(|p| p.h as f64).collect(),
                    line.iter().map(|p| p.alpha_star()).collect(),
                    color,
                )
                .styled(Style::DashedPoints),
            );
        }
    }
    let mut jam_csv = vec![vec![]; 5];
    let mut jam_rows = vec![];
    let grey = [Rgb::hex(0xBBBBBB), Rgb::hex(0x777777), Rgb::hex(0x000000)];
    for (k, &b) in budgets.iter().enumerate() {
        let line = jamming_line(&records, b, rules.jamming_min_runs, rules.jamming_max_gap);
        let bv = match b {
            BudgetAxis::Wall(w) => w,
            BudgetAxis::Steps(s) => s as f64,
        };
        for p in &line {
            for (col, v) in
                jam_csv
                    .iter_mut()
                    .zip([bv, p.alpha, p.h1 as f64, p.h2 as f64, p.h_star()])
            {
                col.push(v);
            }
        }
        jam_rows.push((b, line.clone()));
        if !line.is_empty() {
            let name = match b {
                BudgetAxis::Wall(w) => format!("jamming, {:.0} min", w / 60.0),
                BudgetAxis::Steps(s) => format!("jamming, {s} steps"),
            };
            let (x, y): (Vec<f64>, Vec<f64>) = line.iter().map(|p| (p.h_star(), p.alpha)).unzip();
            overlays.push(
                Series::line(name, x.clone(), y.clone(), grey[k.min(2)])
                    .styled(Style::DashedPoints),
            );
            if k + 1 == budgets.len() {
                // Shade everything left of the longest budget's line.
                let x0 = hs[0] as f64 * 0.5;
                let mut px = vec![x0];
                let mut py = vec![y[0]];
                px.extend(&x);
                py.extend(&y);
                px.push(x0);
                py.push(*y.last().unwrap());
                overlays.push(
                    Series::line("jammed", px, py, Rgb::hex(0x000000))
                        .styled(Style::Filled)
                        .unlabeled(),
                );
            }
        }
    }
    let hmid = ((hs[0] * hs[hs.len() - 1]) as f64).sqrt();
    let heat = Heatmap {
        title: "ensemble test error".into(),
        x: Axis::log("width h"),
        y: Axis::log("α (code units, α̃ = √h·α_article)"),
        xs: hs.iter().map(|&h| h as f64).collect(),
        ys: als.clone(),
        values,
        vmin: emin,
        vmax: emax.max(emin + 1e-6),
        colormap: Colormap::YlOrBr,
        colorbar_label: "test error".into(),
        overlays,
        legend: Legend::UpperLeft,
        notes: vec![
            Note::new(hmid, als[als.len() - 1] / 16.0, "lazy"),
            Note::new(hmid, als[0] * 4.0, "feature"),
            Note::new(hs[0] as f64, als[1.min(als.len() - 1)], "jamming").vertical(),
        ],
    };

    // ‖ΔΘ‖/‖Θ₀‖ against α̃ per width (geometric mean over seeds that fitted).
    let mut ratio_panel = LinePanel::new(
        "tangent-kernel change (fitted runs)",
        Axis::log("α (code units, α̃)"),
        Axis::log("‖ΔΘ‖ / ‖Θ₀‖"),
    )
    .legend(Legend::LowerLeft);
    let mut ratio_csv = vec![vec![]; 5];
    for (k, &h) in hs.iter().enumerate() {
        let (mut x, mut y) = (vec![], vec![]);
        for &a in &als {
            let g: Vec<f64> = records
                .iter()
                .filter(|r| r.config.h == h && r.config.alpha == a && r.last().train.nd == 0)
                .filter_map(|r| r.delta_kernel.map(|d| d.ratio()))
                .filter(|v| *v > 0.0)
                .collect();
            for r in records
                .iter()
                .filter(|r| r.config.h == h && r.config.alpha == a)
            {
                if let Some(d) = r.delta_kernel {
                    for (col, v) in ratio_csv.iter_mut().zip([
                        h as f64,
                        a,
                        r.config.seed_init as f64,
                        d.ratio(),
                        r.last().train.nd as f64,
                    ]) {
                        col.push(v);
                    }
                }
            }
            if !g.is_empty() {
                x.push(a);
                y.push((g.iter().map(|v| v.ln()).sum::<f64>() / g.len() as f64).exp());
            }
        }
        if x.is_empty() {
            continue;
        }
        let shade = common::tables::shade(k, hs.len());
        ratio_panel = ratio_panel
            .with(Series::line(format!("h = {h}"), x, y, shade).styled(Style::DashedPoints));
    }
    for &(c, _, color) in &C_VALUES {
        ratio_panel = ratio_panel.with(
            Series::line(
                String::new(),
                vec![als[0], als[als.len() - 1]],
                vec![c, c],
                color,
            )
            .unlabeled(),
        );
    }

    let mut table = Table::new(["c", "α̃* = √(a1·a2) at each width (h: α̃*)"]);
    for (c, line) in &cross_rows {
        let cells: Vec<String> = line
            .iter()
            .map(|p| format!("{}: {:.3}", p.h, p.alpha_star()))
            .collect();
        table.row([
            format!("{c:e}"),
            if cells.is_empty() {
                "-".into()
            } else {
                cells.join("  ")
            },
        ]);
    }
    common::print_table(
        &format!(
            "Feature/lazy crossover ‖ΔΘ‖ = c‖Θ₀‖ ({} runs; lazy = geometric-mean ratio < c)",
            records.len()
        ),
        &table,
    );
    let mut jt = Table::new(["budget", "h* = √(h1·h2) at each α̃ (α̃: h1–h2)"]);
    for (b, line) in &jam_rows {
        let cells: Vec<String> = line
            .iter()
            .map(|p| format!("{:.3e}: {}–{}", p.alpha, p.h1, p.h2))
            .collect();
        jt.row([
            match b {
                BudgetAxis::Wall(w) => format!("{w} s"),
                BudgetAxis::Steps(s) => format!("{s} steps"),
            },
            if cells.is_empty() {
                "-".into()
            } else {
                cells.join("  ")
            },
        ]);
    }
    common::print_table(
        "Jamming line: largest width where every run is unfitted (nd > 0), and the next width",
        &jt,
    );
    let best = grid.iter().min_by(|a, b| a.error.total_cmp(&b.error));
    println!(
        "lowest ensemble test error: {} at h = {}, α̃ = {}",
        fmt_opt(best.map(|b| 100.0 * b.error), 2) + "%",
        best.map_or("-".into(), |b| b.h.to_string()),
        best.map_or("-".into(), |b| format!("{:e}", b.alpha)),
    );

    let mut files = Figure::new(2)
        .panel_size(640, 520)
        .titled("Phase diagram: feature, lazy, jamming")
        .with(Panel::Heatmap(heat))
        .with(Panel::Line(ratio_panel))
        .save(&dir, "phase_diagram")?;
    let gh: Vec<f64> = grid.iter().map(|g| g.h as f64).collect();
    let ga: Vec<f64> = grid.iter().map(|g| g.alpha).collect();
    let ge: Vec<f64> = grid.iter().map(|g| g.error).collect();
    let gr: Vec<f64> = grid.iter().map(|g| g.runs as f64).collect();
    let path = |s: &str| dir.join(format!("phase_diagram_{s}.csv"));
    write_csv(
        &path("grid"),
        &["h", "alpha", "ensemble_err", "runs"],
        &[&gh, &ga, &ge, &gr],
    )?;
    write_csv(
        &path("crossover"),
        &["c", "h", "a1", "a2", "alpha_star"],
        &cols(&cross_csv),
    )?;
    write_csv(
        &path("jamming"),
        &["budget", "alpha", "h1", "h2", "h_star"],
        &cols(&jam_csv),
    )?;
    write_csv(
        &path("kernel_change"),
        &["h", "alpha", "seed", "ratio", "train_nd"],
        &cols(&ratio_csv),
    )?;
    files.extend(["grid", "crossover", "jamming", "kernel_change"].map(path));
    common::report(&files);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("phase_diagram", || run(&args))
}
