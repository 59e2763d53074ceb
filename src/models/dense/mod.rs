//! One family of dense networks for every experiment of the crate: the tutorial's ReLU networks,
//! the NTK-scaled networks of the jamming / feature–lazy phase diagram and the plain MLPs of the
//! LLC paper are one type, [`Dense`], told apart by a [`Parameterisation`], an [`Activation`],
//! their [`Bias`]es and their [`Loss`].
//!
//! With layer sizes n₀ = N (inputs), n₁ … n_L (hidden widths) and n_{L+1} = M (outputs), every
//! configuration computes
//!
//! ```text
//! a⁽⁰⁾ = x,   z⁽ˡ⁾ = cₗ · a⁽ˡ⁻¹⁾ Wₗᵀ + bₗ,   a⁽ˡ⁾ = gₗ · σ(z⁽ˡ⁾)   (l = 1 … L),
//! f(w, x) = c_{L+1} · a⁽ᴸ⁾ W_{L+1}ᵀ + b_{L+1}
//! ```
//!
//! with the layer factors cₗ and the activation gains gₗ of the parameterisation:
//!
//! | parameterisation | cₗ (hidden) | c_{L+1} | gₗ | initialisation | source |
//! |---|---|---|---|---|---|
//! | [`Parameterisation::Tutorial`] | 1 | 1 | √(2/nₗ) | every weight and bias N(0, 1) | `aradha5772/deep_learning_theory_tutorial@f2750a9`, `DoubleDescentTutorialPart2.ipynb`, class `Net` |
//! | [`Parameterisation::Ntk`] | 1/√nₗ₋₁ | 1/n_L | 1/√E[σ(z)²] | weights N(0, 1), biases 0 | Geiger, Petrini & Wyart, arXiv 2012.15110; `mariogeiger/feature_lazy@3e50d5c`, `arch/__init__.py: FC` |
//! | [`Parameterisation::Standard`] | 1 | 1 | 1 | He: N(0, 2/nₗ₋₁), biases 0 (or haiku's truncated normal, [`Dense::init_truncated`]) | Lau et al., arXiv 2308.12108; `validating_lambdahat`, haiku `MLP` |
//!
//! As the widths grow, the tutorial's network tends to its NNGP and NTK, the arc-cosine kernels
//! [`Kernel::deep_relu_nngp`](crate::kernels::Kernel::deep_relu_nngp) and
//! [`Kernel::deep_relu_ntk`](crate::kernels::Kernel::deep_relu_ntk) of the same depth.
//!
//! Flat parameters in PyTorch's order: for each layer Wₗ in row-major order (`nₗ × nₗ₋₁`, so the
//! slice is the column-major `nₗ₋₁ × nₗ` matrix Wₗᵀ), then bₗ when that layer has a bias.
//!
//! The forward and backward passes ([`Dense::forward`], [`Dense::backward`]) run over the whole
//! batch as faer GEMMs with the activation and its derivative evaluated in one fused pass; a
//! [`Workspace`] holds every buffer, so repeated gradients allocate nothing. The same backward
//! signals give the gradient, the per-sample gradients ([`Dense::jacobian`]) and the empirical
//! tangent kernel ([`Dense::tangent_kernel`]). As a sampler's [`Model`] the network
//! runs in f32 and in f64 with its [`Loss`].

mod passes;
mod tangent;
mod workspace;

pub use workspace::Workspace;

use faer::{Mat, MatRef};
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::activation::Activation;
use super::loss::{Loss, output_loss};
use super::{Model, Scratch};
use crate::backend::Float;
use crate::check::{check_bytes, check_finite_mat};
use crate::error::{Error, Result};
use crate::random::{self, Rng};

/// How the layers are scaled and initialised (the table of the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Parameterisation {
    /// The deep-learning-theory tutorial: aˡ = √(2/nₗ)·σ(zˡ), no factor on the products, every
    /// weight and bias N(0, 1) at initialisation.
    Tutorial,
    /// The NTK scaling of the phase diagram: products divided by √fan-in (by the width on the
    /// output layer), σ times its normalisation 1/√E[σ(z)²], weights N(0, 1), biases 0.
    Ntk,
    /// The plain parameterisation of the LLC paper's MLPs: z = aW + b, a = σ(z).
    Standard,
}

/// Which layers have a bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bias {
    /// No biases (the phase diagram's original networks).
    None,
    /// Biases on the hidden layers only (the tutorial's `Net`).
    Hidden,
    /// Biases on every layer, the output layer included (the LLC paper's MLPs).
    All,
}

/// A dense network's architecture (no parameters: those are a flat vector).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// [N, n₁, …, n_L, M].
    sizes: Vec<usize>,
    activation: Activation,
    /// The activation's normalisation 1/√E[σ(z)²] (used by [`Parameterisation::Ntk`]).
    factor: f64,
    bias: Bias,
    param: Parameterisation,
    loss: Loss,
    /// Start of Wₗ for every layer, then the parameter count.
    offsets: Vec<usize>,
}

impl Dense {
    /// A network with layer sizes `input_dim`, `hidden…`, `output_dim` (at least one hidden
    /// layer), the given activation and parameterisation, no biases and the mean squared error.
    /// Sizes are checked against the memory budget: training holds about six f64 copies of the
    /// parameters (w, w₀, the gradient, Adam's moments or a trial step).
    pub fn new(
        input_dim: usize,
        hidden: &[usize],
        output_dim: usize,
        activation: Activation,
        param: Parameterisation,
    ) -> Result<Self> {
        let mut sizes = vec![input_dim];
        sizes.extend_from_slice(hidden);
        sizes.push(output_dim);
        if hidden.is_empty() {
            return Err(Error::invalid(
                "hidden",
                "[]",
                "need at least one hidden layer (the deep linear network has none)",
            ));
        }
        for (name, v) in [("input_dim", input_dim), ("output_dim", output_dim)] {
            if v == 0 {
                return Err(Error::invalid(name, 0, "must be positive"));
            }
        }
        if hidden.contains(&0) {
            return Err(Error::invalid(
                "hidden widths",
                format!("{hidden:?}"),
                "every width must be positive",
            ));
        }
        let activation = activation.check()?;
        let mut net = Dense {
            sizes,
            activation,
            factor: activation.factor(),
            bias: Bias::None,
            param,
            loss: Loss::Mse,
            offsets: vec![],
        };
        net.layout()?;
        Ok(net)
    }

    /// The tutorial's network `Net`: one hidden ReLU layer of `width` units with biases and
    /// `outputs` linear outputs (795·k parameters on MNIST).
    pub fn tutorial(input_dim: usize, width: usize, outputs: usize) -> Result<Self> {
        Self::tutorial_deep(input_dim, width, 1, outputs, true)
    }

    /// The tutorial's parameterisation at any depth: `depth` hidden ReLU layers of `width`
    /// units, `outputs` linear outputs, biases on the hidden layers when `bias`.
    pub fn tutorial_deep(
        input_dim: usize,
        width: usize,
        depth: usize,
        outputs: usize,
        bias: bool,
    ) -> Result<Self> {
        let net = Self::new(
            input_dim,
            &uniform(width, depth, "width")?,
            outputs,
            Activation::Relu,
            Parameterisation::Tutorial,
        )?;
        net.with_bias(if bias { Bias::Hidden } else { Bias::None })
    }

    /// The phase diagram's network: `depth` hidden layers of width h in the NTK scaling, one
    /// output, no biases.
    pub fn ntk(
        input_dim: usize,
        width: usize,
        depth: usize,
        activation: Activation,
    ) -> Result<Self> {
        Self::new(
            input_dim,
            &uniform(width, depth, "h (width)")?,
            1,
            activation,
            Parameterisation::Ntk,
        )
    }

    /// The original's network of the phase diagram: L = 2 hidden layers, swish with β = 10.
    pub fn phase_diagram(input_dim: usize, width: usize) -> Result<Self> {
        Self::ntk(input_dim, width, 2, Activation::Swish { beta: 10.0 })
    }

    /// The LLC paper's MLP: ReLU hidden layers of the given widths, biases everywhere, the plain
    /// parameterisation and the given loss.
    pub fn mlp(input_dim: usize, hidden: &[usize], output_dim: usize, loss: Loss) -> Result<Self> {
        Self::new(
            input_dim,
            hidden,
            output_dim,
            Activation::Relu,
            Parameterisation::Standard,
        )?
        .with_bias(Bias::All)
        .map(|n| n.with_loss(loss))
    }

    /// The same network with biases on the given layers.
    pub fn with_bias(mut self, bias: Bias) -> Result<Self> {
        self.bias = bias;
        self.layout()?;
        Ok(self)
    }

    /// The same network with another loss (the loss of [`Model`] and [`Dense::evaluate`]).
    pub fn with_loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// Replaces the activation's normalisation factor (for instance by the original's
    /// Monte-Carlo value, [`Activation::monte_carlo_factor`]).
    pub fn with_factor(mut self, factor: f64) -> Result<Self> {
        if !(factor > 0.0 && factor.is_finite()) {
            return Err(Error::invalid(
                "factor",
                factor,
                "must be positive and finite",
            ));
        }
        self.factor = factor;
        Ok(self)
    }

    /// Offsets of every layer, with the parameter count checked against the memory budget.
    fn layout(&mut self) -> Result<()> {
        let mut total: u128 = 0;
        for l in 0..self.layers() {
            let (a, b) = (self.sizes[l] as u128, self.sizes[l + 1] as u128);
            total += a * b + if self.has_bias(l) { b } else { 0 };
        }
        check_bytes(
            format!("network parameters of layer sizes {:?}", self.sizes),
            total * 8 * 6,
        )?;
        let mut offsets = vec![0];
        for l in 0..self.layers() {
            let (a, b) = self.dims(l);
            offsets.push(offsets[l] + a * b + if self.has_bias(l) { b } else { 0 });
        }
        self.offsets = offsets;
        Ok(())
    }

    /// Layer sizes [N, n₁, …, n_L, M].
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Input dimension N.
    pub fn input_dim(&self) -> usize {
        self.sizes[0]
    }
    /// Output dimension M.
    pub fn output_dim(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }
    /// The width n₁ of the first hidden layer (the width of every hidden layer of the tutorial's
    /// and the phase diagram's networks).
    pub fn width(&self) -> usize {
        self.sizes[1]
    }
    /// The number of hidden layers L.
    pub fn depth(&self) -> usize {
        self.sizes.len() - 2
    }
    /// The number of weight layers, L + 1.
    pub fn layers(&self) -> usize {
        self.sizes.len() - 1
    }
    /// The activation (before its gain).
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// The activation's normalisation factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }
    /// The parameterisation.
    pub fn parameterisation(&self) -> Parameterisation {
        self.param
    }
    /// Which layers have biases.
    pub fn bias(&self) -> Bias {
        self.bias
    }
    /// The loss of [`Model`] and [`Dense::evaluate`].
    pub fn loss_kind(&self) -> Loss {
        self.loss
    }
    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.offsets[self.layers()]
    }

    /// Whether weight layer `l` (0 … L) has a bias.
    pub fn has_bias(&self, l: usize) -> bool {
        match self.bias {
            Bias::None => false,
            Bias::Hidden => l + 1 < self.layers(),
            Bias::All => true,
        }
    }

    /// Fan-in and fan-out of weight layer `l` (0 … L).
    fn dims(&self, l: usize) -> (usize, usize) {
        (self.sizes[l], self.sizes[l + 1])
    }

    /// Positions of Wₗ (row-major `fan_out × fan_in`) and bₗ (empty without a bias) in the flat
    /// parameters, for weight layer `l` = 0 … L.
    pub fn layer_ranges(&self, l: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (a, b) = self.dims(l);
        let start = self.offsets[l];
        let wend = start + a * b;
        (
            start..wend,
            wend..wend + if self.has_bias(l) { b } else { 0 },
        )
    }

    /// cₗ, the factor on the product of weight layer `l` (0 … L).
    pub(crate) fn layer_factor<T: Float>(&self, l: usize) -> T {
        match self.param {
            Parameterisation::Ntk if l + 1 == self.layers() => T::ONE / T::of(self.sizes[l] as f64),
            Parameterisation::Ntk => T::ONE / T::of(self.sizes[l] as f64).sqrt(),
            Parameterisation::Tutorial | Parameterisation::Standard => T::ONE,
        }
    }

    /// cₗ² in f64 (the tangent kernel's layer weights).
    pub(crate) fn layer_factor_sq(&self, l: usize) -> f64 {
        match self.param {
            Parameterisation::Ntk if l + 1 == self.layers() => {
                1.0 / (self.sizes[l] * self.sizes[l]) as f64
            }
            Parameterisation::Ntk => 1.0 / self.sizes[l] as f64,
            Parameterisation::Tutorial | Parameterisation::Standard => 1.0,
        }
    }

    /// gₗ, the gain on the activation of hidden layer `l` (0 … L − 1).
    pub(crate) fn gain(&self, l: usize) -> f64 {
        match self.param {
            Parameterisation::Tutorial => (2.0 / self.sizes[l + 1] as f64).sqrt(),
            Parameterisation::Ntk => self.factor,
            Parameterisation::Standard => 1.0,
        }
    }

    /// Wₗᵀ as a column-major fan_in × fan_out view.
    pub(crate) fn weight_t<'a, T: Float>(&self, w: &'a [T], l: usize) -> MatRef<'a, T> {
        let (n_in, n_out) = self.dims(l);
        MatRef::from_column_major_slice(&w[self.layer_ranges(l).0], n_in, n_out)
    }

    /// The parameterisation's initialisation from `seed` (the table of the [module docs](self)):
    /// the tutorial draws every entry N(0, 1) in the flat order; the NTK scaling draws the
    /// weights N(0, 1) layer by layer and sets the biases to 0; the plain one is He's
    /// N(0, 2/fan_in) with zero biases. The same seed gives the same network in f32 and f64.
    pub fn init<T: Float>(&self, seed: u64) -> Vec<T> {
        let mut rng = random::seeded(seed);
        match self.param {
            Parameterisation::Tutorial => (0..self.num_params())
                .map(|_| T::of(rng.sample::<f64, _>(StandardNormal)))
                .collect(),
            Parameterisation::Ntk => self.init_weights(&mut rng, |_| 1.0, Some),
            Parameterisation::Standard => self.init_he(&mut rng),
        }
    }

    /// He's initialisation from `rng`: weights N(0, 2/fan_in), biases 0.
    pub fn init_he<T: Float>(&self, rng: &mut Rng) -> Vec<T> {
        self.init_weights(rng, |fan_in| (2.0 / fan_in as f64).sqrt(), Some)
    }

    /// haiku's default `Linear` initialisation: weights from a normal truncated at ±2 standard
    /// deviations and rescaled to standard deviation 1/√fan_in, biases 0 (the true parameters of
    /// the MALA-vs-SGLD and rescaling notebooks start from it).
    pub fn init_truncated<T: Float>(&self, rng: &mut Rng) -> Vec<T> {
        self.init_weights(
            rng,
            |fan_in| 1.0 / (fan_in as f64).sqrt() / 0.879_625_661_034_239_8,
            |z| (z.abs() <= 2.0).then_some(z),
        )
    }

    /// Weights std(fan_in)·z layer by layer, z drawn N(0, 1) until `accept` keeps it; biases 0.
    fn init_weights<T: Float>(
        &self,
        rng: &mut Rng,
        std: impl Fn(usize) -> f64,
        accept: impl Fn(f64) -> Option<f64>,
    ) -> Vec<T> {
        let mut w = vec![T::ZERO; self.num_params()];
        for l in 0..self.layers() {
            let s = std(self.sizes[l]);
            for v in &mut w[self.layer_ranges(l).0] {
                *v = loop {
                    if let Some(z) = accept(rng.sample::<f64, _>(StandardNormal)) {
                        break T::of(s * z);
                    }
                };
            }
        }
        w
    }

    /// Checks a parameter vector and an input batch against the architecture (lengths, shapes,
    /// finiteness).
    pub fn check<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<()> {
        super::check_params(self.num_params(), w)?;
        self.check_inputs("x", x)
    }

    /// Checks inputs `name` (x, or z of a cross kernel) against the input dimension.
    pub(crate) fn check_inputs<T: Float>(
        &self,
        name: &'static str,
        x: MatRef<'_, T>,
    ) -> Result<()> {
        if x.ncols() != self.input_dim() {
            return Err(Error::ShapeMismatch {
                what: format!("inputs `{name}` against the network's input dimension"),
                expected: format!("n × {}", self.input_dim()),
                got: format!("{} × {}", x.nrows(), x.ncols()),
            });
        }
        if x.nrows() == 0 {
            return Err(Error::invalid(name, "0 rows", "need at least one input"));
        }
        check_finite_mat(name, x)
    }

    /// Checks targets against inputs and the number of outputs.
    pub fn check_targets<T: Float>(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<()> {
        if y.nrows() != x.nrows() || y.ncols() != self.output_dim() {
            return Err(Error::ShapeMismatch {
                what: "targets against inputs and outputs".into(),
                expected: format!("{} × {}", x.nrows(), self.output_dim()),
                got: format!("{} × {}", y.nrows(), y.ncols()),
            });
        }
        check_finite_mat("y", y)
    }

    /// The mean loss on (x, y), with the outputs left in `ws`. Does not re-check its arguments
    /// (see [`Dense::check`] and [`Dense::check_targets`]).
    pub fn evaluate<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        ws: &mut Workspace<T>,
    ) -> Result<f64> {
        let out = self.forward(w, x, ws)?;
        Ok(output_loss(self.loss, out, y, None))
    }

    /// The mean loss on (x, y) and its gradient in `grad` (length [`Dense::num_params`]); no
    /// argument checks.
    pub fn evaluate_grad<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        ws: &mut Workspace<T>,
        grad: &mut [T],
    ) -> Result<f64> {
        self.forward(w, x, ws)?;
        let value = output_loss(self.loss, ws.out.as_ref(), y, Some(ws.gout.as_mut()));
        self.backward(w, x, ws, grad);
        Ok(value)
    }

    /// Outputs f(w, x) as a new n × M matrix, with the arguments checked; the GEMMs run on all of
    /// rayon's threads.
    pub fn predict<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<Mat<T>> {
        self.check(w, x)?;
        let mut ws = Workspace::new().parallel(0);
        Ok(self.forward(w, x, &mut ws)?.to_owned())
    }
}

/// `depth` copies of `width`, with the tutorial's and the phase diagram's argument names in the
/// errors.
fn uniform(width: usize, depth: usize, name: &'static str) -> Result<Vec<usize>> {
    if width == 0 {
        return Err(Error::invalid(name, 0, "must be positive"));
    }
    if depth == 0 {
        return Err(Error::invalid("depth", 0, "need at least one hidden layer"));
    }
    crate::check::check_alloc::<usize>("depth", depth, 1)?;
    Ok(vec![width; depth])
}

/// The network as a sampler's [`Model`], in f32 and f64, with its [`Loss`]. The workspace lives
/// in the caller's [`Scratch`] (grown on first use), so the `_in` methods allocate nothing; the
/// plain methods allocate a fresh one.
impl<T: Float> Model<T> for Dense {
    fn num_params(&self) -> usize {
        Dense::num_params(self)
    }
    fn input_dim(&self) -> usize {
        Dense::input_dim(self)
    }
    fn output_dim(&self) -> usize {
        Dense::output_dim(self)
    }
    fn forward(&self, w: &[T], x: MatRef<'_, T>) -> Mat<T> {
        let mut ws = Workspace::new();
        match Dense::forward(self, w, x, &mut ws) {
            Ok(o) => o.to_owned(),
            Err(_) => Mat::from_fn(x.nrows(), self.output_dim(), |_, _| T::of(f64::NAN)),
        }
    }
    fn prepare(&self, scratch: &mut Scratch<T>, rows: usize) -> Result<()> {
        workspace(scratch).ensure(self, rows)
    }
    fn loss_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> f64 {
        self.evaluate(w, x, y, workspace(scratch))
            .unwrap_or(f64::NAN)
    }
    fn loss_grad_in(
        &self,
        scratch: &mut Scratch<T>,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        grad: &mut [T],
    ) -> f64 {
        self.evaluate_grad(w, x, y, workspace(scratch), grad)
            .unwrap_or(f64::NAN)
    }
}

/// The network's workspace in a sampler's or a training loop's scratch.
fn workspace<T: Float>(scratch: &mut Scratch<T>) -> &mut Workspace<T> {
    scratch.state(|threads| Workspace::new().parallel(threads))
}
