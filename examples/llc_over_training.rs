//! The LLC over training of a small ReLU network on MNIST: our one-machine stand-in for the
//! paper's ResNet-18/CIFAR-10 LLC curve (Lau et al., arXiv 2308.12108). A 784 → 32 → 10 MLP
//! (softmax cross-entropy) is trained by SGD on 6000 digits of the embedded MNIST subset; at
//! log-spaced checkpoints along training λ̂ is estimated with several SGLD chains (nβ = n/log n,
//! ε = 1e-4, γ = 100 as devinterp's examples, batch 256, half of each chain as burn-in), next to
//! the train and test losses and errors.
//!
//! Early checkpoints are not local minima: there the chains keep training (the sampled loss falls
//! below L(w_t)) and λ̂ is negative, the failure mode the LLC papers warn about.
//! Once training settles into a basin, λ̂ is positive and grows as the network fits more of the
//! data.
//!
//! `cargo run --release --example llc_over_training`

mod common;

use std::process::ExitCode;

use clap::Parser;
use doubledescent::data;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, check_flag_memory, fmt_opt,
    progress_bar, run_example,
};
use doubledescent::models::{Dense, Loss, full_loss};
use doubledescent::sampling::{
    BurnIn, Checkpoint, CheckpointSeed, LlcCheckpoints, LlcConfig, LlcTarget, Localisation, NBeta,
    SgdConfig, SgldConfig, llc_over_training,
};
use doubledescent::{Error, Result, random};
use faer::Mat;

/// λ̂ at checkpoints of SGD training on MNIST.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Hidden width
    #[arg(long, default_value_t = 32)]
    hidden: usize,
    /// Training digits (the rest of the 10k subset is the test set) [default: 6000; 1000 with
    /// --quick]
    #[arg(long)]
    train: Option<usize>,
    /// SGD steps [default: 20000; 200 with --quick]
    #[arg(long)]
    steps: Option<usize>,
    /// SGD learning rate
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// SGD batch size
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Number of checkpoints (log-spaced in steps, plus step 0)
    #[arg(long, default_value_t = 8)]
    checkpoints: usize,
    /// SGLD step size ε
    #[arg(long, default_value_t = 1e-4)]
    epsilon: f64,
    /// SGLD localisation γ
    #[arg(long, default_value_t = 100.0)]
    gamma: f64,
    /// SGLD steps per chain [default: 300; 40 with --quick]
    #[arg(long)]
    sgld_steps: Option<usize>,
    /// SGLD chains
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("llc_over_training")?;
    let train_n = args.fig.pick(args.train, 6000, 1000);
    let steps = args.fig.pick(args.steps, 20_000, 200);
    let sgld_steps = args.fig.pick(args.sgld_steps, 300, 40);
    let device = args.fig.device()?;
    let digits = data::mnist_embedded()?;
    if train_n == 0 || train_n >= digits.len() || args.checkpoints == 0 || args.batch == 0 {
        return Err(Error::invalid(
            "train/checkpoints/batch",
            format!("{train_n}/{}/{}", args.checkpoints, args.batch),
            format!("need 0 < train < {} and positive counts", digits.len()),
        ));
    }
    if steps == 0 {
        return Err(Error::invalid("steps", 0, "need at least one SGD step"));
    }
    // Per checkpoint: its step, the chains' loss traces and the table row.
    check_flag_memory(
        "checkpoints",
        args.checkpoints,
        args.checkpoints as u128 * (1024 + args.chains as u128 * sgld_steps as u128 * 16),
    )?;
    let tr = digits.select(&(0..train_n).collect::<Vec<_>>())?;
    let te = digits.select(&(train_n..digits.len()).collect::<Vec<_>>())?;
    let (x, y): (Mat<f64>, Mat<f64>) = (tr.unit_rows()?, tr.one_hot()?);
    let (xt, yt): (Mat<f64>, Mat<f64>) = (te.unit_rows()?, te.one_hot()?);
    let model = Dense::mlp(784, &[args.hidden], 10, Loss::CrossEntropy)?;
    let mut rng = random::seeded(args.seed);
    let mut w: Vec<f64> = model.init_he(&mut rng);
    let mut marks: Vec<usize> = (0..args.checkpoints)
        .map(|i| {
            (steps as f64)
                .powf(i as f64 / (args.checkpoints - 1).max(1) as f64)
                .round() as usize
        })
        .collect();
    marks.insert(0, 0);
    marks.dedup();
    println!(
        "MLP [784, {}, 10] (d = {}), {} train / {} test digits, SGD lr {} batch {}, {steps} steps; λ̂ at steps {marks:?}",
        args.hidden,
        model.num_params(),
        train_n,
        te.len(),
        args.lr,
        args.batch
    );
    let checkpoints = LlcCheckpoints {
        after: marks,
        llc: LlcConfig {
            sampler: SgldConfig {
                epsilon: args.epsilon,
                batch_size: 256.min(train_n),
                steps: sgld_steps,
                seed: args.seed,
                ..Default::default()
            },
            chains: args.chains,
            burn_in: BurnIn::Fraction(0.5),
        },
        localisation: Localisation {
            gamma: args.gamma,
            nbeta: NBeta::DatasetLog,
        },
        target: LlcTarget::TrainingData,
        seed: CheckpointSeed::Fixed,
    };
    let sgd = SgdConfig {
        learning_rate: args.lr,
        batch_size: args.batch,
        steps,
    };
    let eval = |w: &[f64], x: &Mat<f64>, y: &Mat<f64>| {
        let p = model.predict(w, x.as_ref())?;
        Ok::<_, doubledescent::Error>((
            full_loss(&model, w, x.as_ref(), y.as_ref())?,
            data::multiclass_error(p.as_ref(), y.as_ref())?,
        ))
    };
    let mut table = Table::new([
        "step",
        "train loss",
        "train err",
        "test loss",
        "test err",
        "λ̂ mean ± sd",
        "MALA acc.",
    ]);
    let (mut cs, mut llc, mut llc_sd, mut trl, mut tel, mut tre, mut tee) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let pb = progress_bar(checkpoints.after.len() as u64, "checkpoints");
    let mut record = |c: &Checkpoint, w: &[f64]| -> Result<()> {
        let (l, e) = eval(w, &x, &y)?;
        let (lt, et) = eval(w, &xt, &yt)?;
        let s = &c.llc;
        table.row([
            c.updates.to_string(),
            format!("{l:.4}"),
            format!("{:.2}%", 100.0 * e),
            format!("{lt:.4}"),
            format!("{:.2}%", 100.0 * et),
            format!("{:.1} ± {:.1}", s.llc_mean, s.llc_std),
            fmt_opt(s.mala_mean, 3),
        ]);
        cs.push(c.updates as f64);
        llc.push(s.llc_mean);
        llc_sd.push(s.llc_std);
        trl.push(l);
        tel.push(lt);
        tre.push(e);
        tee.push(et);
        pb.inc(1);
        Ok(())
    };
    llc_over_training(
        &model,
        &mut w,
        x.as_ref(),
        y.as_ref(),
        &sgd,
        &checkpoints,
        &mut rng,
        &device,
        &mut record,
    )?;
    pb.finish_and_clear();
    common::print_table("LLC over training (SGLD at each checkpoint)", &table);
    let xs: Vec<f64> = cs.iter().map(|c| c + 1.0).collect();
    let llc_panel = LinePanel::new(
        "local learning coefficient",
        Axis::log("training step + 1"),
        Axis::linear("LLC estimate"),
    )
    .legend(Legend::UpperLeft)
    .with(
        Series::line("LLC estimate", xs.clone(), llc.clone(), Rgb::hex(0x1F77B4))
            .styled(Style::DashedPoints)
            .with_yerr(llc_sd.iter().map(|v| Some(*v)).collect()),
    );
    let loss_panel = LinePanel::new(
        "losses",
        Axis::log("training step + 1"),
        Axis::log("cross-entropy"),
    )
    .legend(Legend::UpperRight)
    .with(Series::line(
        "train",
        xs.clone(),
        trl.clone(),
        Rgb::hex(0x000000),
    ))
    .with(Series::line(
        "test",
        xs.clone(),
        tel.clone(),
        Rgb::hex(0xD62728),
    ));
    common::save_lines(
        &dir,
        "llc_over_training",
        vec![llc_panel, loss_panel],
        (600, 440),
        &[
            "step",
            "lambdahat",
            "lambdahat_sd",
            "train_loss",
            "test_loss",
            "train_error",
            "test_error",
        ],
        &[&cs, &llc, &llc_sd, &trl, &tel, &tre, &tee],
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("llc_over_training", || run(&args))
}
