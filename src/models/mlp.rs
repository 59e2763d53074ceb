//! A multilayer perceptron with ReLU hidden layers and biases: z₀ = x, z_k = relu(z_{k−1} W_k + b_k)
//! for hidden layers, f(x) = z_{L−1} W_L + b_L. Flat parameters: for each layer W_k (column-major,
//! H_k × H_{k+1}) then b_k.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::Model;
use super::dln::mse;
use crate::error::Result;
use crate::random::Rng;

/// The per-sample loss, averaged over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Squared error averaged over output coordinates (`jnp.mean((pred − y)²)`).
    Mse,
    /// Softmax cross-entropy against one-hot (or probability) targets.
    CrossEntropy,
}

/// A ReLU MLP with sizes [N, hidden…, M].
#[derive(Clone, Debug)]
pub struct Mlp {
    sizes: Vec<usize>,
    /// Offset of W_k; b_k follows it.
    offsets: Vec<usize>,
    loss: Loss,
}

impl Mlp {
    /// An MLP with the given sizes and loss.
    pub fn new(input_dim: usize, hidden: &[usize], output_dim: usize, loss: Loss) -> Result<Self> {
        let (sizes, offsets) =
            super::layer_layout(input_dim, hidden, output_dim, |a, b| a * b + b)?;
        Ok(Mlp {
            sizes,
            offsets,
            loss,
        })
    }

    /// The loss.
    pub fn loss_kind(&self) -> Loss {
        self.loss
    }

    fn depth(&self) -> usize {
        self.sizes.len() - 1
    }

    fn weight<'a>(&self, w: &'a [f64], k: usize) -> MatRef<'a, f64> {
        let a = self.offsets[k];
        MatRef::from_column_major_slice(
            &w[a..a + self.sizes[k] * self.sizes[k + 1]],
            self.sizes[k],
            self.sizes[k + 1],
        )
    }

    fn bias<'a>(&self, w: &'a [f64], k: usize) -> &'a [f64] {
        let a = self.offsets[k] + self.sizes[k] * self.sizes[k + 1];
        &w[a..a + self.sizes[k + 1]]
    }

    /// Positions of W_k (column-major, H_k × H_{k+1}) in the flat parameters.
    pub fn weight_range(&self, k: usize) -> std::ops::Range<usize> {
        self.offsets[k]..self.offsets[k] + self.sizes[k] * self.sizes[k + 1]
    }

    /// Positions of b_k in the flat parameters.
    pub fn bias_range(&self, k: usize) -> std::ops::Range<usize> {
        let a = self.offsets[k] + self.sizes[k] * self.sizes[k + 1];
        a..a + self.sizes[k + 1]
    }

    /// Layer sizes [N, hidden…, M].
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// haiku's default `Linear` initialisation: W from a normal truncated at ±2 std and rescaled
    /// to std 1/√fan_in, b = 0 (the true parameters of the MALA-vs-SGLD and rescaling notebooks
    /// start from it).
    pub fn init_truncated(&self, rng: &mut Rng) -> Vec<f64> {
        let mut w = vec![0.0; self.num_params()];
        for k in 0..self.depth() {
            let scale = 1.0 / (self.sizes[k] as f64).sqrt() / 0.879_625_661_034_239_8;
            for v in &mut w[self.weight_range(k)] {
                *v = loop {
                    let z: f64 = rng.sample(StandardNormal);
                    if z.abs() <= 2.0 {
                        break z * scale;
                    }
                };
            }
        }
        w
    }

    /// He-style initialisation: W ~ N(0, 2/fan_in), b = 0.
    pub fn init(&self, rng: &mut Rng) -> Vec<f64> {
        let mut w = vec![0.0; self.num_params()];
        for k in 0..self.depth() {
            let std = (2.0 / self.sizes[k] as f64).sqrt();
            let a = self.offsets[k];
            for v in &mut w[a..a + self.sizes[k] * self.sizes[k + 1]] {
                *v = std * rng.sample::<f64, _>(StandardNormal);
            }
        }
        w
    }

    /// Pre-activations of every layer (the last one is the output).
    fn pre_activations(&self, w: &[f64], x: MatRef<'_, f64>) -> Vec<Mat<f64>> {
        let mut pre: Vec<Mat<f64>> = Vec::with_capacity(self.depth());
        for k in 0..self.depth() {
            let b = x.nrows();
            let mut z = Mat::from_fn(b, self.sizes[k + 1], |_, j| self.bias(w, k)[j]);
            if k == 0 {
                matmul(z.as_mut(), Accum::Add, x, self.weight(w, k), 1.0, Par::Seq);
            } else {
                let h = relu(pre[k - 1].as_ref());
                matmul(
                    z.as_mut(),
                    Accum::Add,
                    h.as_ref(),
                    self.weight(w, k),
                    1.0,
                    Par::Seq,
                );
            }
            pre.push(z);
        }
        pre
    }

    fn loss_of(&self, out: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
        match self.loss {
            Loss::Mse => mse(out, y),
            Loss::CrossEntropy => {
                let mut s = 0.0;
                for i in 0..out.nrows() {
                    let (lse, _) = log_softmax_row(out, i);
                    for j in 0..out.ncols() {
                        s -= y[(i, j)] * (out[(i, j)] - lse);
                    }
                }
                s / out.nrows() as f64
            }
        }
    }
}

fn relu(z: MatRef<'_, f64>) -> Mat<f64> {
    Mat::from_fn(z.nrows(), z.ncols(), |i, j| z[(i, j)].max(0.0))
}

/// (log Σ_j e^{z_ij}, max_j z_ij) for row i.
fn log_softmax_row(z: MatRef<'_, f64>, i: usize) -> (f64, f64) {
    let m = (0..z.ncols())
        .map(|j| z[(i, j)])
        .fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = (0..z.ncols()).map(|j| (z[(i, j)] - m).exp()).sum();
    (m + s.ln(), m)
}

impl Model for Mlp {
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
        self.pre_activations(w, x)
            .pop()
            .expect("at least one layer")
    }

    fn loss(&self, w: &[f64], x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
        self.loss_of(self.forward(w, x).as_ref(), y)
    }

    fn loss_grad(
        &self,
        w: &[f64],
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        grad: &mut [f64],
    ) -> f64 {
        let pre = self.pre_activations(w, x);
        let depth = self.depth();
        let out = pre[depth - 1].as_ref();
        let (b, m) = (out.nrows(), out.ncols());
        let loss = self.loss_of(out, y);
        // ∂loss/∂output.
        let mut delta = match self.loss {
            Loss::Mse => {
                let s = 2.0 / (b * m) as f64;
                Mat::from_fn(b, m, |i, j| s * (out[(i, j)] - y[(i, j)]))
            }
            Loss::CrossEntropy => {
                let mut d = Mat::zeros(b, m);
                for i in 0..b {
                    let (lse, _) = log_softmax_row(out, i);
                    let ysum: f64 = (0..m).map(|j| y[(i, j)]).sum();
                    for j in 0..m {
                        d[(i, j)] = ((out[(i, j)] - lse).exp() * ysum - y[(i, j)]) / b as f64;
                    }
                }
                d
            }
        };
        for k in (0..depth).rev() {
            let a = self.offsets[k];
            let nw = self.sizes[k] * self.sizes[k + 1];
            let (gw, gb) = grad[a..a + nw + self.sizes[k + 1]].split_at_mut(nw);
            let gwm =
                faer::MatMut::from_column_major_slice_mut(gw, self.sizes[k], self.sizes[k + 1]);
            if k == 0 {
                matmul(
                    gwm,
                    Accum::Replace,
                    x.transpose(),
                    delta.as_ref(),
                    1.0,
                    Par::Seq,
                );
            } else {
                let h = relu(pre[k - 1].as_ref());
                matmul(
                    gwm,
                    Accum::Replace,
                    h.transpose(),
                    delta.as_ref(),
                    1.0,
                    Par::Seq,
                );
            }
            for (j, g) in gb.iter_mut().enumerate() {
                *g = (0..b).map(|i| delta[(i, j)]).sum();
            }
            if k > 0 {
                let mut prev = Mat::zeros(b, self.sizes[k]);
                matmul(
                    prev.as_mut(),
                    Accum::Replace,
                    delta.as_ref(),
                    self.weight(w, k).transpose(),
                    1.0,
                    Par::Seq,
                );
                let z = pre[k - 1].as_ref();
                for j in 0..prev.ncols() {
                    for i in 0..b {
                        if z[(i, j)] <= 0.0 {
                            prev[(i, j)] = 0.0;
                        }
                    }
                }
                delta = prev;
            }
        }
        loss
    }
}
