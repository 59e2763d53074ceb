//! Regressors with one shape (after linfa's `Fit`/`Predict`): hyper-parameters are checked when
//! the unfitted solver is built, [`Fit::fit`] turns it and the training data into a fitted model
//! that owns its weights, and [`Predict::predict`] evaluates that model on new inputs.
//!
//! * [`kernel_regression`]: direct kernel interpolation and ridge regression;
//! * [`eigenpro`]: EigenPro iteration for kernel interpolation (Ma & Belkin 2017);
//! * [`random_features`]: random Fourier and random ReLU features fitted by minimum-norm least
//!   squares;
//! * [`least_squares`]: minimum-norm least squares on raw features;
//! * [`linearized`]: the kernel-regime predictor of a trained network, K(x, X)K⁺(y − f₀(X)) + f₀(x).

pub mod eigenpro;
pub mod kernel_regression;
pub mod least_squares;
pub mod linearized;
pub mod random_features;

pub use eigenpro::*;
pub use kernel_regression::*;
pub use least_squares::*;
pub use linearized::Linearized;
pub use random_features::*;

use crate::error::Result;

/// An unfitted solver that learns from inputs `X` and targets `Y`.
pub trait Fit<X, Y> {
    /// The fitted model.
    type Fitted;
    /// Fits the model to (x, y).
    fn fit(&self, x: X, y: Y) -> Result<Self::Fitted>;
}

/// A fitted model that predicts outputs for inputs `X`.
pub trait Predict<X> {
    /// The predictions.
    type Output;
    /// Predicts the outputs for x.
    fn predict(&self, x: X) -> Result<Self::Output>;
}
