//! The local learning coefficient of trained networks: λ̂ at the end of training, on the training
//! data, for the tutorial's networks across the interpolation threshold and the phase diagram's
//! networks across the jamming transition. New science: none of the five sources measures it
//! (the LLC paper, arXiv 2308.12108, samples deep linear networks and MNIST MLPs; the tutorial
//! and the phase diagram report errors, not λ̂).
//!
//! Both posteriors are the samplers' localised tempered posterior around the trained parameter
//! w* on the training loss the network was trained on: the mean squared error of the one-hot
//! outputs for the tutorial's networks, the α-trick margin objective
//! ([`MarginNetwork`]) for the phase diagram's.

use faer::{Mat, MatRef};

use super::width_sweep::WidthRun;
use crate::backend::{Device, Float};
use crate::error::{Error, Result};
use crate::models::{Dense, MarginNetwork};
use crate::sampling::{
    EpsilonCalibration, EpsilonSearch, LlcConfig, LlcSummary, LocalPosterior, Localisation,
    SgldConfig, calibrate_epsilon, estimate_llc,
};
use crate::training::RunRecord;

/// λ̂ of one trained network and the step size it was sampled with.
#[derive(Clone, Debug)]
pub struct NetworkLlc {
    /// The estimate.
    pub summary: LlcSummary,
    /// The calibration that chose ε (`None` when ε was given).
    pub calibration: Option<EpsilonCalibration>,
}

/// SGLD λ̂ on `post`, with ε from `search` (pilot chains at the target MALA acceptance) when
/// given, else `cfg`'s own.
fn sample<T: Float, M: crate::models::Model<T> + ?Sized>(
    post: &LocalPosterior<'_, T, M>,
    cfg: &LlcConfig<SgldConfig>,
    search: Option<&EpsilonSearch>,
    device: &Device,
) -> Result<NetworkLlc> {
    let mut cfg = cfg.clone();
    let calibration = match search {
        Some(s) => {
            let c = calibrate_epsilon(post, &cfg.sampler, s, device)?;
            cfg.sampler.epsilon = c.epsilon;
            Some(c)
        }
        None => None,
    };
    Ok(NetworkLlc {
        summary: estimate_llc(post, &cfg, device)?,
        calibration,
    })
}

/// λ̂ of a trained tutorial network (one run of
/// [`width_sweep`](super::width_sweep::width_sweep)) at its final parameters, on its training
/// set (x, one-hot y), in the precision of the data.
pub fn width_run_llc<T: Float>(
    run: &WidthRun,
    x: MatRef<'_, T>,
    y: MatRef<'_, T>,
    localisation: Localisation,
    cfg: &LlcConfig<SgldConfig>,
    search: Option<&EpsilonSearch>,
    device: &Device,
) -> Result<NetworkLlc> {
    let net = Dense::tutorial(x.ncols(), run.width, y.ncols())?;
    let w: Vec<T> = run.weights.iter().map(|&v| T::of(v)).collect();
    let post = LocalPosterior::new(&net, &w, x, y)?.localise(localisation)?;
    sample(&post, cfg, search, device)
}

/// λ̂ of a trained phase-diagram network (a record made with
/// [`RunConfig::keep_weights`](crate::training::RunConfig::keep_weights)) at its final
/// parameters, on its training set (x, labels ±1), with the α-trick objective around the
/// run's own initialisation.
pub fn record_llc<T: Float>(
    record: &RunRecord,
    x: MatRef<'_, T>,
    labels: &[T],
    localisation: Localisation,
    cfg: &LlcConfig<SgldConfig>,
    search: Option<&EpsilonSearch>,
    device: &Device,
) -> Result<NetworkLlc> {
    let weights = record.weights.as_ref().ok_or_else(|| {
        Error::invalid(
            "record",
            record.file_name(),
            "has no final parameters (train with `keep_weights`)",
        )
    })?;
    if labels.len() != x.nrows() {
        return Err(Error::ShapeMismatch {
            what: "labels against inputs".into(),
            expected: x.nrows().to_string(),
            got: labels.len().to_string(),
        });
    }
    let c = &record.config;
    let net = c.network(x.ncols())?;
    let w0: Vec<T> = net.init(c.init_seed(x.nrows()));
    let model = MarginNetwork::new(net, w0, c.alpha, c.loss)?;
    let w: Vec<T> = weights.iter().map(|&v| T::of(v)).collect();
    let y = Mat::from_fn(labels.len(), 1, |i, _| labels[i]);
    let post = LocalPosterior::new(&model, &w, x, y.as_ref())?.localise(localisation)?;
    sample(&post, cfg, search, device)
}
