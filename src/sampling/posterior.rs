//! The localised tempered posterior that every sampler draws from, and the interface they share.
//!
//! ```text
//! p(w) ∝ exp(−U(w)),   U(w) = nβ·L_n(w) + (γ/2)‖w − w*‖²
//! ```
//!
//! around a parameter w* of a [`Model`] on data (x, y) (Lau, Furman, Wang, Murfet, Wei, arXiv
//! 2308.12108, eq. 6; `validating_lambdahat/sgld_utils.py`; devinterp's `localization` and
//! `nbeta`). A [`LocalPosterior`] holds the model, w*, the data, γ and nβ, checked once; a
//! [`Sampler`] (SGLD, MALA, SGNHT) runs chains on it, and
//! [`estimate_llc`](super::estimate_llc) turns any sampler's chains into λ̂.

use faer::MatRef;

use super::NBeta;
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::models::{Model, check_inputs};

/// The localisation strength γ and the inverse temperature nβ of a posterior. `Default` gives
/// the DLN defaults of `expt_dln.py`: γ = 10, nβ = n/log n.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Localisation {
    /// γ (finite, ≥ 0).
    pub gamma: f64,
    /// nβ.
    pub nbeta: NBeta,
}

impl Default for Localisation {
    fn default() -> Self {
        Localisation {
            gamma: 10.0,
            nbeta: NBeta::DatasetLog,
        }
    }
}

/// A model, its parameter w*, the data, the localisation γ and the inverse temperature nβ.
pub struct LocalPosterior<'a, T: Float, M: Model<T> + ?Sized> {
    model: &'a M,
    w_star: &'a [T],
    x: MatRef<'a, T>,
    y: MatRef<'a, T>,
    gamma: f64,
    nbeta: NBeta,
}

impl<T: Float, M: Model<T> + ?Sized> Clone for LocalPosterior<'_, T, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Float, M: Model<T> + ?Sized> Copy for LocalPosterior<'_, T, M> {}

impl<'a, T: Float, M: Model<T> + ?Sized> LocalPosterior<'a, T, M> {
    /// The posterior of `model` around `w_star` on inputs `x` (n × N) and targets `y` (n × M),
    /// with the DLN defaults of `expt_dln.py`: γ = 10 and nβ = n/log n. Checks the lengths,
    /// shapes and finiteness of everything once; the samplers do not check again.
    pub fn new(model: &'a M, w_star: &'a [T], x: MatRef<'a, T>, y: MatRef<'a, T>) -> Result<Self> {
        check_inputs(model, w_star, x, y)?;
        Ok(LocalPosterior {
            model,
            w_star,
            x,
            y,
            gamma: 10.0,
            nbeta: NBeta::DatasetLog,
        })
    }

    /// The same posterior with γ and nβ of `loc` (checked).
    pub fn localise(self, loc: Localisation) -> Result<Self> {
        self.localised(loc.gamma)?.tempered(loc.nbeta)
    }

    /// The same posterior with localisation strength γ (finite, ≥ 0).
    pub fn localised(mut self, gamma: f64) -> Result<Self> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::invalid("gamma", gamma, "must be finite and >= 0"));
        }
        self.gamma = gamma;
        Ok(self)
    }

    /// The same posterior at inverse temperature nβ.
    pub fn tempered(mut self, nbeta: NBeta) -> Result<Self> {
        if let NBeta::Value(v) = nbeta
            && !(v.is_finite() && v > 0.0)
        {
            return Err(Error::invalid("nbeta", v, "must be finite and > 0"));
        }
        self.nbeta = nbeta;
        Ok(self)
    }

    /// The same model, w*, γ and nβ on other targets (checked).
    pub fn with_targets(self, y: MatRef<'a, T>) -> Result<Self> {
        check_inputs(self.model, self.w_star, self.x, y)?;
        Ok(LocalPosterior { y, ..self })
    }

    /// The model.
    pub fn model(&self) -> &'a M {
        self.model
    }
    /// w*.
    pub fn w_star(&self) -> &'a [T] {
        self.w_star
    }
    /// The inputs (n × N).
    pub fn x(&self) -> MatRef<'a, T> {
        self.x
    }
    /// The targets (n × M).
    pub fn y(&self) -> MatRef<'a, T> {
        self.y
    }
    /// The number of samples n.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }
    /// The localisation strength γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// nβ as given.
    pub fn nbeta_rule(&self) -> NBeta {
        self.nbeta
    }
    /// nβ for a sampler with minibatches of `batch` rows.
    pub fn nbeta(&self, batch: usize) -> f64 {
        self.nbeta.resolve(self.n(), batch)
    }

    /// L_n(w*), the baseline of the estimator; an error when it is not finite.
    pub fn baseline_loss(&self) -> Result<f64> {
        let init_loss = crate::models::full_loss_unchecked(self.model, self.w_star, self.x, self.y);
        if !init_loss.is_finite() {
            return Err(Error::NonFinite {
                name: "w_star",
                location: "the full-data loss L_n(w*)".into(),
                value: init_loss,
            });
        }
        Ok(init_loss)
    }
}

/// One chain of any sampler.
#[derive(Clone, Debug)]
pub struct Chain<T = f64> {
    /// The recorded loss of every step.
    pub losses: Vec<f64>,
    /// (step, Metropolis–Hastings acceptance probability of a Langevin move) where the sampler
    /// records it (SGLD: every `mala_every` steps).
    pub mala: Vec<(usize, f64)>,
    /// The fraction of accepted proposals of a Metropolis-adjusted sampler (MALA).
    pub acceptance_rate: Option<f64>,
    /// The last parameter.
    pub last: Vec<T>,
}

impl<T> Chain<T> {
    /// The acceptance the divergence check reads: the MALA rate, or the recorded MALA
    /// probabilities from step `from` on.
    pub(crate) fn kept_acceptance(&self, from: usize) -> Vec<(usize, f64)> {
        match self.acceptance_rate {
            Some(a) => vec![(0, a)],
            None => self.mala.iter().copied().filter(|p| p.0 >= from).collect(),
        }
    }
}

/// A Markov chain Monte Carlo sampler of a [`LocalPosterior`]: SGLD
/// ([`SgldConfig`](super::SgldConfig)), MALA ([`MalaConfig`](super::MalaConfig)) and SGNHT
/// ([`SgnhtConfig`](super::SgnhtConfig)). Chains start at w*; chain c draws its noise from
/// Philox (seed, c, step), so the same seed gives the same chains on any number of threads.
pub trait Sampler: Sync {
    /// The chains' name in errors ("SGLD chain").
    fn process(&self) -> &'static str;
    /// Steps per chain.
    fn steps(&self) -> usize;
    /// The step size ε.
    fn epsilon(&self) -> f64;
    /// Rows per gradient (n for full-batch samplers), which resolves nβ.
    fn batch_size(&self, n: usize) -> usize;
    /// Checks the settings against n samples and d parameters.
    fn check(&self, n: usize, d: usize) -> Result<()>;
    /// Runs chains 0 … `chains` − 1 on a checked posterior (rayon over chains on the CPU).
    fn run<T: Float, M: Model<T> + ?Sized>(
        &self,
        post: &LocalPosterior<'_, T, M>,
        chains: u32,
        device: &Device,
    ) -> Result<Vec<Chain<T>>>;
}

/// Checks a sampler against a posterior and a chain count (at least one, fitting the noise
/// counter, and the chains' traces and buffers within the memory budget); returns the count as
/// the noise counter's type.
pub(crate) fn check_run<T: Float, M: Model<T> + ?Sized, S: Sampler + ?Sized>(
    sampler: &S,
    post: &LocalPosterior<'_, T, M>,
    chains: usize,
) -> Result<u32> {
    let (n, d) = (post.n(), post.w_star.len());
    sampler.check(n, d)?;
    if chains == 0 {
        return Err(Error::invalid("chains", 0, "need at least one chain"));
    }
    let chains32 = u32::try_from(chains)
        .map_err(|_| Error::invalid("chains", chains, "must fit in 32 bits"))?;
    let steps = sampler.steps();
    let size = std::mem::size_of::<T>() as u128;
    // Per chain: the loss and acceptance traces, parameters, gradients, momenta and a batch.
    let per_chain = steps as u128 * 24
        + 6 * d as u128 * size
        + sampler.batch_size(n) as u128 * (post.x.ncols() + post.y.ncols()) as u128 * size;
    crate::check::check_bytes(
        format!("{chains} chains of {steps} steps"),
        per_chain * chains as u128,
    )?;
    Ok(chains32)
}

/// Runs `chains` chains of `sampler` on `post` (checked first).
pub fn sample<T: Float, M: Model<T> + ?Sized, S: Sampler>(
    sampler: &S,
    post: &LocalPosterior<'_, T, M>,
    chains: usize,
    device: &Device,
) -> Result<Vec<Chain<T>>> {
    let chains = check_run(sampler, post, chains)?;
    sampler.run(post, chains, device)
}

/// The data as minibatch samplers read it: the caller's matrices (for the full-data loss), and
/// a row-major copy made once, so a minibatch is gathered as whole contiguous rows (column-major
/// data would cost a cache miss per entry).
pub(crate) struct Rows<'a, T> {
    pub(crate) x: MatRef<'a, T>,
    pub(crate) y: MatRef<'a, T>,
    x_rows: Vec<T>,
    y_rows: Vec<T>,
}

impl<'a, T: Float> Rows<'a, T> {
    pub(crate) fn new(x: MatRef<'a, T>, y: MatRef<'a, T>) -> Self {
        let rows = |a: MatRef<'_, T>| -> Vec<T> {
            (0..a.nrows())
                .flat_map(|i| (0..a.ncols()).map(move |j| a[(i, j)]))
                .collect()
        };
        Rows {
            x,
            y,
            x_rows: rows(x),
            y_rows: rows(y),
        }
    }

    /// Rows `idx` into the batch buffers (row-major).
    pub(crate) fn gather(&self, idx: &[usize], xb: &mut [T], yb: &mut [T]) {
        let (a, c) = (self.x.ncols(), self.y.ncols());
        for (k, &r) in idx.iter().enumerate() {
            xb[k * a..(k + 1) * a].copy_from_slice(&self.x_rows[r * a..(r + 1) * a]);
            yb[k * c..(k + 1) * c].copy_from_slice(&self.y_rows[r * c..(r + 1) * c]);
        }
    }

    /// The batch buffers as b × N and b × M matrices.
    pub(crate) fn batch<'b>(&self, xb: &'b [T], yb: &'b [T]) -> (MatRef<'b, T>, MatRef<'b, T>) {
        let (a, c) = (self.x.ncols(), self.y.ncols());
        (
            MatRef::from_row_major_slice(xb, xb.len() / a, a),
            MatRef::from_row_major_slice(yb, yb.len() / c, c),
        )
    }
}
