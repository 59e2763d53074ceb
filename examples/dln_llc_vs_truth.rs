//! λ̂ against the true learning coefficient for deep linear networks (Lau, Furman, Wang, Murfet,
//! Wei, arXiv 2308.12108, the DLN sweeps): architectures drawn as the paper's
//! launcher does (number of layers, widths and input dimension uniform in ranges), true
//! parameters with randomly reduced ranks (`rand_rank`, 0.5), noiseless data x ~ U(−10, 10)^N,
//! several SGLD chains at w*, 90% burn-in, against Aoyagi's closed form for the product's rank.
//!
//! The default is the paper's smallest sweep scaled to about a minute on 2 cores (20 networks,
//! widths 5–29, 2–4 layer widths, n = 10⁴, ε = 1e-6, 5000 steps, 4 chains); the paper's sweep 0 is
//! `--width-min 5 --width-max 50 --layers-max 5 --n 100000 --epsilon 5e-7 --steps 10000`.
//!
//! `cargo run --release --example dln_llc_vs_truth`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, progress_bar, run_example,
};
use doubledescent::models::{DeepLinearNetwork, Model, TrueParam};
use doubledescent::sampling::SgldConfig;
use doubledescent::sampling::dln_learning_coefficient;
use doubledescent::sampling::{BurnIn, LlcConfig, estimate_llc};
use doubledescent::{Error, Result, data, random};
use rand::RngExt;

/// λ̂ vs Aoyagi's λ for random deep linear networks.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Number of random architectures [default: 20; 3 with --quick]
    #[arg(long)]
    architectures: Option<usize>,
    /// Smallest width (input, hidden and output)
    #[arg(long, default_value_t = 5)]
    width_min: usize,
    /// Largest width (exclusive, as NumPy's randint)
    #[arg(long, default_value_t = 30)]
    width_max: usize,
    /// Fewest layer widths (hidden + output; exclusive upper bound below)
    #[arg(long, default_value_t = 2)]
    layers_min: usize,
    /// Layer widths upper bound (exclusive)
    #[arg(long, default_value_t = 5)]
    layers_max: usize,
    /// Training samples n [default: 10000; 2000 with --quick]
    #[arg(long)]
    n: Option<usize>,
    /// SGLD step size ε
    #[arg(long, default_value_t = 1e-6)]
    epsilon: f64,
    /// SGLD steps per chain [default: 5000; 400 with --quick]
    #[arg(long)]
    steps: Option<usize>,
    /// Chains per architecture
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// SGLD batch size
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Burn-in fraction
    #[arg(long, default_value_t = 0.9)]
    burn_in: f64,
    /// Seed of the architectures, parameters and data
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

struct Row {
    sizes: Vec<usize>,
    d: usize,
    rank: usize,
    lambda: f64,
    estimate: Option<(f64, f64, f64)>,
    note: String,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("dln_llc_vs_truth")?;
    let count = args.fig.pick(args.architectures, 20, 3);
    let n = args.fig.pick(args.n, 10_000, 2000);
    let steps = args.fig.pick(args.steps, 5000, 400);
    let device = args.fig.device()?;
    if args.width_min == 0
        || args.width_max <= args.width_min
        || args.layers_max <= args.layers_min
        || args.layers_min == 0
    {
        return Err(Error::invalid(
            "widths/layers",
            format!(
                "[{}, {}) / [{}, {})",
                args.width_min, args.width_max, args.layers_min, args.layers_max
            ),
            "need 0 < min < max for both ranges",
        ));
    }
    let cfg = LlcConfig {
        sgld: SgldConfig {
            epsilon: args.epsilon,
            gamma: 1.0,
            batch_size: args.batch.min(n),
            steps,
            seed: args.seed,
            ..Default::default()
        },
        chains: args.chains,
        burn_in: BurnIn::Fraction(args.burn_in),
    };
    println!(
        "{count} architectures, n = {n}, ε = {:e}, γ = 1, batch {}, {steps} steps × {} chains, burn-in {:.0}%",
        args.epsilon,
        cfg.sgld.batch_size,
        args.chains,
        100.0 * args.burn_in
    );
    let mut rng = random::seeded(args.seed);
    let pb = progress_bar(count as u64, "networks");
    let mut rows = Vec::new();
    for _ in 0..count {
        let layers = rng.random_range(args.layers_min..args.layers_max);
        let widths: Vec<usize> = (0..layers)
            .map(|_| rng.random_range(args.width_min..args.width_max))
            .collect();
        let input = rng.random_range(args.width_min..args.width_max);
        let model = DeepLinearNetwork::new(input, &widths[..layers - 1], widths[layers - 1])?;
        let w = model.true_param(
            &mut rng,
            TrueParam::RandRank {
                prop_rank_reduce: 0.5,
            },
        )?;
        let rank = model.true_rank(&w)?;
        let lambda = dln_learning_coefficient(model.sizes(), rank)?.lambda;
        let x = data::uniform_inputs(n, input, -10.0, 10.0, &mut rng)?;
        let y = model.forward(&w, x.as_ref());
        let (estimate, note) = match estimate_llc(&model, &w, x.as_ref(), y.as_ref(), &cfg, &device)
        {
            Ok(s) => (
                Some((s.llc_mean, s.llc_std, s.mala_mean.unwrap_or(f64::NAN))),
                String::new(),
            ),
            // The paper drops diverged chains (NaN rows); say so and go on.
            Err(e @ Error::Diverged { .. }) => (None, e.to_string()),
            Err(e) => return Err(e),
        };
        rows.push(Row {
            sizes: model.sizes().to_vec(),
            d: model.num_params(),
            rank,
            lambda,
            estimate,
            note,
        });
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mut t = Table::new([
        "sizes",
        "d",
        "rank",
        "λ (Aoyagi)",
        "λ̂ mean ± sd",
        "rel. error (λ−λ̂)/λ",
        "MALA acc.",
    ]);
    let (mut lam, mut est, mut dims, mut rel) = (vec![], vec![], vec![], vec![]);
    for r in &rows {
        match r.estimate {
            Some((m, s, acc)) => {
                let e = (r.lambda - m) / r.lambda;
                t.row([
                    format!("{:?}", r.sizes),
                    r.d.to_string(),
                    r.rank.to_string(),
                    format!("{:.1}", r.lambda),
                    format!("{m:.2} ± {s:.2}"),
                    format!("{:+.3}", e),
                    format!("{acc:.3}"),
                ]);
                lam.push(r.lambda);
                est.push(m);
                dims.push(r.d as f64);
                rel.push(e);
            }
            None => t.row([
                format!("{:?}", r.sizes),
                r.d.to_string(),
                r.rank.to_string(),
                format!("{:.1}", r.lambda),
                "diverged".into(),
                "-".into(),
                r.note.clone(),
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
