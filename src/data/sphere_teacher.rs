//! The data of `NTKAnalysis.ipynb` (cell 4; `aradha5772/deep_learning_theory_tutorial@f2750a9`):
//! under `np.random.seed(seed)`, `X = randn(n, d)` and then `X_test = randn(n_test, d)`, each row
//! divided by its norm (points on the unit sphere), then a teacher `w = randn(1, d)` and the
//! noiseless linear targets y = Xw. Drawn from NumPy's legacy stream
//! ([`RandomState`]), so seed 2134 with n = 32, n_test = 100, d = 100 gives the notebook's draw.

use faer::Mat;

use crate::check::check_alloc;
use crate::error::{Error, Result};
use crate::random::numpy::RandomState;

/// Points on the unit sphere with a linear teacher (one output).
#[derive(Clone, Debug)]
pub struct SphereTeacher {
    /// Training inputs, n × d, unit rows.
    pub x: Mat<f64>,
    /// Training targets, n × 1.
    pub y: Mat<f64>,
    /// Test inputs, n_test × d, unit rows.
    pub x_test: Mat<f64>,
    /// Test targets, n_test × 1.
    pub y_test: Mat<f64>,
    /// The teacher, length d.
    pub teacher: Vec<f64>,
}

/// Draws the notebook's data set (see the module docs). Errors on a zero size.
pub fn sphere_teacher(seed: u32, n: usize, n_test: usize, d: usize) -> Result<SphereTeacher> {
    for (name, v) in [("n", n), ("n_test", n_test), ("d", d)] {
        if v == 0 {
            return Err(Error::invalid(name, 0, "must be positive"));
        }
    }
    check_alloc::<f64>("sphere-teacher inputs", n.saturating_add(n_test), d)?;
    let mut rs = RandomState::new(seed);
    let mut sphere = |rows: usize| {
        let v = rs.randn(rows * d);
        Mat::from_fn(rows, d, |i, j| {
            let row = &v[i * d..(i + 1) * d];
            row[j] / row.iter().map(|a| a * a).sum::<f64>().sqrt()
        })
    };
    let x = sphere(n);
    let x_test = sphere(n_test);
    let teacher = rs.randn(d);
    let label = |a: &Mat<f64>| {
        Mat::from_fn(a.nrows(), 1, |i, _| {
            (0..d).map(|j| a[(i, j)] * teacher[j]).sum::<f64>()
        })
    };
    let (y, y_test) = (label(&x), label(&x_test));
    Ok(SphereTeacher {
        x,
        y,
        x_test,
        y_test,
        teacher,
    })
}
