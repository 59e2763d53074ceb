//! The deep linear network of `validating_lambdahat` (`edmundlth/validating_lambdahat@375e6fa`, `dln.py`): f(x) = x W₁ W₂ ⋯ W_L
//! with W_k of shape H_k × H_{k+1}, H = [N, hidden widths…, M], no biases, MSE averaged over batch
//! and outputs. Flat parameters: W₁, …, W_L one after another, each column-major.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::Model;
use crate::error::{Error, Result};
use crate::random::Rng;

/// A deep linear network with layer sizes H = [N, H₂, …, H_L, M].
#[derive(Clone, Debug)]
pub struct DeepLinearNetwork {
    sizes: Vec<usize>,
    offsets: Vec<usize>,
}

/// How to build the true parameter w* (`true_param_config["method"]` of `expt_dln.py`, `initialise_expt`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrueParam {
    /// The random initialisation (full rank generically).
    Random,
    /// All matrices zero (rank 0).
    Zero,
    /// Each matrix, with probability `prop_rank_reduce`, has its rank r reduced by a uniform
    /// amount in {0, …, r − 1} (SVD truncation), as in the paper's sweeps (0.5).
    RandRank {
        /// Probability that a matrix is rank-reduced.
        prop_rank_reduce: f64,
    },
}

impl DeepLinearNetwork {
    /// Input dimension N, hidden widths, output dimension M (the original's `layer_widths` is
    /// hidden widths followed by M).
    pub fn new(input_dim: usize, hidden: &[usize], output_dim: usize) -> Result<Self> {
        let (sizes, offsets) = super::layer_layout(input_dim, hidden, output_dim, |a, b| a * b)?;
        Ok(DeepLinearNetwork { sizes, offsets })
    }

    /// H = [N, H₂, …, M].
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Number of weight matrices L.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    /// W_k (0-based) as a view into the flat parameters.
    pub fn layer<'a>(&self, w: &'a [f64], k: usize) -> MatRef<'a, f64> {
        MatRef::from_column_major_slice(
            &w[self.offsets[k]..self.offsets[k + 1]],
            self.sizes[k],
            self.sizes[k + 1],
        )
    }

    /// The end-to-end matrix W₁ ⋯ W_L (N × M).
    pub fn product(&self, w: &[f64]) -> Mat<f64> {
        let mut p = self.layer(w, 0).to_owned();
        for k in 1..self.depth() {
            p = &p * self.layer(w, k);
        }
        p
    }

    /// A_k = X W₁ ⋯ W_k for k = 1 … L (the last is the output).
    fn activations(&self, w: &[f64], x: MatRef<'_, f64>) -> Vec<Mat<f64>> {
        let mut acts: Vec<Mat<f64>> = Vec::with_capacity(self.depth());
        for k in 0..self.depth() {
            let mut next = Mat::zeros(x.nrows(), self.sizes[k + 1]);
            let prev = if k == 0 { x } else { acts[k - 1].as_ref() };
            matmul(
                next.as_mut(),
                Accum::Replace,
                prev,
                self.layer(w, k),
                1.0,
                Par::Seq,
            );
            acts.push(next);
        }
        acts
    }

    /// Random weights with entries N(0, std²) (the saddle-to-saddle small initialisation uses
    /// std² = width^−1.5), or, with `std = None`, haiku's default truncated normal with
    /// std 1/√fan_in truncated at ±2 std.
    pub fn init(&self, rng: &mut Rng, std: Option<f64>) -> Vec<f64> {
        let mut w = Vec::with_capacity(self.num_params());
        for k in 0..self.depth() {
            let fan_in = self.sizes[k] as f64;
            for _ in 0..self.sizes[k] * self.sizes[k + 1] {
                let v = match std {
                    Some(s) => s * rng.sample::<f64, _>(StandardNormal),
                    None => loop {
                        let z: f64 = rng.sample(StandardNormal);
                        if z.abs() <= 2.0 {
                            // haiku rescales so the truncated law has std 1/√fan_in.
                            break z / 0.879_625_661_034_239_8 / fan_in.sqrt();
                        }
                    },
                };
                w.push(v);
            }
        }
        w
    }

    /// A true parameter w* built from a random initialisation (`initialise_expt` of `expt_dln.py`).
    pub fn true_param(&self, rng: &mut Rng, method: TrueParam) -> Result<Vec<f64>> {
        let mut w = self.init(rng, None);
        match method {
            TrueParam::Random => {}
            TrueParam::Zero => w.iter_mut().for_each(|v| *v = 0.0),
            TrueParam::RandRank { prop_rank_reduce } => {
                if !(0.0..=1.0).contains(&prop_rank_reduce) {
                    return Err(Error::invalid(
                        "prop_rank_reduce",
                        prop_rank_reduce,
                        "must lie in [0, 1]",
                    ));
                }
                for k in 0..self.depth() {
                    if rng.random::<f64>() >= prop_rank_reduce {
                        continue;
                    }
                    let m = self.layer(&w, k).to_owned();
                    let svd = crate::linalg::thin_svd(m.as_ref(), Par::Seq)?;
                    let r = numerical_rank(&svd.s, m.nrows(), m.ncols());
                    let reduction = rng.random_range(0..r.max(1));
                    let keep = svd.s.len() - reduction.min(svd.s.len());
                    let mut out = Mat::<f64>::zeros(m.nrows(), m.ncols());
                    for i in 0..keep {
                        for c in 0..m.ncols() {
                            for rr in 0..m.nrows() {
                                out[(rr, c)] += svd.u[(rr, i)] * svd.s[i] * svd.v[(c, i)];
                            }
                        }
                    }
                    let (a, b) = (self.offsets[k], self.offsets[k + 1]);
                    let dst = &mut w[a..b];
                    for c in 0..m.ncols() {
                        for rr in 0..m.nrows() {
                            dst[c * m.nrows() + rr] = out[(rr, c)];
                        }
                    }
                }
            }
        }
        Ok(w)
    }

    /// Numerical rank of W₁ ⋯ W_L (tolerance σ_max·max(N, M)·ε, as NumPy's `matrix_rank`).
    pub fn true_rank(&self, w: &[f64]) -> Result<usize> {
        let p = self.product(w);
        let svd = crate::linalg::thin_svd(p.as_ref(), Par::Seq)?;
        Ok(numerical_rank(&svd.s, p.nrows(), p.ncols()))
    }
}

/// #{σ_i > σ_max·max(m, n)·ε}.
pub(crate) fn numerical_rank(s: &[f64], m: usize, n: usize) -> usize {
    let tol = s.first().copied().unwrap_or(0.0) * m.max(n) as f64 * f64::EPSILON;
    s.iter().filter(|&&v| v > tol).count()
}

impl Model for DeepLinearNetwork {
    fn num_params(&self) -> usize {
        *self.offsets.last().expect("offsets start at 0")
    }
    fn input_dim(&self) -> usize {
        self.sizes[0]
    }
    fn output_dim(&self) -> usize {
        *self.sizes.last().expect("at least two sizes")
    }

    fn forward(&self, w: &[f64], x: MatRef<'_, f64>) -> Mat<f64> {
        self.activations(w, x).pop().expect("at least one layer")
    }

    fn loss(&self, w: &[f64], x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
        mse(self.forward(w, x).as_ref(), y)
    }

    fn loss_grad(
        &self,
        w: &[f64],
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        grad: &mut [f64],
    ) -> f64 {
        let depth = self.depth();
        let acts = self.activations(w, x);
        let out = &acts[depth - 1];
        let (b, m) = (out.nrows(), out.ncols());
        let scale = 2.0 / (b * m) as f64;
        let mut delta = Mat::from_fn(b, m, |i, j| scale * (out[(i, j)] - y[(i, j)]));
        let loss = mse(out.as_ref(), y);
        // Backward: ∂W_k = A_{k−1}ᵀ Δ_k, Δ_{k−1} = Δ_k W_kᵀ.
        for k in (0..depth).rev() {
            let (a, bnd) = (self.offsets[k], self.offsets[k + 1]);
            let g = faer::MatMut::from_column_major_slice_mut(
                &mut grad[a..bnd],
                self.sizes[k],
                self.sizes[k + 1],
            );
            let input = if k == 0 { x } else { acts[k - 1].as_ref() };
            matmul(
                g,
                Accum::Replace,
                input.transpose(),
                delta.as_ref(),
                1.0,
                Par::Seq,
            );
            if k > 0 {
                let mut prev = Mat::zeros(b, self.sizes[k]);
                matmul(
                    prev.as_mut(),
                    Accum::Replace,
                    delta.as_ref(),
                    self.layer(w, k).transpose(),
                    1.0,
                    Par::Seq,
                );
                delta = prev;
            }
        }
        loss
    }
}

/// mean((P − Y)²) over all entries.
pub(crate) fn mse(p: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..p.ncols() {
        for i in 0..p.nrows() {
            let e = p[(i, j)] - y[(i, j)];
            s += e * e;
        }
    }
    s / (p.nrows() * p.ncols()) as f64
}
