//! Random-feature models fitted by minimum-norm least squares: the finite-width side of the
//! double-descent tutorial (Radhakrishnan, arXiv 2105.14368, sections on random Fourier and random
//! ReLU features; `DoubleDescentTutorial.ipynb` of
//! `aradha5772/deep_learning_theory_tutorial@f2750a9`).
//!
//! A feature map ([`RandomFourier`], [`RandomRelu`]) goes into [`MinNormFeatures`] with an SVD
//! cutoff; [`Fit::fit`] solves for the coefficients and returns a [`FeatureFit`] that owns the map
//! and its coefficients, and [`Predict::predict`] evaluates it without forming the feature matrix.
//!
//! * [`RandomFourier`]: φ(x) = k^{-1/2} e^{i⟨v_j, x⟩}, v_j ~ N(0, I/σ²) (Rahimi & Recht 2007).
//!   ⟨φ(x), φ(x')⟩ → exp(−‖x−x'‖²/(2σ²)) as k → ∞. The tutorial fits the complex model,
//!   ŵ = y·pinv(Φ). Here the same model runs in real arithmetic: with C = cos(VX)/√k and
//!   S = sin(VX)/√k, a complex ŵ = a + ib satisfies ŵΦ = y exactly when
//!   [a b]·[[C, S], [−S, C]] = [y, 0], an isometric real embedding, so its minimum-norm solution
//!   is the complex pinv solution (2n real constraints: the interpolation threshold is k = n, as
//!   in the notebook). Predictions are complex; [`complex_mse`] is the notebook's
//!   mean |ŷ − y|².
//! * [`RandomRelu`]: φ(x) = √(2/k)·relu(Vx + b), V, b ~ N(0, 1) (the notebook's NNGP model with the
//!   first-layer bias): ⟨φ(x), φ(x')⟩ → the arc-cosine kernel [`Kernel::ReluNngp`] with bias.
//!
//! [`Kernel::ReluNngp`]: crate::kernels::KernelKind::ReluNngp

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::{Fit, Predict};
use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::linalg::{Cutoff, min_norm_lstsq};

/// A random feature map that minimum-norm least squares can fit and evaluate.
pub trait FeatureMap: Clone {
    /// The fitted coefficients.
    type Coef;
    /// The predictions for a set of points.
    type Output;
    /// Minimum-norm coefficients for points x and labels y, and the numerical rank.
    fn solve(&self, x: MatRef<'_, f64>, y: &[f64], cutoff: Cutoff) -> Result<(Self::Coef, usize)>;
    /// The predictions of coefficients `coef` at x.
    fn evaluate(&self, coef: &Self::Coef, x: MatRef<'_, f64>) -> Result<Self::Output>;
}

/// An unfitted random-feature regressor: a feature map and the SVD cutoff of its least squares
/// ([`Cutoff::numpy_pinv`] reproduces the notebook).
#[derive(Clone, Debug)]
pub struct MinNormFeatures<F> {
    features: F,
    cutoff: Cutoff,
}

impl<F: FeatureMap> MinNormFeatures<F> {
    /// A regressor on `features`; the cutoff is checked here.
    pub fn new(features: F, cutoff: Cutoff) -> Result<Self> {
        cutoff.validate()?;
        Ok(MinNormFeatures { features, cutoff })
    }
}

/// A fitted random-feature model: the map, its coefficients and the numerical rank of the fit.
#[derive(Clone, Debug)]
pub struct FeatureFit<F: FeatureMap> {
    features: F,
    coef: F::Coef,
    rank: usize,
}

impl<F: FeatureMap> FeatureFit<F> {
    /// The coefficients.
    pub fn coef(&self) -> &F::Coef {
        &self.coef
    }

    /// Numerical rank of the feature matrix at the fit.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The feature map.
    pub fn features(&self) -> &F {
        &self.features
    }
}

impl<F: FeatureMap> Fit<MatRef<'_, f64>, &[f64]> for MinNormFeatures<F> {
    type Fitted = FeatureFit<F>;

    fn fit(&self, x: MatRef<'_, f64>, y: &[f64]) -> Result<FeatureFit<F>> {
        let (coef, rank) = self.features.solve(x, y, self.cutoff)?;
        Ok(FeatureFit {
            features: self.features.clone(),
            coef,
            rank,
        })
    }
}

impl<F: FeatureMap> Predict<MatRef<'_, f64>> for FeatureFit<F> {
    type Output = F::Output;

    fn predict(&self, x: MatRef<'_, f64>) -> Result<F::Output> {
        self.features.evaluate(&self.coef, x)
    }
}

fn check_rows(name: &'static str, x: MatRef<'_, f64>, d: usize) -> Result<()> {
    if x.nrows() == 0 {
        return Err(Error::invalid(name, "0 rows", "need at least one point"));
    }
    if x.ncols() != d {
        return Err(Error::ShapeMismatch {
            what: format!("columns of {name} against the features' input dimension"),
            expected: format!("{d} columns"),
            got: format!("{} columns", x.ncols()),
        });
    }
    check_finite_mat(name, x)
}

fn check_labels(y: &[f64], n: usize) -> Result<()> {
    if y.len() != n {
        return Err(Error::ShapeMismatch {
            what: "labels y against rows of x".into(),
            expected: format!("{n}"),
            got: format!("{}", y.len()),
        });
    }
    crate::check::check_finite("y", y.iter().copied())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// Random Fourier features: k frequencies v_j ∈ R^d (rows of `v`).
#[derive(Clone, Debug)]
pub struct RandomFourier {
    v: Vec<f64>,
    k: usize,
    d: usize,
}

/// The complex coefficients ŵ = re + i·im of a random-Fourier model, one per frequency.
#[derive(Clone, Debug)]
pub struct ComplexCoef {
    /// Real parts.
    pub re: Vec<f64>,
    /// Imaginary parts.
    pub im: Vec<f64>,
}

impl RandomFourier {
    /// `k` frequencies in R^`d`, row-major (`v.len() == k·d`), for example drawn with
    /// `np.random.randn(k, d)` through [`crate::random::numpy::RandomState`].
    pub fn from_frequencies(v: Vec<f64>, k: usize, d: usize) -> Result<Self> {
        if k == 0 || d == 0 || k.checked_mul(d) != Some(v.len()) {
            return Err(Error::ShapeMismatch {
                what: "frequencies against k·d".into(),
                expected: format!("{k}·{d} > 0 values"),
                got: format!("{}", v.len()),
            });
        }
        crate::check::check_finite("v", v.iter().copied())?;
        Ok(RandomFourier { v, k, d })
    }

    /// `k` frequencies v_j ~ N(0, I/σ²) from `rng`: the Gaussian kernel of bandwidth σ.
    pub fn sample(
        k: usize,
        d: usize,
        bandwidth: f64,
        rng: &mut crate::random::Rng,
    ) -> Result<Self> {
        if !(bandwidth.is_finite() && bandwidth > 0.0) {
            return Err(Error::invalid(
                "bandwidth",
                bandwidth,
                "must be finite and > 0",
            ));
        }
        let v = crate::random::gaussian_vec(rng, k * d, 1.0 / bandwidth);
        RandomFourier::from_frequencies(v, k, d)
    }

    /// Number of features k.
    pub fn width(&self) -> usize {
        self.k
    }

    /// The frequencies v (k × d, row-major), as [`RandomFourier::from_frequencies`] takes them.
    pub fn frequencies(&self) -> &[f64] {
        &self.v
    }

    fn freq(&self, r: usize) -> &[f64] {
        &self.v[r * self.d..(r + 1) * self.d]
    }

    /// Re⟨φ(x_i), φ(z_j)⟩ = (1/k)·Σ_r cos⟨v_r, x_i − z_j⟩, the finite-width Gaussian kernel.
    pub fn gram(&self, x: MatRef<'_, f64>, z: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_rows("x", x, self.d)?;
        check_rows("z", z, self.d)?;
        let (cx, sx) = self.cos_sin(x);
        let (cz, sz) = self.cos_sin(z);
        let mut g = crate::linalg::mul(cx.transpose(), cz.as_ref(), faer::Par::rayon(0));
        let gs = crate::linalg::mul(sx.transpose(), sz.as_ref(), faer::Par::rayon(0));
        g += &gs;
        Ok(g)
    }

    /// C = cos(V Xᵀ)/√k and S = sin(V Xᵀ)/√k, each k × n.
    fn cos_sin(&self, x: MatRef<'_, f64>) -> (Mat<f64>, Mat<f64>) {
        let n = x.nrows();
        let scale = 1.0 / (self.k as f64).sqrt();
        let xr: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..self.d).map(|j| x[(i, j)]).collect())
            .collect();
        let mut c = Mat::zeros(self.k, n);
        let mut s = Mat::zeros(self.k, n);
        for (j, xj) in xr.iter().enumerate() {
            for r in 0..self.k {
                let (sn, cs) = dot(self.freq(r), xj).sin_cos();
                c[(r, j)] = cs * scale;
                s[(r, j)] = sn * scale;
            }
        }
        (c, s)
    }
}

impl FeatureMap for RandomFourier {
    type Coef = ComplexCoef;
    /// Real and imaginary parts of the predictions.
    type Output = (Vec<f64>, Vec<f64>);

    /// The minimum-norm complex fit ŵ = y·pinv(Φ) of the tutorial, computed in real arithmetic
    /// (module docs).
    fn solve(&self, x: MatRef<'_, f64>, y: &[f64], cutoff: Cutoff) -> Result<(ComplexCoef, usize)> {
        check_rows("x", x, self.d)?;
        let n = x.nrows();
        check_labels(y, n)?;
        let (c, s) = self.cos_sin(x);
        let k = self.k;
        // Mᵀ (2n × 2k): rows j < n are the real-part constraints [C_j; −S_j], rows n + j the
        // imaginary-part constraints [S_j; C_j].
        let mt = Mat::from_fn(2 * n, 2 * k, |i, r| {
            let (j, imag) = if i < n { (i, false) } else { (i - n, true) };
            let (rr, second) = if r < k { (r, false) } else { (r - k, true) };
            match (imag, second) {
                (false, false) => c[(rr, j)],
                (false, true) => -s[(rr, j)],
                (true, false) => s[(rr, j)],
                (true, true) => c[(rr, j)],
            }
        });
        let rhs = Mat::from_fn(2 * n, 1, |i, _| if i < n { y[i] } else { 0.0 });
        let sol = min_norm_lstsq(mt.as_ref(), rhs.as_ref(), cutoff)?;
        let coef = ComplexCoef {
            re: (0..k).map(|r| sol.coef[(r, 0)]).collect(),
            im: (0..k).map(|r| sol.coef[(k + r, 0)]).collect(),
        };
        Ok((coef, sol.rank))
    }

    /// Complex predictions ŵ·φ(x_j) = (re_j, im_j), without forming the k × n feature matrix
    /// (rayon over points).
    fn evaluate(&self, fit: &ComplexCoef, x: MatRef<'_, f64>) -> Result<(Vec<f64>, Vec<f64>)> {
        check_rows("x", x, self.d)?;
        if fit.re.len() != self.k || fit.im.len() != self.k {
            return Err(Error::ShapeMismatch {
                what: "fit coefficients against the number of features".into(),
                expected: format!("{}", self.k),
                got: format!("{}", fit.re.len()),
            });
        }
        let scale = 1.0 / (self.k as f64).sqrt();
        let out: Vec<(f64, f64)> = (0..x.nrows())
            .into_par_iter()
            .map(|j| {
                let xj: Vec<f64> = (0..self.d).map(|t| x[(j, t)]).collect();
                let (mut re, mut im) = (0.0, 0.0);
                for r in 0..self.k {
                    let (sn, cs) = dot(self.freq(r), &xj).sin_cos();
                    // (a + ib)(cos + i sin) = (a cos − b sin) + i(a sin + b cos)
                    re += fit.re[r] * cs - fit.im[r] * sn;
                    im += fit.re[r] * sn + fit.im[r] * cs;
                }
                (re * scale, im * scale)
            })
            .collect();
        Ok(out.into_iter().unzip())
    }
}

/// mean |(re + i·im) − y|², the tutorial's `mse` on complex predictions; `re`, `im` and `y` must
/// have one equal, non-zero length.
pub fn complex_mse(re: &[f64], im: &[f64], y: &[f64]) -> Result<f64> {
    if y.is_empty() || re.len() != y.len() || im.len() != y.len() {
        return Err(Error::ShapeMismatch {
            what: "lengths of re and im against y".into(),
            expected: format!("{} (non-zero)", y.len()),
            got: format!("{} and {}", re.len(), im.len()),
        });
    }
    crate::check::check_finite("re", re.iter().copied())?;
    crate::check::check_finite("im", im.iter().copied())?;
    crate::check::check_finite("y", y.iter().copied())?;
    let n = y.len() as f64;
    let v = re
        .iter()
        .zip(im)
        .zip(y)
        .map(|((r, i), t)| (r - t).powi(2) + i * i)
        .sum::<f64>()
        / n;
    if !v.is_finite() {
        return Err(Error::Numerical(
            "the mean squared error overflows f64 (predictions or targets near 1e154 or beyond)"
                .into(),
        ));
    }
    Ok(v)
}

/// Random ReLU features with bias: φ(x) = √(2/k)·relu(Vx + b).
#[derive(Clone, Debug)]
pub struct RandomRelu {
    v: Vec<f64>,
    b: Vec<f64>,
    k: usize,
    d: usize,
}

impl RandomRelu {
    /// Weights V (k × d, row-major) and biases b (k).
    pub fn from_parts(v: Vec<f64>, b: Vec<f64>, k: usize, d: usize) -> Result<Self> {
        if k == 0 || d == 0 || v.len() != k * d || b.len() != k {
            return Err(Error::ShapeMismatch {
                what: "ReLU feature weights and biases against k, d".into(),
                expected: format!("{k}·{d} > 0 weights and {k} biases"),
                got: format!("{} weights and {} biases", v.len(), b.len()),
            });
        }
        crate::check::check_finite("v", v.iter().copied())?;
        crate::check::check_finite("b", b.iter().copied())?;
        Ok(RandomRelu { v, b, k, d })
    }

    /// V, b ~ N(0, 1) from `rng`.
    pub fn sample(k: usize, d: usize, rng: &mut crate::random::Rng) -> Result<Self> {
        let v = crate::random::gaussian_vec(rng, k * d, 1.0);
        let b = crate::random::gaussian_vec(rng, k, 1.0);
        RandomRelu::from_parts(v, b, k, d)
    }

    /// Weights V (k × d, row-major) and biases b, as [`RandomRelu::from_parts`] takes them.
    pub fn parts(&self) -> (&[f64], &[f64]) {
        (&self.v, &self.b)
    }

    /// Number of features k.
    pub fn width(&self) -> usize {
        self.k
    }

    /// The n × k feature matrix.
    pub fn features(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_rows("x", x, self.d)?;
        let scale = (2.0 / self.k as f64).sqrt();
        Ok(Mat::from_fn(x.nrows(), self.k, |i, r| {
            let mut a = self.b[r];
            for t in 0..self.d {
                a += self.v[r * self.d + t] * x[(i, t)];
            }
            scale * a.max(0.0)
        }))
    }
}

impl FeatureMap for RandomRelu {
    type Coef = Vec<f64>;
    type Output = Vec<f64>;

    /// Minimum-norm least-squares weights w (k) with Φ(x) w ≈ y.
    fn solve(&self, x: MatRef<'_, f64>, y: &[f64], cutoff: Cutoff) -> Result<(Vec<f64>, usize)> {
        let phi = self.features(x)?;
        check_labels(y, x.nrows())?;
        let rhs = Mat::from_fn(y.len(), 1, |i, _| y[i]);
        let sol = min_norm_lstsq(phi.as_ref(), rhs.as_ref(), cutoff)?;
        Ok(((0..self.k).map(|r| sol.coef[(r, 0)]).collect(), sol.rank))
    }

    /// Predictions φ(x_j)·w, without forming the feature matrix (rayon over points).
    fn evaluate(&self, w: &Vec<f64>, x: MatRef<'_, f64>) -> Result<Vec<f64>> {
        check_rows("x", x, self.d)?;
        if w.len() != self.k {
            return Err(Error::ShapeMismatch {
                what: "weights against the number of features".into(),
                expected: format!("{}", self.k),
                got: format!("{}", w.len()),
            });
        }
        let scale = (2.0 / self.k as f64).sqrt();
        Ok((0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let mut acc = 0.0;
                for (r, (wr, br)) in w.iter().zip(&self.b).enumerate() {
                    let mut a = *br;
                    for t in 0..self.d {
                        a += self.v[r * self.d + t] * x[(i, t)];
                    }
                    acc += wr * a.max(0.0);
                }
                scale * acc
            })
            .collect())
    }
}
