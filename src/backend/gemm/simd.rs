//! The vector registers the micro-kernel is written over: one lane type per instruction set,
//! with the five operations a GEMM needs (zero, broadcast, load, store, fused multiply–add).
//!
//! Every implementation is a thin wrapper over `core::arch` intrinsics carrying the instruction
//! set in `#[target_feature]`, so that the generic code in [`super::kernel`] compiles to the same
//! instructions a hand-written kernel would once it is inlined into a function with that feature
//! (the per-ISA entry points of the `gemm` module). [`Scalar`] is the portable fallback and the
//! reference the tests compare every other lane type with.

use crate::backend::Float;

/// A vector of `W` lanes of `T`.
///
/// # Safety
/// The methods may only run on a processor with the instruction set the implementation names;
/// pointers must be valid for `W` elements (no alignment is required).
pub(crate) unsafe trait Simd: Copy {
    /// The element type.
    type T: Float;
    /// The register.
    type V: Copy;
    /// Lanes per register.
    const W: usize;
    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: Self::T) -> Self::V;
    /// `W` elements from `p`.
    unsafe fn load(p: *const Self::T) -> Self::V;
    /// `W` elements to `p`.
    unsafe fn store(p: *mut Self::T, v: Self::V);
    /// a·b + c, rounded once.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// a·b.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// a + b.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
}

/// One lane of `T`: the portable kernel (and the reference for the vector ones).
#[derive(Clone, Copy)]
pub(crate) struct Scalar<T>(std::marker::PhantomData<T>);

// SAFETY: plain scalar arithmetic, valid on every processor.
unsafe impl<T: Float> Simd for Scalar<T> {
    type T = T;
    type V = T;
    const W: usize = 1;
    #[inline(always)]
    unsafe fn zero() -> T {
        T::ZERO
    }
    #[inline(always)]
    unsafe fn splat(x: T) -> T {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const T) -> T {
        // SAFETY: the caller passes a pointer valid for one element.
        unsafe { p.read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut T, v: T) {
        // SAFETY: as for `load`.
        unsafe { p.write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn fma(a: T, b: T, c: T) -> T {
        a * b + c
    }
    #[inline(always)]
    unsafe fn mul(a: T, b: T) -> T {
        a * b
    }
    #[inline(always)]
    unsafe fn add(a: T, b: T) -> T {
        a + b
    }
}

/// Declares one x86-64 lane type from its intrinsics.
macro_rules! x86_simd {
    ($(#[$doc:meta])* $name:ident, $t:ty, $v:ty, $w:expr, $feat:literal,
     $zero:ident, $splat:ident, $load:ident, $store:ident, $fma:ident, $mul:ident, $add:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[derive(Clone, Copy)]
        pub(crate) struct $name;

        #[cfg(target_arch = "x86_64")]
        // SAFETY: each method runs only where `$feat` is present (the trait's contract), and the
        // unaligned loads and stores touch exactly `W` elements.
        unsafe impl Simd for $name {
            type T = $t;
            type V = $v;
            const W: usize = $w;
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn zero() -> $v {
                std::arch::x86_64::$zero()
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn splat(x: $t) -> $v {
                std::arch::x86_64::$splat(x)
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn load(p: *const $t) -> $v {
                // SAFETY: the caller passes a pointer valid for `W` elements.
                unsafe { std::arch::x86_64::$load(p) }
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn store(p: *mut $t, v: $v) {
                // SAFETY: as for `load`.
                unsafe { std::arch::x86_64::$store(p, v) }
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                std::arch::x86_64::$fma(a, b, c)
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn mul(a: $v, b: $v) -> $v {
                std::arch::x86_64::$mul(a, b)
            }
            #[inline]
            #[target_feature(enable = $feat)]
            unsafe fn add(a: $v, b: $v) -> $v {
                std::arch::x86_64::$add(a, b)
            }
        }
    };
}

x86_simd!(
    /// Eight f32 lanes (AVX2 + FMA, `ymm`).
    Avx2F32, f32, std::arch::x86_64::__m256, 8, "avx2,fma",
    _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
    _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps
);
x86_simd!(
    /// Four f64 lanes (AVX2 + FMA, `ymm`).
    Avx2F64, f64, std::arch::x86_64::__m256d, 4, "avx2,fma",
    _mm256_setzero_pd, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd,
    _mm256_fmadd_pd, _mm256_mul_pd, _mm256_add_pd
);
x86_simd!(
    /// Sixteen f32 lanes (AVX-512F, `zmm`).
    Avx512F32, f32, std::arch::x86_64::__m512, 16, "avx512f",
    _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
    _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps
);
x86_simd!(
    /// Eight f64 lanes (AVX-512F, `zmm`).
    Avx512F64, f64, std::arch::x86_64::__m512d, 8, "avx512f",
    _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd,
    _mm512_fmadd_pd, _mm512_mul_pd, _mm512_add_pd
);
