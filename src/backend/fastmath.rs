//! Branch-free elementary functions for the hot loops (the SGLD noise's Box–Muller transform, the
//! arc-cosine kernels), written so that a loop over them vectorises: no libm calls, no data-
//! dependent branches (selections compile to blends), integer work only where AVX2 has it. The
//! polynomials are fdlibm's (Sun Microsystems, `e_log.c`, `k_sin.c`, `k_cos.c`, `e_asin.c`),
//! whose stated errors are below 1 ulp; the tests bound our error against the standard library's.
//! None of them uses a fused multiply–add, so every target gives the same bits.

/// ln x for positive normal x (fdlibm's `__ieee754_log`: x = 2ᵏ·m with m ∈ [√2/2, √2),
/// f = m − 1, s = f/(2 + f), ln m = 2 atanh s by a degree-14 polynomial in s). Within 1 ulp of
/// `f64::ln` (the test measures it); zero, negative and subnormal inputs are not handled (the
/// Box–Muller uniforms are in [2⁻⁵³, 1]).
#[inline(always)]
#[allow(clippy::excessive_precision)] // fdlibm's constants, verbatim
pub fn ln_positive(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LG1: f64 = 6.666_666_666_666_735_130e-1;
    const LG2: f64 = 3.999_999_999_940_941_908e-1;
    const LG3: f64 = 2.857_142_874_366_239_149e-1;
    const LG4: f64 = 2.222_219_843_214_978_396e-1;
    const LG5: f64 = 1.818_357_216_161_805_012e-1;
    const LG6: f64 = 1.531_383_769_920_937_332e-1;
    const LG7: f64 = 1.479_819_860_511_658_591e-1;
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    // fdlibm's split: the mantissa's high word plus 0x95f64 carries into the exponent exactly
    // when m ≥ √2 (approximately), and then m is halved and k raised by one.
    let hx = (bits >> 32) as u32 & 0x000f_ffff;
    let carry = (hx.wrapping_add(0x95f64)) & 0x0010_0000;
    let m_hi = hx | (carry ^ 0x3ff0_0000);
    let m = f64::from_bits(((m_hi as u64) << 32) | (bits & 0xffff_ffff));
    // k = biased exponent − 1023 (+1 after the carry), converted with the 2⁵² trick (no
    // int → float conversion of 64-bit lanes on AVX2).
    let e_biased = (bits >> 52) + (carry >> 20) as u64;
    let dk = f64::from_bits(TWO52.to_bits() | e_biased) - (TWO52 + 1023.0);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    // fdlibm picks the form by the mantissa's range; both are computed and one selected.
    let wide = dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
    let narrow = dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
    let i = (hx as i32 - 0x6147a) | (0x6b851 - hx as i32);
    if i > 0 { wide } else { narrow }
}

/// sin x and cos x for |x| ≤ π/4 (fdlibm's `__kernel_sin` and `__kernel_cos` with no tail).
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn sincos_kernel(x: f64) -> (f64, f64) {
    const S1: f64 = -1.666_666_666_666_663_243_48e-1;
    const S2: f64 = 8.333_333_333_322_489_461_24e-3;
    const S3: f64 = -1.984_126_982_985_794_931_34e-4;
    const S4: f64 = 2.755_731_370_707_006_767_89e-6;
    const S5: f64 = -2.505_076_025_340_686_341_95e-8;
    const S6: f64 = 1.589_690_995_211_550_102_21e-10;
    const C1: f64 = 4.166_666_666_666_660_190_37e-2;
    const C2: f64 = -1.388_888_888_887_410_957_49e-3;
    const C3: f64 = 2.480_158_728_947_672_941_78e-5;
    const C4: f64 = -2.755_731_435_139_066_330_35e-7;
    const C5: f64 = 2.087_572_321_298_174_827_90e-9;
    const C6: f64 = -1.135_964_755_778_819_482_65e-11;
    let z = x * x;
    let r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
    let sin = x + z * x * (S1 + z * r);
    let rc = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    let cos = w + (((1.0 - w) - hz) + z * rc);
    (sin, cos)
}

/// (sin 2πu, cos 2πu) for u ∈ [0, 1] given in turns. The reduction is exact in turns (u − q/4
/// with q the nearest quarter), so only the final 2π·r rounds: within 2 ulp (2⁻⁵⁶ absolute near
/// the zeros) of the exact values, which `(2πu).sin_cos()` misses by the rounding of its angle.
#[inline(always)]
pub fn sincos_turns(u: f64) -> (f64, f64) {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
    const TAU_HI: f64 = std::f64::consts::TAU; // 2π rounded
    const TAU_LO: f64 = 2.449_293_598_294_706_4e-16; // 2π − TAU_HI
    let qm = 4.0 * u + MAGIC;
    let q = qm - MAGIC;
    let quadrant = qm.to_bits() & 3;
    let r = u - 0.25 * q; // exact: |r| ≤ 1/8
    let (s, c) = sincos_kernel(r * TAU_HI + r * TAU_LO);
    // Rotate by q quarter turns.
    let (s1, c1) = if quadrant & 1 == 1 { (c, -s) } else { (s, c) };
    if quadrant & 2 == 2 {
        (-s1, -c1)
    } else {
        (s1, c1)
    }
}

/// arccos x for x ∈ [−1, 1] (arguments outside are clamped), fdlibm's `__ieee754_acos` without
/// branches: for |x| ≤ 1/2, π/2 − (x + x·R(x²)); for |x| > 1/2, with z = (1 − |x|)/2 and
/// s = √z, 2(s + s·R(z)) mirrored for negative x. R is fdlibm's rational approximation of
/// (arcsin t − t)/t. Within 2 ulp of `f64::acos` (the test measures it).
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn acos_f64(x: f64) -> f64 {
    const PIO2_HI: f64 = std::f64::consts::FRAC_PI_2; // fdlibm's pio2_hi
    const PIO2_LO: f64 = 6.123_233_995_736_766_035_87e-17;
    const PI: f64 = std::f64::consts::PI;
    let x = x.clamp(-1.0, 1.0);
    let ax = x.abs();
    let big = ax > 0.5;
    let z = if big { 0.5 * (1.0 - ax) } else { x * x };
    let r = asin_ratio(z);
    // |x| ≤ 1/2.
    let small_val = PIO2_HI - (x - (PIO2_LO - x * r));
    // |x| > 1/2: s = √z, arccos|x| = 2(s + s·R) with s split for accuracy (fdlibm).
    let s = z.sqrt();
    let df = f64::from_bits(s.to_bits() & 0xffff_ffff_0000_0000);
    // (|x| = 1 gives z = s = 0: the floor on the divisor keeps 0/0 out.)
    let c = (z - df * df) / (s + df).max(f64::MIN_POSITIVE);
    let pos = 2.0 * (df + (s * r + c));
    let neg = PI - 2.0 * (s + (s * r - PIO2_LO));
    let big_val = if x < 0.0 { neg } else { pos };
    if big { big_val } else { small_val }
}

/// fdlibm's R(z) = (asin √z − √z)/√z ≈ z·P(z)/Q(z) (`e_asin.c`, pS0…qS4).
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn asin_ratio(z: f64) -> f64 {
    const PS0: f64 = 1.666_666_666_666_666_574_15e-1;
    const PS1: f64 = -3.255_658_186_224_009_154_05e-1;
    const PS2: f64 = 2.012_125_321_348_629_258_81e-1;
    const PS3: f64 = -4.005_553_450_067_941_140_27e-2;
    const PS4: f64 = 7.915_349_942_898_145_321_76e-4;
    const PS5: f64 = 3.479_331_075_960_211_675_69e-5;
    const QS1: f64 = -2.403_394_911_734_414_218_78e0;
    const QS2: f64 = 2.020_945_760_233_505_694_71e0;
    const QS3: f64 = -6.882_839_716_054_532_930_30e-1;
    const QS4: f64 = 7.703_815_055_590_193_527_91e-2;
    let p = z * (PS0 + z * (PS1 + z * (PS2 + z * (PS3 + z * (PS4 + z * PS5)))));
    let q = 1.0 + z * (QS1 + z * (QS2 + z * (QS3 + z * QS4)));
    p / q
}

/// arccos x in f32 (clamped to [−1, 1]): for |x| ≤ 1/2, π/2 − (x + x·R(x²)); above, 2·(s + s·R(z))
/// with z = (1 − |x|)/2, s = √z, mirrored for negative x; R is the f32 rational of fdlibm's
/// `e_asinf.c` (Sun). Within 2 ulp of `f32::acos` (the test measures it).
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub fn acos_f32(x: f32) -> f32 {
    const PS0: f32 = 1.666_658_669_7e-1;
    const PS1: f32 = -4.274_342_209_1e-2;
    const PS2: f32 = -8.656_363_003_0e-3;
    const QS1: f32 = -7.066_296_339_0e-1;
    const PIO2_HI: f32 = 1.570_796_251_3;
    const PIO2_LO: f32 = 7.549_789_415_9e-8;
    const PI: f32 = 3.141_592_502_6;
    let x = x.clamp(-1.0, 1.0);
    let ax = x.abs();
    let big = ax > 0.5;
    let z = if big { 0.5 * (1.0 - ax) } else { x * x };
    let r = z * (PS0 + z * (PS1 + z * PS2)) / (1.0 + z * QS1);
    let small_val = PIO2_HI - (x - (PIO2_LO - x * r));
    let s = z.sqrt();
    let df = f32::from_bits(s.to_bits() & 0xffff_f000);
    let c = (z - df * df) / (s + df).max(f32::MIN_POSITIVE);
    let pos = 2.0 * (df + (s * r + c));
    let neg = PI - 2.0 * (s + (s * r - PIO2_LO));
    let big_val = if x < 0.0 { neg } else { pos };
    if big { big_val } else { small_val }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64, unit: f64) -> f64 {
        (a - b).abs() / (b.abs().max(f64::MIN_POSITIVE) * unit)
    }

    /// ln over the Box–Muller uniforms' range and beyond: within 1 ulp of libm.
    #[test]
    fn ln_is_within_one_ulp_of_libm() {
        let mut worst = 0.0f64;
        let mut x = 2f64.powi(-60);
        while x < 1e6 {
            for k in 0..64 {
                let v = x * (1.0 + k as f64 / 64.0 + 1e-9 * k as f64);
                let (a, b) = (ln_positive(v), v.ln());
                if b != 0.0 {
                    worst = worst.max(ulps(a, b, f64::EPSILON));
                } else {
                    assert_eq!(a, 0.0);
                }
            }
            x *= 1.37;
        }
        assert!(worst <= 1.0, "ln: {worst} ulp");
        assert_eq!(ln_positive(1.0), 0.0);
        assert_eq!(ln_positive(2f64.powi(-53)), -53.0 * std::f64::consts::LN_2);
    }

    /// sin and cos of whole turns against libm's sin_cos of the rounded angle a, corrected to
    /// first order by the angle's rounding error δ (exact by a fused multiply–add):
    /// sin(a + δ) ≈ sin a + δ cos a. Within 2 ulp, or 2⁻⁵⁶ absolute near the zeros.
    #[test]
    fn sincos_of_turns_matches_libm() {
        const TAU_LO: f64 = 2.449_293_598_294_706_4e-16;
        let mut worst = 0.0f64;
        for i in 0..=200_000u64 {
            let u = (i as f64 / 200_000.0 + (i % 7) as f64 * 1e-12).min(1.0);
            let (s, c) = sincos_turns(u);
            let angle = std::f64::consts::TAU * u;
            let delta = std::f64::consts::TAU.mul_add(u, -angle) + TAU_LO * u;
            let (s0, c0) = angle.sin_cos();
            let (s_ref, c_ref) = (s0 + delta * c0, c0 - delta * s0);
            for (a, b) in [(s, s_ref), (c, c_ref)] {
                let allowed = (2.0 * b.abs() * f64::EPSILON).max(2f64.powi(-56));
                worst = worst.max((a - b).abs() / allowed);
            }
        }
        assert!(worst <= 1.0, "sincos: {worst} of the allowed error");
        assert_eq!(sincos_turns(0.0), (0.0, 1.0));
        assert_eq!(sincos_turns(0.25), (1.0, 0.0));
        assert_eq!(sincos_turns(0.5), (0.0, -1.0));
    }

    /// arccos in both precisions over [−1, 1], densely near ±1 and ±1/2: the maximum error in
    /// ulps of the result against libm.
    #[test]
    fn acos_is_within_two_ulp_of_libm() {
        let mut xs: Vec<f64> = (0..=400_000).map(|i| -1.0 + i as f64 / 200_000.0).collect();
        for k in 1..60 {
            let t = 2f64.powi(-k);
            xs.extend([
                1.0 - t,
                -1.0 + t,
                0.5 + t,
                0.5 - t,
                -0.5 + t,
                -0.5 - t,
                t,
                -t,
            ]);
        }
        let (mut w64, mut w32) = (0.0f64, 0.0f64);
        for &x in &xs {
            w64 = w64.max(ulps(acos_f64(x), x.acos(), f64::EPSILON));
            let xf = x as f32;
            let (a, b) = (acos_f32(xf) as f64, xf.acos() as f64);
            w32 = w32.max(ulps(a, b, f32::EPSILON as f64));
        }
        assert!(w64 <= 2.0, "f64: {w64} ulp");
        assert!(w32 <= 2.0, "f32: {w32} ulp");
        assert_eq!(acos_f64(1.0), 0.0);
        assert_eq!(acos_f64(-1.0), std::f64::consts::PI);
        assert_eq!(acos_f64(1.5), 0.0);
        assert_eq!(acos_f32(1.0), 0.0);
    }
}
