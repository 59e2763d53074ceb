//! λ̂ against the true learning coefficient for deep linear networks (Lau, Furman, Wang, Murfet,
//! Wei, arXiv 2308.12108, the DLN sweeps): architectures drawn as the paper's
//! launcher does (number of layers, widths and input dimension uniform in ranges), true
//! parameters with randomly reduced ranks (`rand_rank`, 0.5), noiseless data x ~ U(−10, 10)^N,
//! several SGLD chains at w*, 90% burn-in, against Aoyagi's closed form for the product's rank.
//! Architecture i is drawn from its own stream of `--seed`, so a sweep folder of
//! `sweep task dln-llc` runs (one per index, locally or on SLURM) plots the same points:
//! `--from-runs DIR`.
//!
//! The default is the paper's smallest sweep scaled to about a minute on 2 cores (20 networks,
//! widths 5–29, 2–4 layer widths, n = 10⁴, ε = 1e-6, 5000 steps, 4 chains); the paper's sweep 0 is
//! `--width-min 5 --width-max 50 --layers-max 5 --n 100000 --epsilon 5e-7 --steps 10000`. The
//! chains run in f32 as the original's JAX code (`--precision f64` for double precision); the
//! table adds split R̂ and the effective sample size of each network's loss draws.
//!
//! `cargo run --release --example dln_llc_vs_truth`

mod common;

use std::process::ExitCode;

use std::path::PathBuf;

use clap::Parser;
use common::dln::DlnArgs;
use doubledescent::Result;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, check_flag_memory, fmt_opt,
    progress_bar, run_example,
};
use doubledescent::sampling::DlnLlcPoint;

/// λ̂ vs Aoyagi's λ for random deep linear networks.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    #[command(flatten)]
    dln: DlnArgs,
    /// Number of random architectures [default: 20; 3 with --quick]
    #[arg(long)]
    architectures: Option<usize>,
    /// Plot the runs of a sweep folder (made by `sweep` with `sweep task dln-llc`) instead of
    /// computing
    #[arg(long)]
    from_runs: Option<PathBuf>,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("dln_llc_vs_truth")?;
    let rows: Vec<DlnLlcPoint> = if let Some(runs) = &args.from_runs {
        common::sweep_results(runs, "")?
    } else {
        let count = args.fig.pick(args.architectures, 20, 3);
        if count == 0 {
            return Err(doubledescent::Error::invalid(
                "architectures",
                0,
                "need at least one architecture",
            ));
        }
        check_flag_memory(
            "architectures",
            count,
            count as u128 * std::mem::size_of::<DlnLlcPoint>() as u128 * 4,
        )?;
        let (arch, localisation, cfg) = args.dln.settings(&args.fig)?;
        let device = args.fig.device()?;
        println!(
            "{count} architectures, {} chains, n = {}, ε = {:e}, γ = 1, batch {}, {} steps × {} chains, burn-in {:.0}%",
            args.dln.precision,
            arch.n,
            cfg.sampler.epsilon,
            cfg.sampler.batch_size,
            cfg.sampler.steps,
            cfg.chains,
            100.0 * args.dln.burn_in
        );
        let pb = progress_bar(count as u64, "networks");
        let mut rows = Vec::new();
        for i in 0..count {
            let problem = arch.draw(args.dln.seed, i as u64)?;
            rows.push(problem.llc_vs_truth(localisation, &cfg, args.dln.precision, &device)?);
            pb.inc(1);
        }
        pb.finish_and_clear();
        rows
    };

    let mut t = Table::new([
        "sizes",
        "d",
        "rank",
        "λ (Aoyagi)",
        "λ̂ mean ± sd",
        "rel. error (λ−λ̂)/λ",
        "MALA acc.",
        "R-hat",
        "ESS",
    ]);
    let (mut lam, mut est, mut dims, mut rel) = (vec![], vec![], vec![], vec![]);
    for r in &rows {
        match (r.llc_mean, r.llc_std, r.relative_error) {
            (Some(m), Some(s), Some(e)) => {
                t.row([
                    format!("{:?}", r.sizes),
                    r.d.to_string(),
                    r.rank.to_string(),
                    format!("{:.1}", r.lambda),
                    format!("{m:.2} ± {s:.2}"),
                    format!("{:+.3}", e),
                    fmt_opt(r.mala_acceptance, 3),
                    fmt_opt(r.r_hat, 3),
                    fmt_opt(r.ess, 0),
                ]);
                lam.push(r.lambda);
                est.push(m);
                dims.push(r.d as f64);
                rel.push(e);
            }
            _ => t.row([
                format!("{:?}", r.sizes),
                r.d.to_string(),
                r.rank.to_string(),
                format!("{:.1}", r.lambda),
                "diverged".into(),
                "-".into(),
                r.note.clone(),
                "-".into(),
                "-".into(),
            ]),
        }
    }
    common::print_table(
        "λ̂ at w* against Aoyagi's λ (relative error positive = underestimate)",
        &t,
    );
    if !rel.is_empty() {
        let mean_abs = rel.iter().map(|e| e.abs()).sum::<f64>() / rel.len() as f64;
        let worst = rel.iter().map(|e| e.abs()).fold(0.0, f64::max);
        println!(
            "{} of {} finite; mean |relative error| {:.3}, worst {:.3}",
            rel.len(),
            rows.len(),
            mean_abs,
            worst
        );
    }
    let lo = lam
        .iter()
        .chain(&est)
        .cloned()
        .fold(f64::INFINITY, f64::min)
        .max(1e-3);
    let hi = lam.iter().chain(&est).cloned().fold(0.0, f64::max);
    let panel = LinePanel::new(
        "LLC estimate vs true λ for deep linear networks",
        Axis::log("true λ (Aoyagi)").range(lo / 1.5, hi * 1.5),
        Axis::log("LLC estimate").range(lo / 1.5, hi * 1.5),
    )
    .legend(Legend::UpperLeft)
    .with_identity_line()
    .with(
        Series::line(
            "estimate (mean over chains)",
            lam.clone(),
            est.clone(),
            Rgb::hex(0x1F77B4),
        )
        .styled(Style::Points),
    );
    common::save_lines(
        &dir,
        "dln_llc_vs_truth",
        vec![panel],
        (620, 520),
        &["lambda", "lambdahat", "d", "relative_error"],
        &[&lam, &est, &dims, &rel],
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("dln_llc_vs_truth", || run(&args))
}
