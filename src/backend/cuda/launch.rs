//! Every kernel of `cuda/*.cu`, with its argument list declared once.
//!
//! Each declaration below generates an argument struct with one named field per kernel parameter,
//! a launcher that pushes the fields in the declared order (the only way the crate launches that
//! kernel), and an entry of [`signatures`]: the names and C types the launcher passes for `f32` and
//! `f64`. Call sites fill the struct by field name, so no call site depends on the order, and a
//! test compares the declared names and types with the `extern "C" __global__` signatures parsed
//! from the `.cu` sources: a declaration that disagrees with its kernel in count, order, name or
//! type cannot go unnoticed.
//!
//! Argument kinds: `ptr E` is a `const E*` the kernel reads, `mut E` an `E*` it writes, `val E` a
//! value of C type `E` (`T` is the working precision).

use cudarc::driver::{LaunchConfig, PushKernelArg};

use super::emulate::EmuArgs;
use super::memory::{DeviceBuffer, DeviceView};
use super::{CudaRuntime, Gpu, Handle, derr};
use crate::backend::{CType, Float};
use crate::error::{Error, Result};

/// One kernel's entry point and its parameters (name and C type), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The entry point (`dd_kmat_f32`, ...).
    pub name: String,
    /// The `.cu` file that defines it.
    pub file: &'static str,
    /// (parameter name, C type): `("w_star", "const float*")`, `("d", "int")`, ...
    pub params: Vec<(&'static str, String)>,
}

macro_rules! c_param {
    (ptr $t:ty) => {
        format!("const {}*", <$t as CType>::C)
    };
    (mut $t:ty) => {
        format!("{}*", <$t as CType>::C)
    };
    (val $t:ty) => {
        <$t as CType>::C.to_string()
    };
}

/// The launchers: on a real card, the arguments go to cudarc's launch builder (device views and
/// slices, so cudarc orders the work on its stream); on the emulated device, each becomes one
/// slot of the `void**` array that `cuLaunchKernel` would receive.
macro_rules! cuda_kernels {
    (@field ptr $t:ty) => { &'a DeviceView<'a, $t> };
    (@field mut $t:ty) => { &'a mut DeviceBuffer<$t> };
    (@field val $t:ty) => { $t };
    (@cuda ptr, $v:expr) => { $v.cuda()? };
    (@cuda mut, $v:expr) => { $v.cuda_mut()? };
    (@cuda val, $v:expr) => { $v };
    (@push $b:ident, mut, $v:expr) => { $b.arg($v) };
    (@push $b:ident, $kind:ident, $v:expr) => { $b.arg(&$v) };
    (@emu ptr, $v:expr) => { $v.emulated_ptr()? };
    (@emu mut, $v:expr) => { $v.emulated_ptr()? };
    (@emu val, $v:expr) => { $v };
    ($(
        $(#[$doc:meta])*
        $file:literal fn $name:ident($args:ident) { $($arg:ident: $kind:ident $t:ty),* $(,)? }
    )*) => {
        $(
            #[doc = concat!("The arguments of `", stringify!($name), "`, in the order of its C signature.")]
            pub(crate) struct $args<'a, T> {
                $(pub(crate) $arg: cuda_kernels!(@field $kind $t),)*
            }

            $(#[$doc])*
            ///
            /// # Safety
            /// Every buffer must hold the elements the kernel indexes for these sizes and `cfg`.
            #[allow(unused_mut)]
            pub(crate) unsafe fn $name<T: Float>(
                rt: &CudaRuntime,
                cfg: LaunchConfig,
                mut args: $args<'_, T>,
            ) -> Result<()> {
                let f = rt.function(&format!(concat!(stringify!($name), "_{}"), T::NAME))?;
                match (&rt.gpu, &f.handle) {
                    (Gpu::Cuda { stream, .. }, Handle::Cuda(func)) => {
                        $(let $arg = cuda_kernels!(@cuda $kind, args.$arg);)*
                        let mut b = stream.launch_builder(func);
                        $(cuda_kernels!(@push b, $kind, $arg);)*
                        // SAFETY: the argument list is the kernel's (checked against the .cu
                        // source by the tests); buffer sizes are the caller's contract.
                        unsafe { b.launch(cfg) }
                            .map(|_| ())
                            .map_err(derr(concat!("launching ", stringify!($name))))
                    }
                    (Gpu::Emulated(emu), Handle::Emulated(k)) => {
                        let mut packed = EmuArgs::default();
                        $(packed.push(cuda_kernels!(@emu $kind, args.$arg));)*
                        emu.launch(k, &cfg, &packed)
                    }
                    _ => Err(Error::Device(concat!(stringify!($name), ": kernel of another device").into())),
                }
            }
        )*

        /// The parameters every launcher passes, for precision `T`.
        pub fn signatures<T: Float>() -> Vec<Signature> {
            vec![$(Signature {
                name: format!(concat!(stringify!($name), "_{}"), T::NAME),
                file: $file,
                params: vec![$((stringify!($arg), c_param!($kind $t))),*],
            }),*]
        }
    };
}

cuda_kernels! {
    /// ‖xᵢ‖² of the n rows of X (n × d, row-major), one warp per row.
    "kernels.cu" fn dd_sqnorms(SqnormsArgs) { x: ptr T, out: mut T, n: val i32, d: val i32 }
    /// A row block of K(X, Z) (64×64 tiles, distance and transform fused).
    "kernels.cu" fn dd_kmat(KmatArgs) {
        x: ptr T, z: ptr T, xn: ptr T, zn: ptr T, out: mut T,
        n: val i32, m: val i32, d: val i32, ld: val i64, row0: val i32,
        self_diag: val i32, upper_only: val i32,
        kind: val i32, p1: val T, p2: val T, bias: val i32, depth: val i32,
    }
    /// Copies the upper triangle of an n×n block onto the lower one.
    "kernels.cu" fn dd_mirror(MirrorArgs) { a: mut T, n: val i32, ld: val i64 }
    /// Partial sums of K(X, Z)·W over one split of the columns of K.
    "kernels.cu" fn dd_kw(KwArgs) {
        x: ptr T, z: ptr T, xn: ptr T, zn: ptr T, w: ptr T, partial: mut T,
        n: val i32, m: val i32, d: val i32, c_total: val i32, col0: val i32, cw: val i32,
        tiles_per_split: val i32,
        kind: val i32, p1: val T, p2: val T, bias: val i32, depth: val i32,
    }
    /// Adds the splits' partial sums in a fixed order.
    "kernels.cu" fn dd_kw_reduce(KwReduceArgs) {
        partial: ptr T, out: mut T, n: val i32, c_total: val i32, col0: val i32, cw: val i32,
        splits: val i32,
    }
    /// One-sided Jacobi SVD, one thread block per matrix.
    "svd.cu" fn dd_jacobi_svd(JacobiSvdArgs) {
        a: ptr T, u: mut T, s: mut T, v: mut T, sweeps: mut i32, work: mut T,
        mw: val i32, nw: val i32, tol: val T, max_sweeps: val i32, use_shared: val i32,
    }
    /// The fused SGLD update of every chain (Philox noise drawn in the kernel).
    "sgld.cu" fn dd_sgld_update(SgldUpdateArgs) {
        w: mut T, w_star: ptr T, g: ptr T, precond: ptr T, d: val i32,
        eps: val f64, nbeta: val f64, gamma: val f64, seed: val u64, step: val u64,
        use_precond: val i32,
    }
}
