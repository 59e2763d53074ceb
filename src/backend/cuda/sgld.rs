//! The CUDA path of [`crate::sampling::sgld_update_chains`]: uploads the chains' parameters and
//! gradients, launches `dd_sgld_update` once for all chains and copies the parameters back.

use cudarc::driver::LaunchConfig;

use super::CudaRuntime;
use super::launch::{SgldUpdateArgs, dd_sgld_update};
use crate::backend::Float;
use crate::backend::abi::SgldStep;
use crate::error::{Error, Result};

pub(crate) fn sgld_update<T: Float>(
    rt: &CudaRuntime,
    w: &mut [T],
    grads: &[T],
    w_star: &[T],
    precond: Option<&[T]>,
    s: &SgldStep,
) -> Result<()> {
    let d = w_star.len();
    if w.is_empty() {
        // No chains: nothing to launch (a zero grid dimension is a launch error).
        return Ok(());
    }
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
    let mut wd = rt.upload(w)?;
    let gd = rt.upload(grads)?;
    let sd = rt.upload(w_star)?;
    let pd = rt.upload(precond.unwrap_or(w_star))?;
    let use_precond: i32 = precond.is_some().into();
    let cfg = LaunchConfig {
        grid_dim: (d.div_ceil(2).div_ceil(256) as u32, chains as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: w and g hold chains·d values, w_star and the preconditioner d values; the grid
    // covers ⌈d/2⌉ pairs × chains.
    unsafe {
        dd_sgld_update::<T>(
            rt,
            cfg,
            SgldUpdateArgs {
                w: &mut wd,
                w_star: &sd.view(),
                g: &gd.view(),
                precond: &pd.view(),
                d: di,
                eps: s.epsilon,
                nbeta: s.nbeta,
                gamma: s.gamma,
                seed: s.seed,
                step: s.step,
                use_precond,
            },
        )
    }?;
    rt.download(wd.view(), w)
}
