//! The papers' own models, built on the layers below:
//!
//! * [`teacher_student`]: multi-scale teacher–student dynamics and epoch-wise double descent
//!   (Pezeshki, Mitra, Bengio, Lajoie, ICML 2022, arXiv 2112.03215);
//! * [`least_squares`]: double descent of minimum-norm least squares over training-set sizes,
//!   its three ablations and adversarial data (Schaeffer et al., *Double Descent Demystified*,
//!   arXiv 2303.14151);
//! * [`polynomial_regression`]: the same paper's degree sweep on Legendre features.

pub mod least_squares;
pub mod polynomial_regression;
pub mod teacher_student;
