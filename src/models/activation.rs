//! Pointwise activations of the dense networks, normalised so that E[σ(z)²] = 1 for
//! z ~ N(0, 1).
//!
//! Geiger, Petrini & Wyart (arXiv 2012.15110; `mariogeiger/feature_lazy@3e50d5c`, `arch/swish.py`)
//! use `swish(x) = 1.6768·x·sigmoid(x)`, the smoothed ReLU `swish(βx)/β = 1.6768·x·sigmoid(βx)`
//! and a normalisation factor `1/√E[swish(βz)²/β²]` estimated from 100 000 Gaussian samples. Here
//! the factor is an integral against the Gaussian density computed by composite Simpson
//! quadrature to about 1e-13 relative; [`Activation::monte_carlo_factor`] gives the original
//! estimator (with our random stream) for comparison.

use serde::{Deserialize, Serialize};

use crate::backend::Float;
use crate::error::{Error, Result};
use crate::random;

/// The original's swish constant (`arch/swish.py`), kept so that the normalised activation is the
/// same function whatever the factor's estimator.
pub const SWISH_CONSTANT: f64 = 1.6768;

/// An activation before normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// `1.6768·x·sigmoid(βx)`: swish(βx)/β, a ReLU smoothed over a width 1/β (the original's
    /// `--act swish --act_beta β`).
    Swish {
        /// Sharpness β > 0.
        beta: f64,
    },
    /// `max(x, 0)`.
    Relu,
    /// `softplus_β(x) = log(1 + e^{βx})/β` (the J. Stat. Mech. paper's `fc_softplus`).
    Softplus {
        /// Sharpness β > 0.
        beta: f64,
    },
    /// `x`: a dense network with it is a deep linear network (with the parameterisation's
    /// factors).
    Identity,
}

impl Activation {
    /// Checks the parameter: β must be positive and finite.
    pub fn check(self) -> Result<Self> {
        match self {
            Activation::Swish { beta } | Activation::Softplus { beta }
                if !(beta > 0.0 && beta.is_finite()) =>
            {
                Err(Error::invalid(
                    "activation beta",
                    beta,
                    "must be positive and finite",
                ))
            }
            _ => Ok(self),
        }
    }

    /// The raw (unnormalised) value and derivative at x.
    #[inline(always)]
    pub fn raw<T: Float>(self, x: T) -> (T, T) {
        match self {
            Activation::Swish { beta } => {
                let s = sigmoid(T::of(beta) * x);
                let c = T::of(SWISH_CONSTANT);
                let d = s + T::of(beta) * x * s * (T::ONE - s);
                (c * x * s, c * d)
            }
            Activation::Relu => {
                if x > T::ZERO {
                    (x, T::ONE)
                } else {
                    (T::ZERO, T::ZERO)
                }
            }
            Activation::Identity => (x, T::ONE),
            Activation::Softplus { beta } => {
                let b = T::of(beta);
                let u = b * x;
                let e = (-(u.max(-u))).exp_nonpositive();
                (x.max(T::ZERO) + e.ln_1p() / b, sigmoid(u))
            }
        }
    }

    /// E[σ(z)²] for z ~ N(0, 1), by composite Simpson quadrature on [−12, 12] with 2¹⁸
    /// intervals (the Gaussian tail beyond contributes below 1e-30; the step resolves the width
    /// 1/β of the smoothed kink for β up to about 10⁴).
    pub fn second_moment(self) -> f64 {
        match self {
            Activation::Relu => return 0.5,
            Activation::Identity => return 1.0,
            Activation::Swish { .. } | Activation::Softplus { .. } => {}
        }
        let n = 1usize << 18;
        let (a, b) = (-12.0f64, 12.0f64);
        let h = (b - a) / n as f64;
        let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
        let f = |x: f64| {
            let v = self.raw::<f64>(x).0;
            v * v * norm * (-0.5 * x * x).exp()
        };
        let mut s = f(a) + f(b);
        for i in 1..n {
            let x = a + h * i as f64;
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
        }
        s * h / 3.0
    }

    /// The normalisation factor 1/√E[σ(z)²] by quadrature (≈ 0.8444 for swish with β = 10).
    pub fn factor(self) -> f64 {
        1.0 / self.second_moment().sqrt()
    }

    /// The original's estimator of the factor: 1/√mean(σ(z)²) over `samples` Gaussian draws
    /// (the original used 100 000 draws from `torch.manual_seed(0)`; ours come from `seed`).
    pub fn monte_carlo_factor(self, samples: usize, seed: u64) -> Result<f64> {
        if samples == 0 {
            return Err(Error::invalid("samples", 0, "need at least one draw"));
        }
        let mut rng = random::seeded(seed);
        let z = random::gaussian_vec(&mut rng, samples, 1.0);
        let m = z
            .iter()
            .map(|&x| {
                let v = self.raw::<f64>(x).0;
                v * v
            })
            .sum::<f64>()
            / samples as f64;
        Ok(1.0 / m.sqrt())
    }
}

/// 1/(1 + e^{−u}) without overflow.
#[inline(always)]
pub(crate) fn sigmoid<T: Float>(u: T) -> T {
    let e = (-(u.max(-u))).exp_nonpositive();
    let r = T::ONE / (T::ONE + e);
    if u >= T::ZERO { r } else { e * r }
}

/// softplus_β(z) = log(1 + e^{βz})/β without overflow.
#[inline(always)]
pub(crate) fn softplus<T: Float>(z: T, beta: T) -> T {
    let u = beta * z;
    let e = (-(u.max(-u))).exp_nonpositive();
    z.max(T::ZERO) + e.ln_1p() / beta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_central_differences() {
        for act in [
            Activation::Swish { beta: 10.0 },
            Activation::Softplus { beta: 5.0 },
            Activation::Relu,
            Activation::Identity,
        ] {
            for &x in &[-2.0, -0.3, -0.01, 0.02, 0.4, 3.0] {
                let e = 1e-6;
                let fd = (act.raw::<f64>(x + e).0 - act.raw::<f64>(x - e).0) / (2.0 * e);
                let d = act.raw::<f64>(x).1;
                assert!(
                    (fd - d).abs() < 1e-6 * (1.0 + d.abs()),
                    "{act:?} at {x}: {fd} vs {d}"
                );
            }
        }
    }

    #[test]
    fn relu_quadrature_reproduces_one_half() {
        // The quadrature path, exercised on the smooth softplus at large β, tends to E[relu²].
        let m = Activation::Softplus { beta: 1e3 }.second_moment();
        assert!((m - 0.5).abs() < 2e-3, "{m}");
    }
}
