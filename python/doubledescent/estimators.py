"""scikit-learn estimators over the crate's kernel solvers.

* :class:`KernelRidgeRegressor`: direct solve of (K + alpha I) A = Y (Cholesky, LU or pinv);
* :class:`EigenProRegressor`: EigenPro iteration (Ma & Belkin 2017) for kernel interpolation;
* :class:`RandomFeaturesRegressor`: minimum-norm least squares on random ReLU or Fourier
  features.

They accept what scikit-learn estimators accept (lists, integer arrays, pandas frames; inputs
are converted to float64, float32 stays float32 where the solver has it), pass
``sklearn.utils.estimator_checks.check_estimator``, and pickle (fitted state is NumPy arrays).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core

__all__ = ["KernelRidgeRegressor", "EigenProRegressor", "RandomFeaturesRegressor"]

_KERNELS = ("laplacian", "gaussian", "dispersal", "relu_nngp", "relu_ntk")


def _seed(random_state) -> int:
    if isinstance(random_state, numbers.Integral) and random_state >= 0:
        return int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class _KernelMixin:
    """Builds the crate kernel from the estimator's parameters."""

    def _kernel(self):
        if self.kernel not in _KERNELS:
            raise ValueError(
                f"invalid argument `kernel` = {self.kernel!r}: expected one of {', '.join(_KERNELS)}"
            )
        if self.kernel in ("relu_nngp", "relu_ntk"):
            return _core.Kernel(self.kernel, depth=self.depth, bias=self.bias)
        if self.kernel == "dispersal":
            return _core.Kernel("dispersal", bandwidth=self.bandwidth, gamma=self.gamma)
        return _core.Kernel(self.kernel, bandwidth=self.bandwidth)

    def _fit_data(self, X, y):
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        return X, np.asarray(y, dtype=X.dtype)

    def _predict_kernel(self, X):
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=self.X_fit_.dtype)
        return self._kernel().apply(X, self.X_fit_, self.dual_coef_, self.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class KernelRidgeRegressor(_KernelMixin, RegressorMixin, BaseEstimator):
    """Kernel ridge regression by a direct solve: f(x) = K(x, X) A, (K(X, X) + alpha I) A = Y.

    Parameters
    ----------
    kernel : "laplacian", "gaussian", "dispersal", "relu_nngp" or "relu_ntk"
    bandwidth : kernel bandwidth σ (laplacian, gaussian, dispersal)
    gamma : exponent of the dispersal kernel, in (0, 2]
    depth, bias : hidden layers and first-layer bias of the ReLU NNGP/NTK
    alpha : ridge λ >= 0 (0 interpolates; scikit-learn's ``KernelRidge`` default 1.0)
    solver : "cholesky", "lu" (``numpy.linalg.solve``) or "pinv" (minimum norm)
    device : "cpu", "cuda" or "auto" (where the kernel matrices are built)

    Attributes: ``dual_coef_`` (n x c, or n), ``X_fit_``, ``n_features_in_``.
    A singular system raises :class:`doubledescent.SingularError` (a ``ValueError``).
    """

    def __init__(
        self,
        kernel="laplacian",
        bandwidth=1.0,
        gamma=1.0,
        depth=1,
        bias=False,
        alpha=1.0,
        solver="cholesky",
        device="auto",
    ):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.gamma = gamma
        self.depth = depth
        self.bias = bias
        self.alpha = alpha
        self.solver = solver
        self.device = device

    def fit(self, X, y):
        """Solve for the dual coefficients on training inputs X (n x d) and targets y."""
        X, y = self._fit_data(X, y)
        self.dual_coef_ = _core.kernel_ridge_fit(
            self._kernel(), X, y, ridge=float(self.alpha), solver=self.solver, device=self.device
        )
        self.X_fit_ = X
        return self

    def predict(self, X):
        """K(X, X_fit) A, matrix-free."""
        return self._predict_kernel(X)


class EigenProRegressor(_KernelMixin, RegressorMixin, BaseEstimator):
    """EigenPro (Ma & Belkin, "Diving into the shallows", 2017): preconditioned SGD for kernel
    interpolation, with the original's automatic subsample size, top-q, batch size and step.

    Parameters
    ----------
    kernel, bandwidth, gamma, depth, bias : the kernel, as in :class:`KernelRidgeRegressor`
    epochs : passes over the data
    n_subsamples, top_q, batch_size, eta : None for the original's rules
    random_state : seed of the subsample and the batch order
    device : "cpu", "cuda" or "auto"

    Attributes: ``dual_coef_``, ``X_fit_``, ``history_`` (one dict per epoch), ``setup_`` (the
    values the original prints: n_subsamples, top_q, bs, eta, top_eigval, ...), ``n_features_in_``.
    """

    def __init__(
        self,
        kernel="laplacian",
        bandwidth=1.0,
        gamma=1.0,
        depth=1,
        bias=False,
        epochs=10,
        n_subsamples=None,
        top_q=None,
        batch_size=None,
        eta=None,
        random_state=1,
        device="auto",
    ):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.gamma = gamma
        self.depth = depth
        self.bias = bias
        self.epochs = epochs
        self.n_subsamples = n_subsamples
        self.top_q = top_q
        self.batch_size = batch_size
        self.eta = eta
        self.random_state = random_state
        self.device = device

    def fit(self, X, y):
        """Run ``epochs`` EigenPro epochs from zero coefficients."""
        X, y = self._fit_data(X, y)
        if X.shape[0] < 2:
            # scikit-learn's wording for too few samples.
            raise ValueError(f"EigenPro needs at least 2 samples, got n_samples = {X.shape[0]}")
        coef, history, setup = _core.eigenpro_fit(
            self._kernel(),
            X,
            y,
            epochs=self.epochs,
            n_subsamples=self.n_subsamples,
            top_q=self.top_q,
            batch_size=self.batch_size,
            eta=self.eta,
            seed=_seed(self.random_state),
            device=self.device,
        )
        self.dual_coef_, self.history_, self.setup_, self.X_fit_ = coef, history, setup, X
        return self

    def predict(self, X):
        """K(X, X_fit) A, matrix-free."""
        return self._predict_kernel(X)


class RandomFeaturesRegressor(RegressorMixin, BaseEstimator):
    """Minimum-norm least squares on random features (the tutorial's random-features model).

    Parameters
    ----------
    n_features : number of random features k
    features : "relu" (√(2/k)·max(0, <v, x> + b), v, b ~ N(0, 1)) or "fourier" (e^{i<v, x>}/√k,
        v ~ N(0, I/bandwidth²): the Gaussian kernel as k grows; predictions are the real part)
    bandwidth : Fourier bandwidth σ
    rcond : relative SVD cutoff of the least squares (NumPy's pinv default 1e-15)
    random_state : seed of the features

    Attributes: ``features_`` (dict of the sampled map and fitted weights), ``rank_``,
    ``n_features_in_``. Computes in float64; a 2-d y is fitted column by column.
    """

    def __init__(self, n_features=100, features="relu", bandwidth=1.0, rcond=1e-15, random_state=0):
        self.n_features = n_features
        self.features = features
        self.bandwidth = bandwidth
        self.rcond = rcond
        self.random_state = random_state

    def fit(self, X, y):
        """Sample the features (seeded) and fit minimum-norm weights."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        cols = y.reshape(len(y), -1)
        seed = _seed(self.random_state)
        self.features_ = [
            _core.random_features_fit(
                self.features,
                X,
                np.ascontiguousarray(cols[:, j]),
                n_features=int(self.n_features),
                bandwidth=float(self.bandwidth),
                seed=seed,
                rcond=float(self.rcond),
            )
            for j in range(cols.shape[1])
        ]
        self.rank_ = self.features_[0]["rank"]
        self._y_ndim = y.ndim
        return self

    def predict(self, X):
        """Φ(X) w (the real part for Fourier features)."""
        check_is_fitted(self, "features_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        cols = [_core.random_features_predict(self.features, f, X) for f in self.features_]
        return cols[0] if self._y_ndim == 1 else np.stack(cols, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
