"""The scikit-learn estimators: scikit-learn's own estimator checks, and the fits against
scikit-learn's KernelRidge and NumPy's least squares on the same features."""

import pickle

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils.estimator_checks import check_estimator

import doubledescent as dd
from doubledescent.estimators import EigenProRegressor, KernelRidgeRegressor, RandomFeaturesRegressor

# Checks that cannot hold for these estimators, and why. None fail today; the dict is the place
# to name one if a future scikit-learn adds a check that does not apply. scikit-learn skips one
# check by itself (a SkipTestWarning): check_array_api_input runs only with SCIPY_ARRAY_API=1;
# these estimators take NumPy-convertible input and do not claim array-API support (CuPy or
# torch arrays are converted to NumPy by validate_data).
EXPECTED_FAILED = {}


@pytest.mark.parametrize(
    "estimator",
    [
        KernelRidgeRegressor(device="cpu"),
        KernelRidgeRegressor(kernel="relu_ntk", alpha=0.1, solver="lu", device="cpu"),
        EigenProRegressor(epochs=5, device="cpu"),
        RandomFeaturesRegressor(n_features=400),
        RandomFeaturesRegressor(n_features=300, features="fourier"),
    ],
    ids=lambda e: repr(e),
)
def test_scikit_learn_estimator_checks(estimator):
    check_estimator(estimator, expected_failed_checks=EXPECTED_FAILED)


def laplace(x, z, s):
    return np.exp(-np.sqrt(((x[:, None] - z[None]) ** 2).sum(-1)) / s)


@pytest.mark.parametrize("solver", ["cholesky", "lu", "pinv"])
def test_kernel_ridge_equals_scikit_learn(rng, solver):
    x = rng.standard_normal((80, 4))
    y = rng.standard_normal((80, 2))
    z = rng.standard_normal((25, 4))
    ours = KernelRidgeRegressor(kernel="laplacian", bandwidth=2.0, alpha=0.3, solver=solver, device="cpu")
    ours.fit(x, y)
    ref = KernelRidge(alpha=0.3, kernel="precomputed").fit(laplace(x, x, 2.0), y)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.predict(z), ref.predict(laplace(z, x, 2.0)), rtol=1e-9, atol=1e-11)
    # The Gaussian kernel is scikit-learn's rbf with gamma = 1/(2σ²).
    g = KernelRidgeRegressor(kernel="gaussian", bandwidth=1.5, alpha=0.1, device="cpu").fit(x, y[:, 0])
    r = KernelRidge(alpha=0.1, kernel="rbf", gamma=1 / (2 * 1.5**2)).fit(x, y[:, 0])
    np.testing.assert_allclose(g.predict(z), r.predict(z), rtol=1e-9, atol=1e-11)
    assert g.predict(z).shape == (25,)


def test_kernel_ridge_in_float32_stays_float32(rng):
    x = rng.standard_normal((60, 3)).astype(np.float32)
    y = rng.standard_normal(60).astype(np.float32)
    m = KernelRidgeRegressor(alpha=0.5, device="cpu").fit(x, y)
    assert m.dual_coef_.dtype == np.float32 and m.predict(x).dtype == np.float32
    ref = KernelRidge(alpha=0.5, kernel="precomputed").fit(laplace(x.astype(float), x.astype(float), 1.0), y.astype(float))
    np.testing.assert_allclose(m.dual_coef_, ref.dual_coef_, rtol=2e-3, atol=2e-4)


def test_interpolation_of_repeated_points_is_a_named_singular_error(rng):
    x = np.repeat(rng.standard_normal((10, 3)), 2, axis=0)
    y = rng.standard_normal(20)
    with pytest.raises(dd.SingularError, match="singular|positive definite"):
        KernelRidgeRegressor(alpha=0.0, device="cpu").fit(x, y)


def test_eigenpro_converges_to_the_interpolant(rng):
    x = rng.standard_normal((400, 5))
    y = np.sin(x[:, :2])
    ep = EigenProRegressor(bandwidth=3.0, epochs=30, device="cpu").fit(x, y)
    direct = KernelRidgeRegressor(bandwidth=3.0, alpha=0.0, device="cpu").fit(x, y)
    z = rng.standard_normal((50, 5))
    assert ep.history_[-1]["train_mse"] < 1e-3 * np.mean(y**2)
    assert [h["epoch"] for h in ep.history_] == [30]
    # The original's automatic settings: the whole set as subsample below 2000 points, a
    # preconditioned top eigenvalue below the top one.
    assert ep.setup_["n_subsamples"] == 400
    assert 0 < ep.setup_["new_top_eigval"] < ep.setup_["top_eigval"]
    err = np.linalg.norm(ep.predict(z) - direct.predict(z)) / np.linalg.norm(direct.predict(z))
    assert err < 0.05, err
    again = pickle.loads(pickle.dumps(ep))
    np.testing.assert_array_equal(again.predict(z), ep.predict(z))


@pytest.mark.parametrize("features", ["relu", "fourier"])
def test_random_features_equal_numpy_least_squares(rng, features):
    x = rng.standard_normal((60, 3))
    y = rng.standard_normal(60)
    z = rng.standard_normal((20, 3))
    m = RandomFeaturesRegressor(n_features=30, features=features, bandwidth=1.3, random_state=7).fit(x, y)
    f = m.features_[0]
    if features == "relu":
        v, b = f["v"].reshape(30, 3), f["b"]
        phi = lambda p: np.sqrt(2 / 30) * np.maximum(p @ v.T + b, 0.0)  # noqa: E731
        w = np.linalg.pinv(phi(x), rcond=1e-15) @ y
        np.testing.assert_allclose(f["coef"], w, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(m.predict(z), phi(z) @ w, rtol=1e-8, atol=1e-10)
    else:
        v = f["v"].reshape(30, 3)
        phi = lambda p: np.exp(1j * p @ v.T) / np.sqrt(30)  # noqa: E731
        w = np.linalg.pinv(phi(x), rcond=1e-15) @ y
        pred = (phi(z) @ w).real
        scale = np.abs(pred).max()
        # The crate's features may be normalised differently: compare the predictions.
        np.testing.assert_allclose(m.predict(z), pred, atol=1e-7 * scale)
