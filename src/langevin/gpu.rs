//! The CUDA path of [`super::sgld_update_chains`]: uploads the chains' parameters and gradients,
//! launches `dd_sgld_update` once for all chains and copies the parameters back.

use cudarc::driver::{DriverError, LaunchConfig, PushKernelArg};

use super::Step;
use crate::cuda::CudaRuntime;
use crate::error::{Error, Result};
use crate::scalar::Float;

fn derr(what: &'static str) -> impl Fn(DriverError) -> Error {
    move |e| Error::Device(format!("{what}: {e}"))
}

pub(crate) fn sgld_update<T: Float>(
    rt: &CudaRuntime,
    w: &mut [T],
    grads: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    s: &Step,
) -> Result<()> {
    let d = w_star.len();
    let chains = w.len() / d;
    let di =
        i32::try_from(d).map_err(|_| Error::invalid("w_star", d, "exceeds 32-bit indexing"))?;
    if chains > 65_535 {
        return Err(Error::invalid(
            "chains",
            chains,
            "the CUDA path takes at most 65535 chains",
        ));
    }
    let f = rt.function(&format!("dd_sgld_update_{}", T::NAME))?;
    let mut wd = rt
        .stream
        .clone_htod(w)
        .map_err(derr("copying parameters"))?;
    let gd = rt
        .stream
        .clone_htod(grads)
        .map_err(derr("copying gradients"))?;
    let sd = rt.stream.clone_htod(w_star).map_err(derr("copying w*"))?;
    let pd = rt
        .stream
        .clone_htod(precond.unwrap_or(w_star))
        .map_err(derr("copying the preconditioner"))?;
    let use_precond: i32 = precond.is_some().into();
    let cfg = LaunchConfig {
        grid_dim: (d.div_ceil(2).div_ceil(256) as u32, chains as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut b = rt.stream.launch_builder(f);
    b.arg(&mut wd)
        .arg(&gd)
        .arg(&sd)
        .arg(&pd)
        .arg(&di)
        .arg(&s.epsilon)
        .arg(&s.nbeta)
        .arg(&s.gamma)
        .arg(&s.seed)
        .arg(&s.step)
        .arg(&use_precond);
    // SAFETY: the arguments match dd_sgld_update(T*, const T*, const T*, const T*, int, double,
    // double, double, unsigned long long, unsigned long long, int); w and g hold chains·d values,
    // w_star and the preconditioner d values; the grid covers ⌈d/2⌉ pairs × chains.
    unsafe { b.launch(cfg) }.map_err(derr("launching dd_sgld_update"))?;
    rt.stream
        .memcpy_dtoh(&wd, w)
        .map_err(derr("copying parameters back"))?;
    Ok(())
}
