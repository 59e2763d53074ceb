"""Peer of `cargo bench --bench llc` (group `sgld_dln_95k_params_batch500_8_chains`): SGLD on the deep linear network
100 → 250 → 200 → 100 (95 000 parameters), batch 500 of n = 10⁴, ε = 1e-7, γ = 1, nβ = n/ln n, one
chain and 8 chains (jax.vmap, one launch per step), as the LLC paper's JAX code does it
(devinterp's `sample` runs the same update through PyTorch). Reports chain-steps per second.

Prints JSON lines (common.emit; `seconds` is per 160 chain-steps: 8 chains × 20 steps, one iteration
of the crate's bench), against the crate's layer-by-layer rows and its default (end-to-end) rows. Usage: python llc.py [--quick]"""
import math, sys

import numpy as np

from common import emit, jax_or_none


def main():
    quick = "--quick" in sys.argv
    jax = jax_or_none(True)
    if jax is None:
        print("# jax not installed: no SGLD rows", file=sys.stderr)
        return
    import time
    import jax.numpy as jnp

    chains, nsteps = 8, (20 if quick else 200)
    dims = [100, 250, 200, 100]
    n, b, eps, gamma = 10_000, 500, 1e-7, 1.0
    nbeta = n / math.log(n)
    for DT, name in ((jnp.float32, "f32"), (jnp.float64, "f64")):
        rng = np.random.default_rng(0)
        Ws = [jnp.asarray(rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i]), DT) for i in range(3)]
        X = jnp.asarray(rng.uniform(-1, 1, (n, dims[0])), DT)

        def f(ws, x):
            for w in ws:
                x = x @ w
            return x

        Y = f(Ws, X)

        def loss(ws, x, y):
            return jnp.mean((f(ws, x) - y) ** 2)

        grad = jax.grad(loss)

        def step(ws, w0, key, x, y):
            gr = grad(ws, x, y)
            keys = jax.random.split(key, len(ws))
            return [w - 0.5 * eps * (nbeta * gw + gamma * (w - w0i)) + jnp.sqrt(eps) * jax.random.normal(k, w.shape, DT)
                    for w, gw, w0i, k in zip(ws, gr, w0, keys)]

        vstep = jax.jit(jax.vmap(step, in_axes=(0, None, 0, None, None)))
        perm = rng.permutation(n)
        batches = [(X[perm[(i * b) % 9500:(i * b) % 9500 + b]], Y[perm[(i * b) % 9500:(i * b) % 9500 + b]])
                   for i in range(nsteps)]
        wsC = [jnp.stack([w] * chains) for w in Ws]
        keys = jax.random.split(jax.random.PRNGKey(0), chains)
        split = jax.jit(jax.vmap(lambda k: jax.random.split(k)[0]))
        wsC = vstep(wsC, Ws, keys, *batches[0])
        jax.block_until_ready(wsC)
        t = time.perf_counter()
        for i in range(nsteps):
            keys = split(keys)
            wsC = vstep(wsC, Ws, keys, *batches[i])
        jax.block_until_ready(wsC)
        per = (time.perf_counter() - t) / (chains * nsteps)
        for row in ("layerwise", "auto"):
            emit("sgld_dln_95k_params_batch500_8_chains", f"{name}_{row}", "jax", per * 160,
                 chain_steps_per_s=1 / per)


if __name__ == "__main__":
    main()
