//! The data model of the teacher–student setting (original `lib/utils.py::get_data`).

use faer::{Mat, Par};

use crate::error::{Error, Result};
use crate::linalg;
use crate::random;

/// Sizes and constants of one teacher–student problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Number of training samples n.
    pub n: usize,
    /// Input dimension d.
    pub d: usize,
    /// Number of fast directions p (singular value 1 of F); the other d − p are slow (1/κ).
    pub p: usize,
    /// Condition number κ of the modulation matrix F.
    pub kappa: f64,
    /// Standard deviation σ of the label noise.
    pub noise: f64,
    /// Explicit ridge coefficient λ.
    pub ridge: f64,
    /// Number of noiseless test points (1000 in the original code).
    pub n_test: usize,
}

impl Config {
    /// A noiseless, unregularised problem with 1000 test points.
    pub fn new(n: usize, d: usize, p: usize, kappa: f64) -> Self {
        Config {
            n,
            d,
            p,
            kappa,
            noise: 0.0,
            ridge: 0.0,
            n_test: 1000,
        }
    }

    /// Sets the label-noise standard deviation σ.
    pub fn with_noise(mut self, noise: f64) -> Self {
        self.noise = noise;
        self
    }

    /// Sets the ridge coefficient λ.
    pub fn with_ridge(mut self, ridge: f64) -> Self {
        self.ridge = ridge;
        self
    }

    /// Sets the number of test points.
    pub fn with_n_test(mut self, n_test: usize) -> Self {
        self.n_test = n_test;
        self
    }

    /// Checks every field: n, d, n_test ≥ 1, p ≤ d, κ in [1e-150, 1e150], σ and λ finite and ≥ 0,
    /// and that the data fit in memory.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 {
            return Err(Error::invalid(
                "n",
                self.n,
                "need at least one training sample",
            ));
        }
        if self.d == 0 {
            return Err(Error::invalid(
                "d",
                self.d,
                "input dimension must be at least 1",
            ));
        }
        if self.p > self.d {
            return Err(Error::invalid(
                "p",
                self.p,
                format!("number of fast directions cannot exceed d = {}", self.d),
            ));
        }
        // The slow scale 1/κ and the slow spectrum 1/κ² must stay normal floats.
        if !(self.kappa >= 1e-150 && self.kappa <= 1e150) {
            return Err(Error::invalid(
                "kappa",
                self.kappa,
                "must lie in [1e-150, 1e150] (1/κ² must be a normal float)",
            ));
        }
        if self.n_test == 0 {
            return Err(Error::invalid(
                "n_test",
                0,
                "need at least one test sample (the generalisation error is averaged over them)",
            ));
        }
        crate::check::check_alloc::<f64>(
            "teacher-student inputs (n + n_test) × d",
            self.n.saturating_add(self.n_test),
            self.d,
        )?;
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(Error::invalid(
                "noise",
                self.noise,
                "must be finite and >= 0",
            ));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(Error::invalid(
                "ridge",
                self.ridge,
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// One sampled problem: training data, test latents, teacher and the modulation matrix.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Training inputs X = Z F, `n × d`.
    pub x: Mat<f64>,
    /// Training labels y = Z w + σ ε.
    pub y: Vec<f64>,
    /// Test latents Z_test, `n_test × d`; test inputs are Z_test F, test labels Z_test w.
    pub z_test: Mat<f64>,
    /// Teacher w ~ N(0, I_d).
    pub w: Vec<f64>,
    /// Modulation matrix F = U diag(f) Vᵀ.
    pub f: Mat<f64>,
    /// Left Haar factor U of F.
    pub f_u: Mat<f64>,
    /// Right Haar factor Vᵀ of F (stored as Vᵀ).
    pub f_vt: Mat<f64>,
    /// Singular values of F: 1 (p times), then 1/κ (d − p times).
    pub f_s: Vec<f64>,
}

impl Instance {
    /// Samples the problem for `seed`, drawing in the original order: Z, Z_test, w, noise, U, Vᵀ.
    pub fn sample(cfg: &Config, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let (n, d) = (cfg.n, cfg.d);
        let mut rng = random::seeded(seed);
        let scale = 1.0 / (d as f64).sqrt();
        let z = random::gaussian_matrix(&mut rng, n, d, scale);
        let z_test = random::gaussian_matrix(&mut rng, cfg.n_test, d, scale);
        let w = random::gaussian_vec(&mut rng, d, 1.0);
        let eps = random::gaussian_vec(&mut rng, n, 1.0);
        let f_u = random::haar_orthogonal(&mut rng, d)?;
        let f_vt = random::haar_orthogonal(&mut rng, d)?;
        let f_s: Vec<f64> = (0..d)
            .map(|i| if i < cfg.p { 1.0 } else { 1.0 / cfg.kappa })
            .collect();
        let mut us = f_u.clone();
        for j in 0..d {
            for i in 0..d {
                us[(i, j)] *= f_s[j];
            }
        }
        let f = linalg::mul(us.as_ref(), f_vt.as_ref(), Par::Seq);
        let x = linalg::mul(z.as_ref(), f.as_ref(), Par::Seq);
        let mut y = vec![0.0; n];
        for (i, yi) in y.iter_mut().enumerate() {
            let mut acc = 0.0;
            for j in 0..d {
                acc += z[(i, j)] * w[j];
            }
            *yi = acc + cfg.noise * eps[i];
        }
        Ok(Instance {
            x,
            y,
            z_test,
            w,
            f,
            f_u,
            f_vt,
            f_s,
        })
    }

    /// Test inputs X_test = Z_test F.
    pub fn x_test(&self) -> Mat<f64> {
        linalg::mul(self.z_test.as_ref(), self.f.as_ref(), Par::Seq)
    }

    /// Test labels y_test = Z_test w (noiseless).
    pub fn y_test(&self) -> Vec<f64> {
        let (m, d) = self.z_test.shape();
        (0..m)
            .map(|i| (0..d).map(|j| self.z_test[(i, j)] * self.w[j]).sum())
            .collect()
    }

    /// ‖w‖²/d, the teacher's normalised squared norm (1 in expectation).
    pub fn teacher_norm2(&self) -> f64 {
        self.w.iter().map(|v| v * v).sum::<f64>() / self.w.len() as f64
    }

    fn check_student(&self, w_hat: &[f64]) -> Result<()> {
        if w_hat.len() != self.w.len() {
            return Err(Error::ShapeMismatch {
                what: "student weights vs input dimension".into(),
                expected: self.w.len().to_string(),
                got: w_hat.len().to_string(),
            });
        }
        Ok(())
    }

    /// Macroscopic variables of a student ŵ: R = (Fŵ)ᵀw/d and Q = ‖Fŵ‖²/d.
    pub fn macroscopic(&self, w_hat: &[f64]) -> Result<(f64, f64)> {
        let d = self.w.len();
        self.check_student(w_hat)?;
        let (mut r, mut q) = (0.0, 0.0);
        for i in 0..d {
            let fw: f64 = (0..d).map(|j| self.f[(i, j)] * w_hat[j]).sum();
            r += fw * self.w[i];
            q += fw * fw;
        }
        Ok((r / d as f64, q / d as f64))
    }

    /// Empirical test error ½·mean((X_test ŵ − y_test)²) over the test points.
    pub fn test_error(&self, w_hat: &[f64]) -> Result<f64> {
        let d = self.w.len();
        self.check_student(w_hat)?;
        let xt = self.x_test();
        let yt = self.y_test();
        let m = yt.len();
        if m == 0 {
            return Err(Error::invalid(
                "z_test",
                "0 rows",
                "need at least one test sample",
            ));
        }
        let sse: f64 = (0..m)
            .map(|i| {
                let pred: f64 = (0..d).map(|j| xt[(i, j)] * w_hat[j]).sum();
                (pred - yt[i]).powi(2)
            })
            .sum();
        Ok(0.5 * sse / m as f64)
    }
}
