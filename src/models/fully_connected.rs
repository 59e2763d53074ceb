//! Fully connected networks in the parametrisation of Geiger, Petrini & Wyart (arXiv 2012.15110;
//! `mariogeiger/feature_lazy@3e50d5c`, `arch/__init__.py: FC`):
//!
//! ```text
//! x⁽⁰⁾ = x,   x⁽ˡ⁺¹⁾ = σ( x⁽ˡ⁾ Wˡᵀ / √nₗ + bˡ )   (l = 0 … L−1, nₗ the fan-in: d, then h)
//! f(w, x) = x⁽ᴸ⁾ Wᴸᵀ / h + bᴸ
//! ```
//!
//! with L hidden layers of width h, entries of W i.i.d. N(0, 1) at initialisation (NTK scaling in
//! the hidden layers, 1/h on the output), σ an [`Activation`] times its normalisation factor, and
//! biases optional (absent in the original; when present they start at 0 and enter unscaled).
//! There are N = h·d + (L−1)·h² + h weights (h(h + d + 1) for L = 2).
//!
//! Flat parameters: for each layer Wˡ in row-major order (`h_out × n_in`, PyTorch's layout, so the
//! slice is the column-major `n_in × h_out` matrix Wˡᵀ), then bˡ when biases are on.
//!
//! The forward and backward passes run over the whole batch as GEMMs (faer) with the activation
//! and its derivative evaluated in one fused pass; a [`Workspace`] holds every buffer, so repeated
//! gradients allocate nothing. Per-sample gradients ([`FullyConnected::jacobian`]) and the
//! empirical tangent kernel ([`FullyConnected::tangent_kernel`]) reuse the same backward signals.

use std::cell::RefCell;

use faer::linalg::matmul::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::Model;
use super::activation::Activation;
use crate::backend::Float;
use crate::error::{Error, Result, check_alloc};
use crate::random;

/// The architecture of a fully connected network (no parameters: those are a flat vector).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FullyConnected {
    input_dim: usize,
    width: usize,
    depth: usize,
    bias: bool,
    activation: Activation,
    /// 1/√E[σ(z)²] of the raw activation.
    factor: f64,
}

/// Buffers of the forward and backward passes for one batch size.
///
/// Build one per data set (train, test, kernel set) and pass it to every call; it grows to the
/// batch size on first use and is reused afterwards.
#[derive(Clone, Debug)]
pub struct Workspace<T: Float> {
    rows: usize,
    /// Post-activations x⁽ˡ⁺¹⁾ of the hidden layers (rows × h each).
    acts: Vec<Mat<T>>,
    /// σ′ at the pre-activations of the hidden layers.
    dacts: Vec<Mat<T>>,
    /// Backward signals ∂/∂(pre-activation), two alternating buffers.
    sig: [Mat<T>; 2],
    out: Vec<T>,
    par: Par,
}

impl<T: Float> Default for Workspace<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Workspace<T> {
    /// An empty workspace that runs its GEMMs on the calling thread (the right choice when many
    /// networks train in parallel, one per thread).
    pub fn new() -> Self {
        Workspace {
            rows: 0,
            acts: vec![],
            dacts: vec![],
            sig: [Mat::new(), Mat::new()],
            out: vec![],
            par: Par::Seq,
        }
    }

    /// Runs the GEMMs on `threads` rayon threads (0: all of rayon's threads).
    pub fn parallel(mut self, threads: usize) -> Self {
        self.par = if threads == 1 {
            Par::Seq
        } else {
            Par::rayon(threads)
        };
        self
    }

    /// The outputs of the last forward pass.
    pub fn outputs(&self) -> &[T] {
        &self.out[..self.rows]
    }

    fn ensure(&mut self, net: &FullyConnected, rows: usize) -> Result<()> {
        if self.rows == rows && self.acts.len() == net.depth && self.acts[0].ncols() == net.width {
            return Ok(());
        }
        check_alloc::<T>("network activations", rows, net.width * (2 * net.depth + 2))?;
        let h = net.width;
        self.acts = (0..net.depth).map(|_| Mat::zeros(rows, h)).collect();
        self.dacts = (0..net.depth).map(|_| Mat::zeros(rows, h)).collect();
        self.sig = [Mat::zeros(rows, h), Mat::zeros(rows, h)];
        self.out = vec![T::ZERO; rows];
        self.rows = rows;
        Ok(())
    }
}

impl FullyConnected {
    /// A network with `depth` hidden layers of `width` units on inputs of dimension `input_dim`,
    /// without biases; the normalisation factor of `activation` is computed here (quadrature).
    pub fn new(
        input_dim: usize,
        width: usize,
        depth: usize,
        activation: Activation,
    ) -> Result<Self> {
        if input_dim == 0 {
            return Err(Error::invalid("input_dim", 0, "must be positive"));
        }
        if width == 0 {
            return Err(Error::invalid("h (width)", 0, "must be positive"));
        }
        if depth == 0 {
            return Err(Error::invalid("depth", 0, "need at least one hidden layer"));
        }
        let activation = activation.check()?;
        let n = (width as u128) * (input_dim as u128 + 1)
            + (depth as u128 - 1) * (width as u128) * (width as u128);
        if n > (isize::MAX as u128) / 8 {
            return Err(Error::invalid(
                "h (width)",
                width,
                format!("{n} parameters do not fit in memory"),
            ));
        }
        // Training holds about six copies of the parameters (w, w₀, the gradient and the trial
        // step's weights and gradient): refuse widths whose f64 copies cannot fit.
        check_alloc::<f64>("network parameters (h too large)", n as usize, 6)?;
        Ok(FullyConnected {
            input_dim,
            width,
            depth,
            bias: false,
            activation,
            factor: activation.factor(),
        })
    }

    /// The original's network: L = 2 hidden layers, swish with β = 10.
    pub fn original(input_dim: usize, width: usize) -> Result<Self> {
        Self::new(input_dim, width, 2, Activation::Swish { beta: 10.0 })
    }

    /// Adds (or removes) biases on every layer.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Replaces the normalisation factor (for instance by the original's Monte-Carlo value,
    /// [`Activation::monte_carlo_factor`]).
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

    /// Input dimension d.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }
    /// Width h.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Number of hidden layers L.
    pub fn depth(&self) -> usize {
        self.depth
    }
    /// The activation (before normalisation).
    pub fn activation(&self) -> Activation {
        self.activation
    }
    /// The normalisation factor of the activation.
    pub fn factor(&self) -> f64 {
        self.factor
    }
    /// Whether the layers have biases.
    pub fn has_bias(&self) -> bool {
        self.bias
    }

    /// Fan-in and fan-out of layer `l` (0 … L).
    fn dims(&self, l: usize) -> (usize, usize) {
        let n_in = if l == 0 { self.input_dim } else { self.width };
        let n_out = if l == self.depth { 1 } else { self.width };
        (n_in, n_out)
    }

    /// Positions of Wˡ (row-major `h_out × n_in`) and bˡ in the flat parameters, l = 0 … L.
    pub fn layer_ranges(&self, l: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let mut start = 0;
        for k in 0..l {
            let (a, b) = self.dims(k);
            start += a * b + if self.bias { b } else { 0 };
        }
        let (a, b) = self.dims(l);
        let wend = start + a * b;
        (start..wend, wend..wend + if self.bias { b } else { 0 })
    }

    /// Number of parameters N.
    pub fn num_params(&self) -> usize {
        self.layer_ranges(self.depth).1.end
    }

    /// Number of weight layers, L + 1 (hidden layers and the output layer).
    pub fn layers(&self) -> usize {
        self.depth + 1
    }

    /// The original's initialisation: every weight i.i.d. N(0, 1), drawn layer by layer in the
    /// flat order; biases 0.
    pub fn init<T: Float>(&self, seed: u64) -> Vec<T> {
        let mut rng = random::seeded(seed);
        let mut w = vec![T::ZERO; self.num_params()];
        for l in 0..=self.depth {
            for v in &mut w[self.layer_ranges(l).0] {
                *v = T::of(rng.sample::<f64, _>(StandardNormal));
            }
        }
        w
    }

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

    /// Outputs f(w, x) for the rows of `x`; they stay in `ws` (see [`Workspace::outputs`]) with
    /// the activations and derivatives a following [`FullyConnected::backward`] needs.
    ///
    /// Does not re-check its arguments (the hot path): call [`FullyConnected::check`] once first.
    pub fn forward<'w, T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &'w mut Workspace<T>,
    ) -> Result<&'w [T]> {
        let p = x.nrows();
        ws.ensure(self, p)?;
        let par = ws.par;
        let factor = T::of(self.factor);
        let act = self.activation;
        for l in 0..self.depth {
            let (done, rest) = ws.acts.split_at_mut(l);
            let input = if l == 0 { x } else { done[l - 1].as_ref() };
            let z = &mut rest[0];
            let (n_in, _) = self.dims(l);
            let scale = T::ONE / T::of(n_in as f64).sqrt();
            matmul(
                z.as_mut(),
                Accum::Replace,
                input,
                self.weight_t(w, l),
                scale,
                par,
            );
            let bias = &w[self.layer_ranges(l).1];
            let dz = &mut ws.dacts[l];
            let bias = if self.bias { Some(bias) } else { None };
            activate_columns(act, factor, z.as_mut(), dz.as_mut(), bias, par);
        }
        let last = self.depth;
        let out = MatMut::from_column_major_slice_mut(&mut ws.out[..p], p, 1);
        matmul(
            out,
            Accum::Replace,
            ws.acts[last - 1].as_ref(),
            self.weight_t(w, last),
            T::ONE / T::of(self.width as f64),
            // A matrix–vector product: cheap, and faer's parallel version splits the sum, which
            // would make the outputs depend on the thread count.
            Par::Seq,
        );
        if self.bias {
            let b = w[self.layer_ranges(last).1][0];
            ws.out[..p].iter_mut().for_each(|o| *o += b);
        }
        Ok(&ws.out[..p])
    }

    /// Backward signals ∂(Σ_μ g_μ f_μ)/∂(pre-activation of layer l) into `ws.sig`, and the
    /// gradient of Σ_μ g_μ f(w, x_μ) into `grad` (length N), after a [`FullyConnected::forward`]
    /// on the same `x` with the same `ws`.
    pub fn backward<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &mut Workspace<T>,
        gout: &[T],
        grad: &mut [T],
    ) {
        let p = x.nrows();
        let h = self.width;
        let par = ws.par;
        let last = self.depth;
        // Output layer: ∂/∂Wᴸ = x⁽ᴸ⁾ᵀ g / h.
        let (wr, br) = self.layer_ranges(last);
        let g = MatRef::from_column_major_slice(&gout[..p], p, 1);
        matmul(
            MatMut::from_column_major_slice_mut(&mut grad[wr.clone()], h, 1),
            Accum::Replace,
            ws.acts[last - 1].as_ref().transpose(),
            g,
            T::ONE / T::of(h as f64),
            Par::Seq, // as in `forward`: a matrix–vector product, summed in one order
        );
        if self.bias {
            grad[br.start] = gout[..p].iter().fold(T::ZERO, |a, &b| a + b);
        }
        // Signal at the last hidden pre-activation: g_μ Wᴸ_j / h · σ′.
        let wl = &w[wr];
        let inv_h = T::ONE / T::of(h as f64);
        {
            let s = &mut ws.sig[0];
            let d = &ws.dacts[last - 1];
            for (j, &wj) in wl.iter().enumerate() {
                let c = wj * inv_h;
                let sc = s.col_as_slice_mut(j);
                let dc = d.col_as_slice(j);
                for ((si, &gi), &di) in sc.iter_mut().zip(&gout[..p]).zip(dc) {
                    *si = gi * c * di;
                }
            }
        }
        let mut cur = 0;
        for l in (0..last).rev() {
            let (n_in, _) = self.dims(l);
            let scale = T::ONE / T::of(n_in as f64).sqrt();
            let input = if l == 0 { x } else { ws.acts[l - 1].as_ref() };
            let (wr, br) = self.layer_ranges(l);
            matmul(
                MatMut::from_column_major_slice_mut(&mut grad[wr], n_in, h),
                Accum::Replace,
                input.transpose(),
                ws.sig[cur].as_ref(),
                scale,
                par,
            );
            if self.bias {
                for (j, gb) in grad[br].iter_mut().enumerate() {
                    *gb = ws.sig[cur]
                        .col_as_slice(j)
                        .iter()
                        .fold(T::ZERO, |a, &b| a + b);
                }
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
                    scale,
                    par,
                );
                let d = &ws.dacts[l - 1];
                for j in 0..h {
                    for (si, &di) in dst.col_as_slice_mut(j).iter_mut().zip(d.col_as_slice(j)) {
                        *si *= di;
                    }
                }
                cur = 1 - cur;
            }
        }
    }

    /// Outputs f(w, x) as a new vector (checks its arguments).
    pub fn predict<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<Vec<T>> {
        self.check(w, x)?;
        let mut ws = Workspace::new();
        Ok(self.forward(w, x, &mut ws)?.to_vec())
    }

    /// The per-sample gradients J (n × N): row μ is ∂f(w, x_μ)/∂w in the flat order.
    pub fn jacobian<T: Float>(&self, w: &[T], x: MatRef<'_, T>) -> Result<Mat<T>> {
        self.check(w, x)?;
        let n = x.nrows();
        let np = self.num_params();
        check_alloc::<T>("jacobian", n, np)?;
        let mut ws = Workspace::new();
        let mut j = Mat::<T>::zeros(n, np);
        let mut row = vec![T::ZERO; np];
        // One sample at a time: a batch of one row with output weight g = 1.
        for mu in 0..n {
            let xm = x.subrows(mu, 1);
            self.forward(w, xm, &mut ws)?;
            self.backward(w, xm, &mut ws, &[T::ONE], &mut row);
            for (k, v) in row.iter().enumerate() {
                j[(mu, k)] = *v;
            }
        }
        Ok(j)
    }

    /// The empirical neural tangent kernel Θ(x, x′) = Σ_p ∂f(x)/∂p · ∂f(x′)/∂p on the rows of `x`,
    /// in f64, without forming the n × N Jacobian.
    ///
    /// The gradient of f(x) with respect to Wˡ is the outer product of the backward signal δˡ(x)
    /// (at the pre-activation of layer l) and the layer input x⁽ˡ⁾(x)/√nₗ, so
    ///
    /// ```text
    /// Θ = x⁽ᴸ⁾x⁽ᴸ⁾ᵀ / h²  +  Σ_{l<L} (δˡδˡᵀ) ⊙ (x⁽ˡ⁾x⁽ˡ⁾ᵀ) / nₗ   [+ 1 + Σ_l δˡδˡᵀ with biases]
    /// ```
    ///
    /// for O(n²·h) per layer. For L = 2 this is the closed form of the spec (a₂·a₂′/h² +
    /// [Σ_j (W²_j)² σ′σ′]·(a₁·a₁′)/h³ + (b·b′)(x·x′)/d). The original computes J by one autograd
    /// pass per example and forms J Jᵀ (`kernels.py: compute_kernels`).
    pub fn tangent_kernel<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        threads: usize,
    ) -> Result<Mat<f64>> {
        self.check(w, x)?;
        let n = x.nrows();
        check_alloc::<f64>("tangent kernel", n, n)?;
        let w64: Vec<f64> = w.iter().map(|v| v.to_f64()).collect();
        let x64 = Mat::<f64>::from_fn(n, x.ncols(), |i, j| x[(i, j)].to_f64());
        let mut ws = Workspace::<f64>::new().parallel(threads);
        let par = ws.par;
        self.forward(&w64, x64.as_ref(), &mut ws)?;
        let h = self.width;
        let last = self.depth;
        // Lower triangles only (half the flops), into buffers reused across layers; mirrored at
        // the end.
        use faer::linalg::matmul::triangular::{BlockStructure, matmul as tri_matmul};
        let gram = |dst: &mut Mat<f64>, a: MatRef<'_, f64>, scale: f64| {
            tri_matmul(
                dst.as_mut(),
                BlockStructure::TriangularLower,
                Accum::Replace,
                a,
                BlockStructure::Rectangular,
                a.transpose(),
                BlockStructure::Rectangular,
                scale,
                par,
            );
        };
        let mut theta = Mat::<f64>::zeros(n, n);
        gram(&mut theta, ws.acts[last - 1].as_ref(), 1.0 / (h * h) as f64);
        if self.bias {
            for j in 0..n {
                theta.col_as_slice_mut(j)[j..]
                    .iter_mut()
                    .for_each(|v| *v += 1.0);
            }
        }
        // Backward signals of every layer with g = 1 (each sample its own output).
        let mut deltas: Vec<Mat<f64>> = Vec::with_capacity(last);
        {
            let wl = &w64[self.layer_ranges(last).0];
            let d = &ws.dacts[last - 1];
            deltas.push(Mat::from_fn(n, h, |i, j| wl[j] / h as f64 * d[(i, j)]));
        }
        for l in (1..last).rev() {
            let (n_in, _) = self.dims(l);
            let mut next = Mat::<f64>::zeros(n, n_in);
            matmul(
                next.as_mut(),
                Accum::Replace,
                deltas.last().unwrap().as_ref(),
                self.weight_t(&w64, l).transpose(),
                1.0 / (n_in as f64).sqrt(),
                par,
            );
            let d = &ws.dacts[l - 1];
            for j in 0..n_in {
                for (s, &dv) in next.col_as_slice_mut(j).iter_mut().zip(d.col_as_slice(j)) {
                    *s *= dv;
                }
            }
            deltas.push(next);
        }
        let (mut gd, mut ga) = (Mat::<f64>::zeros(n, n), Mat::<f64>::zeros(n, n));
        for (k, delta) in deltas.iter().enumerate() {
            let l = last - 1 - k;
            let (n_in, _) = self.dims(l);
            let input = if l == 0 {
                x64.as_ref()
            } else {
                ws.acts[l - 1].as_ref()
            };
            gram(&mut gd, delta.as_ref(), 1.0);
            gram(&mut ga, input, 1.0 / n_in as f64);
            for j in 0..n {
                let (t, d, a) = (
                    &mut theta.col_as_slice_mut(j)[j..],
                    &gd.col_as_slice(j)[j..],
                    &ga.col_as_slice(j)[j..],
                );
                if self.bias {
                    for ((t, d), a) in t.iter_mut().zip(d).zip(a) {
                        *t += d * a + d;
                    }
                } else {
                    for ((t, d), a) in t.iter_mut().zip(d).zip(a) {
                        *t += d * a;
                    }
                }
            }
        }
        for j in 0..n {
            for i in 0..j {
                theta[(i, j)] = theta[(j, i)];
            }
        }
        Ok(theta)
    }
}

/// [`activate`] on every column j of `z` (bias bⱼ), the columns split over rayon's threads when
/// `par` asks for more than one (each column is one task's contiguous slice, so the result does
/// not depend on the split).
fn activate_columns<T: Float>(
    act: Activation,
    factor: T,
    z: MatMut<'_, T>,
    dz: MatMut<'_, T>,
    bias: Option<&[T]>,
    par: Par,
) {
    let n = z.ncols();
    let parallel =
        matches!(par, Par::Rayon(t) if t.get() > 1) && n >= 8 && z.nrows() * n >= 1 << 15;
    if parallel {
        let half = n / 2;
        let (z0, z1) = z.split_at_col_mut(half);
        let (d0, d1) = dz.split_at_col_mut(half);
        let (b0, b1) = match bias {
            Some(b) => (Some(&b[..half]), Some(&b[half..])),
            None => (None, None),
        };
        rayon::join(
            || activate_columns(act, factor, z0, d0, b0, par),
            || activate_columns(act, factor, z1, d1, b1, par),
        );
        return;
    }
    let (mut z, mut dz) = (z, dz);
    for j in 0..n {
        let b = bias.map_or(T::ZERO, |b| b[j]);
        let zc = z
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("column-major")
            .as_slice_mut();
        let dc = dz
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("column-major")
            .as_slice_mut();
        activate(act, factor, zc, dc, b);
    }
}

/// σ and σ′ (times the normalisation factor) of `z + b`, in place: z ← σ, dz ← σ′. One
/// monomorphised loop per activation, compiled for AVX2 + FMA where the CPU has them, so that the
/// branch-free exponential vectorises.
fn activate<T: Float>(act: Activation, factor: T, z: &mut [T], dz: &mut [T], b: T) {
    #[inline(always)]
    fn body<T: Float, F: Fn(T) -> (T, T)>(z: &mut [T], dz: &mut [T], f: F) {
        for (zi, di) in z.iter_mut().zip(dz.iter_mut()) {
            let (v, d) = f(*zi);
            *zi = v;
            *di = d;
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn body_avx2<T: Float, F: Fn(T) -> (T, T)>(z: &mut [T], dz: &mut [T], f: F) {
        body(z, dz, f)
    }
    #[inline(always)]
    fn run<T: Float, F: Fn(T) -> (T, T)>(z: &mut [T], dz: &mut [T], f: F) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { body_avx2(z, dz, f) };
        }
        body(z, dz, f)
    }
    match act {
        Activation::Swish { beta } => {
            let (beta, c) = (
                T::of(beta),
                factor * T::of(super::activation::SWISH_CONSTANT),
            );
            run(z, dz, |x| {
                let x = x + b;
                let s = super::activation::sigmoid(beta * x);
                (c * x * s, c * (s + beta * x * s * (T::ONE - s)))
            })
        }
        Activation::Relu => run(z, dz, |x| {
            let x = x + b;
            if x > T::ZERO {
                (factor * x, factor)
            } else {
                (T::ZERO, T::ZERO)
            }
        }),
        Activation::Softplus { .. } => run(z, dz, |x| {
            let (v, d) = act.raw(x + b);
            (factor * v, factor * d)
        }),
    }
}

thread_local! {
    static MODEL_WS: RefCell<Workspace<f64>> = RefCell::new(Workspace::new());
}

/// The network as a sampler's [`Model`]: one output, mean squared error mean((f − y)²) as the
/// deep linear network's loss. Each thread keeps one workspace, so repeated calls do not allocate.
impl Model for FullyConnected {
    fn num_params(&self) -> usize {
        FullyConnected::num_params(self)
    }
    fn input_dim(&self) -> usize {
        self.input_dim
    }
    fn output_dim(&self) -> usize {
        1
    }
    fn forward(&self, w: &[f64], x: MatRef<'_, f64>) -> Mat<f64> {
        MODEL_WS.with_borrow_mut(|ws| match FullyConnected::forward(self, w, x, ws) {
            Ok(o) => Mat::from_fn(o.len(), 1, |i, _| o[i]),
            Err(_) => Mat::from_fn(x.nrows(), 1, |_, _| f64::NAN),
        })
    }
    fn loss(&self, w: &[f64], x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> f64 {
        MODEL_WS.with_borrow_mut(|ws| match FullyConnected::forward(self, w, x, ws) {
            Ok(o) => {
                o.iter()
                    .enumerate()
                    .map(|(i, v)| (v - y[(i, 0)]).powi(2))
                    .sum::<f64>()
                    / o.len() as f64
            }
            Err(_) => f64::NAN,
        })
    }
    fn loss_grad(
        &self,
        w: &[f64],
        x: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
        grad: &mut [f64],
    ) -> f64 {
        MODEL_WS.with_borrow_mut(|ws| {
            if FullyConnected::forward(self, w, x, ws).is_err() {
                return f64::NAN;
            }
            let p = x.nrows();
            let mut loss = 0.0;
            let mut g = std::mem::take(&mut ws.out);
            for i in 0..p {
                let r = g[i] - y[(i, 0)];
                loss += r * r;
                g[i] = 2.0 * r / p as f64;
            }
            self.backward(w, x, ws, &g, grad);
            ws.out = g;
            loss / p as f64
        })
    }
}
