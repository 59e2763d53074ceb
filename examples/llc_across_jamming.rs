//! New science (no source offers it): the local learning coefficient λ̂ of the phase diagram's
//! networks across the jamming transition, at α̃ = 12 (Geiger, Petrini & Wyart, arXiv
//! 2012.15110, Fig. 1; code `mariogeiger/feature_lazy@3e50d5c`; Lau et al., arXiv 2308.12108,
//! for the estimator).
//!
//! The networks of `jamming_scan` (two hidden layers of width h, swish β = 10 in the NTK
//! scaling, soft hinge β = 20 with the α trick, adaptive gradient flow on MNIST-10-PCA parity)
//! are trained across h; λ̂ is then estimated at each final parameter on the loss the network was
//! trained on, φ(α y (f − f₀))/α, by SGLD on the localised tempered posterior (γ = 100,
//! nβ = P/log P) with ε calibrated per network to a MALA acceptance of 0.9. Below the jamming
//! band the networks cannot fit every margin; above it they fit all of them. Two panels: test
//! error against h (seeds and their mean, the jamming band shaded) and λ̂ against the number of
//! parameters N (seeds, mean, and the ceiling d/2).
//!
//! Default: the embedded digits, P = 1000, 2000 test points, h = 4 … 64 (8 widths), 2 seeds,
//! 10⁴ steps per run: 30 s on 2 cores. Takes the data and run flags of `jamming_scan`.
//!
//! `cargo run --release --example llc_across_jamming`

mod common;

use std::process::ExitCode;

use clap::Parser;
use common::networks::{NetArgs, config, positive, runs, splits};
use doubledescent::Result;
use doubledescent::figure::{
    Axis, Figure, FigureArgs, Legend, LinePanel, Panel, Rgb, Series, Style, Table, progress_bar,
    run_example, write_csv,
};
use doubledescent::science::llc_of_networks::{NetworkLlc, record_llc};
use doubledescent::science::phase_diagram::{Rules, error_vs_width};
use doubledescent::training::Precision;

/// λ̂ of trained networks across the jamming transition.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    net: NetArgs,
    /// Widths h [default: 4,6,8,10,12,16,32,64; 3,8,32 with --quick]
    #[arg(long, value_delimiter = ',')]
    widths: Option<Vec<usize>>,
    /// α̃
    #[arg(long, default_value_t = 12.0)]
    alpha: f64,
    #[command(flatten)]
    llc: common::llc::LlcArgs,
}

/// One trained network and its estimate.
struct Row {
    h: usize,
    seed: u64,
    params: usize,
    unfitted: usize,
    test_err: f64,
    est: Option<NetworkLlc>,
    note: String,
}

fn run(args: &Args) -> Result<()> {
    let (fig, net) = (&args.fig, &args.net);
    let dir = fig.dir("llc_across_jamming")?;
    let device = fig.device()?;
    let widths = args.widths.clone().unwrap_or_else(|| {
        if fig.quick {
            vec![3, 8, 32]
        } else {
            vec![4, 6, 8, 10, 12, 16, 32, 64]
        }
    });
    positive("--widths", &widths)?;
    positive("--alpha", &[args.alpha])?;
    let seeds = net.seeds.unwrap_or(2) as u64;
    common::networks::check_runs(widths.len(), 1, seeds)?;
    let mut configs = vec![];
    for &h in &widths {
        for s in 0..seeds {
            let mut c = config(net, fig, h, args.alpha, 100 + s, (10_000, 3_000), false);
            c.keep_weights = true;
            configs.push(c);
        }
    }
    // The training set is needed for λ̂ even when the records come from a folder.
    let data = splits(net, fig, 0)?;
    let records = runs(net, &configs, Some(&data), &dir)?;
    let p = data.train.len();
    let llc = args.llc.settings(fig, p, 0)?;
    println!("α̃ = {}: {}", args.alpha, llc.describe(p, "φ(αy(f − f₀))/α"));
    let pb = progress_bar(records.len() as u64, "λ̂");
    let mut rows: Vec<Row> = vec![];
    for r in &records {
        let est = match r.config.precision {
            Precision::F64 => record_llc(
                r,
                data.train.x_as::<f64>().as_ref(),
                &data.train.y_as::<f64>(),
                llc.localisation,
                &llc.cfg,
                Some(&llc.search),
                &device,
            ),
            Precision::F32 => record_llc(
                r,
                data.train.x_as::<f32>().as_ref(),
                &data.train.y_as::<f32>(),
                llc.localisation,
                &llc.cfg,
                Some(&llc.search),
                &device,
            ),
        };
        let (est, note) = common::llc::kept(est)?;
        let last = r.last();
        rows.push(Row {
            h: r.config.h,
            seed: r.config.seed_init,
            params: r.n_params,
            unfitted: last.train.nd,
            test_err: last.test.err,
            est,
            note,
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    rows.sort_by_key(|r| (r.h, r.seed));

    let rules = Rules {
        min_group_exclusive: 1,
        ..Rules::ORIGINAL
    };
    let curve = error_vs_width(&records, args.alpha, &rules)?;
    let band = curve.as_ref().and_then(|c| c.band);
    let mut table = Table::new([
        "h",
        "seed",
        "N",
        "unfitted (nd)",
        "test err",
        "λ̂ ± sd",
        "λ̂ / (N/2)",
        "ε",
        "R̂",
    ]);
    for Row {
        h,
        seed,
        params: n,
        unfitted: nd,
        test_err: err,
        est,
        note,
    } in &rows
    {
        let [llc, ratio, eps, r_hat, _] = common::llc::cells(est.as_ref(), note, *n);
        table.row([
            h.to_string(),
            seed.to_string(),
            n.to_string(),
            nd.to_string(),
            format!("{err:.4}"),
            llc,
            ratio,
            eps,
            r_hat,
        ]);
    }
    common::print_table(
        &format!(
            "λ̂ at the end of training, α̃ = {}, P = {p}; jamming band h ∈ {}",
            args.alpha,
            band.map_or(
                "— (not bracketed by these widths)".into(),
                |(a, b)| format!("[{}, {}]", a.min(b), a.max(b))
            )
        ),
        &table,
    );

    // Per-width means over the seeds with an estimate.
    let mut hs: Vec<usize> = rows.iter().map(|r| r.h).collect();
    hs.dedup();
    let mean_of = |h: usize, f: &dyn Fn(&Row) -> Option<f64>| {
        let v: Vec<f64> = rows.iter().filter(|r| r.h == h).filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let mean_err: Vec<f64> = hs
        .iter()
        .map(|&h| mean_of(h, &|r| Some(r.test_err)).unwrap_or(f64::NAN))
        .collect();
    let mean_llc: Vec<f64> = hs
        .iter()
        .map(|&h| mean_of(h, &|r| r.est.as_ref().map(|e| e.summary.llc_mean)).unwrap_or(f64::NAN))
        .collect();
    let n_of: Vec<f64> = hs
        .iter()
        .map(|&h| {
            rows.iter()
                .find(|r| r.h == h)
                .map_or(f64::NAN, |r| r.params as f64)
        })
        .collect();
    let hf: Vec<f64> = hs.iter().map(|&h| h as f64).collect();
    let top_err = rows.iter().map(|r| r.test_err).fold(0.0, f64::max) * 1.1 + 1e-3;
    let mut errors = LinePanel::new(
        format!("Test error, α̃ = {}", args.alpha),
        Axis::log("width h"),
        Axis::linear("test error").range(0.0, top_err),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line(
            "seeds",
            rows.iter().map(|r| r.h as f64).collect(),
            rows.iter().map(|r| r.test_err).collect(),
            Rgb::hex(0x9999CC),
        )
        .styled(Style::Points),
    )
    .with(
        Series::line(
            "seed mean",
            hf.clone(),
            mean_err.clone(),
            Rgb::hex(0x1F77B4),
        )
        .styled(Style::DashedPoints),
    );
    let (n_lo, n_hi) = (n_of[0], n_of[n_of.len() - 1]);
    let top_llc = n_hi / 2.0 * 1.5;
    let low_llc = rows
        .iter()
        .filter_map(|r| r.est.as_ref().map(|e| e.summary.llc_mean))
        .filter(|v| *v > 0.0)
        .fold(1.0, f64::min)
        / 2.0;
    let mut lambdas = LinePanel::new(
        "λ̂ at the end of training",
        Axis::log("number of parameters N"),
        Axis::log("λ̂").range(low_llc, top_llc),
    )
    .legend(Legend::UpperLeft)
    .with(
        Series::line(
            "seeds",
            rows.iter().map(|r| r.params as f64).collect(),
            rows.iter()
                .map(|r| r.est.as_ref().map_or(f64::NAN, |e| e.summary.llc_mean))
                .collect(),
            Rgb::hex(0x99CC99),
        )
        .styled(Style::Points),
    )
    .with(
        Series::line(
            "seed mean",
            n_of.clone(),
            mean_llc.clone(),
            Rgb::hex(0x2CA02C),
        )
        .styled(Style::DashedPoints),
    )
    .with(
        Series::line(
            "N/2 (regular model)",
            vec![n_lo, n_hi],
            vec![n_lo / 2.0, n_hi / 2.0],
            Rgb::hex(0x888888),
        )
        .styled(Style::Dashed),
    );
    if let Some((a, b)) = band {
        let n_at = |h: usize| {
            rows.iter()
                .find(|r| r.h == h)
                .map_or(f64::NAN, |r| r.params as f64)
        };
        for (h, label) in [(a, "jamming band"), (b, "")] {
            let line = |x: f64, bottom: f64, top: f64| {
                let s = Series::line(label, vec![x; 2], vec![bottom, top], Rgb::hex(0xFF0000))
                    .styled(Style::Dashed);
                if label.is_empty() { s.unlabeled() } else { s }
            };
            errors = errors.with(line(h as f64, 0.0, top_err));
            lambdas = lambdas.with(line(n_at(h), low_llc, top_llc));
        }
    }
    let files = Figure::new(2)
        .panel_size(600, 440)
        .with(Panel::Line(errors))
        .with(Panel::Line(lambdas))
        .save(&dir, "llc_across_jamming")?;
    common::report(&files);
    let csv = dir.join("llc_across_jamming.csv");
    let ests: Vec<Option<&NetworkLlc>> = rows.iter().map(|r| r.est.as_ref()).collect();
    let est_cols = common::llc::columns(&ests);
    let mut header = vec!["h", "seed", "params", "unfitted", "test_err"];
    header.extend(common::llc::COLUMNS);
    let run_cols: [Vec<f64>; 5] = [
        rows.iter().map(|r| r.h as f64).collect(),
        rows.iter().map(|r| r.seed as f64).collect(),
        rows.iter().map(|r| r.params as f64).collect(),
        rows.iter().map(|r| r.unfitted as f64).collect(),
        rows.iter().map(|r| r.test_err).collect(),
    ];
    let cols: Vec<&[f64]> = run_cols
        .iter()
        .chain(est_cols.iter())
        .map(|c| c.as_slice())
        .collect();
    write_csv(&csv, &header, &cols)?;
    common::report(&[csv]);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("llc_across_jamming", || run(&args))
}
