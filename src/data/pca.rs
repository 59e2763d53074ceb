//! The binary PCA data sets of Geiger, Petrini & Wyart (arXiv 2012.15110;
//! `mariogeiger/feature_lazy@3e50d5c`, `dataset/__init__.py: get_normalized_dataset,
//! get_binary_dataset`): MNIST-10-PCA and CIFAR10-30-PCA.
//!
//! 1. Interleave the classes (`intertwine_labels`): permute the images of each class, then take
//!    c0, c1, …, c9, c0, c1, … until the smallest class is exhausted.
//! 2. Centre (`x ← x − mean_over_samples(x)`) and rescale every image to ‖x‖ = √D.
//! 3. PCA without whitening: u = (z − μ) V_d / √(mean(λ₁ … λ_d)), with λ the eigenvalues of the
//!    covariance (z − μ)ᵀ(z − μ)/n in decreasing order, so that E‖u‖² = d and the components keep
//!    their relative variances. Fitted on the whole pool, as the original.
//! 4. Split recursively in the order test → kernel → train (`intertwine_split`): for each set,
//!    permute within each class, interleave, take the first p, pass the rest on.
//! 5. Labels y = +1 for an even class index, −1 for an odd one (parity for MNIST).
//!
//! The permutations come from our seeded generator, not PyTorch's, so the draws differ from the
//! original's while following the same law; eigenvector signs are fixed so that the entry of
//! largest magnitude of each component is positive.

use crate::backend::gemm::matmul;
use faer::{Accum, Mat, Par};
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::Dataset;
use crate::backend::Float;
use crate::check::check_alloc;
use crate::error::{Error, Result};
use crate::random;

/// Columns (and, times 16, rows) per block of the PCA products.
const BLOCK: usize = 32;
/// The eigendecomposition's parallelism: a fixed number of parts, whatever the pool.
const EVD_PAR: Par = Par::Rayon(std::num::NonZeroUsize::new(4).unwrap());

/// Sizes and seeds of the three disjoint sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcaConfig {
    /// Number of principal components d.
    pub d: usize,
    /// Test points (the original: 40 000).
    pub test: usize,
    /// Kernel points, on which tangent kernels are measured (the original: 2500).
    pub kernel: usize,
    /// Training points P (the original: 5000).
    pub train: usize,
    /// Seeds of the test, kernel and train permutations. The original uses
    /// `seed_set + p_set` with every `seed_set` 0, i.e. (pte, ptk, ptr); the pool's class
    /// interleaving uses the first one.
    pub seeds: [u64; 3],
}

impl PcaConfig {
    /// The original's seeds (p_test, p_kernel, p_train) for these sizes.
    pub fn new(d: usize, test: usize, kernel: usize, train: usize) -> Self {
        PcaConfig {
            d,
            test,
            kernel,
            train,
            seeds: [test as u64, kernel as u64, train as u64],
        }
    }
}

/// One set: inputs, ±1 labels, classes and the indices of the images in the input pool.
#[derive(Clone, Debug)]
pub struct BinarySet {
    /// Inputs, n × d.
    pub x: Mat<f64>,
    /// Labels ±1.
    pub y: Vec<f64>,
    /// Original classes.
    pub class: Vec<u8>,
    /// Index of each point in the pool passed to [`binary_pca`].
    pub index: Vec<usize>,
}

impl BinarySet {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// The inputs in precision `T`.
    pub fn x_as<T: Float>(&self) -> Mat<T> {
        Mat::from_fn(self.x.nrows(), self.x.ncols(), |i, j| T::of(self.x[(i, j)]))
    }
    /// The labels in precision `T`.
    pub fn y_as<T: Float>(&self) -> Vec<T> {
        self.y.iter().map(|&v| T::of(v)).collect()
    }
}

/// The three sets and the PCA they come from.
#[derive(Clone, Debug)]
pub struct PcaSplits {
    /// Test set.
    pub test: BinarySet,
    /// Kernel set.
    pub kernel: BinarySet,
    /// Training set.
    pub train: BinarySet,
    /// The d leading covariance eigenvalues, decreasing.
    pub eigenvalues: Vec<f64>,
    /// The d leading components, D × d, orthonormal columns.
    pub components: Mat<f64>,
    /// Images kept after class balancing.
    pub pool: usize,
}

/// Permutes the indices of each class and interleaves the classes c0, c1, …, truncating every
/// class to the smallest one (`intertwine_labels`).
fn intertwine(idx: &[usize], labels: &[u8], classes: usize, rng: &mut random::Rng) -> Vec<usize> {
    let mut by_class: Vec<Vec<usize>> = vec![vec![]; classes];
    for &i in idx {
        by_class[labels[i] as usize].push(i);
    }
    for c in &mut by_class {
        c.shuffle(rng);
    }
    let present: Vec<&Vec<usize>> = by_class.iter().filter(|c| !c.is_empty()).collect();
    let m = present.iter().map(|c| c.len()).min().unwrap_or(0);
    let mut out = Vec::with_capacity(m * present.len());
    for k in 0..m {
        for c in &present {
            out.push(c[k]);
        }
    }
    out
}

/// Builds the test, kernel and train sets from a pool of labelled images (for MNIST, the train and
/// test files concatenated as the original does, or the embedded 10 000 digits).
pub fn binary_pca(pool: &Dataset, cfg: &PcaConfig) -> Result<PcaSplits> {
    let dim = pool.dim;
    if cfg.d == 0 || cfg.d > dim {
        return Err(Error::invalid(
            "d",
            cfg.d,
            format!("must lie in 1..={dim} (the image dimension)"),
        ));
    }
    if cfg.train == 0 {
        return Err(Error::invalid("train size P", 0, "must be positive"));
    }
    let mut rng = random::seeded(cfg.seeds[0]);
    let all: Vec<usize> = (0..pool.len()).collect();
    let kept = intertwine(&all, &pool.labels, pool.classes, &mut rng);
    let n = kept.len();
    let need = cfg.test as u128 + cfg.kernel as u128 + cfg.train as u128;
    if need > n as u128 {
        return Err(Error::invalid(
            "test + kernel + train sizes",
            need,
            format!("the class-balanced pool has only {n} images"),
        ));
    }
    check_alloc::<f64>("pca pool", n, dim)?;
    // Centre over samples, then rescale every image to norm √D.
    let mut z = Mat::<f64>::from_fn(n, dim, |i, j| pool.pixels[kept[i] * dim + j] as f64);
    for j in 0..dim {
        let c = z.col_as_slice_mut(j);
        let m = c.iter().sum::<f64>() / n as f64;
        c.iter_mut().for_each(|v| *v -= m);
    }
    let mut norms = vec![0.0f64; n];
    for j in 0..dim {
        for (s, v) in norms.iter_mut().zip(z.col_as_slice(j)) {
            *s += v * v;
        }
    }
    if let Some(i) = norms.iter().position(|&s| s <= 0.0) {
        return Err(Error::invalid(
            "images",
            format!("image {} of the pool", kept[i]),
            "equals the mean image: it cannot be normalised",
        ));
    }
    let target = (dim as f64).sqrt();
    for j in 0..dim {
        for (v, s) in z.col_as_slice_mut(j).iter_mut().zip(&norms) {
            *v *= target / s.sqrt();
        }
    }
    // PCA on the whole pool.
    for j in 0..dim {
        let c = z.col_as_slice_mut(j);
        let m = c.iter().sum::<f64>() / n as f64;
        c.iter_mut().for_each(|v| *v -= m);
    }
    // Both products run as fixed blocks of sequential GEMMs in parallel, so every entry is summed
    // in the same order on any number of threads (faer's parallel GEMM splits the inner dimension
    // by thread count, and the PCA data then differ in the last bits between 1 and 2 threads).
    let mut cov = Mat::<f64>::zeros(dim, dim);
    cov.par_col_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let j0 = b * BLOCK;
            let w = block.ncols();
            matmul(
                block,
                Accum::Replace,
                z.transpose(),
                z.as_ref().subcols(j0, w),
                1.0 / n as f64,
                Par::Seq,
            );
        });
    // A fixed degree of parallelism, for the same reason: faer splits the tridiagonalisation into
    // as many parts as `Par` says, so a fixed count gives the same sums on any pool (1 or more
    // threads run the same parts).
    let mut s = faer::diag::Diag::<f64>::zeros(dim);
    let mut u = Mat::<f64>::zeros(dim, dim);
    {
        use faer::dyn_stack::{MemBuffer, MemStack};
        use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
        let params = Default::default();
        let mut buf = MemBuffer::new(self_adjoint_evd_scratch::<f64>(
            dim,
            ComputeEigenvectors::Yes,
            EVD_PAR,
            params,
        ));
        self_adjoint_evd(
            cov.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            EVD_PAR,
            MemStack::new(&mut buf),
            params,
        )
        .map_err(|e| Error::Numerical(format!("PCA eigendecomposition failed: {e:?}")))?;
    }
    let (u, s) = (u.as_ref(), s.as_ref());
    let lam: Vec<f64> = (0..cfg.d).map(|k| s[dim - 1 - k]).collect();
    let mut comps = Mat::<f64>::from_fn(dim, cfg.d, |i, k| u[(i, dim - 1 - k)]);
    for k in 0..cfg.d {
        let c = comps.col_as_slice_mut(k);
        let big = c
            .iter()
            .copied()
            .fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
        if big < 0.0 {
            c.iter_mut().for_each(|v| *v = -*v);
        }
    }
    let mean_lam = lam.iter().sum::<f64>() / cfg.d as f64;
    if mean_lam.is_nan() || mean_lam <= 0.0 {
        return Err(Error::invalid(
            "d",
            cfg.d,
            "the leading components carry no variance",
        ));
    }
    let mut proj = Mat::<f64>::zeros(n, cfg.d);
    proj.par_row_chunks_mut(16 * BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let i0 = b * 16 * BLOCK;
            let h = block.nrows();
            matmul(
                block,
                Accum::Replace,
                z.as_ref().subrows(i0, h),
                comps.as_ref(),
                1.0 / mean_lam.sqrt(),
                Par::Seq,
            );
        });
    // Split test → kernel → train on positions 0..n of the interleaved pool.
    let pos_labels: Vec<u8> = kept.iter().map(|&i| pool.labels[i]).collect();
    let mut rest: Vec<usize> = (0..n).collect();
    let mut sets = Vec::with_capacity(3);
    for (k, &p) in [cfg.test, cfg.kernel, cfg.train].iter().enumerate() {
        let mut rng = random::seeded(cfg.seeds[k]);
        let order = intertwine(&rest, &pos_labels, pool.classes, &mut rng);
        if order.len() < p {
            return Err(Error::invalid(
                "test + kernel + train sizes",
                need,
                format!(
                    "after balancing the classes only {} images remain for set {k}",
                    order.len()
                ),
            ));
        }
        let picked = order[..p].to_vec();
        rest = order[p..].to_vec();
        sets.push(BinarySet {
            x: Mat::from_fn(p, cfg.d, |i, j| proj[(picked[i], j)]),
            y: picked
                .iter()
                .map(|&i| {
                    if pos_labels[i].is_multiple_of(2) {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect(),
            class: picked.iter().map(|&i| pos_labels[i]).collect(),
            index: picked.iter().map(|&i| kept[i]).collect(),
        });
    }
    let train = sets.pop().unwrap();
    let kernel = sets.pop().unwrap();
    let test = sets.pop().unwrap();
    Ok(PcaSplits {
        test,
        kernel,
        train,
        eigenvalues: lam,
        components: comps,
        pool: n,
    })
}
