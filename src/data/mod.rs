//! Image classification data: the IDX (MNIST) and CIFAR-10 binary formats, the 10,000-digit MNIST
//! subset embedded in the crate, and the preprocessing of the double-descent tutorial
//! (`dataloader.py`, `DoubleDescentTutorialPart2.ipynb` and `InterpolationWithNoise.ipynb` of
//! `aradha5772/deep_learning_theory_tutorial@f2750a9`): first `k` images of each class, unit-norm
//! rows, one-hot labels and seeded label corruption. Regression tables for the least-squares
//! studies of *Double Descent Demystified* (`src/utils.py` of its repository): the embedded
//! diabetes table, the student–teacher set with missing features, and CSV files. Minibatches, row
//! gathering and seeded uniform inputs for the training loops and samplers.
//!
//! ```
//! use doubledescent::data::{self, Split};
//!
//! # fn main() -> doubledescent::Result<()> {
//! let digits = data::mnist_embedded()?;            // 10,000 × 784, labels 0..=9
//! let split = digits.first_per_class(400)?;        // the tutorial's 4000-digit training set
//! assert_eq!(split.train.len(), 4000);
//! assert_eq!(split.rest.len(), 6000);
//! # let _ = Split::Train;
//! # Ok(())
//! # }
//! ```

mod batches;
mod cifar;
#[cfg(feature = "csv")]
mod csv_tables;
mod idx;
mod pca;
mod sphere_teacher;
mod tabular;

pub use batches::{Minibatches, gather_rows, uniform_inputs};
pub use cifar::cifar10;
#[cfg(feature = "csv")]
pub use csv_tables::{CsvOptions, diabetes, diabetes_raw, parse_csv, read_csv};
pub use idx::{IdxArray, mnist, read_idx, read_idx_bytes, read_idx_from};
pub use pca::{BinarySet, PcaConfig, PcaSplits, binary_pca};
pub use sphere_teacher::{SphereTeacher, sphere_teacher};
pub use tabular::{RegressionData, student_teacher};

use faer::Mat;
use rand::RngExt;

use crate::backend::Float;
use crate::check::check_alloc;
use crate::error::{Error, Result};
use crate::random;

/// Which part of a public dataset to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training files (MNIST `train-*`, CIFAR-10 `data_batch_1..5.bin`).
    Train,
    /// The test files (MNIST `t10k-*`, CIFAR-10 `test_batch.bin`).
    Test,
}

/// Labelled images, row-major: image `i` is `pixels[i·dim .. (i+1)·dim]`, with values in
/// [0, 1) (bytes divided by 256, as the tutorial's loader does).
#[derive(Clone, Debug)]
pub struct Dataset {
    pixels: Vec<f32>,
    labels: Vec<u8>,
    dim: usize,
    classes: usize,
}

/// A training set and the images that were not picked for it.
#[derive(Clone, Debug)]
pub struct TrainRest {
    /// The selected images.
    pub train: Dataset,
    /// All other images, in their original order.
    pub rest: Dataset,
}

const MNIST_IMAGES: &[u8] = include_bytes!("../../data/mnist-10k-images-idx3-ubyte.gz");
const MNIST_LABELS: &[u8] = include_bytes!("../../data/mnist-10k-labels-idx1-ubyte.gz");

/// The 10,000 MNIST digits committed in `data/` (a shuffled subset of the MNIST database; see
/// `data/README.md` for origin and licence), decoded from the copy embedded in the crate.
pub fn mnist_embedded() -> Result<Dataset> {
    let images = read_idx_bytes(MNIST_IMAGES, "embedded mnist-10k images")?;
    let labels = read_idx_bytes(MNIST_LABELS, "embedded mnist-10k labels")?;
    Dataset::from_idx(images, labels, 10)
}

impl Dataset {
    /// Pixel values, `len() × dim`, row-major (finite).
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// Class of each image, in `0..classes`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Values per image (784 for MNIST, 3072 for CIFAR-10).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Builds a dataset from an image array (n × …) and a label array (n), checking shapes and
    /// that every label is below `classes`.
    pub fn from_idx(images: IdxArray, labels: IdxArray, classes: usize) -> Result<Dataset> {
        let n = images.dims.first().copied().unwrap_or(0);
        if n == 0 {
            return Err(Error::invalid(
                "images",
                "0 images",
                "need at least one image",
            ));
        }
        if labels.dims.len() != 1 || labels.dims[0] != n {
            return Err(Error::ShapeMismatch {
                what: "labels against images".into(),
                expected: format!("[{n}]"),
                got: format!("{:?}", labels.dims),
            });
        }
        let dim: usize = images.dims[1..].iter().product();
        if images.dims.len() < 2 || dim == 0 || images.data.len() != n * dim {
            return Err(Error::ShapeMismatch {
                what: "image bytes against the image array's dimensions".into(),
                expected: format!("{:?} (at least one value per image)", images.dims),
                got: format!("{} bytes", images.data.len()),
            });
        }
        let pixels = images.data.iter().map(|&b| b as f32 / 256.0).collect();
        Dataset::new(pixels, labels.data, dim, classes)
    }

    /// Checks and wraps row-major pixels and labels.
    pub fn new(pixels: Vec<f32>, labels: Vec<u8>, dim: usize, classes: usize) -> Result<Dataset> {
        if dim == 0 || classes == 0 {
            return Err(Error::invalid(
                "dim/classes",
                format!("{dim}/{classes}"),
                "must both be positive",
            ));
        }
        if pixels.len() != labels.len() * dim {
            return Err(Error::ShapeMismatch {
                what: "pixels against labels·dim".into(),
                expected: format!("{}·{dim}", labels.len()),
                got: format!("{} values", pixels.len()),
            });
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= classes)
        {
            return Err(Error::invalid(
                "labels",
                format!("label {l} at index {i}"),
                format!("labels must lie in 0..{classes}"),
            ));
        }
        crate::check::check_finite("pixels", pixels.iter().map(|&v| v as f64))?;
        Ok(Dataset {
            pixels,
            labels,
            dim,
            classes,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images of `self` followed by those of `other` (the original's MNIST pool is the train
    /// and test files concatenated). Errors when the image sizes or class counts differ.
    pub fn concat(&self, other: &Dataset) -> Result<Dataset> {
        if self.dim != other.dim || self.classes != other.classes {
            return Err(Error::ShapeMismatch {
                what: "datasets to concatenate".into(),
                expected: format!("dim {}, {} classes", self.dim, self.classes),
                got: format!("dim {}, {} classes", other.dim, other.classes),
            });
        }
        let mut pixels = self.pixels.clone();
        pixels.extend_from_slice(&other.pixels);
        let mut labels = self.labels.clone();
        labels.extend_from_slice(&other.labels);
        Ok(Dataset {
            pixels,
            labels,
            dim: self.dim,
            classes: self.classes,
        })
    }

    /// Square single-channel images downsampled by averaging `factor × factor` blocks (28×28
    /// MNIST with factor 2 gives 14×14 = 196 values), a standard way to shrink a network's input
    /// layer. Errors unless the images are square with a side divisible by `factor`.
    pub fn pooled(&self, factor: usize) -> Result<Dataset> {
        let side = (self.dim as f64).sqrt().round() as usize;
        if factor == 0 || side * side != self.dim || !side.is_multiple_of(factor) {
            return Err(Error::invalid(
                "factor",
                factor,
                format!(
                    "needs square images with a side divisible by it (dim {})",
                    self.dim
                ),
            ));
        }
        let s = side / factor;
        let inv = 1.0 / (factor * factor) as f32;
        let mut pixels = Vec::with_capacity(self.len() * s * s);
        for img in self.pixels.chunks_exact(self.dim) {
            for r in 0..s {
                for c in 0..s {
                    let mut acc = 0.0f32;
                    for dr in 0..factor {
                        let row = (r * factor + dr) * side + c * factor;
                        acc += img[row..row + factor].iter().sum::<f32>();
                    }
                    pixels.push(acc * inv);
                }
            }
        }
        Ok(Dataset {
            pixels,
            labels: self.labels.clone(),
            dim: s * s,
            classes: self.classes,
        })
    }

    /// The images with the given indices, in that order.
    pub fn select(&self, idx: &[usize]) -> Result<Dataset> {
        if let Some(&i) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(Error::invalid(
                "idx",
                i,
                format!("index out of range for {} images", self.len()),
            ));
        }
        let mut pixels = Vec::with_capacity(idx.len() * self.dim);
        for &i in idx {
            pixels.extend_from_slice(&self.pixels[i * self.dim..(i + 1) * self.dim]);
        }
        Ok(Dataset {
            pixels,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            dim: self.dim,
            classes: self.classes,
        })
    }

    /// The tutorial's training subset (`DoubleDescentTutorialPart2.ipynb`): walk the images in order and keep the first
    /// `per_class` of every class, stacked class by class in order of first appearance; `rest`
    /// holds every other image in order. Errors when a class has fewer than `per_class` images.
    pub fn first_per_class(&self, per_class: usize) -> Result<TrainRest> {
        if per_class == 0 {
            return Err(Error::invalid("per_class", 0, "must be positive"));
        }
        let mut picked: Vec<Vec<usize>> = vec![Vec::new(); self.classes];
        let mut order = Vec::new();
        let mut taken = vec![false; self.len()];
        for (i, &l) in self.labels.iter().enumerate() {
            let c = l as usize;
            if picked[c].len() < per_class {
                if picked[c].is_empty() {
                    order.push(c);
                }
                picked[c].push(i);
                taken[i] = true;
            }
        }
        if let Some(c) = (0..self.classes).find(|&c| picked[c].len() < per_class) {
            return Err(Error::invalid(
                "per_class",
                per_class,
                format!("class {c} has only {} images", picked[c].len()),
            ));
        }
        let train_idx: Vec<usize> = order.iter().flat_map(|&c| picked[c].clone()).collect();
        let rest_idx: Vec<usize> = (0..self.len()).filter(|&i| !taken[i]).collect();
        Ok(TrainRest {
            train: self.select(&train_idx)?,
            rest: self.select(&rest_idx)?,
        })
    }

    /// The pixels as an n × dim matrix in precision `T`, each row divided by its L2 norm (the
    /// tutorial's unit-sphere inputs). Errors on an all-zero image.
    pub fn unit_rows<T: Float>(&self) -> Result<Mat<T>> {
        let d = self.dim;
        let mut out = Mat::<T>::zeros(self.len(), d);
        for i in 0..self.len() {
            let row = &self.pixels[i * d..(i + 1) * d];
            let norm = row
                .iter()
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 {
                return Err(Error::invalid(
                    "pixels",
                    format!("image {i} is all zeros"),
                    "cannot scale a zero image to unit norm",
                ));
            }
            for (j, &v) in row.iter().enumerate() {
                out[(i, j)] = T::of(v as f64 / norm);
            }
        }
        Ok(out)
    }

    /// One-hot labels, n × classes.
    pub fn one_hot<T: Float>(&self) -> Result<Mat<T>> {
        one_hot(&self.labels, self.classes)
    }
}

/// One-hot encoding: row i has a 1 in column `labels[i]`; every label must be < `classes`.
pub fn one_hot<T: Float>(labels: &[u8], classes: usize) -> Result<Mat<T>> {
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l as usize >= classes)
    {
        return Err(Error::invalid(
            "labels",
            format!("{l} at index {i}"),
            format!("every label must be < classes = {classes}"),
        ));
    }
    check_alloc::<T>("one-hot labels", labels.len(), classes)?;
    Ok(Mat::from_fn(labels.len(), classes, |i, j| {
        if labels[i] as usize == j {
            T::ONE
        } else {
            T::ZERO
        }
    }))
}

/// Label noise as in the tutorial's `InterpolationWithNoise.ipynb`: each label is replaced, with
/// probability `p`, by a uniformly random class (which may equal the true one, so about
/// p·(1 − 1/classes) of the labels end up wrong). The uniform draws and the random classes depend
/// only on `seed`, so for one seed the corrupted sets are nested in `p`, exactly the behaviour of
/// the original notebook (whose global RNG was re-seeded by every fit). Returns the new labels and
/// how many were replaced.
pub fn corrupt_labels(
    labels: &[u8],
    classes: usize,
    p: f64,
    seed: u64,
) -> Result<(Vec<u8>, usize)> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::invalid("p", p, "must lie in [0, 1]"));
    }
    if classes == 0 || classes > 256 {
        return Err(Error::invalid("classes", classes, "must lie in 1..=256"));
    }
    let mut rng = random::seeded(seed);
    let random_class: Vec<u8> = (0..labels.len())
        .map(|_| rng.random_range(0..classes) as u8)
        .collect();
    let mut replaced = 0;
    let out = labels
        .iter()
        .zip(&random_class)
        .map(|(&l, &r)| {
            let u: f64 = rng.random();
            if u < p {
                replaced += 1;
                r
            } else {
                l
            }
        })
        .collect();
    Ok((out, replaced))
}

/// Fraction of rows whose largest entry sits in a different column in `pred` and `target`
/// (the tutorial's multiclass error 1 − accuracy; ties go to the first column, as `argmax`).
pub fn multiclass_error<T: Float>(
    pred: faer::MatRef<'_, T>,
    target: faer::MatRef<'_, T>,
) -> Result<f64> {
    same_shape(pred, target)?;
    let n = pred.nrows();
    let argmax = |m: faer::MatRef<'_, T>, i: usize| {
        let mut best = 0;
        for j in 1..m.ncols() {
            if m[(i, j)] > m[(i, best)] {
                best = j;
            }
        }
        best
    };
    let wrong = (0..n)
        .filter(|&i| argmax(pred, i) != argmax(target, i))
        .count();
    Ok(wrong as f64 / n as f64)
}

/// Fails unless `pred` and `target` have the same, non-empty shape and `pred` is finite.
fn same_shape<T: Float>(pred: faer::MatRef<'_, T>, target: faer::MatRef<'_, T>) -> Result<()> {
    if pred.shape() != target.shape() || pred.nrows() == 0 || pred.ncols() == 0 {
        return Err(Error::ShapeMismatch {
            what: "predictions against targets".into(),
            expected: format!("{}x{} (non-empty)", target.nrows(), target.ncols()),
            got: format!("{}x{}", pred.nrows(), pred.ncols()),
        });
    }
    crate::check::check_finite_mat("pred", pred)?;
    crate::check::check_finite_mat("target", target)
}

/// Mean squared error over all entries (the tutorial's `mse` / EigenPro's "l2").
pub fn mse<T: Float>(pred: faer::MatRef<'_, T>, target: faer::MatRef<'_, T>) -> Result<f64> {
    same_shape(pred, target)?;
    let (n, c) = pred.shape();
    let mut s = 0.0;
    for j in 0..c {
        for i in 0..n {
            let e = pred[(i, j)].to_f64() - target[(i, j)].to_f64();
            s += e * e;
        }
    }
    let v = s / (n * c) as f64;
    if !v.is_finite() {
        return Err(Error::Numerical(
            "the mean squared error overflows f64 (entries near 1e154 or beyond)".into(),
        ));
    }
    Ok(v)
}
