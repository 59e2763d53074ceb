//! The rescaling symmetry of ReLU networks and the preconditioner that makes SGLD equivariant to
//! it (Lau et al., arXiv 2308.12108, section on rescaling invariance;
//! `validating_lambdahat/rescaling_invariance.ipynb`).
//!
//! For s > 0, multiplying the weights and biases into hidden ReLU layer k by s and the weights out
//! of it by 1/s leaves the function unchanged: relu(s·z) = s·relu(z). The LLC is invariant under
//! this map, but plain SGLD is not, because its step size is the same in every direction. Scaling
//! the step of each rescaled coordinate by the square of its factor (s² on the layer's incoming
//! weights and biases, 1/s² on its outgoing weights) makes the sampler equivariant, so λ̂ does not
//! depend on s.

use crate::error::{Error, Result};
use crate::models::Dense;

/// A rescaled parameter and its equivariant diagonal preconditioner.
#[derive(Clone, Debug, PartialEq)]
pub struct Rescaled {
    /// The rescaled parameter (same function as the original).
    pub w: Vec<f64>,
    /// The diagonal preconditioner p for [`SgldConfig::preconditioner`](super::SgldConfig).
    pub preconditioner: Vec<f64>,
}

/// Rescales hidden layer `layer` (0 for the first hidden layer) of a ReLU `model` in the plain
/// parameterisation at `w` by `s`: W_layer
/// and b_layer times s, W_{layer+1} divided by s; the preconditioner is s² and 1/s² there and 1
/// elsewhere.
pub fn rescale_hidden_layer(model: &Dense, w: &[f64], layer: usize, s: f64) -> Result<Rescaled> {
    let hidden = model.depth();
    if layer >= hidden {
        return Err(Error::invalid(
            "layer",
            layer,
            format!("the network has {hidden} hidden layers"),
        ));
    }
    if w.len() != model.num_params() {
        return Err(Error::ShapeMismatch {
            what: "parameters of the network".into(),
            expected: format!("{}", model.num_params()),
            got: format!("{}", w.len()),
        });
    }
    if !matches!(
        model.activation(),
        crate::models::Activation::Relu | crate::models::Activation::Identity
    ) {
        return Err(Error::invalid(
            "model",
            format!("{:?}", model.activation()),
            "the rescaling symmetry needs a positively homogeneous activation (ReLU or identity)",
        ));
    }
    if !(s.is_finite() && s > 0.0) {
        return Err(Error::invalid("s", s, "must be finite and > 0"));
    }
    let mut w = w.to_vec();
    let mut p = vec![1.0; w.len()];
    let (into, into_bias) = model.layer_ranges(layer);
    for k in into.chain(into_bias) {
        w[k] *= s;
        p[k] = s * s;
    }
    for k in model.layer_ranges(layer + 1).0 {
        w[k] /= s;
        p[k] = 1.0 / (s * s);
    }
    Ok(Rescaled {
        w,
        preconditioner: p,
    })
}
