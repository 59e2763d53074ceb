"""Shared helpers of the peers: timing, the machine's name, one JSON line per measurement."""
import json, os, platform, sys, time

import numpy as np


def median_seconds(f, reps=7, warmup=1):
    """Median wall time of f() over `reps` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def emit(bench, row, peer, seconds, **extra):
    """One measurement: the crate's criterion group and row it compares with, the peer, seconds."""
    print(json.dumps({"bench": bench, "row": row, "peer": peer, "seconds": seconds, **extra}), flush=True)


def machine():
    """Processor model, widest vector instruction set, core count, and the BLAS NumPy runs."""
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info
        for i in threadpool_info():
            if i.get("internal_api") in ("openblas", "mkl", "blis"):
                blas = f"{i['internal_api']} {i.get('version')} ({i.get('architecture')} kernels, {i['num_threads']} threads)"
    except ImportError:
        pass
    return {"processor": model, "isa": isa, "cores": os.cpu_count(), "blas": blas,
            "numpy": np.__version__, "python": sys.version.split()[0]}


def jax_or_none(x64):
    """JAX configured for f64 (x64 = True) or f32, or None when it is not installed."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", bool(x64))
    return jax
