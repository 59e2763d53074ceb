//! Saddle-to-saddle dynamics of a deep linear network (Jacot et al. 2021 set-up, as
//! `validating_lambdahat/expt_dln_saddle_dynamics.py`) with the LLC tracked during
//! training: teacher diag(10, 20, 30, 40, 50), x ~ N(0, I₅), n = 10⁴, a student with 4 hidden
//! layers of width 10 and small initialisation (entries N(0, width^−1.5)), SGD (lr 1e-4, batch
//! 128, 20 000 steps). Every 50 steps the data are re-targeted to the current network (so w_t is
//! a global minimiser) and λ̂(w_t) is estimated with one SGLD chain (ε = 1e-6, γ = 1, 100 steps,
//! batch 128, β = 1/log n). The loss falls in steps as the teacher's modes are learned one at a
//! time, and λ̂ steps up with each drop.
//!
//! `cargo run --release --example dln_saddle_dynamics`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, check_flag_memory,
    progress_bar, run_example,
};
use doubledescent::models::DeepLinearNetwork;
use doubledescent::sampling::dln_learning_coefficient;
use doubledescent::sampling::{
    BurnIn, Checkpoint, CheckpointSeed, LlcCheckpoints, LlcConfig, LlcTarget, Localisation, NBeta,
    SgdConfig, SgldConfig, llc_over_training,
};
use doubledescent::{Error, Result, random};
use faer::Mat;
use rand::RngExt;
use rand_distr::StandardNormal;

/// LLC along saddle-to-saddle training of a deep linear network.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Hidden width H
    #[arg(long, default_value_t = 10)]
    width: usize,
    /// Hidden layers
    #[arg(long, default_value_t = 4)]
    hidden_layers: usize,
    /// Training steps [default: 20000; 2000 with --quick]
    #[arg(long)]
    steps: Option<usize>,
    /// Steps between LLC estimates
    #[arg(long, default_value_t = 50)]
    logging_period: usize,
    /// SGD learning rate
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Initialisation exponent: entries N(0, width^−exponent)
    #[arg(long, default_value_t = 1.5)]
    init_exponent: f64,
    /// Seed
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("dln_saddle_dynamics")?;
    let steps = args.fig.pick(args.steps, 20_000, 2000);
    let device = args.fig.device()?;
    if args.logging_period == 0 || args.width == 0 {
        return Err(Error::invalid(
            "logging_period/width",
            format!("{}/{}", args.logging_period, args.width),
            "must be positive",
        ));
    }
    if steps == 0 {
        return Err(Error::invalid("steps", 0, "need at least one step"));
    }
    let (dim, n, batch) = (5usize, 10_000usize, 128usize);
    // The network (hidden-layers × width² weights) and one record of about 2 kB (a 100-step λ̂
    // chain and the plotted values) per checkpoint.
    check_flag_memory(
        "width",
        format!("{} with --hidden-layers {}", args.width, args.hidden_layers),
        args.hidden_layers as u128 * (8 + (args.width as u128).pow(2) * 8 * 4),
    )?;
    check_flag_memory("steps", steps, (steps / args.logging_period) as u128 * 2048)?;
    let model = DeepLinearNetwork::new(dim, &vec![args.width; args.hidden_layers], dim)?;
    let mut rng = random::seeded(args.seed);
    let x = Mat::from_fn(n, dim, |_, _| rng.sample::<f64, _>(StandardNormal));
    let teacher = Mat::from_fn(
        dim,
        dim,
        |i, j| if i == j { 10.0 * (i + 1) as f64 } else { 0.0 },
    );
    let y = &x * &teacher;
    let mut w = model.init(
        &mut rng,
        Some((args.width as f64).powf(-args.init_exponent).sqrt()),
    );
    // λ̂ after steps t = 0, k, 2k, … (after t + 1 updates), on the network's own outputs, one
    // SGLD chain seeded with seed ^ t.
    let checkpoints = LlcCheckpoints {
        after: (0..steps)
            .step_by(args.logging_period)
            .map(|t| t + 1)
            .collect(),
        llc: LlcConfig {
            sampler: SgldConfig {
                epsilon: 1e-6,
                batch_size: batch,
                steps: 100,
                mala_every: None,
                seed: args.seed,
                ..Default::default()
            },
            chains: 1,
            burn_in: BurnIn::Steps(0),
        },
        localisation: Localisation {
            gamma: 1.0,
            nbeta: NBeta::DatasetLog,
        },
        target: LlcTarget::OwnOutputs,
        seed: CheckpointSeed::XorLastStep,
    };
    let sgd = SgdConfig {
        learning_rate: args.lr,
        batch_size: batch,
        steps,
    };
    println!(
        "DLN {:?} ({} parameters), n = {n}, SGD lr {:e} batch {batch}, {steps} steps; λ̂ every {} steps",
        model.sizes(),
        model.num_params(),
        args.lr,
        args.logging_period
    );
    let (mut ts, mut losses, mut llcs, mut ranks, mut aoyagi) =
        (vec![], vec![], vec![], vec![], vec![]);
    let pb = progress_bar(checkpoints.after.len() as u64, "checkpoints");
    let mut record = |c: &Checkpoint, w: &[f64]| -> Result<()> {
        let prod = model.product(w)?;
        let sv = doubledescent::linalg::thin_svd(prod.as_ref(), faer::Par::Seq)?.s;
        ts.push((c.updates - 1) as f64);
        losses.push(c.loss);
        llcs.push(c.llc.llc_mean);
        ranks.push(sv.iter().filter(|&&v| v > 1.0).count() as f64);
        aoyagi.push(dln_learning_coefficient(model.sizes(), model.true_rank(w)?)?.lambda);
        pb.inc(1);
        Ok(())
    };
    let trained = llc_over_training(
        &model,
        &mut w,
        x.as_ref(),
        y.as_ref(),
        &sgd,
        &checkpoints,
        &mut rng,
        &device,
        &mut record,
    );
    match trained {
        // ε of the λ̂ chains is fixed; what the user can change is the learning rate.
        Err(Error::Diverged {
            process,
            step,
            loss,
            ..
        }) => {
            return Err(Error::invalid(
                "lr",
                args.lr,
                format!("the {process} diverged at step {step} (loss {loss}); lower --lr"),
            ));
        }
        Err(Error::ChainFailed {
            process, reason, ..
        }) => {
            return Err(Error::invalid(
                "lr",
                args.lr,
                format!("the {process} of a checkpoint failed: {reason}; lower --lr"),
            ));
        }
        other => other?,
    };
    pb.finish_and_clear();

    // Plateaus: checkpoints grouped by effective rank (singular values of W₁⋯W_L above 1).
    let mut t = Table::new([
        "effective rank r",
        "steps",
        "checkpoints",
        "mean λ̂",
        "r(N+M−r)/2",
        "final loss there",
    ]);
    let mut r = 0;
    while r <= dim {
        let idx: Vec<usize> = (0..ts.len()).filter(|&i| ranks[i] as usize == r).collect();
        if !idx.is_empty() {
            let mean = idx.iter().map(|&i| llcs[i]).sum::<f64>() / idx.len() as f64;
            t.row([
                r.to_string(),
                format!("{}–{}", ts[idx[0]], ts[*idx.last().unwrap()]),
                idx.len().to_string(),
                format!("{mean:.2}"),
                format!("{:.1}", (r * (2 * dim - r)) as f64 / 2.0),
                format!("{:.3e}", losses[*idx.last().unwrap()]),
            ]);
        }
        r += 1;
    }
    common::print_table("λ̂ on each plateau of the saddle-to-saddle dynamics", &t);
    println!(
        "Aoyagi's λ at the numerical rank is {:?} throughout (constant for N = M = 5, H ≥ 9)",
        {
            let mut a = aoyagi.clone();
            a.dedup();
            a
        }
    );

    let clipped: Vec<f64> = llcs.iter().map(|v| v.max(0.0)).collect();
    let smooth = running_mean(&clipped, 10);
    let loss_panel = LinePanel::new(
        format!(
            "M = {}, H = {}, T = {steps}, k = {}",
            args.hidden_layers, args.width, args.logging_period
        ),
        Axis::linear("training step"),
        Axis::log("training loss"),
    )
    .legend(Legend::UpperRight)
    .with(Series::line(
        "loss",
        ts.clone(),
        losses.clone(),
        Rgb::hex(0x1F77B4),
    ));
    let llc_panel = LinePanel::new(
        "local learning coefficient",
        Axis::linear("training step"),
        Axis::linear("LLC estimate"),
    )
    .legend(Legend::LowerRight)
    .with(
        Series::line(
            "LLC estimate (clipped at 0)",
            ts.clone(),
            clipped.clone(),
            Rgb::hex(0x000000),
        )
        .styled(Style::Points),
    )
    .with(Series::line(
        "running mean (10)",
        ts.clone(),
        smooth.clone(),
        Rgb::hex(0x2CA02C),
    ))
    .with(
        Series::line(
            "effective rank × 5",
            ts.clone(),
            ranks.iter().map(|r| 5.0 * r).collect(),
            Rgb::hex(0xD62728),
        )
        .styled(Style::Dashed),
    );
    common::save_lines(
        &dir,
        "dln_saddle_dynamics",
        vec![loss_panel, llc_panel],
        (620, 440),
        &[
            "step",
            "loss",
            "lambdahat",
            "running_mean",
            "effective_rank",
            "aoyagi_lambda",
        ],
        &[&ts, &losses, &llcs, &smooth, &ranks, &aoyagi],
    )?;
    Ok(())
}

/// Running mean over `window` points with reflection padding (the original's smoothing).
fn running_mean(v: &[f64], window: usize) -> Vec<f64> {
    let n = v.len() as isize;
    let half = (window / 2) as isize;
    (0..n)
        .map(|i| {
            let mut s = 0.0;
            for k in i - half..i - half + window as isize {
                let j = if k < 0 {
                    -k - 1
                } else if k >= n {
                    2 * n - k - 1
                } else {
                    k
                };
                s += v[j.clamp(0, n - 1) as usize];
            }
            s / window as f64
        })
        .collect()
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("dln_saddle_dynamics", || run(&args))
}
