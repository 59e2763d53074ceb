//! Fig. 1 of Geiger, Petrini & Wyart, "Perspective: A phase diagram for deep learning unifying
//! jamming, feature learning and lazy training" (arXiv 2012.15110; code
//! `mariogeiger/feature_lazy@3e50d5c`, README "overfitting.pgf"): test error against width h of
//! two-hidden-layer networks trained by gradient flow on MNIST-10-PCA parity, at α̃ = 2⁻⁸
//! (feature), 12 (crossover) and 2²⁰ (lazy). One dot per seed, the seed mean dashed, the error of
//! the seed-averaged output (ensemble) solid, the jamming band shaded: below it no seed fits the
//! training set with margin 1 within the budget.
//!
//! Default: the embedded digits, P = 1000, 2000 test points, h from 4 to 128, 4 seeds, 10⁴ steps
//! per run (about 8 minutes on 2 cores). `--original` takes the paper's settings (P = 5000, 40 000
//! test points, 20 seeds, 48 widths 6…1408, 2-hour walls) with `--mnist DIR`; `--cifar DIR` runs
//! CIFAR10-30-PCA at α̃ = 2 (with `--original`: 44 widths 9…1280). `--records DIR` redraws from
//! saved run records, `--from-runs DIR` from a sweep folder of `sweep task train` runs (made on
//! this machine or a SLURM cluster; README, "Running the paper's grids on a cluster").
//!
//! `cargo run --release --example jamming_scan`

mod common;

use std::process::ExitCode;

use clap::Parser;
use common::networks::{NetArgs, cols, config, geometric_widths, positive, runs, splits};
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table, fmt_opt,
    run_example, write_csv,
};
use doubledescent::science::phase_diagram::{Rules, error_vs_width};

/// Test error against width across the jamming transition.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    net: NetArgs,
    /// Widths h [default: 4,6,8,10,12,16,24,32,64,128; 3,8,32 with --quick; 48 widths 6…1408
    /// (CIFAR-10: 44 widths 9…1280) with --original]
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,
    /// Values of α̃ [default: 2⁻⁸, 12, 2²⁰ (MNIST), 2 (CIFAR-10); 12, 2²⁰ with --quick]
    #[arg(long, value_delimiter = ',')]
    alphas: Option<Vec<f64>>,
}

const COLORS: [Rgb; 4] = [
    Rgb::hex(0x1F77B4),
    Rgb::hex(0xD62728),
    Rgb::hex(0x2CA02C),
    Rgb::hex(0x9467BD),
];

fn run(args: &Args) -> Result<()> {
    let (fig, net) = (&args.fig, &args.net);
    let dir = fig.dir("jamming_scan")?;
    let widths = args.widths.clone().unwrap_or_else(|| {
        if net.original && net.cifar.is_some() {
            geometric_widths(9, 1280, 44)
        } else if net.original {
            geometric_widths(6, 1408, 48)
        } else if fig.quick {
            vec![3, 8, 32]
        } else {
            vec![4, 6, 8, 10, 12, 16, 24, 32, 64, 128]
        }
    });
    let alphas = args.alphas.clone().unwrap_or_else(|| {
        if net.cifar.is_some() {
            vec![2.0]
        } else if fig.quick {
            vec![12.0, 2f64.powi(20)]
        } else {
            vec![2f64.powi(-8), 12.0, 2f64.powi(20)]
        }
    });
    positive("--widths", &widths)?;
    positive("--alphas", &alphas)?;
    let seeds = net.seeds.unwrap_or(if net.original {
        20
    } else if fig.quick {
        3
    } else {
        4
    }) as u64;
    common::networks::check_runs(widths.len(), alphas.len(), seeds)?;
    let mut configs = vec![];
    for &a in &alphas {
        for &h in &widths {
            for s in 0..seeds {
                configs.push(config(net, fig, h, a, 100 + s, (10_000, 3_000), false));
            }
        }
    }
    let data = if net.trains() {
        Some(splits(net, fig, 0)?)
    } else {
        None
    };
    let records = runs(net, &configs, data.as_ref(), &dir)?;
    let rules = if net.original {
        Rules::ORIGINAL
    } else {
        Rules {
            min_group_exclusive: 2,
            ..Rules::ORIGINAL
        }
    };
    let mut alphas_seen: Vec<f64> = records.iter().map(|r| r.config.alpha).collect();
    alphas_seen.sort_by(f64::total_cmp);
    alphas_seen.dedup();

    let mut table = Table::new([
        "α̃",
        "runs",
        "jamming band h",
        "N* range",
        "fitted (nd=0)",
        "min seed-mean err",
        "seed mean @ max h",
        "ensemble @ max h",
    ]);
    let (mut dots, mut curves, mut ens, mut bands) = (
        vec![vec![]; 5],
        vec![vec![]; 4],
        vec![vec![]; 4],
        vec![vec![]; 3],
    );
    let mut panels = vec![];
    for (k, &a) in alphas_seen.iter().enumerate() {
        let Some(c) = error_vs_width(&records, a, &rules)? else {
            println!("α̃ = {a}: too few runs with train error < 40 % to draw");
            continue;
        };
        let color = COLORS[k % COLORS.len()];
        for r in records.iter().filter(|r| r.config.alpha == a) {
            let l = r.last();
            for (col, v) in dots.iter_mut().zip([
                a,
                r.config.h as f64,
                r.config.seed_init as f64,
                l.test.err,
                l.train.nd as f64,
            ]) {
                col.push(v);
            }
        }
        for (i, &h) in c.h.iter().enumerate() {
            for (col, v) in curves
                .iter_mut()
                .zip([a, h as f64, c.runs[i] as f64, c.seed_mean[i]])
            {
                col.push(v);
            }
            if let Some(e) = c.ensemble[i] {
                for (col, v) in ens.iter_mut().zip([a, h as f64, c.ensemble_size as f64, e]) {
                    col.push(v);
                }
            }
        }
        let n_of = |h: usize, d: usize| h * (d + h + 1);
        let d = records[0].data.d;
        if let Some((h1, h2)) = c.band {
            for (col, v) in bands.iter_mut().zip([a, h1 as f64, h2 as f64]) {
                col.push(v);
            }
        }
        let fitted = records
            .iter()
            .filter(|r| r.config.alpha == a && r.last().train.nd == 0)
            .count();
        let total = records.iter().filter(|r| r.config.alpha == a).count();
        let (imin, _) = c
            .seed_mean
            .iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |b, (i, &v)| if v < b.1 { (i, v) } else { b },
            );
        table.row([
            format!("{a}"),
            format!("{}", c.dots.len()),
            c.band.map_or("-".into(), |(h1, h2)| {
                format!("{} – {}", h1.min(h2), h1.max(h2))
            }),
            c.band.map_or("-".into(), |(h1, h2)| {
                format!("{} – {}", n_of(h1.min(h2), d), n_of(h1.max(h2), d))
            }),
            format!("{fitted}/{total}"),
            format!("{:.2}% @ h={}", 100.0 * c.seed_mean[imin], c.h[imin]),
            format!("{:.2}%", 100.0 * c.seed_mean.last().unwrap()),
            fmt_opt(c.ensemble.last().copied().flatten().map(|e| 100.0 * e), 2) + "%",
        ]);

        // The panel.
        let all: Vec<f64> = c
            .dots
            .iter()
            .map(|d| d.1)
            .chain(c.ensemble.iter().flatten().copied())
            .collect();
        let (lo, hi) = if net.original && net.cifar.is_none() {
            (0.055, 0.16)
        } else if net.original {
            (0.25, 0.36)
        } else {
            let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = all.iter().copied().fold(0.0, f64::max);
            ((lo - 0.1 * (hi - lo)).max(0.0), hi + 0.1 * (hi - lo) + 1e-3)
        };
        let hx: Vec<f64> = c.h.iter().map(|&h| h as f64).collect();
        let mut p = LinePanel::new(
            format!("α = {} (code units, α̃)", alpha_label(a)),
            Axis::log("width h").range(widths_min(&c.h) * 0.8, widths_max(&c.h) * 1.25),
            Axis::linear("test error").range(lo, hi),
        )
        .legend(Legend::UpperRight);
        if let Some((h1, h2)) = c.band {
            let (x0, x1) = (h1.min(h2) as f64, h1.max(h2) as f64);
            p = p.with(
                Series::line(
                    "jamming band",
                    vec![x0, x1, x1, x0],
                    vec![lo, lo, hi, hi],
                    Rgb::hex(0x7F7F7F),
                )
                .styled(Style::Filled),
            );
        }
        p = p
            .with(
                Series::line(
                    "seeds",
                    c.dots.iter().map(|d| d.0 as f64).collect(),
                    c.dots.iter().map(|d| d.1).collect(),
                    color,
                )
                .styled(Style::Points),
            )
            .with(
                Series::line("seed mean", hx.clone(), c.seed_mean.clone(), color)
                    .styled(Style::Dashed),
            );
        let (ex, ey): (Vec<f64>, Vec<f64>) = hx
            .iter()
            .zip(&c.ensemble)
            .filter_map(|(h, e)| Some((*h, (*e)?)))
            .unzip();
        p = p.with(Series::line(
            format!("ensemble of {}", c.ensemble_size),
            ex,
            ey,
            color,
        ));
        panels.push(p);
    }
    common::print_table(
        &format!(
            "Test error against width ({}; jamming band: widths between the smallest with ≥ {} fitted runs and the largest with ≥ {} unfitted)",
            common::networks::dataset_name(net),
            rules.band_min_runs,
            rules.band_min_runs
        ),
        &table,
    );
    let n = panels.len().max(1);
    let mut figure = Figure::new(n)
        .panel_size(520, 420)
        .titled("Test error vs width: jamming, ensemble average");
    for p in panels {
        figure = figure.with(Panel::Line(p));
    }
    let mut files = figure.save(&dir, "jamming_scan")?;
    let csv = |name: &str| dir.join(name);
    write_csv(
        &csv("jamming_scan_runs.csv"),
        &["alpha", "h", "seed", "test_err", "train_nd"],
        &cols(&dots),
    )?;
    write_csv(
        &csv("jamming_scan_mean.csv"),
        &["alpha", "h", "runs", "seed_mean_err"],
        &cols(&curves),
    )?;
    write_csv(
        &csv("jamming_scan_ensemble.csv"),
        &["alpha", "h", "ensemble_runs", "ensemble_err"],
        &cols(&ens),
    )?;
    write_csv(
        &csv("jamming_scan_band.csv"),
        &["alpha", "h1", "h2"],
        &cols(&bands),
    )?;
    files.extend(
        ["runs", "mean", "ensemble", "band"].map(|s| csv(&format!("jamming_scan_{s}.csv"))),
    );
    common::report(&files);
    Ok(())
}

fn widths_min(h: &[usize]) -> f64 {
    h.iter().copied().min().unwrap_or(1) as f64
}

fn widths_max(h: &[usize]) -> f64 {
    h.iter().copied().max().unwrap_or(1) as f64
}

/// 2⁻⁸, 12, 2²⁰: powers of two as such.
fn alpha_label(a: f64) -> String {
    let l = a.log2();
    if (l - l.round()).abs() < 1e-12 && l.abs() >= 3.0 {
        format!("2^{}", l.round() as i64)
    } else {
        format!("{a}")
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("jamming_scan", || run(&args))
}
