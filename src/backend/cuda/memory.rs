//! Device memory behind the seam: a [`DeviceBuffer`] is a cudarc allocation on a real card or a
//! guarded mapping on the emulated device, and the launchers allocate, copy and slice it through
//! [`CudaRuntime`] without knowing which. Every transfer waits for the stream (the crate issues
//! one kernel sequence at a time and reads its result straight after).

use std::marker::PhantomData;
use std::ops::Range;

use cudarc::driver::{CudaSlice, CudaView};

use super::emulate::EmuBuffer;
use super::{CudaRuntime, Gpu, derr};
use crate::backend::float::DeviceScalar;
use crate::error::{Error, Result};

enum Storage<T> {
    Cuda(CudaSlice<T>),
    Emulated(EmuBuffer, PhantomData<T>),
}

/// `len` values of type `T` in device memory.
pub(crate) struct DeviceBuffer<T> {
    storage: Storage<T>,
    len: usize,
}

/// `len` consecutive values of a buffer, from `start`.
#[derive(Clone, Copy)]
pub(crate) struct DeviceView<'a, T> {
    buf: &'a DeviceBuffer<T>,
    start: usize,
    len: usize,
}

impl<T: DeviceScalar> DeviceBuffer<T> {
    /// The whole buffer.
    pub(crate) fn view(&self) -> DeviceView<'_, T> {
        DeviceView {
            buf: self,
            start: 0,
            len: self.len,
        }
    }

    /// Values `range` of the buffer (a launcher's bug, not the user's, when out of range).
    pub(crate) fn slice(&self, range: Range<usize>) -> DeviceView<'_, T> {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "device slice {range:?} of a buffer of {}",
            self.len
        );
        DeviceView {
            buf: self,
            start: range.start,
            len: range.end - range.start,
        }
    }

    /// The cudarc allocation (for a launch on a real card).
    pub(crate) fn cuda_mut(&mut self) -> Result<&mut CudaSlice<T>> {
        match &mut self.storage {
            Storage::Cuda(s) => Ok(s),
            Storage::Emulated(..) => Err(mixed()),
        }
    }

    /// The address of the first value (for a launch on the emulated device).
    pub(crate) fn emulated_ptr(&mut self) -> Result<*mut T> {
        match &self.storage {
            Storage::Emulated(b, _) => Ok(b.ptr().cast()),
            Storage::Cuda(_) => Err(mixed()),
        }
    }
}

impl<'a, T: DeviceScalar> DeviceView<'a, T> {
    /// The cudarc view (for a launch on a real card).
    pub(crate) fn cuda(&self) -> Result<CudaView<'a, T>> {
        match &self.buf.storage {
            Storage::Cuda(s) => Ok(s.slice(self.start..self.start + self.len)),
            Storage::Emulated(..) => Err(mixed()),
        }
    }

    /// The address of the first value (for a launch on the emulated device).
    pub(crate) fn emulated_ptr(&self) -> Result<*const T> {
        match &self.buf.storage {
            // SAFETY: start ≤ len, within the buffer (checked by `slice`).
            Storage::Emulated(b, _) => Ok(unsafe { b.ptr().cast::<T>().add(self.start) }),
            Storage::Cuda(_) => Err(mixed()),
        }
    }
}

fn mixed() -> Error {
    Error::Device("a buffer of one device passed to a kernel of another".into())
}

impl CudaRuntime {
    /// A buffer of `len` values, zeroed when `zeroed`, else left as the device has it (0xFF bytes,
    /// NaN, on the emulated device).
    fn allocate<T: DeviceScalar>(&self, len: usize, zeroed: bool) -> Result<DeviceBuffer<T>> {
        let storage = match &self.gpu {
            Gpu::Cuda { stream, .. } => Storage::Cuda(if zeroed {
                stream.alloc_zeros::<T>(len).map_err(derr("allocating"))?
            } else {
                // SAFETY: callers write every value they read back (their contract).
                unsafe { stream.alloc::<T>(len) }.map_err(derr("allocating"))?
            }),
            Gpu::Emulated(e) => {
                let bytes = len
                    .checked_mul(std::mem::size_of::<T>())
                    .ok_or_else(|| Error::Device(format!("{len} values overflow a size")))?;
                Storage::Emulated(e.alloc(bytes, if zeroed { 0 } else { 0xFF })?, PhantomData)
            }
        };
        Ok(DeviceBuffer { storage, len })
    }

    /// `len` zeros on the device.
    pub(crate) fn zeros<T: DeviceScalar>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        self.allocate(len, true)
    }

    /// `len` values the caller's kernels write before anything reads them.
    pub(crate) fn uninit<T: DeviceScalar>(&self, len: usize) -> Result<DeviceBuffer<T>> {
        self.allocate(len, false)
    }

    /// A device copy of `host`.
    pub(crate) fn upload<T: DeviceScalar + Copy>(&self, host: &[T]) -> Result<DeviceBuffer<T>> {
        match &self.gpu {
            Gpu::Cuda { stream, .. } => Ok(DeviceBuffer {
                storage: Storage::Cuda(
                    stream
                        .clone_htod(host)
                        .map_err(derr("copying data to the device"))?,
                ),
                len: host.len(),
            }),
            Gpu::Emulated(_) => {
                let mut buf = self.uninit::<T>(host.len())?;
                let p = buf.emulated_ptr()?;
                // SAFETY: the buffer holds host.len() values of T.
                unsafe { std::ptr::copy_nonoverlapping(host.as_ptr(), p, host.len()) };
                Ok(buf)
            }
        }
    }

    /// Copies `src` into `dst` (of the same length) on the host, after the work queued before.
    pub(crate) fn download<T: DeviceScalar + Copy>(
        &self,
        src: DeviceView<'_, T>,
        dst: &mut [T],
    ) -> Result<()> {
        if src.len != dst.len() {
            return Err(Error::Device(format!(
                "copying {} device values into {} host values",
                src.len,
                dst.len()
            )));
        }
        match &self.gpu {
            Gpu::Cuda { stream, .. } => {
                stream
                    .memcpy_dtoh(&src.cuda()?, dst)
                    .map_err(derr("copying to the host"))?;
                stream.synchronize().map_err(derr("synchronising"))
            }
            Gpu::Emulated(_) => {
                let p = src.emulated_ptr()?;
                // SAFETY: the view holds src.len values of T.
                unsafe { std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), src.len) };
                Ok(())
            }
        }
    }

    /// A host copy of a whole buffer.
    pub(crate) fn to_host<T: DeviceScalar + Copy>(&self, buf: &DeviceBuffer<T>) -> Result<Vec<T>> {
        // SAFETY: DeviceScalar types are valid as all-zero bits (cudarc's ValidAsZeroBits).
        let zero = unsafe { std::mem::zeroed::<T>() };
        let mut out = vec![zero; buf.len];
        self.download(buf.view(), &mut out)?;
        Ok(out)
    }
}
