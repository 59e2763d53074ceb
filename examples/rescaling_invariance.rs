//! Rescaling invariance of the LLC (`validating_lambdahat/rescaling_invariance.ipynb`): a 2-layer
//! ReLU network 10 → 20 → 10 with biases (d = 430) whose hidden units 1, 2, 3, 4,
//! 5 and 8 copy unit 0 (a degenerate true parameter), rescaled by W₁ ← sW₁, b₁ ← sb₁, W₂ ← W₂/s
//! (the same function), for s = 10⁻⁴ … 10⁴. SGLD with γ = 0, ε = 1e-5, batch 500, fixed batch
//! order and the full-data loss at every step, once with the notebook's preconditioner
//! (s² on W₁, b₁; 1/s² on W₂), which makes the chain an exact reparametrisation of the s = 1
//! chain, and once plain: λ̂ is flat in s with the first and not with the second.
//!
//! Default: 9 factors, 2000 steps, 2 chains; the notebook: `--factors 17 --steps 10000 --chains 5`.
//!
//! `cargo run --release --example rescaling_invariance`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, check_flag_memory,
    progress_bar, run_example,
};
use doubledescent::linalg::logspace;
use doubledescent::models::{Dense, Loss};
use doubledescent::sampling::{
    BurnIn, LlcConfig, LlcSummary, LocalPosterior, LossTrace, SgldConfig, estimate_llc,
    rescale_hidden_layer,
};
use doubledescent::{Error, Result, data, random};
use rand::RngExt;
use rand_distr::StandardNormal;

/// λ̂ across layer rescalings, with and without the equivariant preconditioner.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Number of factors s = 10^linspace(−4, 4, factors) [default: 9; 3 with --quick]
    #[arg(long)]
    factors: Option<usize>,
    /// SGLD steps [default: 2000; 100 with --quick]
    #[arg(long)]
    steps: Option<usize>,
    /// Chains per factor [default: 2]
    #[arg(long)]
    chains: Option<usize>,
    /// Seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("rescaling_invariance")?;
    let factors = args.fig.pick(args.factors, 9, 3);
    let steps = args.fig.pick(args.steps, 2000, 100);
    let chains = args.fig.pick(args.chains, 2, 2);
    let device = args.fig.device()?;
    if factors < 2 {
        return Err(Error::invalid("factors", factors, "need at least 2"));
    }
    // The scales and three result columns, with their CSV copy.
    check_flag_memory("factors", factors, factors as u128 * 8 * 8)?;
    let n = 10_000;
    let model = Dense::mlp(10, &[20], 10, Loss::Mse)?;
    let mut rng = random::seeded(args.seed);
    let mut w_star: Vec<f64> = model.init_truncated(&mut rng);
    for v in &mut w_star[model.layer_ranges(0).1] {
        *v = rng.sample(StandardNormal);
    }
    // Duplicated neurons: units 1, 2, 3, 4, 5, 8 copy the incoming weights and bias of unit 0.
    let (w1, b1) = model.layer_ranges(0);
    for j in [1usize, 2, 3, 4, 5, 8] {
        for i in 0..10 {
            w_star[w1.start + j * 10 + i] = w_star[w1.start + i];
        }
        w_star[b1.start + j] = w_star[b1.start];
    }
    let x = data::uniform_inputs(n, 10, -10.0, 10.0, &mut rng)?;
    let y = model.predict(&w_star, x.as_ref())?;
    let scales = logspace(-4.0, 4.0, factors);
    println!(
        "MLP [10, 20, 10], d = {}, n = {n}, ε = 1e-5, γ = 0, batch 500, {steps} steps × {chains} chains, full-data loss",
        model.num_params()
    );

    let estimate = |w: &[f64], p: Option<Vec<f64>>| -> Result<Option<LlcSummary>> {
        let cfg = LlcConfig {
            sampler: SgldConfig {
                epsilon: 1e-5,
                batch_size: 500,
                steps,
                seed: args.seed,
                shuffle: false,
                loss_trace: LossTrace::FullData,
                preconditioner: p,
                mala_every: None,
            },
            chains,
            burn_in: BurnIn::Steps(0),
        };
        let post = LocalPosterior::new(&model, w, x.as_ref(), y.as_ref())?.localised(0.0)?;
        match estimate_llc(&post, &cfg, &device) {
            Ok(s) => Ok(Some(s)),
            // Plain SGLD is expected to fail at extreme scales: shown as "—".
            Err(Error::Diverged { .. } | Error::ChainFailed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let mut t = Table::new(["s", "preconditioned λ̂", "plain SGLD λ̂"]);
    let (mut pre, mut pre_sd, mut plain) = (vec![], vec![], vec![]);
    let pb = progress_bar(factors as u64, "factors");
    for &s in &scales {
        let r = rescale_hidden_layer(&model, &w_star, 0, s)?;
        let a = estimate(&r.w, Some(r.preconditioner))?;
        let b = estimate(&r.w, None)?;
        let fmt = |r: &Option<LlcSummary>| {
            r.as_ref().map_or("diverged".to_string(), |r| {
                format!("{:.1} ± {:.1}", r.llc_mean, r.llc_std)
            })
        };
        t.row([format!("{s:.0e}"), fmt(&a), fmt(&b)]);
        pre.push(a.as_ref().map_or(f64::NAN, |r| r.llc_mean));
        pre_sd.push(a.as_ref().map_or(f64::NAN, |r| r.llc_std));
        plain.push(b.as_ref().map_or(f64::NAN, |r| r.llc_mean));
        pb.inc(1);
    }
    pb.finish_and_clear();
    common::print_table(
        "λ̂ across rescalings W₁ ← sW₁, b₁ ← sb₁, W₂ ← W₂/s (the notebook, d = 430: 164.7–168.5 over s)",
        &t,
    );
    let finite = |v: &[f64]| {
        v.iter()
            .cloned()
            .filter(|x| x.is_finite())
            .collect::<Vec<_>>()
    };
    let fp = finite(&pre);
    if !fp.is_empty() {
        let (lo, hi) = (
            fp.iter().cloned().fold(f64::INFINITY, f64::min),
            fp.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        println!(
            "preconditioned: λ̂ ranges over [{lo:.1}, {hi:.1}] across s (d/2 = {})",
            model.num_params() / 2
        );
    }
    let plain_pos: Vec<f64> = plain
        .iter()
        .map(|v| {
            if v.is_finite() {
                v.abs().max(1e-2)
            } else {
                f64::NAN
            }
        })
        .collect();
    let panel = LinePanel::new(
        "LLC under rescaling",
        Axis::log("rescaling factor s"),
        Axis::log("|LLC estimate|").range(30.0, 5000.0),
    )
    .legend(Legend::UpperRight)
    .with(
        Series::line(
            "preconditioned SGLD",
            scales.clone(),
            pre.clone(),
            Rgb::hex(0x1F77B4),
        )
        .styled(Style::DashedPoints),
    )
    .with(
        Series::line("plain SGLD", scales.clone(), plain_pos, Rgb::hex(0xD62728))
            .styled(Style::DashedPoints),
    )
    .with(
        Series::line(
            "d/2",
            scales.clone(),
            vec![model.num_params() as f64 / 2.0; scales.len()],
            Rgb::hex(0x000000),
        )
        .styled(Style::Dashed),
    );
    common::save_lines(
        &dir,
        "rescaling_invariance",
        vec![panel],
        (640, 460),
        &["s", "preconditioned", "preconditioned_sd", "plain"],
        &[&scales, &pre, &pre_sd, &plain],
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("rescaling_invariance", || run(&args))
}
