//! # doubledescent
//!
//! Fast, tested numerical kernels for the science of deep learning, with a runnable example for
//! every figure of the papers they come from.
//!
//! * [`teacher_student`]: multi-scale teacher–student dynamics (Pezeshki et al., ICML 2022):
//!   data model, closed-form and iterated gradient descent, the exact seed-averaged curves,
//!   the ICML expectation formulas and the fast–slow approximation.
//! * [`figure`]: PNG + SVG + CSV figure output shared by the examples.
//! * [`linalg`], [`random`]: faer wrappers with explicit parallelism; seeded sampling.
//!
//! Every public function returns [`Result`]; errors name the argument and the bad value.
//!
//! ```
//! use doubledescent::teacher_student::{
//!     Config, CurveRequest, Dynamics, Freeze, analytic_times, empirical_times, fast_slow, seed_average,
//! };
//!
//! # fn main() -> doubledescent::Result<()> {
//! // Fast–slow approximation (microseconds): epoch-wise double descent at κ = 100.
//! let cfg = Config::new(150, 100, 70, 100.0);
//! let approx = fast_slow(&cfg, &analytic_times(), Freeze::None)?;
//! assert!(approx.eg.last().unwrap() < &1e-3);
//!
//! // Exact curves averaged over seeds, with the test error of gradient descent.
//! let seeds: Vec<u64> = (0..20).collect();
//! let req = [CurveRequest::new(empirical_times(), Dynamics::GradientDescent).with_test_error()];
//! let avg = seed_average(&cfg, &seeds, &req, &|| {})?;
//! assert_eq!(avg[0].test_mean.as_ref().unwrap().len(), 50);
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod figure;
pub mod linalg;
pub mod random;
pub mod teacher_student;

pub use error::{Error, Result};
