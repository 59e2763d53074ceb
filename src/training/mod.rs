//! Training loops over the crate's models, built from interchangeable update rules
//! ([`Stepper`]: plain gradient steps [`Sgd`] and [`Adam`] with coupled weight decay):
//!
//! * full-batch [`GradientDescent`] and minibatch [`MinibatchAdam`] over any
//!   [`Model`](crate::models::Model) with its loss (the tutorial's width sweeps, the epoch-wise
//!   heat map), and minibatch SGD along which
//!   [`sampling::llc_over_training`](crate::sampling::llc_over_training) measures λ̂;
//! * the adaptive gradient flow of Geiger, Petrini & Wyart (arXiv 2012.15110, with the
//!   integrator of `mariogeiger/gradientflow@0875a20`) and fixed-step gradient descent
//!   ([`Integrator`]) over any [`Objective`]: the α-trick objective of the phase diagram
//!   ([`MarginObjective`]) or a model's own loss ([`ModelObjective`]);
//! * the log-linear checkpoint schedule, and whole phase-diagram runs with the original's stop
//!   rules, logged quantities and tangent-kernel change ([`train`], [`RunRecord`]).
//!
//! ```
//! use doubledescent::data::{PcaConfig, binary_pca, mnist_embedded};
//! use doubledescent::training::{Budget, RunConfig, train_on_splits};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let splits = binary_pca(&mnist_embedded()?, &PcaConfig::new(10, 200, 50, 100))?;
//! // The lazy side: α̃ = 10⁴, the tangent kernel barely moves.
//! let mut cfg = RunConfig::original(32, 1e4, 0, 60.0);
//! cfg.budget = Budget { max_wall: None, max_steps: Some(2000) };
//! let run = train_on_splits(&cfg, &splits, "mnist-pca10", &|_| {})?;
//! println!("{:?} after {} steps: train err {}", run.stop, run.last().step, run.last().train.err);
//! assert!(run.delta_kernel.unwrap().ratio() < 0.1);
//! # Ok(())
//! # }
//! ```

mod checkpoints;
mod gradient_flow;
mod margin_objective;
mod model_objective;
mod run;
mod steppers;
mod supervised;
mod sweep;

pub use checkpoints::LogLinearSchedule;
pub use gradient_flow::{Integrator, Method, Objective, StepInfo};
pub use margin_objective::MarginObjective;
pub use model_objective::ModelObjective;
pub use run::{
    Budget, Checkpoint, DataInfo, DeltaKernel, Precision, RunConfig, RunData, RunRecord, SetStats,
    StopReason, load_records, save_records, train, train_on_splits,
};
pub use steppers::{Adam, Sgd, Stepper};
pub use supervised::{GdOutcome, GradientDescent, MinibatchAdam};
pub use sweep::train_all;
