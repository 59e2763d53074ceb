"""Networks from Python and the kernel-regime predictor of a trained network."""

from __future__ import annotations

from typing import Optional

import numpy as np

from . import _core
from ._core import DeepLinearNetwork, Dense

__all__ = ["DeepLinearNetwork", "Dense", "linearized_predictor", "train_margin"]


def linearized_predictor(net: Dense, w0, x_train, y_train, x_test, output: int = 0, offset: bool = True):
    """The NTK predictor of a network at its initialisation w0, for one output:

    f(x) = Θ(X, x)ᵀ Θ(X, X)⁺ (y − f₀(X)) + f₀(x)  (offset=True, the corrected predictor), or
    f(x) = Θ(X, x)ᵀ Θ(X, X)⁺ y                     (offset=False),

    with Θ the empirical tangent kernel at w0 (layer by layer, no Jacobian) and the pseudo-inverse
    at NumPy's cutoff (the crate's ``solvers::Linearized``, as in ``NTKAnalysis.ipynb`` of the
    deep-learning-theory tutorial). ``y_train`` is cast to the precision of ``x_train``. Returns
    the predictions at ``x_test`` (a float64 vector).
    """
    x_train = np.asarray(x_train)
    y_train = np.asarray(y_train, dtype=x_train.dtype)
    return _core.linearized_predictor(net, w0, x_train, y_train, x_test, output, offset)


def train_margin(
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    h: int,
    alpha: float,
    depth: int = 2,
    beta: float = 10.0,
    bias: bool = False,
    loss_beta: float = 20.0,
    seed_init: int = 0,
    max_steps: Optional[int] = None,
    max_wall: Optional[float] = None,
    stop_margin: float = 1.0,
    x_kernel=None,
    keep_weights: bool = True,
) -> dict:
    """One run of the feature/lazy phase diagram (Geiger, Spigler, Jacot & Wyart, arXiv
    1906.08034; ``mariogeiger/feature_lazy``, ``main.py: run_regular``): a network of ``depth``
    hidden layers of width ``h`` in the NTK scaling (swish with sharpness ``beta``), trained on
    labels ±1 by the adaptive gradient flow with the α trick, f̃ = α(f(w) − f(w₀)), on the soft
    hinge softplus_β(1 − y f̃)/α (``loss_beta``), until every training margin reaches
    ``stop_margin`` or the budget (``max_steps``, default 10⁵ accepted steps; ``max_wall``
    seconds) runs out.

    Returns the crate's run record as a dict: "config", "data", "n_params", "stop", "dynamics"
    (one dict per checkpoint with train/test loss, error, margins), "delta_kernel" (with
    ``x_kernel``: the change of the tangent kernel, ``diff``/``init_norm``), "weights" (with
    ``keep_weights``) and "init_seed" (``Dense.init(seed=init_seed)`` gives w₀). float32 inputs
    train in float32.
    """
    return _core.train_margin(
        x_train, y_train, x_test, y_test, h=h, alpha=alpha, depth=depth, beta=beta, bias=bias,
        loss_beta=loss_beta, seed_init=seed_init, max_steps=max_steps, max_wall=max_wall,
        stop_margin=stop_margin, x_kernel=x_kernel, keep_weights=keep_weights,
    )
