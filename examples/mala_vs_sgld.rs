//! MALA against SGLD for the LLC of a ReLU network (`validating_lambdahat/MALA_vs_SGLD.ipynb`):
//! input 10, layers [20, 20, 10] with biases (d = 850), true parameter from the
//! default initialisation with N(0, 1) hidden biases, noiseless data x ~ U(−10, 10)¹⁰, over dataset
//! sizes n = 10², 10^2.5, …; SGLD with ε = 1e-5, γ = 1, batch 32, 10 000 steps against full-batch
//! MALA with the same ε (whose cost grows with n), with the SGLD chains' own MALA acceptance.
//!
//! Default: the notebook's samplers on n up to 10^3.5 with 2 chains (about a minute on 2 cores;
//! full-batch MALA at n = 10⁴ costs 75 s per chain here); the notebook's grid is
//! `--n-max 100000 --chains 5`.
//!
//! `cargo run --release --example mala_vs_sgld`

mod common;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use doubledescent::figure::{
    Axis, FigureArgs, Legend, LinePanel, Rgb, Series, Style, Table, check_flag_memory, fmt_opt,
    progress_bar, run_example,
};
use doubledescent::models::{Dense, Loss};
use doubledescent::sampling::{
    BurnIn, LlcConfig, LocalPosterior, MalaConfig, NBeta, SgldConfig, estimate_llc,
};
use doubledescent::{Error, Result, data, random};
use rand::RngExt;
use rand_distr::StandardNormal;

/// SGLD and MALA estimates of the LLC over dataset sizes.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    fig: FigureArgs,
    /// Largest dataset size (sizes are round(10^k), k = 2, 2.5, …) [default: 3162; 316 with
    /// --quick]
    #[arg(long)]
    n_max: Option<usize>,
    /// SGLD steps [default: 10000; 500 with --quick]
    #[arg(long)]
    sgld_steps: Option<usize>,
    /// Full-batch MALA steps [default: 10000; 100 with --quick]
    #[arg(long)]
    mala_steps: Option<usize>,
    /// Chains (runs) per sampler and size [default: 2]
    #[arg(long)]
    chains: Option<usize>,
    /// Step size ε of both samplers
    #[arg(long, default_value_t = 1e-5)]
    epsilon: f64,
    /// Seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn run(args: &Args) -> Result<()> {
    let dir = args.fig.dir("mala_vs_sgld")?;
    let n_max = args.fig.pick(args.n_max, 3162, 316);
    let sgld_steps = args.fig.pick(args.sgld_steps, 10_000, 500);
    let mala_steps = args.fig.pick(args.mala_steps, 10_000, 100);
    let chains = args.fig.pick(args.chains, 2, 2);
    let device = args.fig.device()?;
    if n_max < 100 || chains == 0 {
        return Err(Error::invalid(
            "n_max/chains",
            format!("{n_max}/{chains}"),
            "need n_max >= 100 and chains >= 1",
        ));
    }
    let model = Dense::mlp(10, &[20, 20], 10, Loss::Mse)?;
    let mut rng = random::seeded(args.seed);
    let mut w_star: Vec<f64> = model.init_truncated(&mut rng);
    for k in 0..2 {
        for v in &mut w_star[model.layer_ranges(k).1] {
            *v = rng.sample(StandardNormal);
        }
    }
    // n = 10^(2 + i/2) ≤ n_max, compared in f64 (10^19.5 exceeds every usize, so 36 terms end it).
    let sizes: Vec<usize> = (0..36)
        .map(|i| 10f64.powf(2.0 + 0.5 * i as f64).round())
        .take_while(|&n| n <= n_max as f64)
        .map(|n| n as usize)
        .collect();
    let rows = sizes.last().copied().unwrap_or(n_max);
    // The inputs and outputs of the largest data set, and a minibatch copy.
    check_flag_memory("n-max", n_max, rows as u128 * 10 * 8 * 3)?;
    let x_all = data::uniform_inputs(rows, 10, -10.0, 10.0, &mut rng)?;
    let y_all = model.predict(&w_star, x_all.as_ref())?;
    println!(
        "MLP [10, 20, 20, 10], d = {} (d/2 = {}), ε = {:e}, γ = 1; SGLD batch 32 × {sgld_steps} steps, MALA {mala_steps} full-batch steps, {chains} chains",
        model.num_params(),
        model.num_params() / 2,
        args.epsilon
    );

    let mut t = Table::new([
        "n",
        "SGLD λ̂",
        "MALA λ̂",
        "SGLD s/chain",
        "MALA s/chain",
        "MALA acc.",
        "SGLD's MALA acc.",
    ]);
    let (mut ns, mut sg, mut sg_sd, mut ma, mut ma_sd, mut acc) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let pb = progress_bar(sizes.len() as u64, "sizes");
    for &n in &sizes {
        let (x, y) = (x_all.as_ref().subrows(0, n), y_all.as_ref().subrows(0, n));
        let post = LocalPosterior::new(&model, &w_star, x, y)?.localised(1.0)?;
        let cfg = LlcConfig {
            sampler: SgldConfig {
                epsilon: args.epsilon,
                batch_size: 32,
                steps: sgld_steps,
                seed: args.seed,
                ..Default::default()
            },
            chains,
            burn_in: BurnIn::Steps(0),
        };
        let t0 = Instant::now();
        let s = estimate_llc(&post, &cfg, &device)?;
        let sgld_secs = t0.elapsed().as_secs_f64()
            * rayon::current_num_threads().min(chains) as f64
            / chains as f64;
        // MALA at the same temperature as the SGLD run it is compared with.
        let mala_post = post.tempered(NBeta::Value(s.nbeta))?;
        let mala_cfg = LlcConfig {
            sampler: MalaConfig {
                epsilon: args.epsilon,
                steps: mala_steps,
                seed: args.seed,
            },
            chains,
            burn_in: BurnIn::Steps(0),
        };
        let t0 = Instant::now();
        let mala = estimate_llc(&mala_post, &mala_cfg, &device)?;
        let mala_secs = t0.elapsed().as_secs_f64()
            * rayon::current_num_threads().min(chains) as f64
            / chains as f64;
        let (m, sd) = (mala.llc_mean, mala.llc_std);
        let a = mala
            .mala_mean
            .ok_or_else(|| Error::Numerical("MALA recorded no acceptance".into()))?;
        t.row([
            n.to_string(),
            format!("{:.1} ± {:.1}", s.llc_mean, s.llc_std),
            format!("{m:.1} ± {sd:.1}"),
            format!("{sgld_secs:.2}"),
            format!("{mala_secs:.2}"),
            format!("{a:.2}"),
            fmt_opt(s.mala_mean, 3),
        ]);
        ns.push(n as f64);
        sg.push(s.llc_mean);
        sg_sd.push(s.llc_std);
        ma.push(m);
        ma_sd.push(sd);
        acc.push(a);
        pb.inc(1);
    }
    pb.finish_and_clear();
    common::print_table(
        "LLC by SGLD (minibatch) and MALA (full batch); the notebook (n = 100 … 10⁵): 54.9 … 355.8 vs 54.3 … 349.1",
        &t,
    );
    let panel = LinePanel::new(
        "MALA vs SGLD",
        Axis::log("dataset size n"),
        Axis::linear("LLC estimate"),
    )
    .legend(Legend::LowerRight)
    .with(
        Series::line("SGLD", ns.clone(), sg.clone(), Rgb::hex(0x1F77B4))
            .styled(Style::DashedPoints)
            .with_yerr(sg_sd.iter().map(|v| Some(*v)).collect()),
    )
    .with(
        Series::line("MALA", ns.clone(), ma.clone(), Rgb::hex(0xD62728))
            .styled(Style::DashedPoints)
            .with_yerr(ma_sd.iter().map(|v| Some(*v)).collect()),
    )
    .with(
        Series::line(
            "d/2",
            ns.clone(),
            vec![model.num_params() as f64 / 2.0; ns.len()],
            Rgb::hex(0x000000),
        )
        .styled(Style::Dashed),
    );
    common::save_lines(
        &dir,
        "mala_vs_sgld",
        vec![panel],
        (640, 460),
        &["n", "sgld", "sgld_sd", "mala", "mala_sd", "mala_acceptance"],
        &[&ns, &sg, &sg_sd, &ma, &ma_sd, &acc],
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    run_example("mala_vs_sgld", || run(&args))
}
