"""Kernel matrices K(X, Z), self matrices K(X, X) and the matrix-free product K(X, Z)·W.

Names and conventions follow EigenPro and neural-tangents: rows of ``x`` and ``z`` are points;
float32 in gives float32 out, float64 gives float64. ``device`` is ``"cpu"``, ``"cuda"`` or
``"auto"`` (CUDA when a GPU and its driver are present, else the CPU). The GIL is released while
the crate computes, so threads of one Python process run kernels in parallel.
"""

from __future__ import annotations

from typing import Optional

from ._core import Kernel

__all__ = [
    "Kernel",
    "laplacian",
    "gaussian",
    "dispersal",
    "relu_nngp",
    "relu_ntk",
    "kernel_apply",
]


def laplacian(x, z=None, bandwidth: float = 1.0, device: str = "auto"):
    """Laplace kernel matrix K[i, j] = exp(-||x_i - z_j|| / bandwidth).

    ``z=None`` gives the self matrix K(X, X), exactly symmetric with ones on the diagonal.
    Same as EigenPro's ``laplacian(x, z, bandwidth)``.
    """
    return Kernel("laplacian", bandwidth=bandwidth).matrix(x, z, device)


def gaussian(x, z=None, bandwidth: float = 1.0, device: str = "auto"):
    """Gaussian kernel matrix K[i, j] = exp(-||x_i - z_j||^2 / (2 bandwidth^2)).

    ``z=None`` gives the self matrix K(X, X).
    """
    return Kernel("gaussian", bandwidth=bandwidth).matrix(x, z, device)


def dispersal(x, z=None, bandwidth: float = 1.0, gamma: float = 1.0, device: str = "auto"):
    """Dispersal kernel K[i, j] = exp(-||x_i - z_j||^gamma / bandwidth), gamma in (0, 2].

    ``z=None`` gives the self matrix K(X, X).
    """
    return Kernel("dispersal", bandwidth=bandwidth, gamma=gamma).matrix(x, z, device)


def relu_nngp(x, z=None, depth: int = 1, bias: bool = False, device: str = "auto"):
    """NNGP kernel of a ReLU network with ``depth`` hidden layers (arc-cosine recursion).

    With ``bias=True`` the first layer has a bias (inputs augmented by a constant 1).
    ``z=None`` gives the self matrix.
    """
    return Kernel("relu_nngp", depth=depth, bias=bias).matrix(x, z, device)


def relu_ntk(x, z=None, depth: int = 1, bias: bool = False, device: str = "auto"):
    """Neural tangent kernel of a ReLU network with ``depth`` hidden layers.

    The NTK recursion Theta_l = Theta_{l-1} * kdot_l + Sigma_l over the arc-cosine NNGP;
    ``z=None`` gives the self matrix.
    """
    return Kernel("relu_ntk", depth=depth, bias=bias).matrix(x, z, device)


def kernel_apply(kernel: Kernel, x, z, w, device: str = "auto"):
    """K(X, Z)·W without forming K: each worker holds one tile of K at a time.

    ``w`` is m x c (or a vector of length m, giving a vector). This is the product EigenPro,
    Nystrom and kernel prediction need when n x m does not fit in memory.
    """
    return kernel.apply(x, z, w, device)
