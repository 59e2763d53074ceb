//! Regression tables for the least-squares studies of *Double Descent Demystified* (Schaeffer et
//! al., arXiv 2303.14151; `src/utils.py` of its repository): the table type and the synthetic
//! student–teacher set with missing features. The diabetes table and the CSV loader are in
//! `csv_tables.rs` (feature `csv`).

use faer::{Mat, MatRef};

use crate::check::check_finite_mat;
use crate::error::{Error, Result};
use crate::random::numpy::RandomState;

/// A regression table: `x` is n × d (one row per example), `y` holds the n targets.
#[derive(Clone, Debug)]
pub struct RegressionData {
    /// Name shown in plots and tables.
    pub name: String,
    /// Names of the d feature columns.
    pub(crate) features: Vec<String>,
    /// Name of the target column.
    pub target: String,
    /// Features, n × d.
    pub(crate) x: Mat<f64>,
    /// Targets, n.
    pub(crate) y: Vec<f64>,
}

impl RegressionData {
    /// Features, n × d (n ≥ 2, d ≥ 1, finite).
    pub fn x(&self) -> MatRef<'_, f64> {
        self.x.as_ref()
    }

    /// Targets, n (finite).
    pub fn y(&self) -> &[f64] {
        &self.y
    }

    /// Names of the d feature columns.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// Checks that `x` is n × d with n ≥ 2 and d ≥ 1, that `y` and `features` match it, and that
    /// every value is finite.
    pub fn new(
        name: impl Into<String>,
        features: Vec<String>,
        target: impl Into<String>,
        x: Mat<f64>,
        y: Vec<f64>,
    ) -> Result<Self> {
        let (n, d) = x.shape();
        if n < 2 || d == 0 {
            return Err(Error::invalid(
                "x",
                format!("{n}x{d} matrix"),
                "need at least 2 rows and 1 feature column",
            ));
        }
        if y.len() != n {
            return Err(Error::ShapeMismatch {
                what: "targets y against rows of x".into(),
                expected: format!("{n} targets"),
                got: format!("{}", y.len()),
            });
        }
        if features.len() != d {
            return Err(Error::ShapeMismatch {
                what: "feature names against columns of x".into(),
                expected: format!("{d} names"),
                got: format!("{}", features.len()),
            });
        }
        check_finite_mat("x", x.as_ref())?;
        crate::check::check_finite("y", y.iter().copied())?;
        Ok(RegressionData {
            name: name.into(),
            features,
            target: target.into(),
            x,
            y,
        })
    }

    /// Number of rows n.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Always false: a table has at least two rows.
    pub fn is_empty(&self) -> bool {
        self.x.nrows() == 0
    }

    /// Number of features d (= the number of parameters of the linear model, no intercept).
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }
}

/// The synthetic student–teacher set (`src/utils.py: generate_synthetic_data`): X̄ = randn(n, p),
/// β̄ = randn(p, 1), Y = X̄β̄, and the student sees only the first `d` columns of X̄ (the other
/// p − d are missing features, the residual E). Drawn from NumPy's legacy generator seeded with
/// `seed`, so seed 0 gives the original's data (n = 1000, p = 30, d = 20).
pub fn student_teacher(n: usize, p: usize, d: usize, seed: u32) -> Result<RegressionData> {
    if n < 2 {
        return Err(Error::invalid("n", n, "need at least 2 rows"));
    }
    if d == 0 || d > p {
        return Err(Error::invalid(
            "d",
            d,
            format!("must be in 1..={p} (the teacher's p)"),
        ));
    }
    let mut rs = RandomState::new(seed);
    let xbar = rs.randn(n * p);
    let beta = rs.randn(p);
    let y = (0..n)
        .map(|i| (0..p).map(|k| xbar[i * p + k] * beta[k]).sum())
        .collect();
    let x = Mat::from_fn(n, d, |i, j| xbar[i * p + j]);
    let features = (0..d).map(|j| format!("x{j}")).collect();
    RegressionData::new("Student-Teacher", features, "y", x, y)
}
