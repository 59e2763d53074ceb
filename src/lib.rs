//! # doubledescent
//!
//! Fast, tested numerical kernels for the science of deep learning, with a runnable example for
//! every figure of the papers they come from.
//!
//! The folders are the layers, lowest first; a layer uses only the layers above it in this list.
//!
//! * [`error`]: the crate's [`Error`]; every public function returns [`Result`], and messages name
//!   the argument and the bad value.
//! * [`backend`]: where heavy kernels run. [`Device`] (CPU: faer + rayon; CUDA: handwritten
//!   kernels in `cuda/*.cu`, compiled by NVRTC and launched through cudarc, loaded at run time),
//!   the scalar trait [`Float`] (`f32`, `f64`), the crate's GEMM with its AVX-512 / AVX2 / portable
//!   micro-kernels chosen at run time ([`backend::gemm`]) and the launchers of every CUDA kernel.
//! * [`check`]: the memory budget that every size from user input is held to before allocating
//!   ([`check::set_memory_limit`], `DOUBLEDESCENT_MEMORY_LIMIT`), and finiteness checks.
//! * [`linalg`]: thin SVD and QR with explicit parallelism, the batched SVD of many small
//!   matrices (CPU and CUDA), minimum-norm least squares and pinv.
//! * [`random`]: seeded generators, Philox4x32-10 (the GPU's noise) and NumPy's legacy stream
//!   ([`random::numpy`]) to regenerate published numbers.
//! * [`stats`]: mean and standard deviation, quantiles, bootstrap intervals over repeats.
//! * [`data`]: MNIST (IDX) and CIFAR-10 loaders, the embedded 10k MNIST subset, label noise,
//!   regression tables (diabetes, the student–teacher set, CSV files), minibatches and row
//!   gathering, seeded inputs.
//! * [`kernels`]: Laplace, Gaussian, dispersal, ReLU NNGP and NTK kernel matrices and matrix-free
//!   products K·W on both backends, and top-q Nyström eigensystems of kernel subsamples.
//! * [`models`]: deep linear networks, ReLU MLPs and NTK-scaled fully connected networks with
//!   hand-written gradients, per-sample gradients and empirical tangent kernels.
//! * [`training`]: full-batch training of those networks: the adaptive gradient flow, gradient
//!   descent, checkpoints, stop rules and JSON run records.
//! * [`solvers`]: the [`solvers::Fit`] / [`solvers::Predict`] shape and the regressors built on
//!   it: direct kernel regression, EigenPro, random Fourier and ReLU features, minimum-norm least
//!   squares.
//! * [`sampling`]: SGLD and MALA around a parameter w*, the local learning coefficient estimator
//!   (Lau et al., arXiv 2308.12108), the LLC along training, the rescaling preconditioner and
//!   Aoyagi's closed form for deep linear networks.
//! * [`science`]: the papers' own models: multi-scale teacher–student dynamics (Pezeshki et al.,
//!   ICML 2022), least-squares double descent and its ablations (Schaeffer et al., arXiv
//!   2303.14151) and polynomial regression on Legendre features.
//! * `sweep` (feature `sweep`, on by default): parameter grids run on this machine or as SLURM
//!   job arrays, a run store of atomic JSON records with resume, and merged tables.
//! * `figure` (feature `figures`, on by default): PNG + SVG + CSV output, command-line arguments
//!   and progress bars for the examples. `default-features = false` leaves it out, with plotters,
//!   clap, indicatif and the embedded font.
//!
//! ```
//! use doubledescent::Device;
//! use doubledescent::science::teacher_student::{
//!     Config, CurveRequest, Dynamics, Freeze, analytic_times, empirical_times, fast_slow, seed_average,
//! };
//!
//! # fn main() -> doubledescent::Result<()> {
//! // Fast–slow approximation (microseconds): epoch-wise double descent at κ = 100.
//! let cfg = Config::new(150, 100, 70, 100.0);
//! let approx = fast_slow(&cfg, &analytic_times(), Freeze::None)?;
//! assert!(approx.eg.last().unwrap() < &1e-3);
//!
//! // Exact curves averaged over seeds, with the test error of gradient descent, on the CPU.
//! let seeds: Vec<u64> = (0..20).collect();
//! let req = [CurveRequest::new(empirical_times(), Dynamics::GradientDescent).with_test_error()];
//! let avg = seed_average(&cfg, &seeds, &req, &|| {}, &Device::cpu())?;
//! assert_eq!(avg[0].test_mean.as_ref().unwrap().len(), 50);
//! # Ok(())
//! # }
//! ```

#[cfg(all(feature = "cuda-12", feature = "cuda-13"))]
compile_error!(
    "features `cuda-12` and `cuda-13` are exclusive: use `--no-default-features --features cuda-12` for CUDA 12"
);

pub mod error;

pub mod backend;

pub mod check;

pub mod linalg;

pub mod random;

pub mod stats;

pub mod data;

pub mod kernels;

pub mod models;

pub mod training;

pub mod solvers;

pub mod sampling;

pub mod science;

#[cfg(feature = "sweep")]
pub mod sweep;

#[cfg(feature = "figures")]
pub mod figure;

pub use backend::{Backend, Device, DeviceRequest, Float, Precision};
pub use error::{Error, Result};

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
