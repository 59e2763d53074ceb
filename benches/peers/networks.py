"""Peers of `cargo bench --bench networks`, in JAX (jit of `jax.value_and_grad`, what the
feature-vs-lazy and tutorial code bases use through PyTorch autograd):

* fc_gradient_P5000_d10_L2: loss and gradient of the phase diagram's network (d = 10, two hidden
  layers of h ∈ {64, 256, 1024} swish units with β = 10, NTK parameterisation, one output), over
  P = 5000 points, soft hinge with β = 20 on α(f(w) − f(w₀)), α = 1, f32 and f64;
* fc_ntk_2500_points: the empirical tangent kernel J Jᵀ on 2500 points at h = 64, as
  neural-tangents' `empirical_ntk_fn` computes it (jacobians contracted), f64 (at h = 256 the
  contraction asks XLA for 28 GB);
* tutorial_gd_step_f32/f64: loss and gradient of the tutorial's one-hidden-layer ReLU network
  (n = 4000, d = 784, k = 512, 10 outputs, MSE), and the two GEMMs it needs in NumPy (OpenBLAS).

Prints JSON lines (common.emit). Usage: python networks.py [--quick]"""
import sys

import numpy as np

from common import emit, jax_or_none, median_seconds


def main():
    quick = "--quick" in sys.argv
    reps = 2 if quick else 7
    rng = np.random.default_rng(0)
    # The two GEMMs of the tutorial step in NumPy: X·W₁ᵀ (4000×784 by 784×512) and Xᵀ·S.
    n, d, k = (400, 784, 64) if quick else (4000, 784, 512)
    for dt, name in ((np.float32, "f32"), (np.float64, "f64")):
        X = rng.standard_normal((n, d)).astype(dt)
        W = rng.standard_normal((d, k)).astype(dt)
        H = X @ W

        def two():
            h = X @ W
            return X.T @ h

        emit(f"tutorial_gd_step_{name}", f"the two GEMMs alone/{k}", "numpy", median_seconds(two, reps))
    jax = jax_or_none(True)
    if jax is None:
        print("# jax not installed: no JAX rows", file=sys.stderr)
        return
    import jax.numpy as jnp

    def swish(z, beta=10.0):
        return z * jax.nn.sigmoid(beta * z)

    def dense(ws, x):
        """The phase diagram's network, NTK parameterisation: layers scaled by 1/sqrt(fan-in)."""
        h = x
        for w in ws[:-1]:
            h = swish(h @ w / jnp.sqrt(w.shape[0]))
        return (h @ ws[-1] / jnp.sqrt(ws[-1].shape[0]))[:, 0]

    def margin_loss(ws, x, y, f0):
        m = y * (dense(ws, x) - f0)
        return jnp.mean(jax.nn.softplus(20.0 * (1.0 - m)) / 20.0)

    vg = jax.jit(jax.value_and_grad(margin_loss))
    P, D = (500, 10) if quick else (5000, 10)
    for dt, name in ((jnp.float32, "f32"), (jnp.float64, "f64")):
        for h in ((64, 256) if quick else (64, 256, 1024)):
            dims = [D, h, h, 1]
            ws = [jnp.asarray(rng.standard_normal((dims[i], dims[i + 1])), dt) for i in range(3)]
            x = jnp.asarray(rng.standard_normal((P, D)), dt)
            y = jnp.asarray(np.where(np.arange(P) % 2 == 0, 1.0, -1.0), dt)
            f0 = dense(ws, x)
            ws1 = [w + 0.01 for w in ws]
            t = median_seconds(lambda: jax.block_until_ready(vg(ws1, x, y, f0)), reps)
            emit("fc_gradient_P5000_d10_L2", f"crate {name}/{h}", "jax", t)

    # Empirical NTK: Θ = Σ_layers J_l J_lᵀ, from jacobians of the scalar output (neural-tangents'
    # default "jacobian contraction").
    npts = 250 if quick else 2500
    x = jnp.asarray(rng.standard_normal((npts, D)), jnp.float64)
    for h in (64,):
        dims = [D, h, h, 1]
        ws = [jnp.asarray(rng.standard_normal((dims[i], dims[i + 1])), jnp.float64) for i in range(3)]

        @jax.jit
        def entk(ws, x):
            j = jax.jacrev(lambda w: dense(w, x))(ws)
            return sum(jnp.tensordot(a.reshape(npts, -1), a.reshape(npts, -1), (1, 1)) for a in j)

        t = median_seconds(lambda: entk(ws, x).block_until_ready(), max(2, reps // 2))
        emit("fc_ntk_2500_points", f"crate layer-wise/{h}", "jax", t)

    # The tutorial step: one hidden ReLU layer with biases, 10 linear outputs, MSE.
    for dt, name in ((jnp.float32, "f32"), (jnp.float64, "f64")):
        X = jnp.asarray(rng.standard_normal((n, d)), dt)
        Y = jnp.asarray(np.eye(10)[np.arange(n) % 10], dt)
        params = (jnp.asarray(rng.standard_normal((d, k)) / np.sqrt(d), dt), jnp.zeros(k, dt),
                  jnp.asarray(rng.standard_normal((k, 10)) / np.sqrt(k), dt))

        def mse(p, X, Y):
            w1, b1, w2 = p
            return jnp.mean(jnp.sum((jax.nn.relu(X @ w1 + b1) @ w2 - Y) ** 2, 1)) / 2

        g = jax.jit(jax.value_and_grad(mse))
        t = median_seconds(lambda: jax.block_until_ready(g(params, X, Y)), reps)
        emit(f"tutorial_gd_step_{name}", f"crate loss + gradient/{k}", "jax", t)


if __name__ == "__main__":
    main()
