//! Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
//! SC 2011): a counter-based generator, so a normal draw is a pure function of (key, counter).
//! The SGLD noise uses it on both backends with the same counter layout (`cuda/sgld.cu`): every
//! element of every chain at every step has its own counter, so chains are independent, the
//! result does not depend on the number of threads, and the CPU and GPU draw the same uniforms
//! bit for bit. The normals agree to about 1e-16 relative, not bitwise: the GPU's `log` and
//! `sincos` and NVRTC's FMA contraction round differently from the CPU's libm.

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

/// Two independent standard normals for (key = seed, counter = (pair, chain, step)): two 53-bit
/// uniforms from the four words, then Box–Muller (u₁ ∈ (0, 1], so the logarithm is finite).
#[inline]
pub fn normal_pair(seed: u64, chain: u32, step: u64, pair: u32) -> (f64, f64) {
    let r = philox4x32(
        [pair, chain, step as u32, (step >> 32) as u32],
        [seed as u32, (seed >> 32) as u32],
    );
    let u1 = (((r[0] >> 5) as u64 * 67_108_864 + (r[1] >> 6) as u64) as f64 + 1.0)
        / 9_007_199_254_740_992.0;
    let u2 =
        ((r[2] >> 5) as u64 * 67_108_864 + (r[3] >> 6) as u64) as f64 / 9_007_199_254_740_992.0;
    let rad = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
    (rad * c, rad * s)
}

#[cfg(test)]
mod tests {
    use super::*;

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
