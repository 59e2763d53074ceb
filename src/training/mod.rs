//! Full-batch training of the [`FullyConnected`](crate::models::FullyConnected) networks: the
//! adaptive gradient flow of Geiger, Petrini & Wyart (arXiv 2012.15110, with the integrator of
//! `mariogeiger/gradientflow@0875a20`) and plain gradient descent ([`Integrator`]), the α-trick
//! objective ([`MarginObjective`]), the log-linear checkpoint schedule, and whole runs with the
//! original's stop rules, logged quantities and tangent-kernel change ([`train`], [`RunRecord`]);
//! and the supervised loops of the tutorial's [`ReluNetwork`](crate::models::ReluNetwork)s:
//! full-batch [`GradientDescent`] on the squared error and [`MinibatchAdam`] with weight decay.
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
mod run;
mod supervised;
mod sweep;

pub use checkpoints::LogLinearSchedule;
pub use gradient_flow::{Integrator, Method, Objective, StepInfo};
pub use margin_objective::MarginObjective;
pub use run::{
    Budget, Checkpoint, DataInfo, DeltaKernel, Precision, RunConfig, RunData, RunRecord, SetStats,
    StopReason, load_records, save_records, train, train_on_splits,
};
pub use supervised::{Adam, GdOutcome, GradientDescent, MinibatchAdam};
pub use sweep::train_all;
