"""Times the Python call against the same Rust call and against NumPy, in one sitting.

    python python/benches/bench.py [--repeats 15] [--n 4096]

Workload (the one of ../benches/kernels.rs and the peers' NumPy script): the Laplace kernel
matrix K(X, Z) of 4096 × 4096 points at d = 784 (MNIST) and d = 10, float32 and float64, on the
CPU. Reported: the median seconds of each, the binding's overhead (Python call over the Rust call
timed inside the extension, inputs converted once) and the speed-up over NumPy. Calls alternate
(Python and Rust take turns going first, then NumPy) so that all three see the same machine state.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import doubledescent as dd


def numpy_laplacian(x, z, bandwidth):
    """EigenPro's NumPy formula: exp(−√max(‖x‖² + ‖z‖² − 2xᵀz, 0)/σ)."""
    d2 = (x * x).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2.0 * (x @ z.T)
    np.maximum(d2, 0, out=d2)
    np.sqrt(d2, out=d2)
    d2 *= -1.0 / bandwidth
    return np.exp(d2, out=d2)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    flags = open("/proc/cpuinfo").read()
                    simd = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "no AVX2")
                    return f"{line.split(':', 1)[1].strip()} ({simd}, {os.cpu_count()} threads)"
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--n", type=int, default=4096)
    args = ap.parse_args()
    print(f"processor: {cpu_name()}; numpy {np.__version__}; doubledescent {dd.__version__}")
    print(f"{'workload':<28} {'python s':>9} {'rust s':>9} {'numpy s':>9} {'overhead':>9} {'vs numpy':>9}")
    rng = np.random.default_rng(0)
    k = dd.Kernel("laplacian", bandwidth=10.0)
    for d in (784, 10):
        for dtype in (np.float32, np.float64):
            x = rng.standard_normal((args.n, d)).astype(dtype)
            z = rng.standard_normal((args.n, d)).astype(dtype)
            bw = np.sqrt(d)
            k = dd.Kernel("laplacian", bandwidth=float(bw))
            py_t, rs_t, np_t = [], [], []
            # One warm-up call of each (page cache, thread pools).
            dd.laplacian(x, z, bandwidth=float(bw), device="cpu")
            numpy_laplacian(x, z, bw)
            def python_call():
                t = time.perf_counter()
                out = dd.laplacian(x, z, bandwidth=float(bw), device="cpu")
                py_t.append(time.perf_counter() - t)
                del out

            def rust_call():
                rs_t.extend(k.time_matrix(x, z, repeats=1, device="cpu"))

            for i in range(args.repeats):
                # Python and Rust take turns going first.
                for call in (python_call, rust_call) if i % 2 == 0 else (rust_call, python_call):
                    call()
                t = time.perf_counter()
                ref = numpy_laplacian(x, z, bw)
                np_t.append(time.perf_counter() - t)
                del ref
                # OpenBLAS's threads spin for a while after a GEMM: let them sleep before the
                # next timed call, which would otherwise share the cores with them.
                time.sleep(0.25)
            p, r, q = (statistics.median(v) for v in (py_t, rs_t, np_t))
            name = f"laplace {args.n}² d={d} {np.dtype(dtype).name}"
            print(f"{name:<28} {p:9.4f} {r:9.4f} {q:9.4f} {100 * (p / r - 1):8.1f}% {q / p:8.2f}x")


if __name__ == "__main__":
    main()
