"""Spectral tools against numpy.linalg."""

import numpy as np
import pytest

import doubledescent as dd


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("shape", [(6, 9, 4), (5, 4, 7)])
def test_batched_svd_matches_numpy(rng, dtype, tol, shape):
    a = rng.standard_normal(shape).astype(dtype)
    u, s, vh = dd.batched_svd(a, device="cpu")
    nu, ns, nvh = np.linalg.svd(a.astype(np.float64), full_matrices=False)
    assert u.dtype == dtype and u.shape == nu.shape and s.shape == ns.shape and vh.shape == nvh.shape
    np.testing.assert_allclose(s, ns, rtol=tol, atol=tol)
    # Vectors agree up to the sign of each pair; the reconstruction is exact.
    signs = np.sign(np.einsum("bij,bij->bj", u.astype(np.float64), nu))
    np.testing.assert_allclose(u * signs[:, None, :], nu, atol=tol * 10)
    np.testing.assert_allclose(np.einsum("bij,bj,bjk->bik", u, s, vh), a, atol=tol * 10)
    # A non-contiguous stack (every other matrix) gives the same result as its copy.
    u2, s2, _ = dd.batched_svd(a[::2], device="cpu")
    np.testing.assert_array_equal(s2, s[::2])


def test_batched_svd_rejects_bad_stacks():
    with pytest.raises(ValueError, match="3-d"):
        dd.batched_svd(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="int"):
        dd.batched_svd(np.zeros((2, 3, 3), dtype=int))
    with pytest.raises(ValueError):
        dd.batched_svd(np.zeros((0, 3, 3)))
    bad = np.ones((2, 3, 3))
    bad[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        dd.batched_svd(bad)


@pytest.mark.parametrize("m,n", [(30, 12), (12, 30), (20, 20)])
def test_min_norm_lstsq_matches_numpy(rng, m, n):
    a = rng.standard_normal((m, n))
    a[:, -1] = a[:, 0]  # rank deficient: the minimum-norm solution is the one NumPy gives
    b = rng.standard_normal((m, 3))
    x, rank, s = dd.min_norm_lstsq(a, b)
    nx, _, nrank, ns = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(x, nx, atol=1e-10)
    assert rank == nrank
    np.testing.assert_allclose(s, ns, rtol=1e-12, atol=1e-14 * ns[0])
    x1, _, _ = dd.min_norm_lstsq(a, b[:, 0].copy())
    assert x1.shape == (n,)
    np.testing.assert_allclose(x1, nx[:, 0], atol=1e-10)


def test_pinv_matches_numpy(rng):
    a = rng.standard_normal((15, 8)) @ rng.standard_normal((8, 11))  # rank 8
    np.testing.assert_allclose(dd.pinv(a), np.linalg.pinv(a), atol=1e-10)
    p32 = dd.pinv(a.astype(np.float32), rcond=1e-5)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, np.linalg.pinv(a, rcond=1e-5), atol=1e-3)


@pytest.mark.parametrize("method", ["dense", "krylov", "matrix_free", "auto"])
def test_nystrom_eigen_matches_eigh(rng, method):
    s = rng.standard_normal((120, 5))
    k = dd.Kernel("gaussian", bandwidth=2.0)
    values, vectors = dd.nystrom_eigen(k, s, 6, method=method, device="cpu")
    ref = np.exp(-((s[:, None] - s[None]) ** 2).sum(-1) / 8.0) / 120
    w, v = np.linalg.eigh(ref)
    np.testing.assert_allclose(values, w[::-1][:6], rtol=1e-9)
    overlap = np.abs((vectors * v[:, ::-1][:, :6]).sum(0))
    np.testing.assert_allclose(overlap, 1.0, atol=1e-7)
