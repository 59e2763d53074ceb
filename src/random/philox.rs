//! Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
//! SC 2011): a counter-based generator, so a normal draw is a pure function of (key, counter).
//! The SGLD noise uses it on both backends with the same counter layout (`cuda/sgld.cu`): every
//! element of every chain at every step has its own counter, so chains are independent, the
//! result does not depend on the number of threads, and the CPU and GPU draw the same uniforms
//! bit for bit. The normals agree to about 1e-15, not bitwise: the CPU's branch-free `log` and
//! `sincos` (eight counters at a time, AVX2 where present) and the GPU's libdevice round
//! differently.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Ten Philox rounds of `ctr` under `key`.
#[inline]
pub fn philox4x32(mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for _ in 0..10 {
        let p0 = (M0 as u64) * (ctr[0] as u64);
        let p1 = (M1 as u64) * (ctr[2] as u64);
        let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
        let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
        ctr = [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0];
        key[0] = key[0].wrapping_add(W0);
        key[1] = key[1].wrapping_add(W1);
    }
    ctr
}

/// The two 53-bit uniforms of one Philox block: u₁ ∈ (0, 1] from words 0 and 1, u₂ ∈ [0, 1) from
/// words 2 and 3 (each as hi·2²⁶ + lo, exact in f64; built from 32-bit halves so that it
/// vectorises).
#[inline(always)]
fn uniforms(r: [u32; 4]) -> (f64, f64) {
    const TWO26: f64 = 67_108_864.0;
    const INV53: f64 = 1.0 / 9_007_199_254_740_992.0;
    let u1 = (((r[0] >> 5) as i32 as f64 * TWO26 + (r[1] >> 6) as i32 as f64) + 1.0) * INV53;
    let u2 = ((r[2] >> 5) as i32 as f64 * TWO26 + (r[3] >> 6) as i32 as f64) * INV53;
    (u1, u2)
}

/// Box–Muller with the branch-free ln and sincos of [`crate::backend::fastmath`]:
/// √(−2 ln u₁)·(cos 2πu₂, sin 2πu₂).
#[inline(always)]
fn box_muller(u1: f64, u2: f64) -> (f64, f64) {
    let rad = (-2.0 * crate::backend::fastmath::ln_positive(u1)).sqrt();
    let (s, c) = crate::backend::fastmath::sincos_turns(u2);
    (rad * c, rad * s)
}

/// Two independent standard normals for (key = seed, counter = (pair, chain, step)): two 53-bit
/// uniforms from the four words, then Box–Muller (u₁ ∈ (0, 1], so the logarithm is finite).
/// [`fill_normals`] gives the same bits many pairs at a time.
#[inline]
pub fn normal_pair(seed: u64, chain: u32, step: u64, pair: u32) -> (f64, f64) {
    let r = philox4x32(
        [pair, chain, step as u32, (step >> 32) as u32],
        [seed as u32, (seed >> 32) as u32],
    );
    let (u1, u2) = uniforms(r);
    box_muller(u1, u2)
}

/// Pairs per block of [`fill_normals`]: Philox's rounds and the transform run this many lanes at
/// a time.
pub const LANES: usize = 8;

/// Ten Philox rounds of `LANES` counters (c₀ = pair0 + lane, c₁ = chain, c₂c₃ = step) in
/// structure-of-arrays lanes.
#[inline(always)]
fn philox_lanes(seed: u64, chain: u32, step: u64, pair0: u32) -> [[u32; LANES]; 4] {
    let mut c0 = [0u32; LANES];
    for (l, c) in c0.iter_mut().enumerate() {
        *c = pair0.wrapping_add(l as u32);
    }
    let mut c1 = [chain; LANES];
    let mut c2 = [step as u32; LANES];
    let mut c3 = [(step >> 32) as u32; LANES];
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for _ in 0..10 {
        for l in 0..LANES {
            let p0 = (M0 as u64) * (c0[l] as u64);
            let p1 = (M1 as u64) * (c2[l] as u64);
            let n0 = ((p1 >> 32) as u32) ^ c1[l] ^ k0;
            let n2 = ((p0 >> 32) as u32) ^ c3[l] ^ k1;
            c1[l] = p1 as u32;
            c3[l] = p0 as u32;
            c0[l] = n0;
            c2[l] = n2;
        }
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    [c0, c1, c2, c3]
}

/// [`philox_lanes`] with AVX2 intrinsics: the 32 × 32 → 64-bit products of the eight lanes
/// by two `vpmuludq` (even and odd lanes), split into high and low words by blends.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn philox_lanes_avx2(seed: u64, chain: u32, step: u64, pair0: u32) -> [[u32; LANES]; 4] {
    use std::arch::x86_64::*;
    /// High and low words of m·c for the eight lanes of c.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn mul_hilo(c: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let even = _mm256_mul_epu32(c, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(c), m);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        (hi, lo)
    }
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let mut c0 = _mm256_add_epi32(_mm256_set1_epi32(pair0 as i32), lanes);
    let mut c1 = _mm256_set1_epi32(chain as i32);
    let mut c2 = _mm256_set1_epi32(step as u32 as i32);
    let mut c3 = _mm256_set1_epi32((step >> 32) as u32 as i32);
    let (m0, m1) = (_mm256_set1_epi32(M0 as i32), _mm256_set1_epi32(M1 as i32));
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    for _ in 0..10 {
        let (hi0, lo0) = mul_hilo(c0, m0);
        let (hi1, lo1) = mul_hilo(c2, m1);
        let n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(k0 as i32));
        let n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(k1 as i32));
        c1 = lo1;
        c3 = lo0;
        c0 = n0;
        c2 = n2;
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    let mut out = [[0u32; LANES]; 4];
    for (o, v) in out.iter_mut().zip([c0, c1, c2, c3]) {
        // SAFETY: [u32; 8] is 32 bytes, the size of the vector; unaligned store.
        unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), v) };
    }
    out
}

/// `LANES` pairs from `pair0` on: Philox in lanes (AVX2 intrinsics when `AVX2`, which only the
/// AVX2-compiled caller passes), then the branch-free Box–Muller, which vectorises.
#[inline(always)]
fn normal_block<const AVX2: bool>(
    seed: u64,
    chain: u32,
    step: u64,
    pair0: u32,
    out: &mut [f64; 2 * LANES],
) {
    #[cfg(target_arch = "x86_64")]
    let [c0, c1, c2, c3] = if AVX2 {
        // SAFETY: AVX2 is only requested from `map_avx2`, which runs after the feature check.
        unsafe { philox_lanes_avx2(seed, chain, step, pair0) }
    } else {
        philox_lanes(seed, chain, step, pair0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let [c0, c1, c2, c3] = philox_lanes(seed, chain, step, pair0);
    for l in 0..LANES {
        let (u1, u2) = uniforms([c0[l], c1[l], c2[l], c3[l]]);
        let (z0, z1) = box_muller(u1, u2);
        out[2 * l] = z0;
        out[2 * l + 1] = z1;
    }
}

/// Calls `f(offset, normals)` for consecutive chunks of the normals 2·pair, 2·pair + 1 of the
/// stream (seed, chain, step), starting at normal `start` (even) and covering `len` normals;
/// chunks hold up to 2·LANES values. The values equal [`normal_pair`]'s bit for bit.
#[inline(always)]
fn for_normals<const AVX2: bool>(
    seed: u64,
    chain: u32,
    step: u64,
    len: usize,
    mut f: impl FnMut(usize, &[f64]),
) {
    let mut buf = [0.0; 2 * LANES];
    let mut k = 0;
    while k < len {
        normal_block::<AVX2>(seed, chain, step, (k / 2) as u32, &mut buf);
        let m = (len - k).min(2 * LANES);
        f(k, &buf[..m]);
        k += 2 * LANES;
    }
}

/// Writes normal k of the stream (seed, chain, step) into `out[k]` (k = 2·pair + {0, 1}):
/// the values of [`normal_pair`], eight pairs at a time through Philox and Box–Muller in
/// vector lanes (AVX2 where the processor has it, detected at run time; the same bits either
/// way, as nothing uses a fused multiply–add).
pub fn fill_normals(seed: u64, chain: u32, step: u64, out: &mut [f64]) {
    map_with_normals(seed, chain, step, out, |_, _, z| z)
}

#[inline(always)]
fn map_body<const AVX2: bool, T: Copy, F: Fn(usize, T, f64) -> T>(
    seed: u64,
    chain: u32,
    step: u64,
    w: &mut [T],
    update: &F,
) {
    for_normals::<AVX2>(seed, chain, step, w.len(), |k, z| {
        for (i, (wi, &zi)) in w[k..k + z.len()].iter_mut().zip(z).enumerate() {
            *wi = update(k + i, *wi, zi);
        }
    })
}

/// [`map_body`] compiled for AVX2: Philox's 32-bit products and the transform run four f64
/// (eight u32) lanes wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn map_avx2<T: Copy, F: Fn(usize, T, f64) -> T>(
    seed: u64,
    chain: u32,
    step: u64,
    w: &mut [T],
    update: &F,
) {
    map_body::<true, T, F>(seed, chain, step, w, update)
}

/// The SGLD update of one chain with its Philox noise: for k < w.len(),
/// w_k ← `update(k, w_k, z_k)` with z_k normal k of (seed, chain, step), fused so the normals never
/// leave the first level of cache. AVX2 where the processor has it (the same bits either way).
#[inline]
pub(crate) fn map_with_normals<T: Copy, F: Fn(usize, T, f64) -> T>(
    seed: u64,
    chain: u32,
    step: u64,
    w: &mut [T],
    update: F,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2 (checked just above).
        return unsafe { map_avx2(seed, chain, step, w, &update) };
    }
    map_body::<false, T, F>(seed, chain, step, w, &update)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block generator (in AVX2 lanes where the processor has them) gives `normal_pair`'s
    /// scalar bits for every length and offset of a block.
    #[test]
    fn filled_normals_equal_the_scalar_pairs_bit_for_bit() {
        for (seed, chain, step) in [(0u64, 0u32, 0u64), (7, 3, 12), (u64::MAX, 9, 1 << 40)] {
            for len in [0usize, 1, 2, 15, 16, 17, 33, 1001] {
                let mut z = vec![f64::NAN; len];
                fill_normals(seed, chain, step, &mut z);
                for (k, v) in z.iter().enumerate() {
                    let (a, b) = normal_pair(seed, chain, step, (k / 2) as u32);
                    assert_eq!(v.to_bits(), if k % 2 == 0 { a } else { b }.to_bits());
                }
            }
        }
    }

    /// The branch-free Box–Muller against libm's `ln` and `sin_cos` on the same uniforms: equal to
    /// within 1e-15 times the radius (the stream `cuda/sgld.cu` draws with CUDA's libm).
    #[test]
    fn normals_match_box_muller_with_libm() {
        let mut worst = 0.0f64;
        for i in 0..200_000u32 {
            let r = philox4x32([i, 5, 77, 0], [11, 0]);
            let (u1, u2) = uniforms(r);
            let rad = (-2.0 * u1.ln()).sqrt();
            let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
            let (z0, z1) = normal_pair(11, 5, 77, i);
            worst = worst.max((z0 - rad * c).abs().max((z1 - rad * s).abs()) / rad.max(1.0));
        }
        assert!(worst < 1e-15, "{worst}");
    }

    #[test]
    fn philox_matches_the_published_known_answers() {
        // Random123 kat_vectors, philox4x32_10.
        assert_eq!(
            philox4x32([0; 4], [0; 2]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }
}
