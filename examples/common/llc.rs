//! Shared by `llc_across_threshold` and `llc_across_jamming`: the λ̂ flags of trained networks,
//! the settings they make, an estimate that keeps a failed chain as a note, and the table cells
//! and CSV columns of the estimates.

use doubledescent::figure::{FigureArgs, fmt_opt};
use doubledescent::sampling::{BurnIn, EpsilonSearch, LlcConfig, Localisation, NBeta, SgldConfig};
use doubledescent::science::llc_of_networks::NetworkLlc;
use doubledescent::{Error, Result};

/// λ̂ flags.
#[derive(clap::Args, Debug, Clone)]
pub struct LlcArgs {
    /// SGLD chains per network [default: 4; 2 with --quick]
    #[arg(long)]
    pub chains: Option<usize>,
    /// SGLD steps per chain (half burn-in) [default: 2000; 200 with --quick]
    #[arg(long)]
    pub sgld_steps: Option<usize>,
    /// SGLD minibatch size
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Localisation γ (devinterp's MNIST setting)
    #[arg(long, default_value_t = 100.0)]
    pub gamma: f64,
}

/// The posterior's γ and nβ = n/log n, SGLD chains on `n` samples with half burn-in and the
/// MALA diagnostic every 20 steps, and the ε search (pilot chains to an acceptance of 0.9).
pub struct LlcSettings {
    /// γ and nβ.
    pub localisation: Localisation,
    /// The chains.
    pub cfg: LlcConfig<SgldConfig>,
    /// How ε is chosen.
    pub search: EpsilonSearch,
}

impl LlcArgs {
    /// The settings for `n` training samples (flags checked).
    pub fn settings(&self, fig: &FigureArgs, n: usize, seed: u64) -> Result<LlcSettings> {
        let chains = fig.pick(self.chains, 4, 2);
        let steps = fig.pick(self.sgld_steps, 2000, 200);
        for (flag, v) in [
            ("--chains", chains),
            ("--sgld-steps", steps),
            ("--batch", self.batch),
        ] {
            if v == 0 {
                return Err(Error::invalid(flag, 0, "must be positive"));
            }
        }
        Ok(LlcSettings {
            localisation: Localisation {
                gamma: self.gamma,
                nbeta: NBeta::DatasetLog,
            },
            cfg: LlcConfig {
                sampler: SgldConfig {
                    batch_size: self.batch.min(n),
                    steps,
                    seed,
                    mala_every: Some(20),
                    ..Default::default()
                },
                chains,
                burn_in: BurnIn::Fraction(0.5),
            },
            search: EpsilonSearch {
                pilot_steps: fig.pick(None, 200, 50),
                ..Default::default()
            },
        })
    }
}

impl LlcSettings {
    /// One line saying how λ̂ is estimated for `n` samples on `what`.
    pub fn describe(&self, n: usize, what: &str) -> String {
        let s = &self.cfg.sampler;
        format!(
            "λ̂: SGLD on {what}, γ = {}, nβ = n/log n = {:.1}, batch {}, {} chains × {} steps (half burn-in), ε calibrated to MALA acceptance {}",
            self.localisation.gamma,
            NBeta::DatasetLog.resolve(n, s.batch_size),
            s.batch_size,
            self.cfg.chains,
            s.steps,
            self.search.target_acceptance
        )
    }
}

/// The estimate, or `None` and the reason when a chain diverged or failed (other errors stop the
/// example).
pub fn kept(est: Result<NetworkLlc>) -> Result<(Option<NetworkLlc>, String)> {
    match est {
        Ok(e) => Ok((Some(e), String::new())),
        Err(e @ (Error::Diverged { .. } | Error::ChainFailed { .. })) => Ok((None, e.to_string())),
        Err(e) => Err(e),
    }
}

/// Table cells of an estimate for a network of `params` parameters: λ̂ ± sd (or the note),
/// λ̂/(d/2), ε, R̂ and ESS.
pub fn cells(est: Option<&NetworkLlc>, note: &str, params: usize) -> [String; 5] {
    let s = est.map(|e| &e.summary);
    [
        s.map_or(format!("— ({note})"), |s| {
            format!("{:.1} ± {:.1}", s.llc_mean, s.llc_std)
        }),
        fmt_opt(s.map(|s| s.llc_mean / (params as f64 / 2.0)), 4),
        est.and_then(|e| e.calibration.as_ref())
            .map_or("—".into(), |c| format!("{:.2e}", c.epsilon)),
        fmt_opt(s.and_then(|s| s.r_hat), 3),
        fmt_opt(s.and_then(|s| s.ess), 0),
    ]
}

/// The CSV columns of the estimates (NaN where a chain failed).
pub const COLUMNS: [&str; 6] = [
    "llc_mean",
    "llc_std",
    "epsilon",
    "mala_acceptance",
    "r_hat",
    "ess",
];

/// The values of [`COLUMNS`] for every estimate.
pub fn columns(ests: &[Option<&NetworkLlc>]) -> [Vec<f64>; 6] {
    let col = |f: &dyn Fn(&NetworkLlc) -> Option<f64>| -> Vec<f64> {
        ests.iter()
            .map(|e| e.and_then(f).unwrap_or(f64::NAN))
            .collect()
    };
    [
        col(&|e| Some(e.summary.llc_mean)),
        col(&|e| Some(e.summary.llc_std)),
        col(&|e| e.calibration.as_ref().map(|c| c.epsilon)),
        col(&|e| e.summary.mala_mean),
        col(&|e| e.summary.r_hat),
        col(&|e| e.summary.ess),
    ]
}
