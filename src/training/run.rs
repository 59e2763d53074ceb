//! One training run of the jamming / feature–lazy experiments, as `main.py: run_regular` and
//! `run_exp` of `mariogeiger/feature_lazy@3e50d5c`: build the network from a seed, train with the α
//! trick, save checkpoints on the log-linear schedule and at margin crossings, stop on the
//! original's rules, and measure how far the tangent kernel moved, ‖Θ_final − Θ₀‖_F / ‖Θ₀‖_F, on a
//! separate kernel set. The result is a [`RunRecord`], serialisable as JSON, from which the
//! analyses of [`crate::science::phase_diagram`] run long after training.
//!
//! Stop rules: a NaN output; every training margin α y f̃ above `stop_margin` (nd = 0, "fitted");
//! a zero gradient; the budget (wall-clock seconds, as the original, and/or accepted steps, which
//! unlike the wall clock gives the same record on every machine).

use std::time::Instant;

use faer::MatRef;
use serde::{Deserialize, Serialize};

use super::checkpoints::LogLinearSchedule;
use super::gradient_flow::{Integrator, Method};
use super::margin_objective::{MarginObjective, mean_loss};
use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::{Activation, Bias, Dense, MarginLoss, Workspace};

/// JSON has no NaN or ∞: serde_json writes them as `null`, read back here as NaN.
fn null_is_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`null_is_nan`] for every entry of a vector.
fn nulls_are_nan<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// [`nulls_are_nan`] for an optional vector.
fn optional_nulls_are_nan<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<f64>>, D::Error> {
    Ok(Option::<Vec<Option<f64>>>::deserialize(d)?
        .map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()))
}

/// Floating-point precision of a run (tangent kernels are always f64).
pub use crate::backend::Precision;

/// When a run stops, besides fitting.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Wall-clock seconds from the start of training (the original's `--max_wall`).
    pub max_wall: Option<f64>,
    /// Accepted steps.
    pub max_steps: Option<u64>,
}

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Width h.
    pub h: usize,
    /// Hidden layers L.
    pub depth: usize,
    /// Activation (normalised).
    pub activation: Activation,
    /// Biases on every layer.
    pub bias: bool,
    /// α (the review's α̃ = √h·α_article).
    pub alpha: f64,
    /// Loss.
    pub loss: MarginLoss,
    /// Initialisation seed (the original's `--seed_init`).
    pub seed_init: u64,
    /// Integrator.
    pub method: Method,
    /// Checkpoint spacing (`--ckpt_step`).
    pub ckpt_step: f64,
    /// Checkpoint time scale (`--ckpt_tau`).
    pub ckpt_tau: f64,
    /// Stop when every training margin α y f̃ exceeds this (`--stop_margin`).
    pub stop_margin: f64,
    /// Budget.
    pub budget: Budget,
    /// Precision.
    pub precision: Precision,
    /// Measure ‖ΔΘ‖/‖Θ₀‖ on the kernel set (`--delta_kernel 1`).
    pub delta_kernel: bool,
    /// Threads of one run's GEMMs (1: sequential, the right choice when runs go in parallel).
    pub threads: usize,
    /// Keep the final parameters in the record ([`RunRecord::weights`]), to sample around them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_weights: bool,
}

impl RunConfig {
    /// The original's run (`main.py` defaults and the README commands): L = 2, swish β = 10, soft
    /// hinge β = 20, adaptive flow with max_dgrad = 1e-4 and max_dout = 0.1/α, checkpoints (500,
    /// 10⁴), stop margin 1, f64, kernel change measured; budget `max_wall` seconds.
    pub fn original(h: usize, alpha: f64, seed_init: u64, max_wall: f64) -> Self {
        RunConfig {
            h,
            depth: 2,
            activation: Activation::Swish { beta: 10.0 },
            bias: false,
            alpha,
            loss: MarginLoss::ORIGINAL,
            seed_init,
            method: Method::original(alpha),
            ckpt_step: 500.0,
            ckpt_tau: 1e4,
            stop_margin: 1.0,
            budget: Budget {
                max_wall: Some(max_wall),
                max_steps: None,
            },
            precision: Precision::F64,
            delta_kernel: true,
            threads: 1,
            keep_weights: false,
        }
    }

    /// The network this run trains on inputs of dimension `d`.
    pub fn network(&self, d: usize) -> Result<Dense> {
        Dense::ntk(d, self.h, self.depth, self.activation)?.with_bias(if self.bias {
            Bias::All
        } else {
            Bias::None
        })
    }

    /// The seed of the initial weights: `seed_init`, α and P mixed (the original seeds PyTorch
    /// with `seed_init + hash(α) + P`, so runs at different α or P start from different weights).
    pub fn init_seed(&self, p: usize) -> u64 {
        let mut z = self.seed_init
            ^ self.alpha.to_bits().rotate_left(17)
            ^ (p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Statistics of the outputs on one set at one checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetStats {
    /// Mean loss L.
    #[serde(deserialize_with = "null_is_nan")]
    pub loss: f64,
    /// α·L, the loss of the scaled output F = αf̃.
    #[serde(deserialize_with = "null_is_nan")]
    pub aloss: f64,
    /// Fraction with y f̃ ≤ 0.
    #[serde(deserialize_with = "null_is_nan")]
    pub err: f64,
    /// Number with α y f̃ < 1 (unsatisfied margins).
    pub nd: usize,
    /// min α y f̃.
    #[serde(deserialize_with = "null_is_nan")]
    pub mind: f64,
    /// max α y f̃.
    #[serde(deserialize_with = "null_is_nan")]
    pub maxd: f64,
    /// rms of f̃.
    #[serde(deserialize_with = "null_is_nan")]
    pub dfnorm: f64,
    /// rms of f.
    #[serde(deserialize_with = "null_is_nan")]
    pub fnorm: f64,
    /// The outputs f̃ (not multiplied by α), kept at margin crossings, at the final checkpoint and
    /// at the best test error so far.
    #[serde(deserialize_with = "optional_nulls_are_nan")]
    pub outputs: Option<Vec<f64>>,
}

/// The state saved at one checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Accepted steps.
    pub step: u64,
    /// Continuous time.
    #[serde(deserialize_with = "null_is_nan")]
    pub t: f64,
    /// Last accepted dt.
    #[serde(deserialize_with = "null_is_nan")]
    pub dt: f64,
    /// Its gradient-direction change.
    #[serde(deserialize_with = "null_is_nan")]
    pub dgrad: f64,
    /// Its largest output change.
    #[serde(deserialize_with = "null_is_nan")]
    pub dout: f64,
    /// ‖∇L‖.
    #[serde(deserialize_with = "null_is_nan")]
    pub grad_norm: f64,
    /// Seconds since the start of training.
    #[serde(deserialize_with = "null_is_nan")]
    pub wall: f64,
    /// ‖w‖.
    #[serde(deserialize_with = "null_is_nan")]
    pub norm: f64,
    /// ‖w − w₀‖.
    #[serde(deserialize_with = "null_is_nan")]
    pub dnorm: f64,
    /// ‖Wˡ‖ per layer.
    #[serde(deserialize_with = "nulls_are_nan")]
    pub wnorm: Vec<f64>,
    /// ‖Wˡ − Wˡ₀‖ per layer.
    #[serde(deserialize_with = "nulls_are_nan")]
    pub dwnorm: Vec<f64>,
    /// Training set.
    pub train: SetStats,
    /// Test set.
    pub test: SetStats,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// Every training margin reached `stop_margin` (nd = 0).
    Fitted,
    /// The wall-clock budget ran out.
    Wall,
    /// The step budget ran out.
    Steps,
    /// A NaN output.
    Nan,
    /// The gradient vanished.
    ZeroGradient,
    /// The adaptive step collapsed (60 rejections in a row).
    StepCollapsed,
}

/// Norms of the tangent kernel on the kernel set, before and after training.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeltaKernel {
    /// ‖Θ_final − Θ₀‖_F.
    #[serde(deserialize_with = "null_is_nan")]
    pub diff: f64,
    /// ‖Θ₀‖_F.
    #[serde(deserialize_with = "null_is_nan")]
    pub init_norm: f64,
    /// ‖Θ_final‖_F.
    #[serde(deserialize_with = "null_is_nan")]
    pub final_norm: f64,
}

impl DeltaKernel {
    /// The feature/lazy order parameter ‖ΔΘ‖/‖Θ₀‖.
    pub fn ratio(&self) -> f64 {
        self.diff / self.init_norm
    }
}

/// Which data a run saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// A name ("mnist-embedded-pca10", …).
    pub name: String,
    /// Input dimension d.
    pub d: usize,
    /// Training points P.
    pub train: usize,
    /// Test points.
    pub test: usize,
    /// Kernel points.
    pub kernel: usize,
}

/// Everything a finished run leaves behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The configuration.
    pub config: RunConfig,
    /// The data.
    pub data: DataInfo,
    /// Number of parameters N.
    pub n_params: usize,
    /// Why it stopped.
    pub stop: StopReason,
    /// The checkpoints, in order; the last one is the final state.
    pub dynamics: Vec<Checkpoint>,
    /// Index in `dynamics` of the checkpoint with the lowest test error.
    pub best_test: usize,
    /// Labels of the test set (the ensemble error needs them).
    pub test_labels: Vec<f64>,
    /// Tangent-kernel change on the kernel set.
    pub delta_kernel: Option<DeltaKernel>,
    /// Total wall-clock seconds, kernels included.
    pub wall: f64,
    /// The final parameters (in f64), when [`RunConfig::keep_weights`] asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
}

impl RunRecord {
    /// The final checkpoint.
    pub fn last(&self) -> &Checkpoint {
        self.dynamics
            .last()
            .expect("a record has at least one checkpoint")
    }

    /// The record as JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Format(format!("run record: {e}")))
    }

    /// A record from JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let r: RunRecord =
            serde_json::from_str(text).map_err(|e| Error::Format(format!("run record: {e}")))?;
        if r.dynamics.is_empty() || r.best_test >= r.dynamics.len() {
            return Err(Error::Format(
                "run record: no checkpoint, or best_test out of range".into(),
            ));
        }
        Ok(r)
    }

    /// A short file name for the record: `h{h}_a{α}_s{seed}.json`.
    pub fn file_name(&self) -> String {
        format!(
            "h{}_a{:e}_s{}.json",
            self.config.h, self.config.alpha, self.config.seed_init
        )
    }
}

/// Writes records as JSON files into `dir` (created if needed); returns their paths.
pub fn save_records(
    dir: &std::path::Path,
    records: &[RunRecord],
) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    records
        .iter()
        .map(|r| {
            let path = dir.join(r.file_name());
            std::fs::write(&path, r.to_json()?).map_err(|e| Error::io(&path, e))?;
            Ok(path)
        })
        .collect()
}

/// Reads every `*.json` run record in `dir`, sorted by file name.
pub fn load_records(dir: &std::path::Path) -> Result<Vec<RunRecord>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
            RunRecord::from_json(&text).map_err(|e| Error::Format(format!("{}: {e}", p.display())))
        })
        .collect()
}

/// The data of a run: training, test and kernel sets (labels ±1).
#[derive(Clone, Copy, Debug)]
pub struct RunData<'a, T: Float> {
    /// Training inputs, P × d.
    pub x_train: MatRef<'a, T>,
    /// Training labels.
    pub y_train: &'a [T],
    /// Test inputs.
    pub x_test: MatRef<'a, T>,
    /// Test labels.
    pub y_test: &'a [T],
    /// Kernel-set inputs (may have no rows when `delta_kernel` is off).
    pub x_kernel: MatRef<'a, T>,
    /// A name for the record.
    pub name: &'a str,
}

fn set_stats<T: Float>(loss: MarginLoss, fdiff: &[T], f0: &[T], y: &[T], alpha: f64) -> SetStats {
    let n = fdiff.len().max(1) as f64;
    let a = T::of(alpha);
    let l = mean_loss(loss, fdiff, y, a);
    let (mut err, mut nd, mut mind, mut maxd, mut df, mut f) =
        (0usize, 0usize, f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0);
    for ((&o, &y), &o0) in fdiff.iter().zip(y).zip(f0) {
        let (o, y) = (o.to_f64(), y.to_f64());
        let m = alpha * y * o;
        err += (y * o <= 0.0) as usize;
        nd += (m < 1.0) as usize;
        mind = mind.min(m);
        maxd = maxd.max(m);
        df += o * o;
        let full = o + o0.to_f64();
        f += full * full;
    }
    SetStats {
        loss: l,
        aloss: alpha * l,
        err: err as f64 / n,
        nd,
        mind,
        maxd,
        dfnorm: (df / n).sqrt(),
        fnorm: (f / n).sqrt(),
        outputs: None,
    }
}

fn norms<T: Float>(net: &Dense, w: &[T], w0: &[T]) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let sq = |a: &[T], b: Option<&[T]>| -> f64 {
        match b {
            None => a.iter().map(|v| v.to_f64().powi(2)).sum(),
            Some(b) => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x.to_f64() - y.to_f64()).powi(2))
                .sum(),
        }
    };
    let (mut wn, mut dwn) = (vec![], vec![]);
    for l in 0..net.layers() {
        let r = net.layer_ranges(l).0;
        wn.push(sq(&w[r.clone()], None).sqrt());
        dwn.push(sq(&w[r.clone()], Some(&w0[r])).sqrt());
    }
    (sq(w, None).sqrt(), sq(w, Some(w0)).sqrt(), wn, dwn)
}

/// Trains one network and returns its record. `on_checkpoint(step)` is called at every saved
/// checkpoint (progress bars).
pub fn train<T: Float>(
    cfg: &RunConfig,
    data: &RunData<'_, T>,
    on_checkpoint: &(dyn Fn(u64) + Sync),
) -> Result<RunRecord> {
    let start = Instant::now();
    let d = data.x_train.ncols();
    let net = cfg.network(d)?;
    if !(cfg.stop_margin.is_finite()) {
        return Err(Error::invalid(
            "stop_margin",
            cfg.stop_margin,
            "must be finite",
        ));
    }
    if let Some(wall) = cfg.budget.max_wall
        && (wall.is_nan() || wall < 0.0)
    {
        return Err(Error::invalid("max_wall", wall, "must be ≥ 0"));
    }
    if data.x_test.ncols() != d || (data.x_kernel.nrows() > 0 && data.x_kernel.ncols() != d) {
        return Err(Error::ShapeMismatch {
            what: "test and kernel inputs against the training inputs".into(),
            expected: format!("{d} columns"),
            got: format!("{} and {}", data.x_test.ncols(), data.x_kernel.ncols()),
        });
    }
    if data.y_test.len() != data.x_test.nrows() {
        return Err(Error::ShapeMismatch {
            what: "test labels against test inputs".into(),
            expected: format!("{}", data.x_test.nrows()),
            got: format!("{}", data.y_test.len()),
        });
    }
    if data.x_test.nrows() == 0 || data.x_train.nrows() == 0 {
        return Err(Error::invalid(
            "training and test sets",
            format!(
                "{} and {} points",
                data.x_train.nrows(),
                data.x_test.nrows()
            ),
            "a run needs training and test points",
        ));
    }
    crate::check::check_finite_mat("test inputs", data.x_test)?;
    if cfg.delta_kernel && data.x_kernel.nrows() == 0 {
        return Err(Error::invalid(
            "kernel set",
            "0 points",
            "delta_kernel needs kernel points",
        ));
    }
    let p = data.x_train.nrows();
    let w0: Vec<T> = net.init(cfg.init_seed(p));
    let mut obj = MarginObjective::new(
        &net,
        &w0,
        data.x_train,
        data.y_train,
        cfg.alpha,
        cfg.loss,
        cfg.threads,
    )?;
    let f0_train = obj.initial_outputs().to_vec();
    let mut test_ws = Workspace::<T>::new().parallel(cfg.threads);
    net.forward(&w0, data.x_test, &mut test_ws)?;
    let f0_test = test_ws.output(0).to_vec();
    let mut integ = Integrator::new(&mut obj, w0.clone(), cfg.method)?;
    let mut schedule = LogLinearSchedule::new(cfg.ckpt_step, cfg.ckpt_tau)?.peekable();
    let mut next_margin = 0.0f64;
    let mut dynamics: Vec<Checkpoint> = vec![];
    let mut best: Option<(usize, f64)> = None;
    let mut keep: Vec<bool> = vec![];
    let alpha = cfg.alpha;
    let mut test_diff = vec![T::ZERO; data.x_test.nrows()];
    let mut collapsed = false;
    let stop = loop {
        let step = integ.steps();
        let out = integ.outputs();
        let mut mind = f64::INFINITY;
        let mut nan = false;
        for (o, y) in out.iter().zip(data.y_train) {
            let v = o.to_f64();
            nan |= v.is_nan();
            mind = mind.min(alpha * y.to_f64() * v);
        }
        let wall = start.elapsed().as_secs_f64();
        let mut save = false;
        while schedule.peek().is_some_and(|&s| s <= step) {
            save |= schedule.next() == Some(step);
        }
        let mut crossing = false;
        while mind >= next_margin {
            crossing = true;
            next_margin += 0.5;
        }
        let grad_norm = integ.grad_norm();
        let stop = if collapsed {
            Some(StopReason::StepCollapsed)
        } else if nan {
            Some(StopReason::Nan)
        } else if mind > cfg.stop_margin {
            Some(StopReason::Fitted)
        } else if grad_norm == 0.0 {
            Some(StopReason::ZeroGradient)
        } else if cfg.budget.max_wall.is_some_and(|m| wall > m) {
            Some(StopReason::Wall)
        } else if cfg.budget.max_steps.is_some_and(|m| step >= m) {
            Some(StopReason::Steps)
        } else {
            None
        };
        if save || crossing || stop.is_some() {
            let w = integ.weights();
            net.forward(w, data.x_test, &mut test_ws)?;
            let f = test_ws.output(0);
            for ((t, &fv), &f0) in test_diff.iter_mut().zip(f).zip(&f0_test) {
                *t = fv - f0;
            }
            let mut test = set_stats(cfg.loss, &test_diff, &f0_test, data.y_test, alpha);
            let mut train = set_stats(cfg.loss, out, &f0_train, data.y_train, alpha);
            let idx = dynamics.len();
            let better = best.is_none_or(|(_, e)| test.err < e);
            if better {
                if let Some((b, _)) = best
                    && !keep[b]
                {
                    dynamics[b].test.outputs = None;
                    dynamics[b].train.outputs = None;
                }
                best = Some((idx, test.err));
            }
            if better || crossing || stop.is_some() {
                test.outputs = Some(test_diff.iter().map(|v| v.to_f64()).collect());
                train.outputs = Some(out.iter().map(|v| v.to_f64()).collect());
            }
            keep.push(crossing || stop.is_some());
            let (norm, dnorm, wnorm, dwnorm) = norms(&net, w, &w0);
            let last = integ.last_step();
            dynamics.push(Checkpoint {
                step,
                t: integ.time(),
                dt: last.map_or(0.0, |s| s.dt),
                dgrad: last.map_or(0.0, |s| s.dgrad),
                dout: last.map_or(0.0, |s| s.dout),
                grad_norm,
                wall,
                norm,
                dnorm,
                wnorm,
                dwnorm,
                train,
                test,
            });
            on_checkpoint(step);
        }
        if let Some(s) = stop {
            break s;
        }
        match integ.step(&mut obj) {
            Ok(_) => {}
            // The state is the last accepted one: the next pass records it as the final
            // checkpoint and stops.
            Err(Error::Numerical(_)) => collapsed = true,
            Err(e) => return Err(e),
        }
    };
    let delta_kernel = if cfg.delta_kernel {
        let k0 = net.tangent_kernel(&w0, data.x_kernel, None, 0, cfg.threads)?;
        let k1 = net.tangent_kernel(integ.weights(), data.x_kernel, None, 0, cfg.threads)?;
        let (mut diff, mut n0, mut n1) = (0.0, 0.0, 0.0);
        for j in 0..k0.ncols() {
            for (a, b) in k0.col_as_slice(j).iter().zip(k1.col_as_slice(j)) {
                diff += (b - a) * (b - a);
                n0 += a * a;
                n1 += b * b;
            }
        }
        Some(DeltaKernel {
            diff: diff.sqrt(),
            init_norm: n0.sqrt(),
            final_norm: n1.sqrt(),
        })
    } else {
        None
    };
    Ok(RunRecord {
        config: cfg.clone(),
        data: DataInfo {
            name: data.name.to_string(),
            d,
            train: p,
            test: data.x_test.nrows(),
            kernel: data.x_kernel.nrows(),
        },
        n_params: net.num_params(),
        stop,
        best_test: best.map_or(0, |b| b.0),
        dynamics,
        test_labels: data.y_test.iter().map(|v| v.to_f64()).collect(),
        delta_kernel,
        wall: start.elapsed().as_secs_f64(),
        weights: cfg
            .keep_weights
            .then(|| integ.weights().iter().map(|v| v.to_f64()).collect()),
    })
}

/// Trains on the sets of a [`PcaSplits`](crate::data::PcaSplits) in the configuration's precision.
pub fn train_on_splits(
    cfg: &RunConfig,
    splits: &crate::data::PcaSplits,
    name: &str,
    on_checkpoint: &(dyn Fn(u64) + Sync),
) -> Result<RunRecord> {
    fn go<T: Float>(
        cfg: &RunConfig,
        s: &crate::data::PcaSplits,
        name: &str,
        cb: &(dyn Fn(u64) + Sync),
    ) -> Result<RunRecord> {
        let (xtr, xte, xk) = (
            s.train.x_as::<T>(),
            s.test.x_as::<T>(),
            s.kernel.x_as::<T>(),
        );
        let (ytr, yte) = (s.train.y_as::<T>(), s.test.y_as::<T>());
        let data = RunData {
            x_train: xtr.as_ref(),
            y_train: &ytr,
            x_test: xte.as_ref(),
            y_test: &yte,
            x_kernel: xk.as_ref(),
            name,
        };
        train(cfg, &data, cb)
    }
    match cfg.precision {
        Precision::F32 => go::<f32>(cfg, splits, name, on_checkpoint),
        Precision::F64 => go::<f64>(cfg, splits, name, on_checkpoint),
    }
}
