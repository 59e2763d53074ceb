"""The phase diagram's training (adaptive gradient flow with the α trick): its record checked
against the network evaluated from Python, and the lazy regime moving the kernel less."""

import numpy as np
import pytest

import doubledescent as dd


def data(rng, n, d):
    x = rng.standard_normal((n, d))
    return x, np.where(x[:, 0] + 0.5 * x[:, 1] > 0, 1.0, -1.0)


def soft_hinge(margins, beta=20.0):
    return np.logaddexp(0.0, beta * (1.0 - margins)) / beta


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_record_matches_the_network_it_trained(rng, dtype):
    x, y = data(rng, 40, 5)
    xt, yt = data(rng, 200, 5)
    alpha = 2.0
    rec = dd.train_margin(
        x.astype(dtype), y.astype(dtype), xt.astype(dtype), yt.astype(dtype), h=32, alpha=alpha, max_steps=50_000
    )
    assert rec["stop"] == "Fitted", rec["stop"]
    net = dd.Dense(5, [32, 32], 1, activation="swish", beta=10.0, parameterisation="ntk", bias="none")
    w0 = net.init(seed=rec["init_seed"])
    w = np.asarray(rec["weights"])
    f_tilde = (net.forward(w, x) - net.forward(w0, x))[:, 0]
    margins = alpha * y * f_tilde
    # Fitted: every training margin α y f̃ reached the stop margin 1.
    assert margins.min() >= 1.0 - 1e-6
    last = rec["dynamics"][-1]
    tol = 1e-9 if dtype == np.float64 else 1e-4
    assert last["train"]["loss"] == pytest.approx(np.mean(soft_hinge(margins)) / alpha, rel=tol, abs=tol)
    ft = (net.forward(w, xt) - net.forward(w0, xt))[:, 0]
    assert last["test"]["err"] == pytest.approx(np.mean(yt * ft <= 0), abs=1e-12 if dtype == np.float64 else 0.02)


def test_the_lazy_regime_moves_the_tangent_kernel_less(rng):
    x, y = data(rng, 30, 4)
    xt, yt = data(rng, 50, 4)
    moved = {}
    for alpha in (0.1, 100.0):
        rec = dd.train_margin(x, y, xt, yt, h=64, alpha=alpha, max_steps=50_000, x_kernel=x[:20])
        dk = rec["delta_kernel"]
        moved[alpha] = dk["diff"] / dk["init_norm"]
    assert moved[100.0] < 0.1 * moved[0.1], moved


def test_bad_training_settings_are_named(rng):
    x, y = data(rng, 20, 3)
    with pytest.raises(ValueError, match="h|width"):
        dd.train_margin(x, y, x, y, h=0, alpha=1.0)
    with pytest.raises(ValueError, match="alpha"):
        dd.train_margin(x, y, x, y, h=8, alpha=-1.0)
    with pytest.raises(ValueError, match="y_train|label|rows"):
        dd.train_margin(x, y[:-1].copy(), x, y, h=8, alpha=1.0)
