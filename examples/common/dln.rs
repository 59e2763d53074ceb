//! Shared by `dln_llc_vs_truth` and `sweep task dln-llc`: the DLN sweep's flags, so one point
//! run by the sweep equals the same point of the example.

use doubledescent::figure::FigureArgs;
use doubledescent::sampling::{BurnIn, LlcConfig, Localisation, NBeta, RandomDln, SgldConfig};
use doubledescent::{Error, Precision, Result};

/// Architecture ranges, data size and SGLD settings of the DLN λ̂ sweep.
#[derive(clap::Args, Debug, Clone)]
pub struct DlnArgs {
    /// Smallest width (input, hidden and output)
    #[arg(long, default_value_t = 5)]
    pub width_min: usize,
    /// Largest width (exclusive, as NumPy's randint)
    #[arg(long, default_value_t = 30)]
    pub width_max: usize,
    /// Fewest layer widths (hidden + output)
    #[arg(long, default_value_t = 2)]
    pub layers_min: usize,
    /// Layer widths upper bound (exclusive)
    #[arg(long, default_value_t = 5)]
    pub layers_max: usize,
    /// Training samples n [default: 10000; 2000 with --quick]
    #[arg(long)]
    pub n: Option<usize>,
    /// SGLD step size ε
    #[arg(long, default_value_t = 1e-6)]
    pub epsilon: f64,
    /// SGLD steps per chain [default: 5000; 400 with --quick]
    #[arg(long)]
    pub steps: Option<usize>,
    /// Chains per architecture
    #[arg(long, default_value_t = 4)]
    pub chains: usize,
    /// SGLD batch size
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Burn-in fraction
    #[arg(long, default_value_t = 0.9)]
    pub burn_in: f64,
    /// Seed of the sweep: architecture i is drawn from its own stream of this seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Precision of the chains: f32 (the original's JAX code) or f64
    #[arg(long, default_value = "f32")]
    pub precision: Precision,
}

impl DlnArgs {
    /// The architecture ranges, the posterior's γ and nβ, and the λ̂ settings.
    pub fn settings(&self, fig: &FigureArgs) -> Result<(RandomDln, Localisation, LlcConfig)> {
        if self.width_min == 0
            || self.width_max <= self.width_min
            || self.layers_max <= self.layers_min
            || self.layers_min == 0
        {
            return Err(Error::invalid(
                "widths/layers",
                format!(
                    "[{}, {}) / [{}, {})",
                    self.width_min, self.width_max, self.layers_min, self.layers_max
                ),
                "need 0 < min < max for both ranges",
            ));
        }
        let n = fig.pick(self.n, 10_000, 2000);
        let arch = RandomDln::new(
            self.width_min..self.width_max,
            self.layers_min..self.layers_max,
            n,
        );
        arch.check()?;
        let localisation = Localisation {
            gamma: 1.0,
            nbeta: NBeta::DatasetLog,
        };
        let cfg = LlcConfig {
            sampler: SgldConfig {
                epsilon: self.epsilon,
                batch_size: self.batch.min(n),
                steps: fig.pick(self.steps, 5000, 400),
                seed: self.seed,
                ..Default::default()
            },
            chains: self.chains,
            burn_in: BurnIn::Fraction(self.burn_in),
        };
        Ok((arch, localisation, cfg))
    }
}
