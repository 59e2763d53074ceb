//! The losses of the crate's networks, in one place.
//!
//! * [`Loss`]: the supervised losses of a network's outputs f (n × M) against targets y, as
//!   means over the batch: the squared error mean((f − y)²) over all n·M entries
//!   (`torch.mean((labels − preds)**2)` of the tutorial, `jnp.mean((pred − y)**2)` of
//!   `validating_lambdahat`) and the softmax cross-entropy against one-hot (or probability)
//!   targets, averaged over the rows (`nn.CrossEntropyLoss`, `optax.softmax_cross_entropy`).
//! * [`MarginLoss`]: the binary margin losses of the phase diagram with the α trick.

mod margin;

pub use margin::MarginLoss;

use faer::{MatMut, MatRef};
use serde::{Deserialize, Serialize};

use crate::backend::Float;

/// A supervised loss of a network's outputs, averaged as PyTorch and JAX do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    /// mean((f − y)²) over the n·M entries.
    Mse,
    /// Softmax cross-entropy −Σⱼ yᵢⱼ log softmax(fᵢ)ⱼ, averaged over the n rows.
    CrossEntropy,
}

/// mean((f − y)²) over all entries, accumulated in f64 column by column.
pub fn mse<T: Float>(f: MatRef<'_, T>, y: MatRef<'_, T>) -> f64 {
    output_loss(Loss::Mse, f, y, None)
}

/// The mean loss of outputs `f` against targets `y`, and ∂loss/∂f into `g` when given. Sums run
/// in f64 in a fixed order (column by column for the squared error, row by row for the
/// cross-entropy), so the value does not depend on the thread count.
pub fn output_loss<T: Float>(
    loss: Loss,
    f: MatRef<'_, T>,
    y: MatRef<'_, T>,
    mut g: Option<MatMut<'_, T>>,
) -> f64 {
    let (n, c) = (f.nrows(), f.ncols());
    match loss {
        Loss::Mse => {
            let gs = T::of(2.0 / (n * c) as f64);
            let mut total = 0.0;
            for j in 0..c {
                for i in 0..n {
                    let r = f[(i, j)] - y[(i, j)];
                    total += r.to_f64() * r.to_f64();
                    if let Some(g) = g.as_mut() {
                        g[(i, j)] = gs * r;
                    }
                }
            }
            total / (n * c) as f64
        }
        Loss::CrossEntropy => {
            let inv_n = 1.0 / n as f64;
            let mut total = 0.0;
            for i in 0..n {
                let m = (0..c)
                    .map(|j| f[(i, j)].to_f64())
                    .fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = (0..c).map(|j| (f[(i, j)].to_f64() - m).exp()).sum();
                let lse = m + z.ln();
                let ysum: f64 = (0..c).map(|j| y[(i, j)].to_f64()).sum();
                let yf: f64 = (0..c)
                    .map(|j| y[(i, j)].to_f64() * f[(i, j)].to_f64())
                    .sum();
                total += ysum * lse - yf;
                if let Some(g) = g.as_mut() {
                    for j in 0..c {
                        let p = (f[(i, j)].to_f64() - lse).exp();
                        g[(i, j)] = T::of((ysum * p - y[(i, j)].to_f64()) * inv_n);
                    }
                }
            }
            total * inv_n
        }
    }
}
