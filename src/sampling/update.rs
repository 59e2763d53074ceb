//! The fused SGLD update of many chains: one pass on the CPU (rayon over chains), one launch of
//! `cuda/sgld.cu` on a GPU, the same Philox noise on both.

use rayon::prelude::*;

use crate::backend::{Compute, Device, Float, cuda};
use crate::error::{Error, Result};
use crate::random::philox;

/// The constants of one SGLD step shared by all chains (ε, nβ, γ, seed, step index).
pub use crate::backend::abi::SgldStep as Step;

/// w ← w − (εp/2)(nβ g + γ(w − w*)) + √(εp)·ξ for one chain, ξ from Philox (seed, chain, step):
/// the arithmetic of `cuda/sgld.cu`.
pub(crate) fn update_chain<T: Float>(
    w: &mut [T],
    g: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    s: &Step,
    chain: u32,
) {
    let (eps, nbeta, gamma) = (s.epsilon, s.nbeta, s.gamma);
    let (half, root) = (0.5 * eps, eps.sqrt());
    match precond {
        None => philox::map_with_normals(s.seed, chain, s.step, w, |k, wk, z| {
            let wk = wk.to_f64();
            let drift = nbeta * g[k].to_f64() + gamma * (wk - w_star[k].to_f64());
            T::of(wk - half * drift + root * z)
        }),
        Some(pc) => philox::map_with_normals(s.seed, chain, s.step, w, |k, wk, z| {
            let (pk, wk) = (pc[k].to_f64(), wk.to_f64());
            let drift = nbeta * g[k].to_f64() + gamma * (wk - w_star[k].to_f64());
            T::of(wk - half * pk * drift + (eps * pk).sqrt() * z)
        }),
    }
}

/// One SGLD step for C chains at once (the fused update of `cuda/sgld.cu`, one launch on CUDA;
/// rayon over chains on the CPU). `w` and `grads` are C × d row-major (chain c at c·d): the
/// parameters and the gradients of the minibatch mean losses; chain c draws its noise from
/// Philox (seed, c, step), so both backends draw the same uniforms; the normals agree to about
/// 1e-15 (the CPU's branch-free `log` and `sincos` and the GPU's libdevice round differently).
/// ε must be finite and > 0, nβ finite and > 0, γ finite and ≥ 0, the preconditioner's entries
/// finite and > 0, and w, w* and the gradients finite; anything else is an error, never NaN
/// parameters.
pub fn sgld_update_chains<T: Float>(
    w: &mut [T],
    grads: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    step: &Step,
    device: &Device,
) -> Result<()> {
    let d = w_star.len();
    if d == 0 || !w.len().is_multiple_of(d) || grads.len() != w.len() {
        return Err(Error::ShapeMismatch {
            what: "chains' parameters and gradients against w*".into(),
            expected: format!("C·{d} values each"),
            got: format!("{} and {}", w.len(), grads.len()),
        });
    }
    if let Some(p) = precond
        && p.len() != d
    {
        return Err(Error::ShapeMismatch {
            what: "preconditioner against w*".into(),
            expected: format!("{d}"),
            got: format!("{}", p.len()),
        });
    }
    super::check_step(step.epsilon, 1)?;
    if !(step.gamma.is_finite() && step.gamma >= 0.0) {
        return Err(Error::invalid(
            "gamma",
            step.gamma,
            "must be finite and >= 0",
        ));
    }
    if !(step.nbeta.is_finite() && step.nbeta > 0.0) {
        return Err(Error::invalid(
            "nbeta",
            step.nbeta,
            "must be finite and > 0",
        ));
    }
    if let Some(v) = precond.and_then(|p| p.iter().find(|v| !(v.is_finite() && v.to_f64() > 0.0))) {
        return Err(Error::invalid(
            "precond",
            v,
            "entries must be finite and > 0",
        ));
    }
    crate::check::check_finite("w_star", w_star.iter().map(|v| v.to_f64()))?;
    crate::check::check_finite("w", w.iter().map(|v| v.to_f64()))?;
    crate::check::check_finite("grads", grads.iter().map(|v| v.to_f64()))?;
    match device.compute() {
        Compute::Cpu => {
            w.par_chunks_mut(d)
                .zip(grads.par_chunks(d))
                .enumerate()
                .for_each(|(c, (wc, gc))| update_chain(wc, gc, w_star, precond, step, c as u32));
        }
        Compute::Cuda(rt) => cuda::sgld::sgld_update(rt, w, grads, w_star, precond, step)?,
    }
    // Finite inputs can still overflow (parameters or gradients near the largest float).
    if let Some(i) = w.iter().position(|v| !v.is_finite()) {
        return Err(Error::Numerical(format!(
            "the SGLD update overflowed {} at chain {}, parameter {}: ε = {:e} is too large for \
             parameters and gradients of this size (w now holds the overflowed values)",
            T::NAME,
            i / d,
            i % d,
            step.epsilon
        )));
    }
    Ok(())
}
