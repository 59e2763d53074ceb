//! The crate's networks from Python: deep linear networks and dense networks (any layer sizes,
//! activation, bias and parameterisation), their forward passes, losses, gradients, per-sample
//! gradients and empirical tangent kernels, trained by gradient descent or minibatch Adam.

use doubledescent::models::{
    Activation, Bias, DeepLinearNetwork as CrateDln, Dense as CrateDense, Loss, Model,
    Parameterisation,
};
use doubledescent::random::seeded;
use doubledescent::training::{GradientDescent, MinibatchAdam};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{
    Dtype, Matrix, Real, Supervised, Vector, common_dtype, matrix_out, vector_out,
};
use crate::errors::{IntoPy, choose};

/// A deep linear network y = x W₁ ⋯ W_L (Aoyagi's model; parameters flat, layer by layer).
#[pyclass(frozen, module = "doubledescent._core", name = "DeepLinearNetwork")]
pub struct Dln(pub CrateDln);

/// A dense network: any layer sizes, activation, biases and parameterisation.
#[pyclass(frozen, module = "doubledescent._core", name = "Dense")]
pub struct DenseNet(pub CrateDense);

/// A network passed from Python, whichever class it is.
pub enum ModelRef<'a> {
    Dln(&'a CrateDln),
    Dense(&'a CrateDense),
}

/// Runs `$body` with `$m` bound to the concrete network (monomorphised for both).
#[macro_export]
macro_rules! with_model {
    ($model:expr, |$m:ident| $body:expr) => {
        match $model {
            $crate::models::ModelRef::Dln($m) => $body,
            $crate::models::ModelRef::Dense($m) => $body,
        }
    };
}

/// Borrowed pyclasses, kept alive while the model is used.
pub enum Held<'py> {
    Dln(PyRef<'py, Dln>),
    Dense(PyRef<'py, DenseNet>),
}

impl<'py> Held<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(m) = obj.extract::<PyRef<'py, Dln>>() {
            Ok(Held::Dln(m))
        } else if let Ok(m) = obj.extract::<PyRef<'py, DenseNet>>() {
            Ok(Held::Dense(m))
        } else {
            Err(PyTypeError::new_err(format!(
                "`model` must be a doubledescent DeepLinearNetwork or Dense, got {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )))
        }
    }

    pub fn get(&self) -> ModelRef<'_> {
        match self {
            Held::Dln(m) => ModelRef::Dln(&m.0),
            Held::Dense(m) => ModelRef::Dense(&m.0),
        }
    }
}

fn n_params(m: ModelRef<'_>) -> usize {
    with_model!(m, |m| <_ as Model<f64>>::num_params(m))
}

/// f(w; x), n × outputs.
fn forward<'py>(
    py: Python<'py>,
    m: ModelRef<'_>,
    w: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        m: ModelRef<'_>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (w, x) = (Vector::<T>::new("w", w)?, Matrix::<T>::new("x", x)?);
        let (ws, xm) = (w.slice(), x.mat());
        with_model!(m, |m| {
            check_w_x(m, ws, xm)?;
            let out = py.detach(|| Model::<T>::forward(m, ws, xm));
            Ok(matrix_out(py, out)?.into_any())
        })
    }
    by_dtype!(common_dtype(&[("w", w), ("x", x)])?, run(py, m, w, x))
}

fn check_w_x<T: Real, M: Model<T>>(m: &M, w: &[T], x: faer::MatRef<'_, T>) -> PyResult<()> {
    // The targets only fix the shape check: a zero matrix of the right shape.
    let y = faer::Mat::<T>::zeros(x.nrows(), m.output_dim());
    doubledescent::models::check_inputs(m, w, x, y.as_ref()).py_err()
}

/// (L(w), ∇L(w)) on (x, y).
fn loss_grad<'py>(
    py: Python<'py>,
    m: ModelRef<'_>,
    w: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
) -> PyResult<(f64, Bound<'py, PyAny>)> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        m: ModelRef<'_>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<(f64, Bound<'py, PyAny>)> {
        let Supervised { w, x, y } = Supervised::<T>::new("w", w, x, y)?;
        let (ws, xm, ym) = (w.slice(), x.mat(), y.mat());
        with_model!(m, |m| {
            doubledescent::models::check_inputs(m, ws, xm, ym).py_err()?;
            let mut g = vec![T::ZERO; ws.len()];
            let l = py.detach(|| Model::<T>::loss_grad(m, ws, xm, ym, &mut g));
            Ok((l, vector_out(py, g).into_any()))
        })
    }
    by_dtype!(
        common_dtype(&[("w", w), ("x", x), ("y", y)])?,
        run(py, m, w, x, y)
    )
}

/// What [`train`] runs: gradient descent (`optimizer="gd"`, `steps` steps) or minibatch Adam
/// (`"adam"`, `steps` epochs of `batch_size` rows).
struct Training<'a> {
    optimizer: &'a str,
    lr: f64,
    steps: usize,
    batch_size: Option<usize>,
    weight_decay: f64,
    log_every: usize,
    seed: u64,
}

/// Trains from w0: `(w, history)`.
fn train<'py>(
    py: Python<'py>,
    m: ModelRef<'_>,
    w0: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    t: &Training<'_>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        m: ModelRef<'_>,
        w0: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        t: &Training<'_>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
        let Supervised { w: w0, x, y } = Supervised::<T>::new("w0", w0, x, y)?;
        let (xm, ym) = (x.mat(), y.mat());
        let mut w = w0.slice().to_vec();
        let mut log: Vec<(usize, f64)> = Vec::new();
        let mut record = |s: usize, _: &[T], l: f64| {
            log.push((s, l));
            Ok(())
        };
        let outcome = with_model!(m, |m| py.detach(|| match t.optimizer {
            "gd" => GradientDescent {
                lr: t.lr,
                steps: t.steps,
                log_every: t.log_every,
                stop_below: None,
                threads: 0
            }
            .run(m, &mut w, xm, ym, &mut record)
            .map(|o| o.final_loss),
            "adam" => MinibatchAdam {
                lr: t.lr,
                weight_decay: t.weight_decay,
                batch: t.batch_size.unwrap_or(xm.nrows().min(128)),
                epochs: t.steps,
                seed: t.seed,
                threads: 0,
            }
            .run(m, &mut w, xm, ym, &mut record)
            .map(|_| Model::<T>::loss(m, &w, xm, ym)),
            other => Err(doubledescent::Error::invalid(
                "optimizer",
                other,
                "expected gd or adam"
            )),
        }))
        .py_err()?;
        let h = PyDict::new(py);
        h.set_item("step", log.iter().map(|p| p.0).collect::<Vec<_>>())?;
        h.set_item("loss", log.iter().map(|p| p.1).collect::<Vec<_>>())?;
        h.set_item("final_loss", outcome)?;
        Ok((vector_out(py, w).into_any(), h))
    }
    by_dtype!(
        common_dtype(&[("w0", w0), ("x", x), ("y", y)])?,
        run(py, m, w0, x, y, t)
    )
}

fn dtype_arg(dtype: &str) -> PyResult<Dtype> {
    choose(
        "dtype",
        dtype,
        &[("float64", Dtype::F64), ("float32", Dtype::F32)],
    )
}

/// The methods every network has, in one place (PyO3 allows one `#[pymethods]` block per class).
macro_rules! network_methods {
    ($ty:ty, { $($extra:tt)* }) => {
        #[pymethods]
        impl $ty {
        /// Number of parameters (the length of w).
        #[getter]
        fn num_params(&self) -> usize {
            n_params(self.model())
        }

        /// f(w; x): the outputs at the n points x (n × outputs).
        fn forward<'py>(&self, py: Python<'py>, w: &Bound<'py, PyAny>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
            forward(py, self.model(), w, x)
        }

        /// The training loss L(w) on (x, y).
        fn loss<'py>(&self, py: Python<'py>, w: &Bound<'py, PyAny>, x: &Bound<'py, PyAny>, y: &Bound<'py, PyAny>) -> PyResult<f64> {
            Ok(loss_grad(py, self.model(), w, x, y)?.0)
        }

        /// (L(w), ∇L(w)) on (x, y), with the hand-written backward pass.
        fn loss_grad<'py>(&self, py: Python<'py>, w: &Bound<'py, PyAny>, x: &Bound<'py, PyAny>, y: &Bound<'py, PyAny>) -> PyResult<(f64, Bound<'py, PyAny>)> {
            loss_grad(py, self.model(), w, x, y)
        }

        /// Trains from w0 by full-batch gradient descent (`optimizer="gd"`, `steps` steps) or
        /// minibatch Adam (`"adam"`, `steps` epochs): returns (w, history).
        #[pyo3(signature = (w0, x, y, optimizer = "gd", lr = 1e-2, steps = 100, batch_size = None,
                            weight_decay = 0.0, log_every = 0, seed = 0))]
        #[allow(clippy::too_many_arguments)]
        fn train<'py>(&self, py: Python<'py>, w0: &Bound<'py, PyAny>, x: &Bound<'py, PyAny>, y: &Bound<'py, PyAny>, optimizer: &str, lr: f64, steps: usize, batch_size: Option<usize>, weight_decay: f64, log_every: usize, seed: u64) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
            let t = Training { optimizer, lr, steps, batch_size, weight_decay, log_every, seed };
            train(py, self.model(), w0, x, y, &t)
        }

        $($extra)*
        }
    };
}

network_methods!(Dln, {
    /// Input dimension, hidden widths (may be empty: linear regression), output dimension.
    #[new]
    #[pyo3(signature = (input_dim, hidden, output_dim))]
    fn new(input_dim: usize, hidden: Vec<usize>, output_dim: usize) -> PyResult<Self> {
        Ok(Dln(CrateDln::new(input_dim, &hidden, output_dim).py_err()?))
    }

    /// Layer sizes [N, H₁, …, M].
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.0.sizes().to_vec()
    }

    /// Initial parameters: N(0, std²) entries (std None: the original's 1/√fan-in scaling).
    #[pyo3(signature = (seed = 0, std = None, dtype = "float64"))]
    fn init<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
        std: Option<f64>,
        dtype: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let w = self.0.init(&mut seeded(seed), std);
        Ok(match dtype_arg(dtype)? {
            Dtype::F64 => vector_out(py, w).into_any(),
            Dtype::F32 => vector_out(py, w.iter().map(|&v| v as f32).collect()).into_any(),
        })
    }

    /// A true parameter as in the paper's sweeps: "random", "zero" or "rand_rank" (each matrix
    /// rank-reduced with probability `prop_rank_reduce`).
    #[pyo3(signature = (seed = 0, method = "rand_rank", prop_rank_reduce = 0.5))]
    fn true_param<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
        method: &str,
        prop_rank_reduce: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        use doubledescent::models::TrueParam;
        let m = choose(
            "method",
            method,
            &[
                ("random", TrueParam::Random),
                ("zero", TrueParam::Zero),
                ("rand_rank", TrueParam::RandRank { prop_rank_reduce }),
            ],
        )?;
        Ok(vector_out(py, self.0.true_param(&mut seeded(seed), m).py_err()?).into_any())
    }

    /// The rank of the end-to-end product W₁ ⋯ W_L at w (float64).
    fn true_rank(&self, w: &Bound<'_, PyAny>) -> PyResult<usize> {
        let w = Vector::<f64>::new("w", w)?;
        self.0.true_rank(w.slice()).py_err()
    }

    /// Aoyagi's learning coefficient λ (and its multiplicity) at a true parameter of rank `rank`.
    fn learning_coefficient(&self, rank: usize) -> PyResult<(f64, usize)> {
        let lc =
            doubledescent::sampling::dln_learning_coefficient(self.0.sizes(), rank).py_err()?;
        Ok((lc.lambda, lc.multiplicity))
    }

    fn __repr__(&self) -> String {
        format!("DeepLinearNetwork(sizes={:?})", self.0.sizes())
    }

    /// Pickle support: the constructor's arguments.
    fn __getnewargs__(&self) -> (usize, Vec<usize>, usize) {
        let s = self.0.sizes();
        (s[0], s[1..s.len() - 1].to_vec(), s[s.len() - 1])
    }
});

impl Dln {
    fn model(&self) -> ModelRef<'_> {
        ModelRef::Dln(&self.0)
    }
}

impl DenseNet {
    fn model(&self) -> ModelRef<'_> {
        ModelRef::Dense(&self.0)
    }
}

fn activation(name: &str, beta: f64) -> PyResult<Activation> {
    choose(
        "activation",
        name,
        &[
            ("relu", Activation::Relu),
            ("swish", Activation::Swish { beta }),
            ("softplus", Activation::Softplus { beta }),
            ("identity", Activation::Identity),
        ],
    )
}

network_methods!(DenseNet, {
    /// Layer sizes input_dim, hidden…, output_dim; activation "relu" | "swish" | "softplus" |
    /// "identity" (β for swish and softplus); parameterisation "standard" | "ntk" | "tutorial";
    /// bias "none" | "hidden" | "all"; loss "mse" | "cross_entropy".
    #[new]
    #[pyo3(signature = (input_dim, hidden, output_dim, activation = "relu", beta = 1.0,
                        parameterisation = "standard", bias = "all", loss = "mse"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        input_dim: usize,
        hidden: Vec<usize>,
        output_dim: usize,
        activation: &str,
        beta: f64,
        parameterisation: &str,
        bias: &str,
        loss: &str,
    ) -> PyResult<Self> {
        let param = choose(
            "parameterisation",
            parameterisation,
            &[
                ("standard", Parameterisation::Standard),
                ("ntk", Parameterisation::Ntk),
                ("tutorial", Parameterisation::Tutorial),
            ],
        )?;
        let bias = choose(
            "bias",
            bias,
            &[
                ("none", Bias::None),
                ("hidden", Bias::Hidden),
                ("all", Bias::All),
            ],
        )?;
        let loss = choose(
            "loss",
            loss,
            &[("mse", Loss::Mse), ("cross_entropy", Loss::CrossEntropy)],
        )?;
        let net = CrateDense::new(
            input_dim,
            &hidden,
            output_dim,
            self::activation(activation, beta)?,
            param,
        )
        .py_err()?
        .with_bias(bias)
        .py_err()?
        .with_loss(loss);
        Ok(DenseNet(net))
    }

    /// Layer sizes [N, n₁, …, M].
    #[getter]
    fn sizes(&self) -> Vec<usize> {
        self.0.sizes().to_vec()
    }

    /// Parameters at initialisation from `seed` (the parameterisation's own scheme).
    #[pyo3(signature = (seed = 0, dtype = "float64"))]
    fn init<'py>(&self, py: Python<'py>, seed: u64, dtype: &str) -> PyResult<Bound<'py, PyAny>> {
        Ok(match dtype_arg(dtype)? {
            Dtype::F64 => vector_out(py, self.0.init::<f64>(seed)).into_any(),
            Dtype::F32 => vector_out(py, self.0.init::<f32>(seed)).into_any(),
        })
    }

    /// Per-sample gradients ∂f_output(xᵢ)/∂w (n × num_params).
    #[pyo3(signature = (w, x, output = 0))]
    fn jacobian<'py>(
        &self,
        py: Python<'py>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        output: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        fn run<'py, T: Real>(
            net: &CrateDense,
            py: Python<'py>,
            w: &Bound<'py, PyAny>,
            x: &Bound<'py, PyAny>,
            output: usize,
        ) -> PyResult<Bound<'py, PyAny>> {
            let (w, x) = (Vector::<T>::new("w", w)?, Matrix::<T>::new("x", x)?);
            let (ws, xm) = (w.slice(), x.mat());
            let j = py.detach(|| net.jacobian(ws, xm, output)).py_err()?;
            Ok(matrix_out(py, j)?.into_any())
        }
        by_dtype!(
            common_dtype(&[("w", w), ("x", x)])?,
            run(&self.0, py, w, x, output)
        )
    }

    /// The empirical tangent kernel Θ(x, z) = J(x) J(z)ᵀ of one output, layer by layer without
    /// forming the Jacobian (z None: Θ(x, x)); float64 result.
    #[pyo3(signature = (w, x, z = None, output = 0))]
    fn tangent_kernel<'py>(
        &self,
        py: Python<'py>,
        w: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        z: Option<&Bound<'py, PyAny>>,
        output: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        fn run<'py, T: Real>(
            net: &CrateDense,
            py: Python<'py>,
            w: &Bound<'py, PyAny>,
            x: &Bound<'py, PyAny>,
            z: Option<&Bound<'py, PyAny>>,
            output: usize,
        ) -> PyResult<Bound<'py, PyAny>> {
            let (w, x) = (Vector::<T>::new("w", w)?, Matrix::<T>::new("x", x)?);
            let z = z.map(|z| Matrix::<T>::new("z", z)).transpose()?;
            let (ws, xm, zm) = (w.slice(), x.mat(), z.as_ref().map(|z| z.mat()));
            let k = py
                .detach(|| net.tangent_kernel(ws, xm, zm, output, 0))
                .py_err()?;
            Ok(matrix_out(py, k)?.into_any())
        }
        let dtype = match z {
            Some(z) => common_dtype(&[("w", w), ("x", x), ("z", z)])?,
            None => common_dtype(&[("w", w), ("x", x)])?,
        };
        by_dtype!(dtype, run(&self.0, py, w, x, z, output))
    }

    fn __repr__(&self) -> String {
        format!(
            "Dense(sizes={:?}, activation={:?}, parameterisation={:?}, bias={:?}, loss={:?})",
            self.0.sizes(),
            self.0.activation(),
            self.0.parameterisation(),
            self.0.bias(),
            self.0.loss_kind()
        )
    }

    /// Pickle support: the constructor's arguments.
    #[allow(clippy::type_complexity)]
    fn __getnewargs__(
        &self,
    ) -> (
        usize,
        Vec<usize>,
        usize,
        &'static str,
        f64,
        &'static str,
        &'static str,
        &'static str,
    ) {
        let s = self.0.sizes();
        let (activation, beta) = match self.0.activation() {
            Activation::Relu => ("relu", 1.0),
            Activation::Swish { beta } => ("swish", beta),
            Activation::Softplus { beta } => ("softplus", beta),
            Activation::Identity => ("identity", 1.0),
        };
        let param = match self.0.parameterisation() {
            Parameterisation::Standard => "standard",
            Parameterisation::Ntk => "ntk",
            Parameterisation::Tutorial => "tutorial",
        };
        let bias = match self.0.bias() {
            Bias::None => "none",
            Bias::Hidden => "hidden",
            Bias::All => "all",
        };
        let loss = match self.0.loss_kind() {
            Loss::Mse => "mse",
            Loss::CrossEntropy => "cross_entropy",
        };
        (
            s[0],
            s[1..s.len() - 1].to_vec(),
            s[s.len() - 1],
            activation,
            beta,
            param,
            bias,
            loss,
        )
    }
});

/// The kernel-regime predictor of a network at w0 for one output, through the crate's
/// `solvers::Linearized`: f(x) = Θ(X, x)ᵀ Θ(X, X)⁺ (y − f₀(X)) + f₀(x) with `offset`, else
/// Θ(X, x)ᵀ Θ(X, X)⁺ y; Θ the empirical tangent kernel at w0 (layer-wise, float64).
#[pyfunction]
#[pyo3(signature = (net, w0, x_train, y_train, x_test, output = 0, offset = true))]
#[allow(clippy::too_many_arguments)]
pub fn linearized_predictor<'py>(
    py: Python<'py>,
    net: &DenseNet,
    w0: &Bound<'py, PyAny>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    output: usize,
    offset: bool,
) -> PyResult<Bound<'py, PyAny>> {
    fn run<'py, T: Real>(
        py: Python<'py>,
        net: &CrateDense,
        w0: &Bound<'py, PyAny>,
        x_train: &Bound<'py, PyAny>,
        y_train: &Bound<'py, PyAny>,
        x_test: &Bound<'py, PyAny>,
        output: usize,
        offset: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        use doubledescent::solvers::Linearized;
        let Supervised { w, x, y } = Supervised::<T>::new("w0", w0, x_train, y_train)?;
        let z = Matrix::<T>::new("x_test", x_test)?;
        let (ws, xm, ym, zm) = (w.slice(), x.mat(), y.mat(), z.mat());
        if output >= ym.ncols() && !(y.one_d && output == 0) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "invalid argument `output` = {output}: y_train has {} columns",
                ym.ncols()
            )));
        }
        let col = if y.one_d { 0 } else { output };
        let pred = py
            .detach(|| {
                let k_train = net.tangent_kernel(ws, xm, None, output, 0)?;
                let k_cross = net.tangent_kernel(ws, xm, Some(zm), output, 0)?;
                let yc = faer::Mat::from_fn(ym.nrows(), 1, |i, _| ym[(i, col)].to_f64());
                let f0 = |a: faer::MatRef<'_, T>| -> doubledescent::Result<faer::Mat<f64>> {
                    let f = net.predict(ws, a)?;
                    Ok(faer::Mat::from_fn(f.nrows(), 1, |i, _| {
                        f[(i, output)].to_f64()
                    }))
                };
                let (f0_train, f0_test) = if offset {
                    (Some(f0(xm)?), Some(f0(zm)?))
                } else {
                    (None, None)
                };
                let lin = Linearized::fit(
                    k_train.as_ref(),
                    yc.as_ref(),
                    f0_train.as_ref().map(|m| m.as_ref()),
                )?;
                lin.predict(k_cross.as_ref(), f0_test.as_ref().map(|m| m.as_ref()))
            })
            .py_err()?;
        Ok(vector_out(py, pred.col(0).iter().copied().collect()).into_any())
    }
    by_dtype!(
        common_dtype(&[("w0", w0), ("x_train", x_train), ("x_test", x_test)])?,
        run(py, &net.0, w0, x_train, y_train, x_test, output, offset)
    )
}
