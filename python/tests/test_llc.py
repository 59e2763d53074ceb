"""The LLC estimator against the crate's own Rust result (same seed, same numbers), R̂ and ESS
against ArviZ, and Aoyagi's closed form."""

import arviz as az
import numpy as np
import pytest

import doubledescent as dd

# λ̂ printed by tests/samplers.rs::the_python_reference_problem_gives_the_recorded_estimate
# (the Rust crate, called directly) for the problem below.
RUST_REFERENCE_LLC = 1.4467261332965105


def reference_problem():
    net = dd.DeepLinearNetwork(3, [4], 2)
    w_star = np.array([((i * 5 + 2) % 9) / 4.0 - 1.0 for i in range(net.num_params)])
    i, j = np.meshgrid(np.arange(500), np.arange(3), indexing="ij")
    x = (((i * 7 + j * 3) % 11) - 5.0) / 3.0
    return net, w_star, x, net.forward(w_star, x)


def test_the_estimate_equals_the_rust_crate_bit_for_bit():
    net, w_star, x, y = reference_problem()
    out = dd.estimate_learning_coeff(
        net, w_star, x, y, sampler="sgld", num_chains=4, num_draws=300, num_burnin_steps=100,
        lr=1e-4, localization=100.0, batch_size=100, seed=3, device="cpu",
    )
    assert out["llc/mean"] == RUST_REFERENCE_LLC
    chains = np.array([out[f"llc-chain/{c}"] for c in range(4)])
    assert out["llc/mean"] == pytest.approx(chains.mean(), rel=1e-14)
    assert out["llc/std"] == pytest.approx(chains.std(ddof=1), rel=1e-12)
    trace = out["loss/trace"]
    assert trace.shape == (4, 300)
    # λ̂ per chain is nβ·(mean kept loss − L(w*)), with nβ = b/log b.
    assert out["nbeta"] == pytest.approx(100 / np.log(100), rel=1e-15)
    np.testing.assert_allclose(out["nbeta"] * (trace.mean(1) - out["init_loss"]), chains, rtol=1e-10)
    np.testing.assert_allclose(out["llc/trace"], out["nbeta"] * (trace - out["init_loss"]), rtol=1e-12)
    # The summary's diagnostics are the functions below on the same trace.
    assert out["rhat"] == pytest.approx(dd.rhat(trace), rel=1e-14)
    assert out["ess"] == pytest.approx(dd.ess(trace), rel=1e-14)
    # The same seed in float32 runs the f32 code path: close, not equal.
    out32 = dd.estimate_learning_coeff(
        net, w_star.astype(np.float32), x.astype(np.float32), y.astype(np.float32),
        num_chains=4, num_draws=300, num_burnin_steps=100, lr=1e-4, batch_size=100, seed=3, device="cpu",
    )
    assert abs(out32["llc/mean"] - RUST_REFERENCE_LLC) < 0.3


@pytest.mark.parametrize("sampler,lr", [("sgld", 1e-4), ("mala", 1e-4), ("sgnht", 1e-4)])
def test_every_sampler_recovers_a_regular_models_coefficient(sampler, lr):
    # Linear regression with d = 6 parameters: regular, λ = d/2 = 3.
    net = dd.DeepLinearNetwork(3, [], 2)
    rng = np.random.default_rng(5)
    w_star = rng.standard_normal(6)
    x = rng.standard_normal((2000, 3))
    y = net.forward(w_star, x)
    out = dd.estimate_learning_coeff(
        net, w_star, x, y, sampler=sampler, num_chains=4, num_draws=1000, num_burnin_steps=1000,
        lr=lr, localization=1.0, nbeta=2000 / np.log(2000), batch_size=200, seed=1, device="cpu",
    )
    assert abs(out["llc/mean"] - 3.0) < 0.6, out["llc/mean"]


def test_a_dense_network_can_be_sampled():
    net = dd.Dense(2, [8], 1, activation="relu", bias="all")
    w = net.init(seed=2)
    x = np.random.default_rng(2).standard_normal((400, 2))
    y = net.forward(w, x)
    out = dd.estimate_learning_coeff(net, w, x, y, num_chains=2, num_draws=200, lr=1e-5, seed=0, device="cpu")
    assert 0 < out["llc/mean"] < net.num_params / 2 + 1


def test_divergence_is_its_own_exception_with_the_crates_fields():
    net, w_star, x, y = reference_problem()
    with pytest.raises((dd.DivergedError, dd.ChainFailedError)) as e:
        dd.estimate_learning_coeff(net, w_star, x * 1e3, y * 1e3, lr=10.0, num_draws=50, device="cpu")
    err = e.value
    assert err.process.endswith("chain") and isinstance(err.index, int) and isinstance(err.step, int)
    assert isinstance(err, ArithmeticError if isinstance(err, dd.DivergedError) else RuntimeError)


def test_calibration_picks_a_step_that_meets_the_target():
    net, w_star, x, y = reference_problem()
    cal = dd.calibrate_epsilon(net, w_star, x, y, batch_size=100, pilot_steps=100, iterations=4, device="cpu")
    assert cal["acceptance"] >= 0.9
    assert 1e-9 <= cal["epsilon"] <= 1e-2
    assert (cal["epsilon"], cal["acceptance"]) in [tuple(t) for t in cal["trials"]]


def ar1_chains(rng, chains, draws, phi, shift=0.0):
    out = np.empty((chains, draws))
    for c in range(chains):
        e = rng.standard_normal(draws)
        v = 0.0
        for t in range(draws):
            v = phi * v + e[t]
            out[c, t] = v + shift * c
    return out


@pytest.mark.parametrize("phi,shift", [(0.0, 0.0), (0.9, 0.0), (0.5, 0.3), (0.95, 1.0)])
@pytest.mark.parametrize("draws", [200, 201])
def test_rhat_and_ess_equal_arviz(rng, phi, shift, draws):
    trace = ar1_chains(rng, 4, draws, phi, shift)
    # ArviZ's split R̂ without rank normalisation, and the "mean" ESS, on the same split chains
    # (an odd draw count drops the middle draw in both).
    np.testing.assert_allclose(dd.rhat(trace), az.rhat(trace, method="split"), rtol=1e-10)
    np.testing.assert_allclose(dd.ess(trace), az.ess(trace, method="mean"), rtol=1e-8)
    assert dd.rhat(trace.astype(np.float32)) == pytest.approx(az.rhat(trace, method="split"), rel=1e-5)


def test_diagnostics_reject_what_they_cannot_measure():
    with pytest.raises(ValueError, match="2-d"):
        dd.rhat(np.zeros(10))
    with pytest.raises(ValueError):
        dd.ess(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="constant"):
        dd.rhat(np.ones((4, 100)))


@pytest.mark.parametrize(
    "sizes,rank,lam",
    [
        ([5, 5], 3, 25 / 2),  # one layer is linear regression: regular, λ = d/2 at any rank
        ([3, 4, 2], 2, None),
    ],
)
def test_aoyagi(sizes, rank, lam):
    value, mult = dd.dln_learning_coefficient(sizes, rank)
    if lam is not None:
        assert value == pytest.approx(lam)
        assert mult == 1
    net = dd.DeepLinearNetwork(sizes[0], sizes[1:-1], sizes[-1])
    assert net.learning_coefficient(rank) == (value, mult)
    # λ never exceeds half the parameter count.
    assert 0 < value <= net.num_params / 2
