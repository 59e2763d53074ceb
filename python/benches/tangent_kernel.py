"""The empirical tangent kernel from Python against JAX's Jacobian contraction, in one sitting.

    python python/benches/tangent_kernel.py [--n 512] [--width 512] [--repeats 5]

Workload: Θ(X, X) = J Jᵀ of a plain ReLU MLP 784 → width → width → 1 with biases (the LLC
paper's parameterisation), at n MNIST-sized random inputs, float32 and float64. The crate's
``Dense.tangent_kernel`` contracts layer by layer without forming J; the JAX reference is what
neural-tangents' ``empirical_ntk_fn`` computes with its Jacobian-contraction implementation:
``vmap(jacrev(f))`` then J Jᵀ, jitted. Both kernels are compared entrywise before timing.
Needs JAX (``pip install "jax[cpu]"``); without it only the crate's times are printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import doubledescent as dd


def jax_ntk(net_sizes, dtype):
    import jax
    import jax.numpy as jnp

    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)

    def unflatten(w):
        layers, k = [], 0
        for nin, nout in zip(net_sizes[:-1], net_sizes[1:]):
            W = w[k : k + nin * nout].reshape(nout, nin)
            k += nin * nout
            b = w[k : k + nout]
            k += nout
            layers.append((W, b))
        return layers

    def f(w, x):
        a = x
        layers = unflatten(w)
        for i, (W, b) in enumerate(layers):
            a = a @ W.T + b
            if i < len(layers) - 1:
                a = jnp.maximum(a, 0.0)
        return a[0]

    @jax.jit
    def ntk(w, x):
        j = jax.vmap(jax.grad(f), in_axes=(None, 0))(w, x)
        return j @ j.T

    return lambda w, x: np.asarray(ntk(jnp.asarray(w), jnp.asarray(x)).block_until_ready())


def median_time(fn, repeats):
    fn()  # warm-up (JIT compilation, thread pools)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
        time.sleep(0.1)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    net = dd.Dense(784, [args.width, args.width], 1, activation="relu", parameterisation="standard", bias="all")
    rng = np.random.default_rng(0)
    print(f"tangent kernel {args.n}² of 784 → {args.width} → {args.width} → 1 ({net.num_params} parameters)")
    print(f"{'dtype':<8} {'crate s':>9} {'JAX s':>9} {'crate vs JAX':>13} {'max rel diff':>13}")
    for dtype in (np.float32, np.float64):
        w = net.init(seed=1).astype(dtype) + 0.01 * rng.standard_normal(net.num_params).astype(dtype)
        x = (rng.standard_normal((args.n, 784)) / np.sqrt(784)).astype(dtype)
        ours = lambda: net.tangent_kernel(w, x)  # noqa: E731
        t_ours = median_time(ours, args.repeats)
        try:
            ref = jax_ntk(net.sizes, dtype)
        except ImportError:
            print(f"{np.dtype(dtype).name:<8} {t_ours:9.4f} {'(no JAX)':>9}")
            continue
        k_ours, k_ref = ours(), ref(w, x)
        diff = np.abs(k_ours - k_ref).max() / np.abs(k_ref).max()
        t_ref = median_time(lambda: ref(w, x), args.repeats)
        print(f"{np.dtype(dtype).name:<8} {t_ours:9.4f} {t_ref:9.4f} {t_ref / t_ours:12.2f}x {diff:13.2e}")


if __name__ == "__main__":
    main()
