//! Shared by `jamming_scan` and `phase_diagram`: the data flags (embedded MNIST, full MNIST or
//! CIFAR-10 from a path, through the PCA pipeline), the run flags, and a sweep with a progress bar.

use std::path::PathBuf;
use std::sync::Mutex;

use doubledescent::data::{self, PcaConfig, PcaSplits, Split, binary_pca};
use doubledescent::figure::{FigureArgs, progress_bar};
use doubledescent::training::{
    Budget, Method, Precision, RunConfig, RunRecord, load_records, save_records, train_all,
};
use doubledescent::{Error, Result};

/// Data and training flags of the phase-diagram examples.
#[derive(clap::Args, Debug, Clone)]
pub struct NetArgs {
    /// Folder with the four MNIST IDX files: the pool is train + test (70 000 digits) as in the
    /// original; default: the embedded 10 000 digits
    #[arg(long)]
    pub mnist: Option<PathBuf>,
    /// Folder with the CIFAR-10 binary batches: CIFAR10-30-PCA instead of MNIST-10-PCA
    #[arg(long, conflicts_with = "mnist")]
    pub cifar: Option<PathBuf>,
    /// Principal components d [default: 10 for MNIST, 30 for CIFAR-10]
    #[arg(long)]
    pub d: Option<usize>,
    /// Training points P [default: 1000; 200 with --quick; 5000 with --original]
    #[arg(long)]
    pub train: Option<usize>,
    /// Test points [default: 2000; 400 with --quick; 40000 with --original]
    #[arg(long)]
    pub test: Option<usize>,
    /// Seeds per point (seed_init 0, 1, …)
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Step budget per run (reproducible on any machine)
    #[arg(long)]
    pub steps: Option<u64>,
    /// Wall-clock budget per run in seconds (the original's --max_wall; not reproducible)
    #[arg(long)]
    pub wall: Option<f64>,
    /// Limit on the gradient-direction change per step (original 1e-4; 1e-3 by default here, the
    /// gradientflow library's own default, for speed)
    #[arg(long)]
    pub max_dgrad: Option<f64>,
    /// Train in f32 (f64 by default, as the original; the lazy regime needs f64 to resolve f − f₀)
    #[arg(long)]
    pub f32: bool,
    /// The original's settings: P = 5000, 40 000 test points, 20 seeds, 2-hour walls,
    /// max_dgrad = 1e-4 (needs --mnist or --cifar, and GPU-days of compute)
    #[arg(long)]
    pub original: bool,
    /// Analyse the run records in this folder instead of training
    #[arg(long, conflicts_with = "from_runs")]
    pub records: Option<PathBuf>,
    /// Analyse the runs of a sweep folder (made by the `sweep` example with `sweep task train`,
    /// locally or on a SLURM cluster) instead of training
    #[arg(long)]
    pub from_runs: Option<PathBuf>,
}

impl NetArgs {
    /// True when the example trains (no saved records or sweep folder given).
    pub fn trains(&self) -> bool {
        self.records.is_none() && self.from_runs.is_none()
    }
}

/// The data set's name, d and default α̃ list.
pub fn dataset_name(a: &NetArgs) -> &'static str {
    match (&a.mnist, &a.cifar) {
        (_, Some(_)) => "CIFAR10-PCA",
        (Some(_), _) => "MNIST-PCA",
        _ => "MNIST-PCA (embedded 10k digits)",
    }
}

/// Builds the PCA sets the flags ask for, with `kernel` kernel points.
pub fn splits(a: &NetArgs, fig: &FigureArgs, kernel: usize) -> Result<PcaSplits> {
    let (pool, d_default) = match (&a.mnist, &a.cifar) {
        (_, Some(dir)) => (
            data::cifar10(dir, Split::Train)?.concat(&data::cifar10(dir, Split::Test)?)?,
            30,
        ),
        (Some(dir), _) => (
            data::mnist(dir, Split::Train)?.concat(&data::mnist(dir, Split::Test)?)?,
            10,
        ),
        _ => (data::mnist_embedded()?, 10),
    };
    let d = a.d.unwrap_or(d_default);
    let train = a.train.unwrap_or(if a.original {
        5000
    } else if fig.quick {
        200
    } else {
        1000
    });
    let test = a.test.unwrap_or(if a.original {
        40000
    } else if fig.quick {
        400
    } else {
        2000
    });
    let kernel = if a.original && kernel > 0 {
        2500
    } else {
        kernel
    };
    let s = binary_pca(&pool, &PcaConfig::new(d, test, kernel, train))?;
    println!(
        "{}: d = {d}, P = {train}, {test} test points, {kernel} kernel points (pool of {} balanced images)",
        dataset_name(a),
        s.pool
    );
    Ok(s)
}

/// A run configuration for (h, α̃, seed) from the flags.
pub fn config(
    a: &NetArgs,
    fig: &FigureArgs,
    h: usize,
    alpha: f64,
    seed: u64,
    steps: (u64, u64),
    delta_kernel: bool,
) -> RunConfig {
    let mut c = RunConfig::original(h, alpha, seed, 7200.0);
    let max_dgrad = a.max_dgrad.unwrap_or(if a.original { 1e-4 } else { 1e-3 });
    c.method = Method::AdaptiveFlow {
        max_dgrad,
        max_dout: 0.1 / alpha,
    };
    c.budget = if a.original {
        Budget {
            max_wall: Some(a.wall.unwrap_or(7200.0)),
            max_steps: a.steps,
        }
    } else {
        Budget {
            max_wall: a.wall,
            max_steps: Some(a.steps.unwrap_or(if fig.quick { steps.1 } else { steps.0 })),
        }
    };
    c.precision = if a.f32 {
        Precision::F32
    } else {
        Precision::F64
    };
    c.delta_kernel = delta_kernel;
    c
}

/// Trains every configuration (both cores), with a bar of runs done and the latest step, saves
/// the records under `<dir>/records`; or loads the records of `--records`.
pub fn runs(
    a: &NetArgs,
    configs: &[RunConfig],
    splits: Option<&PcaSplits>,
    dir: &std::path::Path,
) -> Result<Vec<RunRecord>> {
    if let Some(folder) = &a.from_runs {
        let values: Vec<serde_json::Value> = super::sweep_results(folder, "record")?;
        return values
            .iter()
            .map(|v| RunRecord::from_json(&v.to_string()))
            .collect();
    }
    if let Some(folder) = &a.records {
        let r = load_records(folder)?;
        if r.is_empty() {
            return Err(Error::invalid(
                "--records",
                folder.display(),
                "holds no run records (*.json)",
            ));
        }
        println!("{} run records from {}", r.len(), folder.display());
        return Ok(r);
    }
    let splits = splits.expect("splits are built when training");
    let pb = progress_bar(configs.len() as u64, "runs");
    let latest = Mutex::new(String::new());
    let t0 = std::time::Instant::now();
    let records = train_all(configs, splits, dataset_name(a), &|i, step| {
        let c = &configs[i];
        if step == u64::MAX {
            pb.inc(1);
        } else if let Ok(mut m) = latest.lock() {
            *m = format!(
                "h={} α̃={:.3e} seed {}: step {step}",
                c.h, c.alpha, c.seed_init
            );
            pb.set_message(m.clone());
        }
    });
    pb.finish_and_clear();
    let records = records?;
    let folder = dir.join("records");
    save_records(&folder, &records)?;
    println!(
        "{} runs in {:.1} s; records in {}",
        records.len(),
        t0.elapsed().as_secs_f64(),
        folder.display()
    );
    Ok(records)
}

/// Geometric list of `n` integers from `lo` to `hi` (rounded, duplicates dropped).
pub fn geometric_widths(lo: usize, hi: usize, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> =
        doubledescent::linalg::logspace((lo as f64).log10(), (hi as f64).log10(), n)
            .into_iter()
            .map(|x| x.round() as usize)
            .collect();
    v.dedup();
    v
}

/// Column slices of a table kept as columns (for `write_csv`).
pub fn cols(v: &[Vec<f64>]) -> Vec<&[f64]> {
    v.iter().map(|c| c.as_slice()).collect()
}

/// Checks a list flag is not empty and its values positive.
pub fn positive<T: PartialOrd + Default + Copy + std::fmt::Debug>(
    name: &'static str,
    v: &[T],
) -> Result<()> {
    if v.is_empty() || v.iter().any(|x| *x <= T::default()) {
        return Err(Error::invalid(
            name,
            format!("{v:?}"),
            "needs positive values",
        ));
    }
    Ok(())
}

/// Refuses a sweep whose list of run configurations cannot be held in memory (a mistyped
/// `--seeds`), with a one-line error instead of an allocation failure.
pub fn check_runs(widths: usize, alphas: usize, seeds: u64) -> Result<()> {
    if seeds == 0 {
        return Err(Error::invalid("--seeds", 0, "need at least one seed"));
    }
    let runs = (widths as u128) * (alphas as u128) * (seeds as u128);
    doubledescent::check::check_alloc::<RunConfig>(
        "run configurations (widths × alphas × seeds)",
        runs.min(usize::MAX as u128) as usize,
        1,
    )
}
