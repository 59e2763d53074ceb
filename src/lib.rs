//! # doubledescent
//!
//! Fast, tested numerical kernels for the science of deep learning, with a runnable example for
//! every figure of the papers they come from.
//!
//! * [`teacher_student`]: multi-scale teacher–student dynamics (Pezeshki et al., ICML 2022):
//!   data model, closed-form and iterated gradient descent, the exact seed-averaged curves,
//!   the ICML expectation formulas and the fast–slow approximation.
//! * [`kernels`]: Laplace, Gaussian, dispersal, ReLU NNGP and NTK kernel matrices and matrix-free
//!   products K·W, fused on the CPU (faer + rayon) and on CUDA (handwritten kernels, NVRTC).
//! * [`svd`], [`lstsq`], [`nystrom`]: batched thin SVD (CPU and CUDA), minimum-norm least
//!   squares and pinv, top-q Nyström eigensystems of kernel subsamples.
//! * [`eigenpro`], [`kernel_regression`], [`random_features`]: EigenPro (FKR_EigenPro of the
//!   double-descent tutorial), direct kernel interpolation / ridge, random Fourier and ReLU
//!   features.
//! * [`ls_double_descent`], [`polynomial_regression`]: double descent of minimum-norm least
//!   squares ("Double Descent Demystified", Schaeffer et al.): the sweep over training-set sizes
//!   with its three ablations and adversarial data, and the Legendre degree sweep; [`stats`]
//!   summarises over repeats.
//! * [`data`]: MNIST (IDX) and CIFAR-10 loaders, the embedded 10k MNIST subset, label noise;
//!   regression tables (diabetes, the student–teacher set, CSV files).
//! * [`models`], [`langevin`], [`llc`], [`aoyagi`]: deep linear networks and ReLU MLPs with
//!   hand-written gradients, SGLD and MALA around a parameter w*, the local learning coefficient
//!   estimator (Lau et al., arXiv 2308.12108) and Aoyagi's closed form for deep linear networks.
//! * [`device`]: the backend switch (`DOUBLEDESCENT_DEVICE=cpu|cuda|auto`, or the API).
//! * [`figure`]: PNG + SVG + CSV figure output shared by the examples.
//! * [`linalg`], [`random`]: faer wrappers with explicit parallelism; seeded sampling, and
//!   NumPy's legacy stream ([`random::numpy`]) to regenerate published numbers.
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

#[cfg(all(feature = "cuda-12", feature = "cuda-13"))]
compile_error!(
    "features `cuda-12` and `cuda-13` are exclusive: use `--no-default-features --features cuda-12` for CUDA 12"
);

pub mod aoyagi;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod data;
pub mod device;
pub mod eigenpro;
pub mod error;
pub mod figure;
pub mod kernel_regression;
pub mod kernels;
pub mod langevin;
pub mod linalg;
pub mod llc;
pub mod ls_double_descent;
pub mod lstsq;
pub mod models;
pub mod nystrom;
pub mod polynomial_regression;
pub mod random;
pub mod random_features;
pub mod scalar;
pub mod stats;
pub mod svd;
pub mod teacher_student;

pub use device::{Backend, Device, DeviceRequest};
pub use error::{Error, Result};
pub use scalar::Float;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
