"""Kernels against NumPy formulas (EigenPro's kernel.py; the arc-cosine recursion of Cho & Saul
2009 and Arora et al. 2019, written here independently), in both precisions."""

import numpy as np
import pytest

import doubledescent as dd


def dist(x, z):
    return np.sqrt(np.maximum(((x[:, None, :] - z[None, :, :]) ** 2).sum(-1), 0.0))


def arccos_recursion(x, z, depth, bias, ntk):
    b = 1.0 if bias else 0.0
    sxz = x @ z.T + b
    sxx = (x * x).sum(1)[:, None] + b
    szz = (z * z).sum(1)[None, :] + b
    theta = sxz.copy()
    for layer in range(depth):
        norm = np.sqrt(sxx * szz)
        xi = np.clip(sxz / norm, -1.0, 1.0)
        f = norm * (xi * (np.pi - np.arccos(xi)) + np.sqrt(1 - xi**2)) / np.pi
        fdot = (np.pi - np.arccos(xi)) / np.pi
        last = layer == depth - 1
        if last:
            return theta * fdot + f if ntk else f
        theta = theta * fdot + f + b
        sxz, sxx, szz = f + b, sxx + b, szz + b


REFERENCES = {
    "laplacian": lambda x, z: np.exp(-dist(x, z) / 2.5),
    "gaussian": lambda x, z: np.exp(-dist(x, z) ** 2 / (2 * 2.5**2)),
    "dispersal": lambda x, z: np.exp(-dist(x, z) ** 1.5 / 2.5),
    "relu_nngp": lambda x, z: arccos_recursion(x, z, 1, False, False),
    "relu_ntk": lambda x, z: arccos_recursion(x, z, 1, False, True),
}

CALLS = {
    "laplacian": lambda x, z: dd.laplacian(x, z, bandwidth=2.5, device="cpu"),
    "gaussian": lambda x, z: dd.gaussian(x, z, bandwidth=2.5, device="cpu"),
    "dispersal": lambda x, z: dd.dispersal(x, z, bandwidth=2.5, gamma=1.5, device="cpu"),
    "relu_nngp": lambda x, z: dd.relu_nngp(x, z, device="cpu"),
    "relu_ntk": lambda x, z: dd.relu_ntk(x, z, device="cpu"),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_kernel_matrices_match_numpy(rng, name, dtype, tol):
    x = rng.standard_normal((37, 5))
    z = rng.standard_normal((29, 5))
    ref = REFERENCES[name](x, z)
    got = CALLS[name](x.astype(dtype), z.astype(dtype))
    assert got.dtype == dtype and got.shape == (37, 29)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
    # The self matrix: symmetric, the same values as K(X, X).
    self_k = CALLS[name](x.astype(dtype), None)
    np.testing.assert_array_equal(self_k, self_k.T)
    ref_self = REFERENCES[name](x, x)
    if name.startswith("relu"):
        # At ξ = 1 the NumPy formula loses half its digits (arccos(1 − ε) ≈ √(2ε)); the crate
        # writes the closed-form diagonal ‖x‖² (NNGP) or 2‖x‖² (NTK).
        np.fill_diagonal(ref_self, (x * x).sum(1) * (2 if name == "relu_ntk" else 1))
    np.testing.assert_allclose(self_k, ref_self, rtol=tol, atol=tol * 10 * np.abs(ref).max())


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("ntk", [False, True])
def test_deep_arccos_kernels_match_the_recursion(rng, depth, ntk):
    x = rng.standard_normal((20, 4))
    z = rng.standard_normal((15, 4))
    f = dd.relu_ntk if ntk else dd.relu_nngp
    got = f(x, z, depth=depth, bias=True, device="cpu")
    ref = arccos_recursion(x, z, depth, True, ntk)
    np.testing.assert_allclose(got, ref, rtol=1e-11)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-11), (np.float32, 1e-4)])
def test_matrix_free_product_equals_the_dense_product(rng, dtype, tol):
    x = rng.standard_normal((300, 7)).astype(dtype)
    z = rng.standard_normal((210, 7)).astype(dtype)
    w = rng.standard_normal((210, 3)).astype(dtype)
    k = dd.Kernel("laplacian", bandwidth=3.0)
    ref = REFERENCES["laplacian"](x.astype(np.float64), z.astype(np.float64)) * 0 + np.exp(
        -dist(x.astype(np.float64), z.astype(np.float64)) / 3.0
    )
    got = dd.kernel_apply(k, x, z, w, device="cpu")
    assert got.dtype == dtype and got.shape == (300, 3)
    np.testing.assert_allclose(got, ref @ w.astype(np.float64), rtol=tol, atol=tol * 10)
    # A vector w gives a vector.
    v = dd.kernel_apply(k, x, z, w[:, 0], device="cpu")
    assert v.shape == (300,)
    np.testing.assert_allclose(v, got[:, 0], rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_layouts_give_the_same_matrix(rng):
    x = rng.standard_normal((40, 6))
    z = rng.standard_normal((30, 6))
    ref = dd.laplacian(x, z, bandwidth=2.0, device="cpu")
    assert ref.flags["F_CONTIGUOUS"]
    # Fortran order (viewed), a strided slice and a transposed view (copied once).
    big = rng.standard_normal((80, 12))
    big[::2, ::2] = x
    for xin in (np.asfortranarray(x), big[::2, ::2], np.ascontiguousarray(x.T).T):
        np.testing.assert_array_equal(dd.laplacian(xin, z, bandwidth=2.0, device="cpu"), ref)
    # Negative strides (a flipped view) are copied in the view's order.
    np.testing.assert_array_equal(dd.laplacian(x[::-1], z, bandwidth=2.0, device="cpu"), ref[::-1])
    # Read-only input is fine.
    xr = x.copy()
    xr.setflags(write=False)
    np.testing.assert_array_equal(dd.laplacian(xr, z, bandwidth=2.0, device="cpu"), ref)


def test_large_results_are_handed_over_without_a_copy(rng):
    x = rng.standard_normal((64, 3))
    k = dd.gaussian(x, bandwidth=1.0, device="cpu")
    # The array views the crate's buffer: its base is the owner object, not another ndarray.
    assert type(k.base).__name__ == "MatrixBuffer"
    k[0, 0] = 5.0  # writable, owned memory
    assert k[0, 0] == 5.0


def test_auto_and_cuda_devices_agree_or_are_named(rng):
    x = rng.standard_normal((50, 4))
    backend, note = dd.describe_device("auto")
    assert backend in ("cpu", "cuda")
    np.testing.assert_allclose(
        dd.laplacian(x, bandwidth=2.0, device="auto"), dd.laplacian(x, bandwidth=2.0, device="cpu"), rtol=1e-12
    )
    if backend == "cpu":
        with pytest.raises(dd.DeviceUnavailableError):
            dd.laplacian(x, bandwidth=2.0, device="cuda")
