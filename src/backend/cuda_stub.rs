//! The CUDA backend of a build without the `cuda` feature: the same items as `cuda/mod.rs` and
//! its launchers, over a runtime type with no values. [`runtime`] says why there is no GPU, so
//! [`Device::cuda`](crate::backend::Device::cuda) fails with [`Error::DeviceUnavailable`], and the
//! launchers, which need a runtime to be called, can never run.

use std::sync::Arc;

use crate::error::{Error, Result};

/// The CUDA runtime of this build: it has no values.
pub enum CudaRuntime {}

/// Always [`Error::DeviceUnavailable`]: this build has no CUDA backend.
pub(crate) fn runtime() -> Result<Arc<CudaRuntime>> {
    Err(Error::DeviceUnavailable(
        "this build of doubledescent has no CUDA backend (enable feature cuda-13 or cuda-12)"
            .into(),
    ))
}

pub(crate) fn describe(rt: &CudaRuntime) -> String {
    match *rt {}
}

/// The kernel-matrix launchers (never called: no runtime exists).
pub(crate) mod kernels {
    use faer::{Mat, MatRef};

    use super::CudaRuntime;
    use crate::backend::abi::KernelParams;
    use crate::error::Result;

    pub(crate) fn matrix<T>(
        rt: &CudaRuntime,
        _: &KernelParams<T>,
        _: MatRef<'_, T>,
        _: Option<MatRef<'_, T>>,
    ) -> Result<Mat<T>> {
        match *rt {}
    }

    pub(crate) fn apply<T>(
        rt: &CudaRuntime,
        _: &KernelParams<T>,
        _: MatRef<'_, T>,
        _: MatRef<'_, T>,
        _: MatRef<'_, T>,
    ) -> Result<Mat<T>> {
        match *rt {}
    }
}

/// The batched-SVD launcher (never called: no runtime exists).
pub(crate) mod svd {
    use faer::{Mat, MatRef};

    use super::CudaRuntime;
    use crate::error::Result;

    pub(crate) type SvdParts<T> = (Mat<T>, Vec<T>, Mat<T>);

    pub(crate) fn batched_svd<T>(
        rt: &CudaRuntime,
        _: &[MatRef<'_, T>],
    ) -> Result<Vec<Option<SvdParts<T>>>> {
        match *rt {}
    }
}

/// The fused SGLD launcher (never called: no runtime exists).
pub(crate) mod sgld {
    use super::CudaRuntime;
    use crate::backend::abi::SgldStep;
    use crate::error::Result;

    pub(crate) fn sgld_update<T>(
        rt: &CudaRuntime,
        _: &mut [T],
        _: &[T],
        _: &[T],
        _: Option<&[T]>,
        _: &SgldStep,
    ) -> Result<()> {
        match *rt {}
    }
}
