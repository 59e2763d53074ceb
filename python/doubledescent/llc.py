"""The local learning coefficient (Lau et al., arXiv 2308.12108), shaped like devinterp.

``estimate_learning_coeff`` runs chains of SGLD, MALA or SGNHT on the localised tempered
posterior p(w) ∝ exp(-nβ L_n(w) - (γ/2)||w - w*||²) around ``w_star`` and returns
λ̂ = nβ (E[L_n(w)] - L_n(w*)) with its diagnostics in devinterp's dict keys.
"""

from __future__ import annotations

from typing import Optional

from . import _core

__all__ = [
    "estimate_learning_coeff",
    "calibrate_epsilon",
    "rhat",
    "ess",
    "dln_learning_coefficient",
]


def estimate_learning_coeff(
    model,
    w_star,
    x,
    y,
    *,
    sampler: str = "sgld",
    num_chains: int = 4,
    num_draws: int = 200,
    num_burnin_steps: int = 0,
    lr: float = 1e-4,
    nbeta: Optional[float] = None,
    localization: float = 100.0,
    batch_size: Optional[int] = None,
    diffusion: float = 0.01,
    seed: int = 0,
    device: str = "auto",
) -> dict:
    """Estimate the local learning coefficient λ̂ of ``model`` at ``w_star`` on (x, y).

    model: a :class:`DeepLinearNetwork` or :class:`Dense` (its loss is the training loss L_n).
    sampler: "sgld" (minibatch Langevin), "mala" (full-batch Metropolis-adjusted Langevin) or
    "sgnht" (stochastic-gradient Nosé-Hoover thermostat, devinterp's ``diffusion_factor``).
    Each chain takes ``num_burnin_steps + num_draws`` steps from w*, recording one loss per step;
    ``lr`` is the step size ε, ``localization`` γ, ``nbeta`` nβ (None: b / log b with b the batch
    size, devinterp's ``default_nbeta``), ``batch_size`` b (None: min(n, 100)). Chains run in
    parallel; the result depends only on ``seed``, not on the number of threads.

    Returns a dict with ``llc/mean``, ``llc/std``, ``llc-chain/{i}``, ``loss/trace`` and
    ``llc/trace`` (chains x draws), ``init_loss``, ``nbeta``, ``rhat`` and ``ess`` of the kept
    loss draws (None when undefined) and ``mala_accept/mean``. A chain whose loss stops being
    finite raises :class:`DivergedError`; an impossible estimate (λ̂ above the parameter
    count, MALA acceptance collapsing) raises :class:`ChainFailedError`.
    """
    return _core.estimate_learning_coeff(
        model,
        w_star,
        x,
        y,
        sampler=sampler,
        num_chains=num_chains,
        num_draws=num_draws,
        num_burnin_steps=num_burnin_steps,
        lr=lr,
        nbeta=nbeta,
        localization=localization,
        batch_size=batch_size,
        diffusion=diffusion,
        seed=seed,
        device=device,
    )


def calibrate_epsilon(
    model,
    w_star,
    x,
    y,
    *,
    nbeta: Optional[float] = None,
    localization: float = 100.0,
    batch_size: Optional[int] = None,
    target_acceptance: float = 0.9,
    pilot_steps: int = 200,
    chains: int = 2,
    lo: float = 1e-9,
    hi: float = 1e-2,
    iterations: int = 10,
    seed: int = 0,
    device: str = "auto",
) -> dict:
    """Pick SGLD's step size: the largest ε in [lo, hi] whose pilot chains reach the target
    mean MALA acceptance (the ends first, then bisection in log ε).

    Returns ``{"epsilon", "acceptance", "trials": [(ε, acceptance), ...]}``.
    """
    return _core.calibrate_epsilon(
        model,
        w_star,
        x,
        y,
        nbeta=nbeta,
        localization=localization,
        batch_size=batch_size,
        target_acceptance=target_acceptance,
        pilot_steps=pilot_steps,
        chains=chains,
        lo=lo,
        hi=hi,
        iterations=iterations,
        seed=seed,
        device=device,
    )


def rhat(trace) -> float:
    """Split R̂ of a chains x draws array (Gelman et al., BDA3, eq. 11.4 on split chains).

    Equals ArviZ's ``rhat(trace, method="split")``; works on a devinterp ``loss/trace`` too.
    """
    return _core.rhat(trace)


def ess(trace) -> float:
    """Effective sample size of a chains x draws array: split chains, Geyer's initial monotone
    sequence (Stan's estimator; ArviZ's ``ess(trace, method="mean")``)."""
    return _core.ess(trace)


def dln_learning_coefficient(sizes, rank: int):
    """Aoyagi's closed form: (λ, multiplicity) of a deep linear network with layer sizes
    ``sizes`` = [N, H_1, ..., M] at a true parameter whose end-to-end product has rank ``rank``.
    """
    return _core.dln_learning_coefficient(list(sizes), rank)
