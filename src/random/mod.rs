//! Seeded random numbers: Gaussian matrices and Haar-random orthogonal matrices.
//!
//! All sampling in the crate goes through a [`StdRng`] seeded with [`seeded`], so the same seed
//! gives the same result on the CPU, independent of the number of threads.

use faer::Mat;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;

use crate::linalg;

pub mod numpy;
pub mod philox;

/// The crate's random generator (ChaCha12 through `rand`'s `StdRng`).
pub type Rng = StdRng;

/// A generator seeded from a 64-bit seed.
pub fn seeded(seed: u64) -> Rng {
    StdRng::seed_from_u64(seed)
}

/// Derives an independent stream for item `index` of a batch that shares one `seed`
/// (SplitMix64 mixing of the pair, so neighbouring seeds and indices do not correlate).
pub fn substream(seed: u64, index: u64) -> Rng {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    seeded(z ^ (z >> 31))
}

/// An `nrows × ncols` matrix of i.i.d. N(0, `std`²) entries, filled row by row.
pub fn gaussian_matrix(rng: &mut Rng, nrows: usize, ncols: usize, std: f64) -> Mat<f64> {
    let mut m = Mat::zeros(nrows, ncols);
    for i in 0..nrows {
        for j in 0..ncols {
            let z: f64 = rng.sample(StandardNormal);
            m[(i, j)] = std * z;
        }
    }
    m
}

/// A vector of i.i.d. N(0, `std`²) entries.
pub fn gaussian_vec(rng: &mut Rng, len: usize, std: f64) -> Vec<f64> {
    (0..len)
        .map(|_| std * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// A Haar-random `d × d` orthogonal matrix.
///
/// QR factorisation of a standard Gaussian matrix G = QR, then column j of Q is multiplied by
/// sign(R_jj), which makes the factorisation unique and the law of Q exactly Haar
/// (Mezzadri, "How to generate random matrices from the classical compact groups", 2007).
/// Errors when d = 0.
pub fn haar_orthogonal(rng: &mut Rng, d: usize) -> crate::Result<Mat<f64>> {
    let g = gaussian_matrix(rng, d, d, 1.0);
    let (mut q, r) = linalg::qr_seq(g.as_ref())?;
    for j in 0..d {
        if r[(j, j)] < 0.0 {
            for i in 0..d {
                q[(i, j)] = -q[(i, j)];
            }
        }
    }
    Ok(q)
}
