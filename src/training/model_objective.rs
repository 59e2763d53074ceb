//! A model's own loss as an [`Objective`], so that the adaptive gradient flow and fixed-step
//! gradient descent of [`Integrator`](super::Integrator) train any [`Model`].

use faer::MatRef;

use super::Objective;
use crate::backend::Float;
use crate::error::{Error, Result};
use crate::models::{Model, Scratch, check_inputs};

/// The mean loss of `model` on (x, y); its outputs, which bound the adaptive step, are the
/// model's outputs on x in column-major order (n·M values).
pub struct ModelObjective<'a, T: Float, M: Model<T> + ?Sized> {
    model: &'a M,
    x: MatRef<'a, T>,
    y: MatRef<'a, T>,
    scratch: Scratch<T>,
}

impl<'a, T: Float, M: Model<T> + ?Sized> ModelObjective<'a, T, M> {
    /// The objective of `model` at parameters like `w` on (x, y), checked once; the model may
    /// use `threads` threads per evaluation (1: the calling thread; 0: all of rayon's).
    pub fn new(
        model: &'a M,
        w: &[T],
        x: MatRef<'a, T>,
        y: MatRef<'a, T>,
        threads: usize,
    ) -> Result<Self> {
        check_inputs(model, w, x, y)?;
        let mut scratch = Scratch::parallel(threads);
        model.prepare(&mut scratch, x.nrows())?;
        Ok(ModelObjective {
            model,
            x,
            y,
            scratch,
        })
    }
}

impl<T: Float, M: Model<T> + ?Sized> Objective<T> for ModelObjective<'_, T, M> {
    fn num_params(&self) -> usize {
        self.model.num_params()
    }
    fn num_outputs(&self) -> usize {
        self.x.nrows() * self.model.output_dim()
    }
    fn evaluate(&mut self, w: &[T], out: &mut [T], grad: &mut [T]) -> Result<f64> {
        let loss = self
            .model
            .loss_grad_in(&mut self.scratch, w, self.x, self.y, grad);
        if !loss.is_finite() {
            return Err(Error::Numerical(format!(
                "the model's loss is {loss} at these parameters"
            )));
        }
        let f = self.model.forward(w, self.x);
        for (j, chunk) in out.chunks_mut(self.x.nrows()).enumerate() {
            for (i, o) in chunk.iter_mut().enumerate() {
                *o = f[(i, j)];
            }
        }
        Ok(loss)
    }
}
