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

pub mod error;
pub mod figure;
pub mod linalg;
pub mod random;
pub mod teacher_student;

pub use error::{Error, Result};
