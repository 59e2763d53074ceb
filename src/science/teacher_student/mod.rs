//! Teacher–student linear regression with fast and slow features: the model of Pezeshki, Mitra,
//! Bengio, Lajoie, "Multi-scale Feature Learning Dynamics: Insights for Double Descent"
//! (ICML 2022, arXiv 2112.03215).
//!
//! * [`Config`], [`Instance`]: the data model. Latents z ~ N(0, I/d), teacher w ~ N(0, I),
//!   y = zᵀw + σε, inputs x = Fᵀz with the modulation matrix F = U diag(1 (p fast), 1/κ (d−p slow)) Vᵀ.
//! * [`Student`]: full-batch gradient descent from ŵ = 0 on ½‖Xŵ − y‖² + ½λ‖ŵ‖², iterated
//!   ([`gradient_descent`]) and in closed form through the thin SVD of X ([`Dynamics`]).
//! * [`seed_average`]: the exact general case ("Eq. 9") and the simulated test error averaged
//!   over many seeds, rayon over seeds with every seed sequential inside.
//! * [`expected_curves`]: the ICML "Eqs. 9, 10" trace formulas, exact in expectation over
//!   teacher and label noise for a given input matrix.
//! * [`fast_slow`]: the fast–slow approximation ("Eqs. 12, 14") with the original constants.

mod approx;
mod batch;
mod data;
mod expectation;
mod student;

pub use approx::{
    ApproxCurves, FREEZE_EARLY, FREEZE_LATE, Freeze, a_original, a_stable, fast_slow, fast_slow_at,
};
pub use batch::{CurveRequest, SeedAverage, SeedCurves, map_seeds, seed_average, seed_curves};
pub use data::{Config, Instance};
pub use expectation::{ExpectedCurves, expected_curves, expected_seed_curves};
pub use student::{Dynamics, Student, gradient_descent};

/// The time grid of the analytical figures: 300 points 10^linspace(−3, 8, 300).
pub fn analytic_times() -> Vec<f64> {
    crate::linalg::logspace(-3.0, 8.0, 300)
}

/// The time grid of the original simulations: 50 points 10^linspace(−3, 5, 50).
pub fn empirical_times() -> Vec<f64> {
    crate::linalg::logspace(-3.0, 5.0, 50)
}

/// Generalisation error from the macroscopic variables, E_G = ½(‖w‖²/d − 2R + Q).
///
/// `teacher_norm2` is ‖w‖²/d; the paper's form ½(1 − 2R + Q) is `generalization_error(1.0, r, q)`.
pub fn generalization_error(teacher_norm2: f64, r: f64, q: f64) -> f64 {
    0.5 * (teacher_norm2 - 2.0 * r + q)
}
