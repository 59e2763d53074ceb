"""Networks from Python and the kernel-regime predictor of a trained network."""

from __future__ import annotations

import numpy as np

from . import _core
from ._core import DeepLinearNetwork, Dense

__all__ = ["DeepLinearNetwork", "Dense", "linearized_predictor"]


def linearized_predictor(net: Dense, w0, x_train, y_train, x_test, output: int = 0, offset: bool = True):
    """The NTK predictor of a network at its initialisation w0, for one output:

    f(x) = Θ(x, X) Θ(X, X)⁺ (y − f₀(X)) + f₀(x)  (offset=True, the corrected predictor), or
    f(x) = Θ(x, X) Θ(X, X)⁺ y                     (offset=False),

    with Θ the empirical tangent kernel at w0 (layer by layer, no Jacobian) and the pseudo-inverse
    at NumPy's cutoff. Returns the predictions at ``x_test`` (a vector).
    """
    y = np.asarray(y_train)
    y = y[:, output] if y.ndim == 2 else y
    k_train = net.tangent_kernel(w0, x_train, None, output)
    k_cross = net.tangent_kernel(w0, x_test, x_train, output)
    target = y.astype(np.float64)
    f0_test = 0.0
    if offset:
        target = target - net.forward(w0, x_train)[:, output].astype(np.float64)
        f0_test = net.forward(w0, x_test)[:, output].astype(np.float64)
    coef, _, _ = _core.min_norm_lstsq(k_train, target, 1e-15)
    return k_cross @ coef + f0_test
