//! The deep linear network of `validating_lambdahat` (`edmundlth/validating_lambdahat@375e6fa`, `dln.py`): f(x) = x W₁ W₂ ⋯ W_L
//! with W_k of shape H_k × H_{k+1}, H = [N, hidden widths…, M], no biases, MSE averaged over batch
//! and outputs. Flat parameters: W₁, …, W_L one after another, each column-major.

use crate::backend::gemm::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::{Model, Scratch};
use crate::backend::Float;
use crate::error::{Error, Result};
use crate::random::Rng;

/// A deep linear network with layer sizes H = [N, H₂, …, H_L, M].
#[derive(Clone, Debug)]
pub struct DeepLinearNetwork {
    sizes: Vec<usize>,
    offsets: Vec<usize>,
    order: ChainOrder,
}

/// The order in which the loss and its gradient multiply the chain X·W₁⋯W_L (b × N times
/// N × H₂ ⋯ H_L × M). Both give the same values up to rounding; they differ in cost, as in the
/// matrix-chain ordering problem (NumPy's `multi_dot` makes the same choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChainOrder {
    /// The cheaper of the two for the batch size at hand, counted in multiply–adds.
    #[default]
    Auto,
    /// Layer by layer, as autodiff does: A_k = A_{k−1}W_k, then back-propagation
    /// ∂W_k = A_{k−1}ᵀΔ_k, Δ_{k−1} = Δ_kW_kᵀ. Cost ∝ b·Σ H_kH_{k+1}: best for small batches.
    Layerwise,
    /// Through the end-to-end matrix: suffix products S_k = W_k⋯W_L, output X·S₁, G = XᵀΔ,
    /// then ∂W_k = (W_{k−1}ᵀ⋯W₁ᵀG)·S_{k+1}ᵀ. Cost ∝ b·N·M + Σ H_kH_{k+1}M: best when the
    /// batch is larger than the widths (the LLC paper's networks: 95 000 parameters, batch 500,
    /// a quarter of the layerwise multiply–adds).
    EndToEnd,
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
        Ok(DeepLinearNetwork {
            sizes,
            offsets,
            order: ChainOrder::Auto,
        })
    }

    /// The same network evaluated in the given [`ChainOrder`].
    pub fn with_order(mut self, order: ChainOrder) -> Self {
        self.order = order;
        self
    }

    /// The order of evaluation (see [`ChainOrder`]).
    pub fn order(&self) -> ChainOrder {
        self.order
    }

    /// The order `loss_grad` (`grad = true`) or `loss` uses for a batch of `b` rows: the set one,
    /// or under [`ChainOrder::Auto`] the one with fewer multiply–adds.
    pub fn resolved_order(&self, b: usize, grad: bool) -> ChainOrder {
        match self.order {
            ChainOrder::Auto => {
                if self.cost(ChainOrder::EndToEnd, b, grad)
                    < self.cost(ChainOrder::Layerwise, b, grad)
                {
                    ChainOrder::EndToEnd
                } else {
                    ChainOrder::Layerwise
                }
            }
            o => o,
        }
    }

    /// Multiply–adds of the loss (and of its gradient when `grad`) for a batch of `b` rows.
    pub fn cost(&self, order: ChainOrder, b: usize, grad: bool) -> u128 {
        let h: Vec<u128> = self.sizes.iter().map(|&v| v as u128).collect();
        let (b, l) = (b as u128, self.depth());
        let m = h[l];
        match order {
            ChainOrder::Layerwise | ChainOrder::Auto => {
                let fwd: u128 = (0..l).map(|k| b * h[k] * h[k + 1]).sum();
                if !grad {
                    return fwd;
                }
                let weights: u128 = (0..l).map(|k| b * h[k] * h[k + 1]).sum();
                let deltas: u128 = (1..l).map(|k| b * h[k] * h[k + 1]).sum();
                fwd + weights + deltas
            }
            ChainOrder::EndToEnd => {
                let suffix: u128 = (0..l.saturating_sub(1)).map(|k| h[k] * h[k + 1] * m).sum();
                let fwd = suffix + b * h[0] * m;
                if !grad {
                    return fwd;
                }
                let left: u128 = (1..l).map(|k| h[k] * h[k - 1] * m).sum();
                let right: u128 = (0..l - 1).map(|k| h[k] * m * h[k + 1]).sum();
                fwd + b * h[0] * m + left + right
            }
        }
    }

    /// H = [N, H₂, …, M].
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Number of weight matrices L.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    /// W_k (0-based) as a view into the flat parameters `w` (of length
    /// [`DeepLinearNetwork::num_params`]).
    pub fn layer<'a, T: Float>(&self, w: &'a [T], k: usize) -> Result<MatRef<'a, T>> {
        self.check_params(w.len())?;
        if k >= self.depth() {
            return Err(Error::invalid(
                "k",
                k,
                format!("layer index must lie in 0..{} (the depth)", self.depth()),
            ));
        }
        Ok(self.view(w, k))
    }

    /// Fails unless `len` is the number of parameters.
    fn check_params(&self, len: usize) -> Result<()> {
        let np = self.offsets[self.depth()];
        if len != np {
            return Err(Error::ShapeMismatch {
                what: "parameters w of the deep linear network".into(),
                expected: np.to_string(),
                got: len.to_string(),
            });
        }
        Ok(())
    }

    fn view<'a, T: Float>(&self, w: &'a [T], k: usize) -> MatRef<'a, T> {
        MatRef::from_column_major_slice(
            &w[self.offsets[k]..self.offsets[k + 1]],
            self.sizes[k],
            self.sizes[k + 1],
        )
    }

    /// The end-to-end matrix W₁ ⋯ W_L (N × M).
    pub fn product(&self, w: &[f64]) -> Result<Mat<f64>> {
        self.check_params(w.len())?;
        crate::check::check_finite("w", w.iter().copied())?;
        let mut p = self.view(w, 0).to_owned();
        for k in 1..self.depth() {
            p = &p * self.view(w, k);
        }
        if crate::check::first_non_finite(p.as_ref()).is_some() {
            return Err(Error::Numerical(
                "the end-to-end product W₁⋯W_L overflows f64".into(),
            ));
        }
        Ok(p)
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
                    let m = self.view(&w, k).to_owned();
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
        let p = self.product(w)?;
        let svd = crate::linalg::thin_svd(p.as_ref(), Par::Seq)?;
        Ok(numerical_rank(&svd.s, p.nrows(), p.ncols()))
    }
}

/// #{σ_i > σ_max·max(m, n)·ε}.
pub(crate) fn numerical_rank(s: &[f64], m: usize, n: usize) -> usize {
    let tol = s.first().copied().unwrap_or(0.0) * m.max(n) as f64 * f64::EPSILON;
    s.iter().filter(|&&v| v > tol).count()
}

impl DeepLinearNetwork {
    /// The scratch length of one evaluation in the given (resolved) order for `b` rows.
    fn scratch_len(&self, order: ChainOrder, b: usize) -> usize {
        let (l, m) = (self.depth(), self.output_dim());
        let hmax = *self.sizes.iter().max().expect("at least two sizes");
        match order {
            ChainOrder::EndToEnd => {
                let suffix: usize = (0..l - 1).map(|k| self.sizes[k] * m).sum();
                suffix + b * m + 2 * hmax * m
            }
            _ => {
                let acts: usize = (1..=l).map(|k| b * self.sizes[k]).sum();
                acts + 2 * b * hmax
            }
        }
    }

    /// Number of parameters d = Σ H_k H_{k+1} (the same in every precision).
    pub fn num_params(&self) -> usize {
        *self.offsets.last().expect("offsets start at 0")
    }

    /// Input dimension N.
    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }

    /// Output dimension M.
    pub fn output_dim(&self) -> usize {
        *self.sizes.last().expect("at least two sizes")
    }

    /// The loss, and with `grad` its gradient, in the given (resolved) order, using `buf`.
    fn evaluate<T: Float>(
        &self,
        order: ChainOrder,
        buf: &mut [T],
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: Option<&mut [T]>,
    ) -> f64 {
        match order {
            ChainOrder::EndToEnd => self.end_to_end(buf, w, x, y, grad),
            _ => self.layerwise(buf, w, x, y, grad),
        }
    }

    /// [`ChainOrder::Layerwise`]: activations, then back-propagation. `buf` holds the
    /// activations A₁ … A_L one after another (b × H_k each), then two b × max H buffers for the
    /// back-propagated Δ.
    fn layerwise<T: Float>(
        &self,
        buf: &mut [T],
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: Option<&mut [T]>,
    ) -> f64 {
        let (l, b) = (self.depth(), x.nrows());
        let h = &self.sizes;
        // Activation k (1-based) starts at act_at(k); act_at(L + 1) is the end of the last.
        let act_at = |k: usize| -> usize { (1..k).map(|j| b * h[j]).sum() };
        let acts_len = act_at(l + 1);
        for k in 1..=l {
            let off = act_at(k);
            let (head, tail) = buf.split_at_mut(off);
            let dst = MatMut::from_column_major_slice_mut(&mut tail[..b * h[k]], b, h[k]);
            let prev = if k == 1 {
                x
            } else {
                MatRef::from_column_major_slice(&head[act_at(k - 1)..], b, h[k - 1])
            };
            matmul(
                dst,
                Accum::Replace,
                prev,
                self.view(w, k - 1),
                T::ONE,
                Par::Seq,
            );
        }
        let (acts, spare) = buf.split_at_mut(acts_len);
        let out_at = act_at(l);
        let loss = {
            let out = MatRef::from_column_major_slice(&acts[out_at..], b, h[l]);
            super::loss::mse(out, y)
        };
        let Some(grad) = grad else { return loss };
        let (acts, last) = acts.split_at_mut(out_at);
        let mut delta = MatMut::from_column_major_slice_mut(last, b, h[l]);
        delta_in_place(delta.rb_mut(), y, T::of(2.0 / (b * h[l]) as f64));
        let hmax = *h.iter().max().expect("at least two sizes");
        let (d0, d1) = spare.split_at_mut(b * hmax);
        let mut bufs = [d0, d1];
        // Where Δ_k lives: None for the output buffer, Some(i) for bufs[i].
        let mut slot: Option<usize> = None;
        // Backward: ∂W_k = A_{k−1}ᵀ Δ_k, Δ_{k−1} = Δ_k W_kᵀ.
        for k in (0..l).rev() {
            let input = if k == 0 {
                x
            } else {
                MatRef::from_column_major_slice(&acts[act_at(k)..act_at(k + 1)], b, h[k])
            };
            let (a0, a1) = (self.offsets[k], self.offsets[k + 1]);
            let g = MatMut::from_column_major_slice_mut(&mut grad[a0..a1], h[k], h[k + 1]);
            let dst_i = if slot == Some(0) { 1 } else { 0 };
            let (s0, s1) = bufs.split_at_mut(1);
            let (src, dst) = if dst_i == 0 {
                (&*s1[0], &mut *s0[0])
            } else {
                (&*s0[0], &mut *s1[0])
            };
            let cur = match slot {
                None => delta.rb(),
                Some(_) => MatRef::from_column_major_slice(&src[..b * h[k + 1]], b, h[k + 1]),
            };
            matmul(g, Accum::Replace, input.transpose(), cur, T::ONE, Par::Seq);
            if k > 0 {
                let next = MatMut::from_column_major_slice_mut(&mut dst[..b * h[k]], b, h[k]);
                matmul(
                    next,
                    Accum::Replace,
                    cur,
                    self.view(w, k).transpose(),
                    T::ONE,
                    Par::Seq,
                );
                slot = Some(dst_i);
            }
        }
        loss
    }

    /// [`ChainOrder::EndToEnd`]: suffix products S_k = W_k⋯W_L, output X·S₁, G = XᵀΔ, then
    /// ∂W_k = Λ_k·S_{k+1}ᵀ with Λ₁ = G and Λ_k = W_{k−1}ᵀΛ_{k−1}. `buf` holds S₁ … S_{L−1}
    /// (H_k × M each), the b × M output, and two max H × M buffers for Λ.
    fn end_to_end<T: Float>(
        &self,
        buf: &mut [T],
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: Option<&mut [T]>,
    ) -> f64 {
        let (l, b, m) = (self.depth(), x.nrows(), self.output_dim());
        let h = &self.sizes;
        let suffix_at = |k: usize| -> usize { (0..k).map(|j| h[j] * m).sum() };
        let suffix_len = suffix_at(l - 1);
        let (suffix, rest) = buf.split_at_mut(suffix_len);
        // S_k (0-based k < L − 1) = W_k S_{k+1}, from the last layer down.
        for k in (0..l - 1).rev() {
            let (head, tail) = suffix.split_at_mut(suffix_at(k + 1));
            let next = if k + 1 == l - 1 {
                self.view(w, l - 1)
            } else {
                MatRef::from_column_major_slice(&tail[..h[k + 1] * m], h[k + 1], m)
            };
            let dst = MatMut::from_column_major_slice_mut(&mut head[suffix_at(k)..], h[k], m);
            matmul(dst, Accum::Replace, self.view(w, k), next, T::ONE, Par::Seq);
        }
        let suffix: &[T] = suffix;
        let s = |k: usize| -> MatRef<'_, T> {
            if k == l - 1 {
                self.view(w, l - 1)
            } else {
                MatRef::from_column_major_slice(&suffix[suffix_at(k)..suffix_at(k + 1)], h[k], m)
            }
        };
        let (out, rest) = rest.split_at_mut(b * m);
        let mut out = MatMut::from_column_major_slice_mut(out, b, m);
        matmul(out.rb_mut(), Accum::Replace, x, s(0), T::ONE, Par::Seq);
        let loss = super::loss::mse(out.rb(), y);
        let Some(grad) = grad else { return loss };
        delta_in_place(out.rb_mut(), y, T::of(2.0 / (b * m) as f64));
        let hmax = *h.iter().max().expect("at least two sizes");
        let (l0, l1) = rest.split_at_mut(hmax * m);
        let mut bufs = [l0, l1];
        {
            let lam = MatMut::from_column_major_slice_mut(&mut bufs[0][..h[0] * m], h[0], m);
            matmul(
                lam,
                Accum::Replace,
                x.transpose(),
                out.rb(),
                T::ONE,
                Par::Seq,
            );
        }
        let mut slot = 0usize;
        for k in 0..l {
            if k > 0 {
                // Λ_k = W_{k−1}ᵀ Λ_{k−1}, into the other buffer.
                let (s0, s1) = bufs.split_at_mut(1);
                let (src, dst) = if slot == 0 {
                    (&*s0[0], &mut *s1[0])
                } else {
                    (&*s1[0], &mut *s0[0])
                };
                let prev = MatRef::from_column_major_slice(&src[..h[k - 1] * m], h[k - 1], m);
                let next = MatMut::from_column_major_slice_mut(&mut dst[..h[k] * m], h[k], m);
                let wt = self.view(w, k - 1).transpose();
                matmul(next, Accum::Replace, wt, prev, T::ONE, Par::Seq);
                slot ^= 1;
            }
            let lam = MatRef::from_column_major_slice(&bufs[slot][..h[k] * m], h[k], m);
            let (a0, a1) = (self.offsets[k], self.offsets[k + 1]);
            let mut g = MatMut::from_column_major_slice_mut(&mut grad[a0..a1], h[k], h[k + 1]);
            if k == l - 1 {
                // ∂W_L = Λ_L (H_L × M).
                g.copy_from(lam);
            } else {
                matmul(
                    g,
                    Accum::Replace,
                    lam,
                    s(k + 1).transpose(),
                    T::ONE,
                    Par::Seq,
                );
            }
        }
        loss
    }

    fn with_scratch<T: Float>(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: Option<&mut [T]>,
    ) -> f64 {
        let order = self.resolved_order(x.nrows(), grad.is_some());
        let buf = scratch.take(self.scratch_len(order, x.nrows()));
        self.evaluate(order, buf, w, x, y, grad)
    }
}

impl<T: Float> Model<T> for DeepLinearNetwork {
    fn num_params(&self) -> usize {
        DeepLinearNetwork::num_params(self)
    }
    fn input_dim(&self) -> usize {
        DeepLinearNetwork::input_dim(self)
    }
    fn output_dim(&self) -> usize {
        DeepLinearNetwork::output_dim(self)
    }

    fn forward(&self, w: &[T], x: MatRef<'_, T>) -> Mat<T> {
        let mut out = x.to_owned();
        for k in 0..self.depth() {
            out = &out * self.view(w, k);
        }
        out
    }

    fn loss_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> f64 {
        self.with_scratch(scratch, w, x, y, None)
    }

    fn loss_grad_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> f64 {
        self.with_scratch(scratch, w, x, y, Some(grad))
    }
}

/// P ← scale·(P − Y): the output gradient of the mean squared error.
fn delta_in_place<T: Float>(mut p: MatMut<'_, T>, y: MatRef<'_, T>, scale: T) {
    for j in 0..p.ncols() {
        for i in 0..p.nrows() {
            let v = p[(i, j)];
            p[(i, j)] = scale * (v - y[(i, j)]);
        }
    }
}
