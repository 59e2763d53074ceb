"""Bad input: a Python exception with the crate's one-line message, never a crash or garbage."""

import numpy as np
import pytest

import doubledescent as dd

X = np.random.default_rng(0).standard_normal((10, 3))


@pytest.mark.parametrize(
    "bad,exc,words",
    [
        (X.astype(np.float16), TypeError, "float16"),
        (X.astype(np.int64), TypeError, "int64"),
        (X.astype(np.complex128), TypeError, "complex128"),
        (X.tolist(), TypeError, "list"),
        (np.float64(3.0), TypeError, "float64"),
        (np.zeros(()), ValueError, "0-d"),
        (np.zeros((2, 3, 3)), ValueError, "3-d"),
        (np.zeros(3), ValueError, "1-d"),
        (np.zeros((0, 3)), ValueError, "0x3"),
        (np.zeros((4, 0)), ValueError, "4x0"),
        (np.where(np.eye(10, 3) > 0, np.nan, X), ValueError, "NaN"),
        (np.where(np.eye(10, 3) > 0, np.inf, X), ValueError, "inf"),
        (X * 1e160, ValueError, "rescale"),
    ],
)
def test_bad_arrays_are_named(bad, exc, words):
    with pytest.raises(exc) as e:
        dd.laplacian(bad, X, bandwidth=1.0, device="cpu")
    msg = str(e.value)
    assert "\n" not in msg and words in msg, msg


def test_mixed_precision_and_shapes_are_named():
    with pytest.raises(TypeError, match="same precision"):
        dd.laplacian(X, X.astype(np.float32), bandwidth=1.0, device="cpu")
    with pytest.raises(ValueError, match="columns"):
        dd.laplacian(X, X[:, :2].copy(), bandwidth=1.0, device="cpu")
    with pytest.raises(ValueError, match="bandwidth"):
        dd.laplacian(X, X, bandwidth=-1.0, device="cpu")
    with pytest.raises(ValueError, match="bandwidth"):
        dd.gaussian(X, X, bandwidth=float("nan"), device="cpu")
    with pytest.raises(ValueError, match="gamma"):
        dd.dispersal(X, X, bandwidth=1.0, gamma=3.0, device="cpu")
    with pytest.raises(ValueError, match="depth"):
        dd.relu_ntk(X, X, depth=0, device="cpu")
    with pytest.raises(ValueError, match="device"):
        dd.laplacian(X, X, bandwidth=1.0, device="tpu")
    with pytest.raises(ValueError, match="kind"):
        dd.Kernel("cosine", bandwidth=1.0)


def test_sizes_beyond_memory_are_memory_errors():
    # 10⁶ × 10⁶ = 10¹² entries (8 TB) from 8 MB of points: refused before allocating.
    x = np.zeros((10**6, 1))
    with pytest.raises(MemoryError, match="needs"):
        dd.laplacian(x, bandwidth=1.0, device="cpu")
    with pytest.raises(MemoryError, match="needs"):
        dd.gaussian(x, x, bandwidth=1.0, device="cpu")
    # A broadcast view of 10¹² entries would need a contiguous copy: refused too.
    view = np.broadcast_to(np.zeros((1, 1)), (10**6, 10**6))
    with pytest.raises(MemoryError, match="copy"):
        dd.laplacian(view, X[:1, :1].copy(), bandwidth=1.0, device="cpu")


def test_network_and_sampler_arguments_are_named():
    net = dd.DeepLinearNetwork(3, [4], 2)
    w = net.init(seed=0)
    x = np.random.default_rng(1).standard_normal((50, 3))
    y = net.forward(w, x)
    with pytest.raises(ValueError, match="parameter"):
        net.forward(w[:-1].copy(), x)
    with pytest.raises(ValueError, match="sampler"):
        dd.estimate_learning_coeff(net, w, x, y, sampler="hmc", device="cpu")
    with pytest.raises(ValueError, match="epsilon|lr"):
        dd.estimate_learning_coeff(net, w, x, y, lr=-1.0, device="cpu")
    with pytest.raises(ValueError, match="num_draws"):
        dd.estimate_learning_coeff(net, w, x, y, num_draws=0, device="cpu")
    with pytest.raises(TypeError, match="model"):
        dd.estimate_learning_coeff("net", w, x, y, device="cpu")
    with pytest.raises(ValueError):
        dd.Dense(3, [], 1)
    with pytest.raises(MemoryError):
        dd.Dense(784, [10**10], 10)
    with pytest.raises(ValueError, match="activation"):
        dd.Dense(3, [4], 1, activation="tanh")


def test_contiguous_inputs_are_viewed_and_others_copied_once():
    # Under a 1 MiB budget a 2.2 MB input passes when it is viewed (C or F order) and is refused
    # when it must be copied (a strided view): the copy is checked against the budget first.
    x = np.random.default_rng(0).standard_normal((300, 900))
    wide = np.zeros((300, 1800))
    wide[:, ::2] = x
    try:
        dd.set_memory_limit("1M")
        assert dd.memory_budget()[0] == 1 << 20
        k = dd.laplacian(x, bandwidth=30.0, device="cpu")  # 300² · 8 B = 720 KB out
        np.testing.assert_array_equal(dd.laplacian(np.asfortranarray(x), bandwidth=30.0, device="cpu"), k)
        with pytest.raises(MemoryError, match="copy of `x`"):
            dd.laplacian(wide[:, ::2], bandwidth=30.0, device="cpu")
        with pytest.raises(ValueError, match="limit"):
            dd.set_memory_limit(0)
        with pytest.raises(ValueError):
            dd.set_memory_limit("lots")
    finally:
        dd.set_memory_limit(None)
    np.testing.assert_array_equal(dd.laplacian(wide[:, ::2], bandwidth=30.0, device="cpu"), k)


def test_unaligned_buffers_are_refused_not_read():
    raw = np.zeros(81).tobytes()
    x = np.frombuffer(raw, dtype=np.float64, count=80, offset=1).reshape(10, 8)
    assert not x.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        dd.laplacian(x, bandwidth=1.0, device="cpu")
    with pytest.raises(ValueError, match="aligned"):
        dd.rhat(x)
    with pytest.raises(ValueError, match="aligned"):
        dd.batched_svd(x.reshape(2, 5, 8))
    with pytest.raises(ValueError, match="aligned"):
        dd.DeepLinearNetwork(8, [], 1).forward(x[0], x)
    # The fix the message names works.
    fixed = np.require(x, requirements="A")
    np.testing.assert_array_equal(dd.laplacian(fixed, bandwidth=1.0, device="cpu"), np.ones((10, 10)))


def _surfaces():
    """Every array-taking function, as (name, call with one array argument replaced)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((12, 3))
    k = dd.Kernel("gaussian", bandwidth=1.0)
    dln = dd.DeepLinearNetwork(3, [2], 1)
    w = dln.init(seed=0)
    y = dln.forward(w, x)
    dense = dd.Dense(3, [4], 1)
    wd = dense.init(seed=0)
    from doubledescent import theory

    return [
        ("laplacian x", lambda a: dd.laplacian(a, x, bandwidth=1.0, device="cpu")),
        ("relu_ntk z", lambda a: dd.relu_ntk(x, a, device="cpu")),
        ("kernel_apply w", lambda a: dd.kernel_apply(k, x, x, a if a.ndim != 2 else a[:, :1], device="cpu")),
        ("batched_svd a", lambda a: dd.batched_svd(a[None] if a.ndim == 2 else a, device="cpu")),
        ("min_norm_lstsq a", lambda a: dd.min_norm_lstsq(a, y)),
        ("pinv a", lambda a: dd.pinv(a)),
        ("nystrom_eigen samples", lambda a: dd.nystrom_eigen(k, a, 2, device="cpu")),
        ("rhat trace", lambda a: dd.rhat(a)),
        ("ess trace", lambda a: dd.ess(a)),
        ("estimate_learning_coeff x", lambda a: dd.estimate_learning_coeff(dln, w, a, y, num_draws=10, device="cpu")),
        ("DeepLinearNetwork.forward x", lambda a: dln.forward(w, a)),
        ("Dense.loss_grad x", lambda a: dense.loss_grad(wd, a, y)),
        ("Dense.tangent_kernel x", lambda a: dense.tangent_kernel(wd, a)),
        ("linearized_predictor x_test", lambda a: dd.linearized_predictor(dense, wd, x, y[:, 0], a)),
        ("least_squares_sweep x", lambda a: theory.least_squares_sweep(a, y[:, 0], [3], repeats=1, device="cpu")),
    ]


BAD = [
    ("float16", lambda x: x.astype(np.float16), TypeError),
    ("int64", lambda x: np.ones(x.shape, dtype=np.int64), TypeError),
    ("3-d", lambda x: x[None, None], (ValueError, TypeError)),
    ("0-d", lambda x: np.asarray(x[0, 0]), (ValueError, TypeError)),
    ("NaN", lambda x: np.where(np.eye(*x.shape) > 0, np.nan, x), ValueError),
    ("empty", lambda x: x[:0], ValueError),
]


@pytest.mark.parametrize("bad_name,make,exc", BAD, ids=[b[0] for b in BAD])
def test_every_array_argument_refuses_bad_arrays_with_one_line(bad_name, make, exc):
    x = np.random.default_rng(8).standard_normal((12, 3))
    for name, call in _surfaces():
        with pytest.raises(exc) as e:
            call(make(x))
        msg = str(e.value)
        assert msg and "\n" not in msg, f"{name}: {msg!r}"


def test_messages_name_the_argument_that_is_bad():
    x = np.random.default_rng(9).standard_normal((12, 3))
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="`samples`"):
        dd.nystrom_eigen(dd.Kernel("gaussian", bandwidth=1.0), bad, 2, device="cpu")
    net = dd.Dense(3, [4], 1)
    w = net.init(seed=0)
    with pytest.raises(ValueError, match="`z`"):
        net.tangent_kernel(w, x, bad)
    with pytest.raises(ValueError, match="`x`"):
        net.tangent_kernel(w, bad, x)
