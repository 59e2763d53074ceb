//! The buffers of a [`Dense`] network's forward and backward passes.

use faer::{Mat, MatRef, Par};

use super::Dense;
use crate::backend::Float;
use crate::check::check_alloc;
use crate::error::Result;

/// Buffers of the forward and backward passes for one batch size.
///
/// Build one per data set (train, test, kernel set) and pass it to every call; it grows to the
/// batch size and the architecture on first use and is reused afterwards, so repeated passes
/// allocate nothing.
#[derive(Clone, Debug)]
pub struct Workspace<T: Float> {
    rows: usize,
    /// The layer sizes it was built for.
    sizes: Vec<usize>,
    /// Activations a⁽ˡ⁾ of the hidden layers (rows × nₗ each).
    pub(super) acts: Vec<Mat<T>>,
    /// gₗ σ′(z⁽ˡ⁾) of the hidden layers.
    pub(super) dacts: Vec<Mat<T>>,
    /// Backward signals ∂/∂z⁽ˡ⁾ of the hidden layers.
    pub(super) sig: Vec<Mat<T>>,
    /// Outputs f (rows × M).
    pub(super) out: Mat<T>,
    /// ∂(loss)/∂f (rows × M), the input of the backward pass.
    pub(super) gout: Mat<T>,
    pub(super) par: Par,
}

impl<T: Float> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Workspace<T> {
    /// An empty workspace that runs its GEMMs on the calling thread (the right choice when many
    /// networks train, or many chains sample, in parallel, one per thread).
    pub fn new() -> Self {
        Workspace {
            rows: 0,
            sizes: vec![],
            acts: vec![],
            dacts: vec![],
            sig: vec![],
            out: Mat::new(),
            gout: Mat::new(),
            par: Par::Seq,
        }
    }

    /// Runs the GEMMs on `threads` rayon threads (1: the calling thread; 0: all of rayon's
    /// threads).
    pub fn parallel(mut self, threads: usize) -> Self {
        self.par = par(threads);
        self
    }

    /// The outputs of the last forward pass (rows × M).
    pub fn outputs(&self) -> MatRef<'_, T> {
        self.out.as_ref()
    }

    /// Output `j` of the last forward pass, as a slice.
    pub fn output(&self, j: usize) -> &[T] {
        self.out.col_as_slice(j)
    }

    /// Output `j` of the last forward pass and its column of ∂(loss)/∂f, to read one while
    /// writing the other.
    pub fn output_and_gradient(&mut self, j: usize) -> (&[T], &mut [T]) {
        (self.out.col_as_slice(j), self.gout.col_as_slice_mut(j))
    }

    /// ∂(loss)/∂f, the matrix [`Dense::backward`] reads (rows × M): set it after a forward pass.
    pub fn output_gradient(&mut self) -> faer::MatMut<'_, T> {
        self.gout.as_mut()
    }

    pub(crate) fn ensure(&mut self, net: &Dense, rows: usize) -> Result<()> {
        if self.rows == rows && self.sizes == net.sizes() {
            return Ok(());
        }
        let hidden = &net.sizes()[1..net.sizes().len() - 1];
        let m = net.output_dim();
        let cols: u128 = 3 * hidden.iter().map(|&k| k as u128).sum::<u128>() + 2 * m as u128;
        check_alloc::<T>(
            "network activations",
            rows,
            usize::try_from(cols).unwrap_or(usize::MAX),
        )?;
        self.acts = hidden.iter().map(|&k| Mat::zeros(rows, k)).collect();
        self.dacts = hidden.iter().map(|&k| Mat::zeros(rows, k)).collect();
        self.sig = hidden.iter().map(|&k| Mat::zeros(rows, k)).collect();
        self.out = Mat::zeros(rows, m);
        self.gout = Mat::zeros(rows, m);
        self.rows = rows;
        self.sizes = net.sizes().to_vec();
        Ok(())
    }
}

/// faer's parallelism for `threads` threads (1: the calling thread; 0: all of rayon's).
pub(crate) fn par(threads: usize) -> Par {
    if threads == 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}
