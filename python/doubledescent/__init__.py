"""doubledescent: fast, tested numerical kernels for the science of deep learning, from Python.

A thin layer over the Rust crate ``doubledescent`` (PyO3 + rust-numpy): NumPy arrays in and out
(float32 stays float32, float64 stays float64), the GIL released during every computation, and
the crate's one-line error messages as Python exceptions.

* kernels: :func:`laplacian`, :func:`gaussian`, :func:`dispersal`, :func:`relu_nngp`,
  :func:`relu_ntk`, :func:`kernel_apply` (matrix-free K·W), :class:`Kernel`;
* estimators (scikit-learn): :class:`KernelRidgeRegressor`, :class:`EigenProRegressor`,
  :class:`RandomFeaturesRegressor` (scikit-learn is imported on first use);
* spectral: :func:`batched_svd`, :func:`min_norm_lstsq`, :func:`pinv`, :func:`nystrom_eigen`;
* networks: :class:`DeepLinearNetwork`, :class:`Dense`, :func:`linearized_predictor`,
  :func:`train_margin` (the phase diagram's α-trick training);
* LLC: :func:`estimate_learning_coeff`, :func:`calibrate_epsilon`, :func:`rhat`, :func:`ess`,
  :func:`dln_learning_coefficient`;
* theory: :mod:`doubledescent.theory` (teacher-student curves, least-squares double descent);
* memory: :func:`set_memory_limit`, :func:`memory_budget` (every size from user input is checked
  against the budget before anything is allocated; ``DOUBLEDESCENT_MEMORY_LIMIT`` works too).
"""

from ._core import (
    ChainFailedError,
    DeepLinearNetwork,
    Dense,
    DeviceError,
    DeviceUnavailableError,
    DivergedError,
    Kernel,
    NumericalError,
    SingularError,
    __version__,
    describe_device,
    memory_budget,
    set_memory_limit,
)
from .kernels import dispersal, gaussian, kernel_apply, laplacian, relu_nngp, relu_ntk
from .linalg import batched_svd, min_norm_lstsq, nystrom_eigen, pinv
from .llc import calibrate_epsilon, dln_learning_coefficient, ess, estimate_learning_coeff, rhat
from .networks import linearized_predictor, train_margin

__all__ = [
    "ChainFailedError",
    "DeepLinearNetwork",
    "Dense",
    "DeviceError",
    "DeviceUnavailableError",
    "DivergedError",
    "Kernel",
    "NumericalError",
    "SingularError",
    "__version__",
    "batched_svd",
    "calibrate_epsilon",
    "describe_device",
    "dispersal",
    "dln_learning_coefficient",
    "ess",
    "estimate_learning_coeff",
    "gaussian",
    "kernel_apply",
    "laplacian",
    "linearized_predictor",
    "memory_budget",
    "min_norm_lstsq",
    "nystrom_eigen",
    "pinv",
    "relu_nngp",
    "relu_ntk",
    "rhat",
    "set_memory_limit",
    "train_margin",
]


def __getattr__(name):
    # The scikit-learn estimators import scikit-learn only when asked for.
    if name in ("KernelRidgeRegressor", "EigenProRegressor", "RandomFeaturesRegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'doubledescent' has no attribute {name!r}")
