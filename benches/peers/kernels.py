"""Peers of `cargo bench --bench kernels`: n×n kernel matrices (n = 4096, d = 10 and 784, f32 and
f64) in NumPy (OpenBLAS GEMM, then norms, clamp, sqrt and exp as EigenPro-pytorch's kernel.py does)
and JAX (jit, XLA fuses the transform into one pass); the bare GEMM X·Zᵀ of the same shape in
NumPy; and the one-hidden-layer ReLU NTK with biases in NumPy, as the tutorial notebook writes it.

Data: uniform [0, 1) points, bandwidth sqrt(d/6), as the crate's bench. Prints JSON lines
(common.emit). Usage: python kernels.py [--quick]"""
import sys

import numpy as np

from common import emit, jax_or_none, median_seconds

N = 4096


def np_sqdist(X, Z):
    xn = (X * X).sum(1)[:, None]
    zn = (Z * Z).sum(1)[None, :]
    D = X @ Z.T
    D *= -2
    D += xn
    D += zn
    np.clip(D, 0, None, out=D)
    return D


def np_laplace(X, Z, bw):
    D = np_sqdist(X, Z)
    np.sqrt(D, out=D)
    D *= -1.0 / bw
    np.exp(D, out=D)
    return D


def np_gauss(X, Z, bw):
    D = np_sqdist(X, Z)
    D *= -1.0 / (2 * bw * bw)
    np.exp(D, out=D)
    return D


def np_relu_ntk(X, Z):
    """The tutorial notebook's `ntk` (DoubleDescentTutorialPart2): one hidden layer, biases."""
    out = X @ Z.T + 1
    n1 = (X * X).sum(-1)[:, None] + 1
    n2 = (Z * Z).sum(-1)[None, :] + 1
    xx = np.sqrt(n1 * n2)
    out = np.clip(out / xx, -1, 1)
    a = np.pi - np.arccos(out)
    first = (out * a + np.sqrt(1 - out ** 2)) * xx / np.pi
    return first + out * a * xx / np.pi


def main():
    quick = "--quick" in sys.argv
    n = 512 if quick else N
    reps = 2 if quick else 7
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        name = np.dtype(dt).name.replace("float", "f")
        for d in (10, 784):
            X = rng.random((n, d)).astype(dt)
            Z = rng.random((n, d)).astype(dt)
            bw = np.sqrt(d / 6.0)
            bench = f"kernel_matrix_{name}/d{d}"
            emit(bench, "gemm/cpu", "numpy", median_seconds(lambda: X @ Z.T, reps))
            emit(bench, "laplace/cpu", "numpy", median_seconds(lambda: np_laplace(X, Z, bw), reps))
            emit(bench, "gaussian/cpu", "numpy", median_seconds(lambda: np_gauss(X, Z, bw), reps))
            emit(bench, "relu_ntk_depth1/cpu", "numpy", median_seconds(lambda: np_relu_ntk(X, Z), reps))
    jax = jax_or_none(True)
    if jax is None:
        print("# jax not installed: no JAX rows", file=sys.stderr)
        return
    import jax.numpy as jnp
    for x64 in (False, True):

        @jax.jit
        def jl(X, Z, bw):
            D = (X * X).sum(1)[:, None] + (Z * Z).sum(1)[None, :] - 2 * X @ Z.T
            return jnp.exp(-jnp.sqrt(jnp.clip(D, 0, None)) / bw)

        @jax.jit
        def jg(X, Z, bw):
            D = (X * X).sum(1)[:, None] + (Z * Z).sum(1)[None, :] - 2 * X @ Z.T
            return jnp.exp(-jnp.clip(D, 0, None) / (2 * bw * bw))

        dt = jnp.float64 if x64 else jnp.float32
        name = "f64" if x64 else "f32"
        for d in (10, 784):
            X = jnp.asarray(rng.random((n, d)), dtype=dt)
            Z = jnp.asarray(rng.random((n, d)), dtype=dt)
            bw = float(np.sqrt(d / 6.0))
            bench = f"kernel_matrix_{name}/d{d}"
            emit(bench, "laplace/cpu", "jax", median_seconds(lambda: jl(X, Z, bw).block_until_ready(), reps))
            emit(bench, "gaussian/cpu", "jax", median_seconds(lambda: jg(X, Z, bw).block_until_ready(), reps))


if __name__ == "__main__":
    main()
