"""Spectral tools: batched thin SVD, minimum-norm least squares, pinv, Nystrom eigensystems."""

from __future__ import annotations

from typing import Optional

from . import _core
from ._core import Kernel

__all__ = ["batched_svd", "min_norm_lstsq", "pinv", "nystrom_eigen"]


def batched_svd(a, device: str = "auto"):
    """Thin SVDs of a stack of matrices ``a`` (b x m x n).

    Returns ``(u, s, vh)`` with shapes b x m x k, b x k and b x k x n (k = min(m, n)), singular
    values descending: the same as ``numpy.linalg.svd(a, full_matrices=False)`` up to the signs
    of singular vectors. On CUDA, matrices with k <= 128 run one-sided Jacobi per matrix.
    """
    return _core.batched_svd(a, device)


def min_norm_lstsq(a, b, rcond: Optional[float] = None):
    """Minimum-norm least-squares solution x = pinv(a) b.

    Returns ``(x, rank, s)``: the solution (1-D when ``b`` is), the numerical rank and the
    singular values of ``a``. ``rcond=None`` drops singular values <= eps·max(m, n)·s_max, as
    ``numpy.linalg.lstsq(a, b, rcond=None)``.
    """
    return _core.min_norm_lstsq(a, b, rcond)


def pinv(a, rcond: float = 1e-15):
    """Moore-Penrose pseudo-inverse; singular values <= rcond·s_max are dropped (NumPy's default)."""
    return _core.pinv(a, rcond)


def nystrom_eigen(kernel: Kernel, samples, q: int, method: str = "auto", device: str = "auto"):
    """Top-``q`` eigenpairs of K(S, S)/s for the s sample points ``samples``.

    Returns ``(values, vectors)``: eigenvalues descending and unit eigenvectors as the columns
    of an s x q array. ``method`` is "auto", "dense", "krylov" (Krylov-Schur on the stored
    matrix) or "matrix_free" (Krylov-Schur on products, K never stored).
    """
    return _core.nystrom_eigen(kernel, samples, q, method, device)
