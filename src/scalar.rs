//! The floating-point types our kernels run in: `f32` and `f64`.
//!
//! [`Float`] gathers what the CPU path (faer GEMM, elementary functions) and the CUDA path (device
//! copies, the type's name in the `.cu` entry points) need, so that one generic function serves
//! both precisions.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// What the CUDA backend needs of a scalar: a plain-old-data device representation.
#[cfg(feature = "cuda")]
pub trait DeviceScalar: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits {}
#[cfg(feature = "cuda")]
impl<T: cudarc::driver::DeviceRepr + cudarc::driver::ValidAsZeroBits> DeviceScalar for T {}
/// What the CUDA backend needs of a scalar (nothing: this build has no CUDA backend).
#[cfg(not(feature = "cuda"))]
pub trait DeviceScalar {}
#[cfg(not(feature = "cuda"))]
impl<T> DeviceScalar for T {}

/// `f32` or `f64`.
pub trait Float:
    faer::traits::RealField
    + DeviceScalar
    + sealed::Sealed
    + Copy
    + Send
    + Sync
    + Debug
    + Display
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + 'static
{
    /// `"f32"` or `"f64"`: the suffix of the CUDA entry points.
    const NAME: &'static str;
    /// Machine epsilon.
    const EPS: f64;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Rounds an `f64`.
    fn of(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64(self) -> f64;
    /// eˣ.
    fn exp(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// xʸ.
    fn powf(self, y: Self) -> Self;
    /// arccos x.
    fn acos(self) -> Self;
    /// max(x, y) (the non-NaN one when one is NaN).
    fn max(self, y: Self) -> Self;
    /// min(x, y).
    fn min(self, y: Self) -> Self;
    /// Finite (neither NaN nor ±∞).
    fn is_finite(self) -> bool;
}

macro_rules! impl_float {
    ($t:ty, $name:literal) => {
        impl Float for $t {
            const NAME: &'static str = $name;
            const EPS: f64 = <$t>::EPSILON as f64;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn powf(self, y: Self) -> Self {
                <$t>::powf(self, y)
            }
            #[inline(always)]
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            #[inline(always)]
            fn max(self, y: Self) -> Self {
                <$t>::max(self, y)
            }
            #[inline(always)]
            fn min(self, y: Self) -> Self {
                <$t>::min(self, y)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_float!(f32, "f32");
impl_float!(f64, "f64");
