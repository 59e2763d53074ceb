//! The forward pass, the one backward pass, and the fused activation of [`Dense`] networks.

use crate::backend::gemm::matmul;
use faer::reborrow::ReborrowMut;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::{Dense, Workspace};
use crate::backend::Float;
use crate::check::check_alloc;
use crate::error::{Error, Result};
use crate::models::activation::{Activation, SWISH_CONSTANT, sigmoid};

impl Dense {
    /// Outputs f(w, x) (n × M) for the rows of `x`; they stay in `ws` with the activations and
    /// derivatives a following [`Dense::backward`] needs.
    ///
    /// Does not re-check its arguments (the hot path): call [`Dense::check`] once first.
    pub fn forward<'w, T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &'w mut Workspace<T>,
    ) -> Result<MatRef<'w, T>> {
        ws.ensure(self, x.nrows())?;
        let par = ws.par;
        let last = self.depth();
        for l in 0..last {
            let (done, rest) = ws.acts.split_at_mut(l);
            let input = if l == 0 { x } else { done[l - 1].as_ref() };
            let z = &mut rest[0];
            matmul(
                z.as_mut(),
                Accum::Replace,
                input,
                self.weight_t(w, l),
                self.layer_factor::<T>(l),
                par,
            );
            let bias = self.has_bias(l).then(|| &w[self.layer_ranges(l).1]);
            activate_columns(
                self.activation(),
                T::of(self.gain(l)),
                z.as_mut(),
                ws.dacts[l].as_mut(),
                bias,
                par,
            );
        }
        matmul(
            ws.out.as_mut(),
            Accum::Replace,
            ws.acts[last - 1].as_ref(),
            self.weight_t(w, last),
            self.layer_factor::<T>(last),
            // With few outputs this is a matrix–vector product, which faer's parallel path sums
            // in a thread-dependent order; it is cheap, so it runs in one fixed order.
            Par::Seq,
        );
        if self.has_bias(last) {
            let b = &w[self.layer_ranges(last).1];
            for (j, &bj) in b.iter().enumerate() {
                ws.out.col_as_slice_mut(j).iter_mut().for_each(|o| *o += bj);
            }
        }
        Ok(ws.out.as_ref())
    }

    /// The gradient of Σᵢⱼ Gᵢⱼ fⱼ(w, xᵢ) into `grad` (length N) for G =
    /// [`Workspace::output_gradient`], after a [`Dense::forward`] on the same `x` with the same
    /// `ws`; the backward signals ∂/∂z⁽ˡ⁾ stay in the workspace. With sₗ = ∂/∂z⁽ˡ⁾:
    ///
    /// ```text
    /// s_L = c_{L+1} (G W_{L+1}) ⊙ g_L σ′(z⁽ᴸ⁾),   sₗ₋₁ = cₗ (sₗ Wₗ) ⊙ gₗ₋₁ σ′(z⁽ˡ⁻¹⁾),
    /// ∂/∂Wₗᵀ = cₗ a⁽ˡ⁻¹⁾ᵀ sₗ,   ∂/∂bₗ = Σᵢ sₗ,ᵢ
    /// ```
    pub fn backward<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        ws: &mut Workspace<T>,
        grad: &mut [T],
    ) {
        let par = ws.par;
        let last = self.depth();
        let (k, m) = self.dims(last);
        let (wr, br) = self.layer_ranges(last);
        matmul(
            MatMut::from_column_major_slice_mut(&mut grad[wr], k, m),
            Accum::Replace,
            ws.acts[last - 1].as_ref().transpose(),
            ws.gout.as_ref(),
            self.layer_factor::<T>(last),
            Par::Seq, // as in `forward`: few columns, one summation order
        );
        column_sums(ws.gout.as_ref(), &mut grad[br]);
        self.output_signal(w, ws);
        for l in (0..last).rev() {
            let (n_in, n_out) = self.dims(l);
            let input = if l == 0 { x } else { ws.acts[l - 1].as_ref() };
            let (wr, br) = self.layer_ranges(l);
            matmul(
                MatMut::from_column_major_slice_mut(&mut grad[wr], n_in, n_out),
                Accum::Replace,
                input.transpose(),
                ws.sig[l].as_ref(),
                self.layer_factor::<T>(l),
                par,
            );
            column_sums(ws.sig[l].as_ref(), &mut grad[br]);
            if l > 0 {
                self.propagate(w, ws, l);
            }
        }
    }

    /// s_L from G: c_{L+1} (G W_{L+1}) ⊙ g_L σ′(z⁽ᴸ⁾).
    pub(super) fn output_signal<T: Float>(&self, w: &[T], ws: &mut Workspace<T>) {
        let last = self.depth();
        let c = self.layer_factor::<T>(last);
        let s = &mut ws.sig[last - 1];
        if self.output_dim() == 1 {
            // One output: Gᵢ (W_j c) σ′ᵢⱼ in one pass.
            let wl = &w[self.layer_ranges(last).0];
            let g = ws.gout.col_as_slice(0);
            let d = &ws.dacts[last - 1];
            for (j, &wj) in wl.iter().enumerate() {
                let cj = wj * c;
                for ((si, &gi), &di) in s
                    .col_as_slice_mut(j)
                    .iter_mut()
                    .zip(g)
                    .zip(d.col_as_slice(j))
                {
                    *si = gi * cj * di;
                }
            }
        } else {
            matmul(
                s.as_mut(),
                Accum::Replace,
                ws.gout.as_ref(),
                self.weight_t(w, last).transpose(),
                c,
                ws.par,
            );
            mask_in_place(s.as_mut(), ws.dacts[last - 1].as_ref());
        }
    }

    /// sₗ₋₁ from sₗ: cₗ (sₗ Wₗ) ⊙ gₗ₋₁ σ′(z⁽ˡ⁻¹⁾), for l ≥ 1.
    pub(super) fn propagate<T: Float>(&self, w: &[T], ws: &mut Workspace<T>, l: usize) {
        let (lo, hi) = ws.sig.split_at_mut(l);
        let dst = &mut lo[l - 1];
        matmul(
            dst.as_mut(),
            Accum::Replace,
            hi[0].as_ref(),
            self.weight_t(w, l).transpose(),
            self.layer_factor::<T>(l),
            ws.par,
        );
        mask_in_place(dst.as_mut(), ws.dacts[l - 1].as_ref());
    }

    /// The per-sample gradients of output `output`: J (n × N), row i = ∂f_o(w, xᵢ)/∂w in the flat
    /// order.
    pub fn jacobian<T: Float>(&self, w: &[T], x: MatRef<'_, T>, output: usize) -> Result<Mat<T>> {
        self.check(w, x)?;
        self.check_output(output)?;
        let (n, np) = (x.nrows(), self.num_params());
        check_alloc::<T>("jacobian", n, np)?;
        let mut ws = Workspace::new();
        let mut j = Mat::<T>::zeros(n, np);
        let mut row = vec![T::ZERO; np];
        // One sample at a time: a batch of one row with G = e_output.
        for i in 0..n {
            let xi = x.subrows(i, 1);
            self.forward(w, xi, &mut ws)?;
            ws.gout.fill(T::ZERO);
            ws.gout[(0, output)] = T::ONE;
            self.backward(w, xi, &mut ws, &mut row);
            for (k, v) in row.iter().enumerate() {
                j[(i, k)] = *v;
            }
        }
        Ok(j)
    }

    pub(super) fn check_output(&self, output: usize) -> Result<()> {
        if output >= self.output_dim() {
            return Err(Error::invalid(
                "output",
                output,
                format!("the network has {} outputs", self.output_dim()),
            ));
        }
        Ok(())
    }
}

/// Column `j` of a column-major matrix (a workspace buffer) as a slice.
fn col<'a, T: Float>(a: MatRef<'a, T>, j: usize) -> &'a [T] {
    a.col(j)
        .try_as_col_major()
        .expect("workspace buffers are column-major")
        .as_slice()
}

/// dst[j] = Σᵢ a[i, j] in row order (nothing when `dst` is empty: a layer without bias).
fn column_sums<T: Float>(a: MatRef<'_, T>, dst: &mut [T]) {
    for (j, d) in dst.iter_mut().enumerate() {
        *d = col(a, j).iter().fold(T::ZERO, |s, &v| s + v);
    }
}

/// s ⊙= mask, column by column (contiguous slices, so the loop vectorises).
pub(super) fn mask_in_place<T: Float>(mut s: MatMut<'_, T>, mask: MatRef<'_, T>) {
    for j in 0..s.ncols() {
        let sj = s
            .rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .expect("workspace buffers are column-major")
            .as_slice_mut();
        for (v, &m) in sj.iter_mut().zip(col(mask, j)) {
            *v *= m;
        }
    }
}

/// [`activate`] on every column j of `z` (bias bⱼ), the columns split over rayon's threads when
/// `par` asks for more than one (each column is one task's contiguous slice, so the result does
/// not depend on the split).
fn activate_columns<T: Float>(
    act: Activation,
    gain: T,
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
            || activate_columns(act, gain, z0, d0, b0, par),
            || activate_columns(act, gain, z1, d1, b1, par),
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
        activate(act, gain, zc, dc, b);
    }
}

/// g·σ and g·σ′ of `z + b`, in place: z ← gσ, dz ← gσ′. One monomorphised loop per activation,
/// compiled for AVX2 + FMA where the CPU has them, so that the branch-free exponential
/// vectorises.
fn activate<T: Float>(act: Activation, gain: T, z: &mut [T], dz: &mut [T], b: T) {
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
            let (beta, c) = (T::of(beta), gain * T::of(SWISH_CONSTANT));
            run(z, dz, |x| {
                let x = x + b;
                let s = sigmoid(beta * x);
                (c * x * s, c * (s + beta * x * s * (T::ONE - s)))
            })
        }
        Activation::Relu => run(z, dz, |x| {
            let x = x + b;
            if x > T::ZERO {
                (gain * x, gain)
            } else {
                (T::ZERO, T::ZERO)
            }
        }),
        Activation::Softplus { .. } => run(z, dz, |x| {
            let (v, d) = act.raw(x + b);
            (gain * v, gain * d)
        }),
        Activation::Identity => run(z, dz, |x| (gain * (x + b), gain)),
    }
}
