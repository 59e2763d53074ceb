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

/// A value that crosses into a CUDA kernel, with the C type it has in the `.cu` signature
/// (`float`, `double`, `int`, `long long`, `unsigned long long`).
pub trait CType {
    /// The C spelling of the type.
    const C: &'static str;
}

macro_rules! impl_ctype {
    ($($t:ty => $c:literal),*) => { $(impl CType for $t { const C: &'static str = $c; })* };
}
impl_ctype!(f32 => "float", f64 => "double", i32 => "int", i64 => "long long",
            u64 => "unsigned long long");

/// The working precision a caller asks for at run time (`--precision f32|f64` in the
/// examples); generic code runs in the matching [`Float`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Precision {
    /// f32 weights, data and activations (the LLC paper's JAX code).
    F32,
    /// f64 throughout.
    F64,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = crate::Error;

    /// `f32` (or `float32`, `single`) and `f64` (or `float64`, `double`), in any case.
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" | "single" => Ok(Precision::F32),
            "f64" | "float64" | "double" => Ok(Precision::F64),
            other => Err(crate::Error::invalid(
                "precision",
                other,
                "must be f32 or f64",
            )),
        }
    }
}

/// `f32` or `f64`.
pub trait Float:
    faer::traits::RealField
    + DeviceScalar
    + CType
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
    /// The largest finite value, as f64.
    const MAX: f64;
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
    /// arccos x, branch-free (loops over it vectorise), within 2 ulp of [`Float::acos`]; see
    /// [`crate::backend::fastmath::acos_f64`] and [`crate::backend::fastmath::acos_f32`].
    fn acos_fast(self) -> Self;
    /// max(x, y) (the non-NaN one when one is NaN).
    fn max(self, y: Self) -> Self;
    /// min(x, y).
    fn min(self, y: Self) -> Self;
    /// Finite (neither NaN nor ±∞).
    fn is_finite(self) -> bool;
    /// ln(1 + x).
    fn ln_1p(self) -> Self;
    /// eˣ for x ≤ 0 (the kernels' exponents), branch-free so that loops over it vectorise; see
    /// [`exp_f64`] and [`exp_f32`].
    fn exp_nonpositive(self) -> Self;
}

/// eˣ without a libm call: Cody–Waite reduction x = k·ln 2 + r, |r| ≤ ln 2 / 2, a degree-13 Taylor
/// polynomial for eʳ (truncation < 1e-17 relative) and 2ᵏ assembled in the exponent bits. Within
/// 2 ulp of `f64::exp` for −708 ≤ x ≤ 709; arguments below −708 give e⁻⁷⁰⁸ ≈ 3e-308 instead of
/// a subnormal (an absolute error below 1e-307). Branch-free, so loops over it auto-vectorise.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the fdlibm constants, verbatim
pub fn exp_f64(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    let x = x.clamp(-708.0, 709.0);
    let y = x * std::f64::consts::LOG2_E + MAGIC;
    let kf = y - MAGIC;
    let k = y.to_bits().wrapping_sub(MAGIC.to_bits());
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    p * f64::from_bits(k.wrapping_add(1023) << 52)
}

/// The f32 version of [`exp_f64`]: degree-7 polynomial, within 2 ulp of `f32::exp` for
/// −87 ≤ x ≤ 88, e⁻⁸⁷ ≈ 1.6e-38 below.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn exp_f32(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³
    const LN2_HI: f32 = 0.693_145_751_953_125;
    const LN2_LO: f32 = 1.428_606_765_330_187e-6;
    let x = x.clamp(-87.0, 88.0);
    let y = x * std::f32::consts::LOG2_E + MAGIC;
    let kf = y - MAGIC;
    let k = y.to_bits().wrapping_sub(MAGIC.to_bits());
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let mut p = 1.0 / 5_040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    p * f32::from_bits(k.wrapping_add(127) << 23)
}

macro_rules! impl_float {
    ($t:ty, $name:literal, $exp:ident, $acos:path) => {
        impl Float for $t {
            const NAME: &'static str = $name;
            const EPS: f64 = <$t>::EPSILON as f64;
            const MAX: f64 = <$t>::MAX as f64;
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
            fn acos_fast(self) -> Self {
                $acos(self)
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
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn exp_nonpositive(self) -> Self {
                $exp(self)
            }
        }
    };
}

impl_float!(f32, "f32", exp_f32, super::fastmath::acos_f32);
impl_float!(f64, "f64", exp_f64, super::fastmath::acos_f64);

#[cfg(test)]
mod tests {
    use super::*;

    /// The branch-free exponentials against libm over the kernels' range, in ulps.
    #[test]
    fn fast_exp_is_within_two_ulp_of_libm() {
        let mut worst64 = 0.0f64;
        let mut worst32 = 0.0f64;
        for i in 0..=200_000 {
            let x = -700.0 + 709.0 * i as f64 / 200_000.0;
            let (a, b) = (exp_f64(x), x.exp());
            worst64 = worst64.max((a - b).abs() / (b * f64::EPSILON));
            let xf = (-87.0 + 88.0 * i as f64 / 200_000.0) as f32;
            let (a, b) = (exp_f32(xf) as f64, xf.exp() as f64);
            worst32 = worst32.max((a - b).abs() / (b * f32::EPSILON as f64));
        }
        assert!(worst64 <= 2.0, "f64: {worst64} ulp");
        assert!(worst32 <= 2.0, "f32: {worst32} ulp");
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f32(0.0), 1.0);
        assert!(exp_f64(-1e6) > 0.0 && exp_f64(-1e6) < 1e-307);
        assert!(exp_f32(-1e6) > 0.0 && exp_f32(-1e6) < 1e-37);
    }
}
