//! ReLU networks in the NTK parametrisation of the deep-learning-theory tutorial
//! (`aradha5772/deep_learning_theory_tutorial@f2750a9`, `DoubleDescentTutorialPart2.ipynb` and
//! `NTKAnalysis.ipynb`, class `Net`), with L hidden layers of width k and c outputs:
//!
//! ```text
//! h¹ = W¹x + b¹,   hˡ⁺¹ = Wˡ⁺¹·√(2/k)·relu(hˡ) + bˡ⁺¹,   f(x) = Wᴸ⁺¹·√(2/k)·relu(hᴸ)
//! ```
//!
//! every weight and bias i.i.d. N(0, 1) at initialisation (PyTorch's default init is not used),
//! biases optional, no output bias. The tutorial's network is L = 1 with biases: 795·k parameters
//! on MNIST (784k + k + 10k). As k → ∞ its NNGP and NTK are the arc-cosine kernels
//! [`Kernel::deep_relu_nngp`](crate::kernels::Kernel::deep_relu_nngp) and
//! [`Kernel::deep_relu_ntk`](crate::kernels::Kernel::deep_relu_ntk) of the same depth.
//!
//! Flat parameters in PyTorch's order: for each hidden layer Wˡ (row-major `k × n_in`, so the
//! slice is the column-major `n_in × k` matrix Wˡᵀ), then bˡ when biases are on; last the output
//! layer Wᴸ⁺¹ (row-major `c × k`).
//!
//! Forward and backward passes run over the whole batch as faer GEMMs with the rectifier and its
//! derivative applied in one pass; a [`ReluWorkspace`] holds every buffer, so repeated gradients
//! allocate nothing. Losses: the notebook's mean squared error `mean((f − y)²)` over all n·c
//! entries, and softmax cross-entropy. The empirical NTK ([`ReluNetwork::tangent_kernel`]) is built
//! layer by layer from the backward signals, without forming the n × N Jacobian.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::backend::Float;
use crate::error::{Error, Result, check_alloc};
use crate::random;

/// The loss of a [`ReluNetwork`], averaged as the tutorial's notebooks and PyTorch do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputLoss {
    /// mean((f − y)²) over the n·c entries (`torch.mean((labels − preds)**2)`).
    Mse,
    /// Softmax cross-entropy against one-hot (or probability) targets, averaged over the n rows
    /// (`nn.CrossEntropyLoss`).
    CrossEntropy,
}

/// The architecture of a tutorial ReLU network (no parameters: those are a flat vector).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReluNetwork {
    input_dim: usize,
    width: usize,
    depth: usize,
    outputs: usize,
    bias: bool,
}

/// Buffers of the forward and backward passes for one batch size; build one per data set and
/// reuse it.
#[derive(Clone, Debug)]
pub struct ReluWorkspace<T: Float> {
    rows: usize,
    /// Post-activations √(2/k)·relu(hˡ), n × k each.
    acts: Vec<Mat<T>>,
    /// Their derivatives √(2/k)·1[hˡ > 0].
    masks: Vec<Mat<T>>,
    /// Backward signals, two alternating n × k buffers.
    sig: [Mat<T>; 2],
    /// Outputs f (n × c).
    out: Mat<T>,
    /// ∂loss/∂f (n × c).
    gout: Mat<T>,
    par: Par,
}

impl<T: Float> Default for ReluWorkspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> ReluWorkspace<T> {
    /// An empty workspace whose GEMMs run on all of rayon's threads.
    pub fn new() -> Self {
        ReluWorkspace {
            rows: 0,
            acts: vec![],
            masks: vec![],
            sig: [Mat::new(), Mat::new()],
            out: Mat::new(),
            gout: Mat::new(),
            par: Par::rayon(0),
        }
    }

    /// Runs the GEMMs on `threads` threads (1: on the calling thread, the right choice when many
    /// networks train in parallel; 0: all of rayon's threads).
    pub fn parallel(mut self, threads: usize) -> Self {
        self.par = if threads == 1 {
            Par::Seq
        } else {
            Par::rayon(threads)
        };
        self
    }

    /// The outputs of the last forward pass (n × c).
    pub fn outputs(&self) -> MatRef<'_, T> {
        self.out.as_ref()
    }

    fn ensure(&mut self, net: &ReluNetwork, rows: usize) -> Result<()> {
        let k = net.width;
        if self.rows == rows && self.acts.len() == net.depth && self.acts[0].ncols() == k {
            return Ok(());
        }
        check_alloc::<T>(
            "network activations",
            rows,
            k * (2 * net.depth + 2) + 2 * net.outputs,
        )?;
        self.acts = (0..net.depth).map(|_| Mat::zeros(rows, k)).collect();
        self.masks = (0..net.depth).map(|_| Mat::zeros(rows, k)).collect();
        self.sig = [Mat::zeros(rows, k), Mat::zeros(rows, k)];
        self.out = Mat::zeros(rows, net.outputs);
        self.gout = Mat::zeros(rows, net.outputs);
        self.rows = rows;
        Ok(())
    }
}

impl ReluNetwork {
    /// `depth` hidden layers of `width` ReLU units on inputs of dimension `input_dim`, `outputs`
    /// linear outputs, with or without hidden biases.
    pub fn new(
        input_dim: usize,
        width: usize,
        depth: usize,
        outputs: usize,
        bias: bool,
    ) -> Result<Self> {
        for (name, v) in [
            ("input_dim", input_dim),
            ("width", width),
            ("outputs", outputs),
        ] {
            if v == 0 {
                return Err(Error::invalid(name, 0, "must be positive"));
            }
        }
        if depth == 0 {
            return Err(Error::invalid("depth", 0, "need at least one hidden layer"));
        }
        let (d, k, c, l) = (
            input_dim as u128,
            width as u128,
            outputs as u128,
            depth as u128,
        );
        let n = k * (d + 1) + (l - 1) * k * (k + 1) + c * k;
        if n > (isize::MAX as u128) / 8 {
            return Err(Error::invalid(
                "width",
                width,
                format!("{n} parameters do not fit in memory"),
            ));
        }
        // Training holds about five copies of the parameters (w, w₀, the gradient, two Adam
        // moments): refuse widths whose f64 copies cannot fit.
        check_alloc::<f64>("network parameters (width too large)", n as usize, 5)?;
        Ok(ReluNetwork {
            input_dim,
            width,
            depth,
            outputs,
            bias,
        })
    }

    /// The tutorial's network: one hidden layer with biases.
    pub fn tutorial(input_dim: usize, width: usize, outputs: usize) -> Result<Self> {
        Self::new(input_dim, width, 1, outputs, true)
    }

    /// Input dimension d.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }
    /// Width k.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Number of hidden layers L.
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// Number of outputs c.
    pub fn outputs(&self) -> usize {
        self.outputs
    }
    /// Whether the hidden layers have biases.
    pub fn has_bias(&self) -> bool {
        self.bias
    }

    /// Fan-in and fan-out of layer `l` (0 … L; L is the output layer).
    fn dims(&self, l: usize) -> (usize, usize) {
        let n_in = if l == 0 { self.input_dim } else { self.width };
        let n_out = if l == self.depth {
            self.outputs
        } else {
            self.width
        };
        (n_in, n_out)
    }

    /// Positions of Wˡ (row-major `n_out × n_in`) and bˡ (empty without biases and for the
    /// output layer) in the flat parameters, l = 0 … L.
    pub fn layer_ranges(&self, l: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let with_bias = |k: usize| self.bias && k < self.depth;
        let mut start = 0;
        for k in 0..l {
            let (a, b) = self.dims(k);
            start += a * b + if with_bias(k) { b } else { 0 };
        }
        let (a, b) = self.dims(l);
        let wend = start + a * b;
        (start..wend, wend..wend + if with_bias(l) { b } else { 0 })
    }

    /// Number of parameters N (795·k for the tutorial's network on MNIST).
    pub fn num_params(&self) -> usize {
        self.layer_ranges(self.depth).0.end
    }

    /// The tutorial's initialisation: every weight and bias i.i.d. N(0, 1), drawn in the flat
    /// order from the seeded generator (so the same seed gives the same network in f32 and f64).
    pub fn init<T: Float>(&self, seed: u64) -> Vec<T> {
        let mut rng = random::seeded(seed);
        (0..self.num_params())
            .map(|_| T::of(rng.sample::<f64, _>(StandardNormal)))
            .collect()
    }

    /// Wˡᵀ as a column-major n_in × n_out view.
    fn weight_t<'a, T: Float>(&self, w: &'a [T], l: usize) -> MatRef<'a, T> {
        let (n_in, n_out) = self.dims(l);
        MatRef::from_column_major_slice(&w[self.layer_ranges(l).0], n_in, n_out)
    }

    /// Checks a parameter vector and an input batch against the architecture (lengths, shapes,
    /// finiteness).
    pub fn check<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<()> {
        if w.len() != self.num_params() {
            return Err(Error::ShapeMismatch {
                what: "parameter vector against the network".into(),
                expected: format!("{} parameters", self.num_params()),
                got: format!("{}", w.len()),
            });
        }
        crate::error::check_finite("w", w.iter().map(|v| v.to_f64()))?;
        self.check_inputs(x)
    }

    fn check_inputs<T: Float>(&self, x: MatRef<'_, T>) -> Result<()> {
        if x.ncols() != self.input_dim {
            return Err(Error::ShapeMismatch {
                what: "inputs against the network's input dimension".into(),
                expected: format!("n × {}", self.input_dim),
                got: format!("{} × {}", x.nrows(), x.ncols()),
            });
        }
        if x.nrows() == 0 {
            return Err(Error::invalid("x", "0 rows", "need at least one input"));
        }
        crate::error::check_finite_mat("x", x)
    }

    /// Checks targets against inputs and the number of outputs.
    pub fn check_targets<T: Float>(&self, x: MatRef<'_, T>, y: MatRef<'_, T>) -> Result<()> {
        if y.nrows() != x.nrows() || y.ncols() != self.outputs {
            return Err(Error::ShapeMismatch {
                what: "targets against inputs and outputs".into(),
                expected: format!("{} × {}", x.nrows(), self.outputs),
                got: format!("{} × {}", y.nrows(), y.ncols()),
            });
        }
        crate::error::check_finite_mat("y", y)
    }

    /// Outputs f(w, x) (n × c) for the rows of `x`; they stay in `ws` with the activations a
    /// following backward pass needs. Does not re-check its arguments (the hot path): call
    /// [`ReluNetwork::check`] once first.
    pub fn forward<'w, T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &'w mut ReluWorkspace<T>,
    ) -> Result<MatRef<'w, T>> {
        let n = x.nrows();
        ws.ensure(self, n)?;
        let par = ws.par;
        let s = T::of((2.0 / self.width as f64).sqrt());
        for l in 0..self.depth {
            let (done, rest) = ws.acts.split_at_mut(l);
            let input = if l == 0 { x } else { done[l - 1].as_ref() };
            let h = &mut rest[0];
            matmul(
                h.as_mut(),
                Accum::Replace,
                input,
                self.weight_t(w, l),
                T::ONE,
                par,
            );
            let bias = &w[self.layer_ranges(l).1];
            let mask = &mut ws.masks[l];
            for j in 0..self.width {
                let b = bias.get(j).copied().unwrap_or(T::ZERO);
                let hc = h.col_as_slice_mut(j);
                let mc = mask.col_as_slice_mut(j);
                for (hv, mv) in hc.iter_mut().zip(mc.iter_mut()) {
                    let z = *hv + b;
                    let on = z > T::ZERO;
                    *hv = if on { s * z } else { T::ZERO };
                    *mv = if on { s } else { T::ZERO };
                }
            }
        }
        matmul(
            ws.out.as_mut(),
            Accum::Replace,
            ws.acts[self.depth - 1].as_ref(),
            self.weight_t(w, self.depth),
            T::ONE,
            // With few outputs this is a matrix–vector product, which faer's parallel path sums
            // in a thread-dependent order; it is cheap, so it runs in one fixed order.
            Par::Seq,
        );
        Ok(ws.out.as_ref())
    }

    /// The gradient of Σᵢⱼ Gᵢⱼ fⱼ(w, xᵢ) into `grad` (length N) for G = `ws.gout`, after a
    /// [`ReluNetwork::forward`] on the same `x` with the same `ws`; the backward signals
    /// ∂/∂hˡ stay in the workspace.
    fn backward<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &mut ReluWorkspace<T>,
        grad: &mut [T],
    ) {
        let (k, c, last) = (self.width, self.outputs, self.depth);
        let par = ws.par;
        let (wr, _) = self.layer_ranges(last);
        // ∂/∂Wᴸ⁺¹ᵀ = x⁽ᴸ⁾ᵀ G (k × c, column-major = the row-major c × k layout of Wᴸ⁺¹).
        matmul(
            faer::MatMut::from_column_major_slice_mut(&mut grad[wr], k, c),
            Accum::Replace,
            ws.acts[last - 1].as_ref().transpose(),
            ws.gout.as_ref(),
            T::ONE,
            Par::Seq, // as in `forward`: few columns, one summation order
        );
        // Signal at hᴸ: (G Wᴸ⁺¹) ⊙ mask.
        matmul(
            ws.sig[0].as_mut(),
            Accum::Replace,
            ws.gout.as_ref(),
            self.weight_t(w, last).transpose(),
            T::ONE,
            par,
        );
        mask_in_place(&mut ws.sig[0], &ws.masks[last - 1]);
        let mut cur = 0;
        for l in (0..last).rev() {
            let (n_in, _) = self.dims(l);
            let input = if l == 0 { x } else { ws.acts[l - 1].as_ref() };
            let (wr, br) = self.layer_ranges(l);
            matmul(
                faer::MatMut::from_column_major_slice_mut(&mut grad[wr], n_in, k),
                Accum::Replace,
                input.transpose(),
                ws.sig[cur].as_ref(),
                T::ONE,
                par,
            );
            for (j, gb) in grad[br].iter_mut().enumerate() {
                *gb = ws.sig[cur]
                    .col_as_slice(j)
                    .iter()
                    .fold(T::ZERO, |a, &b| a + b);
            }
            if l > 0 {
                let (s0, s1) = ws.sig.split_at_mut(1);
                let (src, dst) = if cur == 0 {
                    (&s0[0], &mut s1[0])
                } else {
                    (&s1[0], &mut s0[0])
                };
                matmul(
                    dst.as_mut(),
                    Accum::Replace,
                    src.as_ref(),
                    self.weight_t(w, l).transpose(),
                    T::ONE,
                    par,
                );
                mask_in_place(dst, &ws.masks[l - 1]);
                cur = 1 - cur;
            }
        }
    }

    /// The mean loss on (x, y) and its gradient in `grad`; no argument checks (see
    /// [`ReluNetwork::check`] and [`ReluNetwork::check_targets`]).
    pub fn loss_grad<T: Float>(
        &self,
        loss: OutputLoss,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        ws: &mut ReluWorkspace<T>,
        grad: &mut [T],
    ) -> Result<f64> {
        self.forward(w, x, ws)?;
        let value = output_loss(loss, ws.out.as_ref(), y, Some(ws.gout.as_mut()));
        self.backward(w, x, ws, grad);
        Ok(value)
    }

    /// The mean loss on (x, y), with the outputs left in `ws`.
    pub fn loss<T: Float>(
        &self,
        loss: OutputLoss,
        w: &[T],
        x: MatRef<'_, T>,
        y: MatRef<'_, T>,
        ws: &mut ReluWorkspace<T>,
    ) -> Result<f64> {
        self.forward(w, x, ws)?;
        Ok(output_loss(loss, ws.out.as_ref(), y, None))
    }

    /// Outputs f(w, x) as a new n × c matrix, with the arguments checked.
    pub fn predict<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<Mat<T>> {
        self.check(w, x)?;
        let mut ws = ReluWorkspace::new();
        Ok(self.forward(w, x, &mut ws)?.to_owned())
    }

    /// The empirical NTK of output `output`, Θ(x, z) = ⟨∇_w f_o(w, x), ∇_w f_o(w, z)⟩, for every
    /// row of `x` against every row of `z` (`None`: z = x), in f64:
    ///
    /// Θ = Σₗ (Sˡ(X) Sˡ(Z)ᵀ) ⊙ (x⁽ˡ⁻¹⁾(X) x⁽ˡ⁻¹⁾(Z)ᵀ + b) + x⁽ᴸ⁾(X) x⁽ᴸ⁾(Z)ᵀ
    ///
    /// with Sˡ the per-sample backward signals ∂f_o/∂hˡ, x⁽⁰⁾ = x and b = 1 with biases. Each term
    /// is a GEMM: the n × N Jacobian is never formed. For the tutorial's one-hidden-layer network
    /// this is the notebook's (c/k)Σⱼφ(Bⱼx)φ(Bⱼz) + (xᵀz + 1)(c/k)Σⱼaⱼ²φ′(Bⱼx)φ′(Bⱼz).
    pub fn tangent_kernel<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        z: Option<MatRef<'_, T>>,
        output: usize,
    ) -> Result<Mat<f64>> {
        self.check(w, x)?;
        if let Some(z) = z {
            self.check_inputs(z)?;
        }
        if output >= self.outputs {
            return Err(Error::invalid(
                "output",
                output,
                format!("the network has {} outputs", self.outputs),
            ));
        }
        check_alloc::<f64>(
            "tangent kernel",
            x.nrows(),
            z.map_or(x.nrows(), |z| z.nrows()),
        )?;
        // (backward signals Sˡ, layer inputs x⁽ˡ⁾) of one data set, in f64.
        type Signals = (Vec<Mat<f64>>, Vec<Mat<f64>>);
        let signals = |data: MatRef<'_, T>| -> Result<Signals> {
            let mut ws = ReluWorkspace::new();
            self.forward(w, data, &mut ws)?;
            ws.gout.fill(T::ZERO);
            ws.gout.col_mut(output).fill(T::ONE);
            // Signals of every layer: run the backward pass, keeping Sˡ for each l.
            let mut sigs = vec![Mat::<f64>::new(); self.depth];
            let last = self.depth;
            matmul(
                ws.sig[0].as_mut(),
                Accum::Replace,
                ws.gout.as_ref(),
                self.weight_t(w, last).transpose(),
                T::ONE,
                ws.par,
            );
            mask_in_place(&mut ws.sig[0], &ws.masks[last - 1]);
            sigs[last - 1] = to_f64(ws.sig[0].as_ref());
            let mut cur = 0;
            for l in (1..last).rev() {
                let (s0, s1) = ws.sig.split_at_mut(1);
                let (src, dst) = if cur == 0 {
                    (&s0[0], &mut s1[0])
                } else {
                    (&s1[0], &mut s0[0])
                };
                matmul(
                    dst.as_mut(),
                    Accum::Replace,
                    src.as_ref(),
                    self.weight_t(w, l).transpose(),
                    T::ONE,
                    ws.par,
                );
                mask_in_place(dst, &ws.masks[l - 1]);
                sigs[l - 1] = to_f64(dst.as_ref());
                cur = 1 - cur;
            }
            let mut inputs = vec![to_f64(data)];
            inputs.extend(ws.acts.iter().map(|a| to_f64(a.as_ref())));
            Ok((sigs, inputs))
        };
        let (sx, ax) = signals(x)?;
        let (sz, az) = match z {
            Some(z) => signals(z)?,
            None => (sx.clone(), ax.clone()),
        };
        let gram = |a: &Mat<f64>, b: &Mat<f64>| -> Mat<f64> {
            let mut g = Mat::zeros(a.nrows(), b.nrows());
            matmul(
                g.as_mut(),
                Accum::Replace,
                a.as_ref(),
                b.as_ref().transpose(),
                1.0,
                Par::rayon(0),
            );
            g
        };
        let b = if self.bias { 1.0 } else { 0.0 };
        // Output layer: only row `output` of Wᴸ⁺¹ moves f_o.
        let mut theta = gram(&ax[self.depth], &az[self.depth]);
        for l in 0..self.depth {
            let s = gram(&sx[l], &sz[l]);
            let a = gram(&ax[l], &az[l]);
            theta
                .as_mut()
                .col_iter_mut()
                .zip(s.col_iter().zip(a.col_iter()))
                .for_each(|(mut t, (sc, ac))| {
                    for i in 0..t.nrows() {
                        t[i] += sc[i] * (ac[i] + b);
                    }
                });
        }
        Ok(theta)
    }
}

fn to_f64<T: Float>(a: MatRef<'_, T>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)].to_f64())
}

/// s ⊙= mask, column by column.
fn mask_in_place<T: Float>(s: &mut Mat<T>, mask: &Mat<T>) {
    for j in 0..s.ncols() {
        for (v, &m) in s.col_as_slice_mut(j).iter_mut().zip(mask.col_as_slice(j)) {
            *v *= m;
        }
    }
}

/// The mean loss of outputs `f` against targets `y`, and ∂loss/∂f into `g` when given. Sums run
/// in f64 in a fixed order.
pub(crate) fn output_loss<T: Float>(
    loss: OutputLoss,
    f: MatRef<'_, T>,
    y: MatRef<'_, T>,
    mut g: Option<faer::MatMut<'_, T>>,
) -> f64 {
    let (n, c) = (f.nrows(), f.ncols());
    match loss {
        OutputLoss::Mse => {
            let scale = 1.0 / (n * c) as f64;
            let gs = T::of(2.0 * scale);
            let mut total = 0.0;
            for j in 0..c {
                for i in 0..n {
                    let r = f[(i, j)] - y[(i, j)];
                    total += r.to_f64() * r.to_f64();
                    if let Some(g) = g.as_mut() {
                        g[(i, j)] = gs * r;
                    }
                }
            }
            total * scale
        }
        OutputLoss::CrossEntropy => {
            let inv_n = 1.0 / n as f64;
            let mut total = 0.0;
            for i in 0..n {
                let m = (0..c)
                    .map(|j| f[(i, j)].to_f64())
                    .fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = (0..c).map(|j| (f[(i, j)].to_f64() - m).exp()).sum();
                let lse = m + z.ln();
                let ysum: f64 = (0..c).map(|j| y[(i, j)].to_f64()).sum();
                let yf: f64 = (0..c)
                    .map(|j| y[(i, j)].to_f64() * f[(i, j)].to_f64())
                    .sum();
                total += ysum * lse - yf;
                if let Some(g) = g.as_mut() {
                    for j in 0..c {
                        let p = (f[(i, j)].to_f64() - lse).exp();
                        g[(i, j)] = T::of((ysum * p - y[(i, j)].to_f64()) * inv_n);
                    }
                }
            }
            total * inv_n
        }
    }
}
