//! Random deep linear networks against their true learning coefficient: one point of the DLN
//! sweeps of Lau, Furman, Wang, Murfet & Wei (arXiv 2308.12108, `edmundlth/validating_lambdahat`,
//! `expt_dln.py` with the architectures its launcher draws): a random architecture, a true
//! parameter with randomly reduced ranks (`rand_rank`), noiseless data x ~ U(−10, 10)^N,
//! y = W_L⋯W_1 x, λ̂ at w* by SGLD chains, and Aoyagi's λ for the product's rank.
//!
//! Architecture `index` of a sweep with seed `s` is drawn from its own stream
//! ([`crate::random::substream`]`(s, index)`), so any one point can be computed alone, on any
//! machine, as a run of a [`crate::sweep`] grid, and equals the same point of a whole sweep.

use std::ops::Range;

use faer::Mat;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::aoyagi::dln_learning_coefficient;
use super::llc::{LlcConfig, estimate_llc};
use super::posterior::{LocalPosterior, Localisation, Sampler};
use crate::backend::{Device, Precision};
use crate::error::{Error, Result};
use crate::models::{DeepLinearNetwork, Model, TrueParam};

/// The ranges the architectures are drawn from (upper ends excluded, as NumPy's `randint`).
#[derive(Clone, Debug, PartialEq)]
pub struct RandomDln {
    /// Widths of the input, hidden and output layers.
    pub width: Range<usize>,
    /// Number of layer widths after the input (hidden layers + output).
    pub layers: Range<usize>,
    /// Training samples n.
    pub n: usize,
    /// Probability that a layer's rank is reduced (`prop_rank_reduce`, 0.5 in the paper).
    pub rank_reduce: f64,
}

/// One drawn problem.
#[derive(Clone, Debug)]
pub struct DlnProblem {
    /// The network.
    pub model: DeepLinearNetwork,
    /// The true parameter w*.
    pub w: Vec<f64>,
    /// Inputs, n × N.
    pub x: Mat<f64>,
    /// Outputs of w*, n × M.
    pub y: Mat<f64>,
    /// Numerical rank of the product W_L⋯W_1.
    pub rank: usize,
    /// Aoyagi's learning coefficient for these sizes and rank.
    pub lambda: f64,
}

/// λ̂ against λ for one network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DlnLlcPoint {
    /// Layer sizes (input first).
    pub sizes: Vec<usize>,
    /// Number of parameters d.
    pub d: usize,
    /// Rank of the true product.
    pub rank: usize,
    /// Aoyagi's λ.
    pub lambda: f64,
    /// Mean λ̂ over chains (`None` when the chains diverged).
    pub llc_mean: Option<f64>,
    /// Standard deviation over chains.
    pub llc_std: Option<f64>,
    /// Mean MALA acceptance along the chains, when recorded.
    pub mala_acceptance: Option<f64>,
    /// (λ − λ̂)/λ.
    pub relative_error: Option<f64>,
    /// Why there is no estimate (the divergence message), empty otherwise.
    pub note: String,
    /// Split R̂ of the chains' kept losses (absent in records written before it was added).
    #[serde(default)]
    pub r_hat: Option<f64>,
    /// Effective sample size of the chains' kept losses.
    #[serde(default)]
    pub ess: Option<f64>,
}

impl RandomDln {
    /// The default sweep of the `dln_llc_vs_truth` example (the paper's sweep 0 has widths
    /// 5..50, layers 2..5 and n = 10⁵).
    pub fn new(width: Range<usize>, layers: Range<usize>, n: usize) -> Self {
        RandomDln {
            width,
            layers,
            n,
            rank_reduce: 0.5,
        }
    }

    /// Checks the ranges and n.
    pub fn check(&self) -> Result<()> {
        if self.width.start == 0 || self.width.end <= self.width.start {
            return Err(Error::invalid(
                "widths",
                format!("{:?}", self.width),
                "need 0 < min < max",
            ));
        }
        if self.layers.start == 0 || self.layers.end <= self.layers.start {
            return Err(Error::invalid(
                "layers",
                format!("{:?}", self.layers),
                "need 0 < min < max",
            ));
        }
        if self.n == 0 {
            return Err(Error::invalid("n", 0, "need at least one sample"));
        }
        if !(0.0..=1.0).contains(&self.rank_reduce) {
            return Err(Error::invalid(
                "rank_reduce",
                self.rank_reduce,
                "must lie in [0, 1]",
            ));
        }
        // The largest data set the ranges allow: n × the widest input; and the largest network.
        crate::check::check_alloc::<f64>(
            &format!("`n` = {} (the DLN inputs, n × the widest input)", self.n),
            self.n,
            self.width.end,
        )?;
        crate::check::check_bytes(
            format!(
                "DLN parameters ({} layers of width {})",
                self.layers.end, self.width.end
            ),
            self.layers.end as u128 * (self.width.end as u128).pow(2) * 8,
        )
    }

    /// Draws problem `index` of the sweep with `seed`.
    pub fn draw(&self, seed: u64, index: u64) -> Result<DlnProblem> {
        self.check()?;
        let mut rng = crate::random::substream(seed, index);
        let layers = rng.random_range(self.layers.clone());
        let widths: Vec<usize> = (0..layers)
            .map(|_| rng.random_range(self.width.clone()))
            .collect();
        let input = rng.random_range(self.width.clone());
        let model = DeepLinearNetwork::new(input, &widths[..layers - 1], widths[layers - 1])?;
        let w = model.true_param(
            &mut rng,
            TrueParam::RandRank {
                prop_rank_reduce: self.rank_reduce,
            },
        )?;
        let rank = model.true_rank(&w)?;
        let lambda = dln_learning_coefficient(model.sizes(), rank)?.lambda;
        let x = crate::data::uniform_inputs(self.n, input, -10.0, 10.0, &mut rng)?;
        let y = model.forward(&w, x.as_ref());
        Ok(DlnProblem {
            model,
            w,
            x,
            y,
            rank,
            lambda,
        })
    }
}

impl DlnProblem {
    /// λ̂ at w* with `cfg` on `device`, with the chains in `precision` (in f32 the data and w*
    /// are rounded and y recomputed in f32, as the original's float32 JAX code). Diverged
    /// chains (the paper's NaN rows) give a point without an estimate and the reason in `note`;
    /// other errors are returned.
    pub fn llc_vs_truth<S: Sampler>(
        &self,
        localisation: Localisation,
        cfg: &LlcConfig<S>,
        precision: Precision,
        device: &Device,
    ) -> Result<DlnLlcPoint> {
        let mut p = DlnLlcPoint {
            sizes: self.model.sizes().to_vec(),
            d: self.model.num_params(),
            rank: self.rank,
            lambda: self.lambda,
            llc_mean: None,
            llc_std: None,
            mala_acceptance: None,
            relative_error: None,
            note: String::new(),
            r_hat: None,
            ess: None,
        };
        let estimate = match precision {
            Precision::F64 => {
                LocalPosterior::new(&self.model, &self.w, self.x.as_ref(), self.y.as_ref())
                    .and_then(|p| p.localise(localisation))
                    .and_then(|p| estimate_llc(&p, cfg, device))
            }
            Precision::F32 => {
                let w: Vec<f32> = self.w.iter().map(|&v| v as f32).collect();
                let x = Mat::from_fn(self.x.nrows(), self.x.ncols(), |i, j| self.x[(i, j)] as f32);
                let y = self.model.forward(&w, x.as_ref());
                LocalPosterior::new(&self.model, &w, x.as_ref(), y.as_ref())
                    .and_then(|p| p.localise(localisation))
                    .and_then(|p| estimate_llc(&p, cfg, device))
            }
        };
        match estimate {
            Ok(s) => {
                p.r_hat = s.r_hat;
                p.ess = s.ess;
                p.llc_mean = Some(s.llc_mean);
                p.llc_std = Some(s.llc_std);
                p.mala_acceptance = s.mala_mean;
                p.relative_error = Some((self.lambda - s.llc_mean) / self.lambda);
            }
            Err(e @ (Error::Diverged { .. } | Error::ChainFailed { .. })) => p.note = e.to_string(),
            Err(e) => return Err(e),
        }
        Ok(p)
    }
}
