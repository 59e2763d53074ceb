"""The papers' theory: multi-scale teacher-student curves (Pezeshki et al., "Multi-scale Feature
Learning Dynamics: Insights for Double Descent", ICML 2022) and least-squares double descent with
its ablations (Schaeffer et al., "Double Descent Demystified", arXiv 2303.14151)."""

from __future__ import annotations

from typing import Optional, Sequence

from . import _core

__all__ = ["teacher_student_fast_slow", "teacher_student_seed_average", "least_squares_sweep", "diabetes"]


def teacher_student_fast_slow(
    n: int,
    d: int,
    p: int,
    kappa: float,
    *,
    noise: float = 0.0,
    ridge: float = 0.0,
    times: Optional[Sequence[float]] = None,
    freeze: str = "none",
) -> dict:
    """The fast-slow approximation of R(t), Q(t) and the generalisation error
    E_G(t) = ½(1 + σ² − 2R + Q) for n samples, d teacher dimensions of which p are fast, and
    condition number ``kappa`` between the two feature scales (microseconds per curve).

    ``times`` defaults to the paper's analytic grid; ``freeze`` is "none", "fast_only" (the slow
    block never learns) or "slow_only" (the fast block already learned). Returns
    {"times", "r", "q", "eg"}.
    """
    return _core.teacher_student_fast_slow(
        n, d, p, kappa, noise=noise, ridge=ridge, times=None if times is None else list(times), freeze=freeze
    )


def teacher_student_seed_average(
    n: int,
    d: int,
    p: int,
    kappa: float,
    seeds: Sequence[int],
    *,
    noise: float = 0.0,
    ridge: float = 0.0,
    n_test: Optional[int] = None,
    times: Optional[Sequence[float]] = None,
    dynamics: str = "gd",
    test_error: bool = True,
    device: str = "auto",
) -> dict:
    """Exact teacher-student curves averaged over ``seeds``: each seed samples the data, fits the
    student through the thin SVD of X (batched on ``device``) and evaluates gradient descent
    (``dynamics="gd"``) or gradient flow (``"flow"``) at ``times`` (default: the paper's
    empirical grid). Returns {"times", "r", "q", "eg", "eg_teacher", "test_mean", "test_std"}.
    """
    return _core.teacher_student_seed_average(
        n, d, p, kappa, [int(s) for s in seeds], noise=noise, ridge=ridge, n_test=n_test,
        times=None if times is None else list(times), dynamics=dynamics, test_error=test_error, device=device,
    )


def least_squares_sweep(
    x,
    y,
    sizes: Sequence[int],
    *,
    repeats: int = 50,
    cutoffs: Sequence[float] = (),
    leading_modes: Sequence[int] = (),
    adversarial_test: Sequence[float] = (),
    adversarial_train: Sequence[float] = (),
    name: str = "table",
    device: str = "auto",
) -> dict:
    """Least-squares double descent on the table (x, y) (float64): for every training-set size N
    in ``sizes`` and repeat r (split seed r, NumPy's legacy permutation), the minimum-norm fit on
    N rows tested on the rest, with the ablations: singular-value ``cutoffs`` (a), the test
    features' ``leading_modes`` (b), targets without residuals (c), and adversarial test and
    training perturbations along the smallest singular directions.

    Returns a dict of arrays with one row per (N, repeat): "n", "repeat", "rank",
    "smallest_singular_value", "train_mse", "test_mse", "test_bias_squared", the ablation tables
    and "ideal" (the least-squares fit on the whole table).
    """
    return _core.least_squares_sweep(
        x, y, list(sizes), repeats=repeats, cutoffs=list(cutoffs), leading_modes=list(leading_modes),
        adversarial_test=list(adversarial_test), adversarial_train=list(adversarial_train), name=name, device=device,
    )


def diabetes():
    """The diabetes table (442 rows, 10 standardised features), as (x, y)."""
    return _core.diabetes()
