//! The empirical neural tangent kernel of a [`Dense`] network, from the backward signals.

use crate::backend::gemm::{matmul, matmul_lower};
use faer::{Accum, Mat, MatRef};

use super::{Dense, Workspace};
use crate::backend::Float;
use crate::check::check_alloc;
use crate::error::Result;

/// Backward signals sₗ (l = 1 … L) and layer inputs a⁽ˡ⁾ (l = 0 … L, a⁽⁰⁾ = x) of one data set.
struct Signals {
    sig: Vec<Mat<f64>>,
    inputs: Vec<Mat<f64>>,
}

impl Dense {
    /// The empirical NTK of output `output`, Θ(x, z) = ⟨∇_w f_o(w, x), ∇_w f_o(w, z)⟩, for every
    /// row of `x` against every row of `z` (`None`: z = x, and only the lower triangle is
    /// computed, then mirrored), in f64 whatever the precision of `w`, without forming the n × N
    /// Jacobian. The gradient of f_o with respect to Wₗ is the outer product of the backward
    /// signal sₗ and the layer input cₗ a⁽ˡ⁻¹⁾, so
    ///
    /// ```text
    /// Θ = c²_{L+1} a⁽ᴸ⁾(X) a⁽ᴸ⁾(Z)ᵀ [+ 1] + Σₗ (sₗ(X) sₗ(Z)ᵀ) ⊙ (cₗ² a⁽ˡ⁻¹⁾(X) a⁽ˡ⁻¹⁾(Z)ᵀ [+ 1])
    /// ```
    ///
    /// (the [+ 1] where the layer has a bias), O(n²·nₗ) per layer. For the tutorial's
    /// one-hidden-layer network this is the notebook's (c/k)Σⱼφ(Bⱼx)φ(Bⱼz) +
    /// (xᵀz + 1)(c/k)Σⱼaⱼ²φ′(Bⱼx)φ′(Bⱼz); for the phase diagram's L = 2 network, a₂·a₂′/h² +
    /// [Σⱼ (W²ⱼ)² σ′σ′]·(a₁·a₁′)/h³ + (b·b′)(x·x′)/d. The original computes J by one autograd
    /// pass per example and forms J Jᵀ (`feature_lazy/kernels.py: compute_kernels`). The GEMMs
    /// run on `threads` threads (0: all of rayon's).
    pub fn tangent_kernel<T: Float>(
        &self,
        w: &[T],
        x: MatRef<'_, T>,
        z: Option<MatRef<'_, T>>,
        output: usize,
        threads: usize,
    ) -> Result<Mat<f64>> {
        self.check(w, x)?;
        if let Some(z) = z {
            self.check_inputs("z", z)?;
        }
        self.check_output(output)?;
        let (n, nz) = (x.nrows(), z.map_or(x.nrows(), |z| z.nrows()));
        check_alloc::<f64>("tangent kernel", n, nz)?;
        let w64: Vec<f64> = w.iter().map(|v| v.to_f64()).collect();
        let par = super::workspace::par(threads);
        let sx = self.signals(&w64, x, output, threads)?;
        let sz = match z {
            Some(z) => Some(self.signals(&w64, z, output, threads)?),
            None => None,
        };
        let other = sz.as_ref().unwrap_or(&sx);
        let sym = z.is_none();
        // a bᵀ·scale into dst: the lower triangle only when symmetric.
        let gram = |dst: &mut Mat<f64>, a: MatRef<'_, f64>, b: MatRef<'_, f64>, scale: f64| {
            if sym {
                matmul_lower(dst.as_mut(), Accum::Replace, a, b.transpose(), scale, par);
            } else {
                matmul(dst.as_mut(), Accum::Replace, a, b.transpose(), scale, par);
            }
        };
        let first = |j: usize| if sym { j } else { 0 };
        let last = self.depth();
        let mut theta = Mat::<f64>::zeros(n, nz);
        gram(
            &mut theta,
            sx.inputs[last].as_ref(),
            other.inputs[last].as_ref(),
            self.layer_factor_sq(last),
        );
        if self.has_bias(last) {
            for j in 0..nz {
                theta.col_as_slice_mut(j)[first(j)..]
                    .iter_mut()
                    .for_each(|v| *v += 1.0);
            }
        }
        let (mut gs, mut ga) = (Mat::<f64>::zeros(n, nz), Mat::<f64>::zeros(n, nz));
        for l in (0..last).rev() {
            gram(&mut gs, sx.sig[l].as_ref(), other.sig[l].as_ref(), 1.0);
            gram(
                &mut ga,
                sx.inputs[l].as_ref(),
                other.inputs[l].as_ref(),
                self.layer_factor_sq(l),
            );
            let bias = self.has_bias(l);
            for j in 0..nz {
                let r = first(j)..;
                let (t, s, a) = (
                    &mut theta.col_as_slice_mut(j)[r.clone()],
                    &gs.col_as_slice(j)[r.clone()],
                    &ga.col_as_slice(j)[r],
                );
                if bias {
                    for ((t, s), a) in t.iter_mut().zip(s).zip(a) {
                        *t += s * a + s;
                    }
                } else {
                    for ((t, s), a) in t.iter_mut().zip(s).zip(a) {
                        *t += s * a;
                    }
                }
            }
        }
        if sym {
            for j in 0..n {
                for i in 0..j {
                    theta[(i, j)] = theta[(j, i)];
                }
            }
        }
        Ok(theta)
    }

    /// The forward pass and the backward signals of output `output` on `data`, in f64.
    fn signals<T: Float>(
        &self,
        w: &[f64],
        data: MatRef<'_, T>,
        output: usize,
        threads: usize,
    ) -> Result<Signals> {
        let x = Mat::<f64>::from_fn(data.nrows(), data.ncols(), |i, j| data[(i, j)].to_f64());
        let mut ws = Workspace::<f64>::new().parallel(threads);
        self.forward(w, x.as_ref(), &mut ws)?;
        ws.gout.fill(0.0);
        ws.gout.col_mut(output).fill(1.0);
        self.output_signal(w, &mut ws);
        for l in (1..self.depth()).rev() {
            self.propagate(w, &mut ws, l);
        }
        let Workspace { acts, sig, .. } = ws;
        let mut inputs = vec![x];
        inputs.extend(acts);
        Ok(Signals { sig, inputs })
    }
}
