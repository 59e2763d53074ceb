//! The local learning coefficient in devinterp's shape: any of the crate's samplers (SGLD, MALA,
//! SGNHT) on a network from Python, results as a dict; the step-size calibration, R̂ and ESS on
//! any chains × draws array, and Aoyagi's closed form for deep linear networks.

use doubledescent::Device;
use doubledescent::models::Model;
use doubledescent::sampling::{
    BurnIn, EpsilonSearch, LlcConfig, LlcSummary, LocalPosterior, Localisation, MalaConfig, NBeta,
    SgldConfig, SgnhtConfig, calibrate_epsilon as crate_calibrate,
    dln_learning_coefficient as crate_aoyagi, effective_sample_size, estimate_llc, split_rhat,
};
use numpy::{PyArray2, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{Real, Supervised, common_dtype, rows_out};
use crate::device::device;
use crate::errors::IntoPy;
use crate::models::{Held, ModelRef};
use crate::with_model;

/// Sampler settings shared by the estimator and the calibration.
#[derive(Clone, Copy)]
struct Settings<'a> {
    sampler: &'a str,
    chains: usize,
    draws: usize,
    burn_in: usize,
    lr: f64,
    nbeta: Option<f64>,
    localization: f64,
    batch_size: Option<usize>,
    diffusion: f64,
    seed: u64,
}

fn posterior<'a, T: Real, M: Model<T>>(
    m: &'a M,
    w: &'a [T],
    x: faer::MatRef<'a, T>,
    y: faer::MatRef<'a, T>,
    s: &Settings<'_>,
) -> PyResult<LocalPosterior<'a, T, M>> {
    let nbeta = match s.nbeta {
        Some(v) => NBeta::Value(v),
        None => NBeta::BatchLog,
    };
    LocalPosterior::new(m, w, x, y)
        .and_then(|p| {
            p.localise(Localisation {
                gamma: s.localization,
                nbeta,
            })
        })
        .py_err()
}

fn summary<T: Real, M: Model<T>>(
    post: &LocalPosterior<'_, T, M>,
    s: &Settings<'_>,
    dev: &Device,
) -> doubledescent::Result<LlcSummary> {
    let n = post.n();
    let batch = s.batch_size.unwrap_or(n.min(100));
    let steps = s.burn_in + s.draws;
    let burn_in = BurnIn::Steps(s.burn_in);
    match s.sampler {
        "sgld" => estimate_llc(
            post,
            &LlcConfig {
                sampler: SgldConfig {
                    epsilon: s.lr,
                    batch_size: batch,
                    steps,
                    seed: s.seed,
                    ..Default::default()
                },
                chains: s.chains,
                burn_in,
            },
            dev,
        ),
        "mala" => estimate_llc(
            post,
            &LlcConfig {
                sampler: MalaConfig {
                    epsilon: s.lr,
                    steps,
                    seed: s.seed,
                },
                chains: s.chains,
                burn_in,
            },
            dev,
        ),
        "sgnht" => estimate_llc(
            post,
            &LlcConfig {
                sampler: SgnhtConfig {
                    epsilon: s.lr,
                    diffusion: s.diffusion,
                    batch_size: batch,
                    steps,
                    seed: s.seed,
                },
                chains: s.chains,
                burn_in,
            },
            dev,
        ),
        other => Err(doubledescent::Error::invalid(
            "sampler",
            other,
            "expected sgld, mala or sgnht",
        )),
    }
}

fn summary_dict<'py>(py: Python<'py>, s: &LlcSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("llc/mean", s.llc_mean)?;
    d.set_item("llc/std", s.llc_std)?;
    for (i, v) in s.llc_per_chain.iter().enumerate() {
        d.set_item(format!("llc-chain/{i}"), v)?;
    }
    let kept: Vec<Vec<f64>> = s
        .loss_trace
        .iter()
        .map(|c| c[s.burn_in_steps..].to_vec())
        .collect();
    let llc_trace: Vec<Vec<f64>> = kept
        .iter()
        .map(|c| c.iter().map(|l| s.nbeta * (l - s.init_loss)).collect())
        .collect();
    d.set_item("loss/trace", rows_out(py, &kept)?)?;
    d.set_item("llc/trace", rows_out(py, &llc_trace)?)?;
    d.set_item("init_loss", s.init_loss)?;
    d.set_item("nbeta", s.nbeta)?;
    d.set_item("rhat", s.r_hat)?;
    d.set_item("ess", s.ess)?;
    d.set_item("mala_accept/mean", s.mala_mean)?;
    Ok(d)
}

/// λ̂(w*) = nβ·(E[L_n(w)] − L_n(w*)) from `num_chains` chains of `sampler` around w*.
#[pyfunction]
#[pyo3(signature = (model, w_star, x, y, *, sampler = "sgld", num_chains = 4, num_draws = 200,
                    num_burnin_steps = 0, lr = 1e-4, nbeta = None, localization = 100.0,
                    batch_size = None, diffusion = 0.01, seed = 0, device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn estimate_learning_coeff<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    w_star: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    sampler: &str,
    num_chains: usize,
    num_draws: usize,
    num_burnin_steps: usize,
    lr: f64,
    nbeta: Option<f64>,
    localization: f64,
    batch_size: Option<usize>,
    diffusion: f64,
    seed: u64,
    device: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let held = Held::extract(model)?;
    let dev = self::device(device)?;
    if num_draws == 0 {
        return Err(PyValueError::new_err(
            "invalid argument `num_draws` = 0: need at least one draw",
        ));
    }
    let s = Settings {
        sampler,
        chains: num_chains,
        draws: num_draws,
        burn_in: num_burnin_steps,
        lr,
        nbeta,
        localization,
        batch_size,
        diffusion,
        seed,
    };
    fn run<'py, T: Real>(
        py: Python<'py>,
        m: ModelRef<'_>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        s: &Settings<'_>,
        dev: &Device,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Supervised { w, x, y } = Supervised::<T>::new("w_star", w, x, y)?;
        let (ws, xm, ym) = (w.slice(), x.mat(), y.mat());
        let out = with_model!(m, |m| {
            let post = posterior(m, ws, xm, ym, s)?;
            py.detach(|| summary(&post, s, dev)).py_err()?
        });
        summary_dict(py, &out)
    }
    by_dtype!(
        common_dtype(&[("w_star", w_star), ("x", x), ("y", y)])?,
        run(py, held.get(), w_star, x, y, &s, &dev)
    )
}

/// Picks SGLD's step size: the largest ε in [lo, hi] whose pilot chains reach the target mean
/// MALA acceptance. Returns {"epsilon", "acceptance", "trials"}.
#[pyfunction]
#[pyo3(signature = (model, w_star, x, y, *, nbeta = None, localization = 100.0, batch_size = None,
                    target_acceptance = 0.9, pilot_steps = 200, chains = 2, lo = 1e-9, hi = 1e-2,
                    iterations = 10, seed = 0, device = "auto"))]
#[allow(clippy::too_many_arguments)]
pub fn calibrate_epsilon<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    w_star: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    nbeta: Option<f64>,
    localization: f64,
    batch_size: Option<usize>,
    target_acceptance: f64,
    pilot_steps: usize,
    chains: usize,
    lo: f64,
    hi: f64,
    iterations: usize,
    seed: u64,
    device: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let held = Held::extract(model)?;
    let dev = self::device(device)?;
    let search = EpsilonSearch {
        target_acceptance,
        pilot_steps,
        chains,
        lo,
        hi,
        iterations,
    };
    let s = Settings {
        sampler: "sgld",
        chains,
        draws: pilot_steps,
        burn_in: 0,
        lr: lo,
        nbeta,
        localization,
        batch_size,
        diffusion: 0.0,
        seed,
    };
    #[allow(clippy::too_many_arguments)]
    fn run<'py, T: Real>(
        py: Python<'py>,
        m: ModelRef<'_>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        s: &Settings<'_>,
        search: &EpsilonSearch,
        dev: &Device,
    ) -> PyResult<Bound<'py, PyDict>> {
        let Supervised { w, x, y } = Supervised::<T>::new("w_star", w, x, y)?;
        let (ws, xm, ym) = (w.slice(), x.mat(), y.mat());
        let cal = with_model!(m, |m| {
            let post = posterior(m, ws, xm, ym, s)?;
            let base = SgldConfig {
                batch_size: s.batch_size.unwrap_or(post.n().min(100)),
                seed: s.seed,
                ..Default::default()
            };
            py.detach(|| crate_calibrate(&post, &base, search, dev))
                .py_err()?
        });
        let d = PyDict::new(py);
        d.set_item("epsilon", cal.epsilon)?;
        d.set_item("acceptance", cal.acceptance)?;
        d.set_item("trials", cal.trials)?;
        Ok(d)
    }
    by_dtype!(
        common_dtype(&[("w_star", w_star), ("x", x), ("y", y)])?,
        run(py, held.get(), w_star, x, y, &s, &search, &dev)
    )
}

/// The rows of a chains × draws array as float64 vectors.
fn chains_of(trace: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f64>>> {
    let arr = trace.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err("`trace` must be a NumPy array (chains × draws) of float32 or float64")
    })?;
    if arr.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "`trace` must be a 2-d array (chains × draws), got a {}-d array of shape {:?}",
            arr.ndim(),
            arr.shape()
        )));
    }
    crate::arrays::check_aligned("trace", arr)?;
    fn rows<T: Real>(trace: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f64>>> {
        let a = trace
            .cast::<PyArray2<T>>()?
            .try_readonly()
            .map_err(|e| PyValueError::new_err(format!("`trace` cannot be read: {e}")))?;
        let v = a.as_array();
        Ok(v.rows()
            .into_iter()
            .map(|r| r.iter().map(|x| x.to_f64()).collect())
            .collect())
    }
    by_dtype!(common_dtype(&[("trace", trace)])?, rows(trace))
}

/// Split R̂ of a chains × draws array (Gelman et al., BDA3; ArviZ's `rhat(method="split")`).
#[pyfunction]
pub fn rhat(trace: &Bound<'_, PyAny>) -> PyResult<f64> {
    let c = chains_of(trace)?;
    let refs: Vec<&[f64]> = c.iter().map(Vec::as_slice).collect();
    split_rhat(&refs).py_err()
}

/// Effective sample size of a chains × draws array (split chains, Geyer's initial monotone
/// sequence; ArviZ's `ess(method="mean")`).
#[pyfunction]
pub fn ess(trace: &Bound<'_, PyAny>) -> PyResult<f64> {
    let c = chains_of(trace)?;
    let refs: Vec<&[f64]> = c.iter().map(Vec::as_slice).collect();
    effective_sample_size(&refs).py_err()
}

/// Aoyagi's λ and multiplicity m for a deep linear network with layer sizes `sizes` at a true
/// parameter of rank `rank`.
#[pyfunction]
pub fn dln_learning_coefficient(sizes: Vec<usize>, rank: usize) -> PyResult<(f64, usize)> {
    let lc = crate_aoyagi(&sizes, rank).py_err()?;
    Ok((lc.lambda, lc.multiplicity))
}
