"""Type stubs of the compiled extension ``doubledescent._core`` (PyO3)."""

from typing import Any, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]

__version__: str

class SingularError(ValueError):
    """A linear system or formula is singular (repeated points, the interpolation threshold)."""

class NumericalError(ArithmeticError):
    """A numerical routine did not converge or produced a non-finite result."""

class DivergedError(ArithmeticError):
    """A sampler chain or training run produced a non-finite loss."""

    process: str
    index: int
    step: int
    loss: float

class ChainFailedError(RuntimeError):
    """A sampler chain stopped exploring or gave an impossible estimate."""

    process: str
    index: int
    step: int
    epsilon: float
    reason: str

class DeviceUnavailableError(RuntimeError):
    """The requested device (CUDA) is not available on this machine."""

class DeviceError(RuntimeError):
    """The CUDA driver, NVRTC or a kernel launch reported an error."""

class MatrixBuffer:
    """Owner of a crate matrix that a NumPy array views (the array's ``base``)."""

class Kernel:
    """A kernel with validated constants: "laplacian", "gaussian", "dispersal", "relu_nngp", "relu_ntk"."""

    def __init__(
        self,
        kind: str,
        *,
        bandwidth: Optional[float] = None,
        gamma: Optional[float] = None,
        depth: int = 1,
        bias: bool = False,
    ) -> None: ...
    @property
    def kind(self) -> str: ...
    def matrix(self, x: Array, z: Optional[Array] = None, device: str = "auto") -> Array:
        """K(X, Z) (n x m), or K(X, X) when z is None."""
    def apply(self, x: Array, z: Array, w: Array, device: str = "auto") -> Array:
        """K(X, Z)·W without forming K."""
    def time_matrix(self, x: Array, z: Array, repeats: int = 5, device: str = "auto") -> list[float]:
        """Seconds of each call of the crate's Kernel::matrix, timed inside Rust."""

class DeepLinearNetwork:
    """A deep linear network y = x W_1 ... W_L."""

    def __init__(self, input_dim: int, hidden: Sequence[int], output_dim: int) -> None: ...
    @property
    def num_params(self) -> int: ...
    @property
    def sizes(self) -> list[int]: ...
    def init(self, seed: int = 0, std: Optional[float] = None, dtype: str = "float64") -> Array: ...
    def true_param(self, seed: int = 0, method: str = "rand_rank", prop_rank_reduce: float = 0.5) -> Array: ...
    def true_rank(self, w: Array) -> int: ...
    def learning_coefficient(self, rank: int) -> Tuple[float, int]: ...
    def forward(self, w: Array, x: Array) -> Array: ...
    def loss(self, w: Array, x: Array, y: Array) -> float: ...
    def loss_grad(self, w: Array, x: Array, y: Array) -> Tuple[float, Array]: ...
    def train(
        self,
        w0: Array,
        x: Array,
        y: Array,
        optimizer: str = "gd",
        lr: float = 1e-2,
        steps: int = 100,
        batch_size: Optional[int] = None,
        weight_decay: float = 0.0,
        log_every: int = 0,
        seed: int = 0,
    ) -> Tuple[Array, dict]: ...

class Dense:
    """A dense network; parameters flat in PyTorch's order (per layer W row-major fan-out x fan-in, then b)."""

    def __init__(
        self,
        input_dim: int,
        hidden: Sequence[int],
        output_dim: int,
        activation: str = "relu",
        beta: float = 1.0,
        parameterisation: str = "standard",
        bias: str = "all",
        loss: str = "mse",
    ) -> None: ...
    @property
    def num_params(self) -> int: ...
    @property
    def sizes(self) -> list[int]: ...
    def init(self, seed: int = 0, dtype: str = "float64") -> Array: ...
    def forward(self, w: Array, x: Array) -> Array: ...
    def loss(self, w: Array, x: Array, y: Array) -> float: ...
    def loss_grad(self, w: Array, x: Array, y: Array) -> Tuple[float, Array]: ...
    def jacobian(self, w: Array, x: Array, output: int = 0) -> Array: ...
    def tangent_kernel(self, w: Array, x: Array, z: Optional[Array] = None, output: int = 0) -> Array: ...
    def train(
        self,
        w0: Array,
        x: Array,
        y: Array,
        optimizer: str = "gd",
        lr: float = 1e-2,
        steps: int = 100,
        batch_size: Optional[int] = None,
        weight_decay: float = 0.0,
        log_every: int = 0,
        seed: int = 0,
    ) -> Tuple[Array, dict]: ...

def describe_device(device: str = "auto") -> Tuple[str, Optional[str]]: ...
def set_memory_limit(limit: Optional[Any]) -> None: ...
def memory_budget() -> Tuple[int, str]: ...
def batched_svd(a: Array, device: str = "auto") -> Tuple[Array, Array, Array]: ...
def min_norm_lstsq(a: Array, b: Array, rcond: Optional[float] = None) -> Tuple[Array, int, Array]: ...
def pinv(a: Array, rcond: float = 1e-15) -> Array: ...
def nystrom_eigen(kernel: Kernel, samples: Array, q: int, method: str = "auto", device: str = "auto") -> Tuple[Array, Array]: ...
def kernel_ridge_fit(
    kernel: Kernel, x: Array, y: Array, ridge: float = 0.0, solver: str = "cholesky",
    rcond: Optional[float] = None, device: str = "auto",
) -> Array: ...
def eigenpro_fit(
    kernel: Kernel, x: Array, y: Array, epochs: int = 10, n_subsamples: Optional[int] = None,
    top_q: Optional[int] = None, batch_size: Optional[int] = None, eta: Optional[float] = None,
    seed: int = 1, device: str = "auto",
) -> Tuple[Array, list[dict], dict]: ...
def random_features_fit(
    kind: str, x: Array, y: Array, n_features: int, bandwidth: float = 1.0, seed: int = 0, rcond: float = 1e-15,
) -> dict: ...
def random_features_predict(kind: str, fitted: dict, x: Array) -> Array: ...
def estimate_learning_coeff(model: Any, w_star: Array, x: Array, y: Array, **kwargs: Any) -> dict: ...
def calibrate_epsilon(model: Any, w_star: Array, x: Array, y: Array, **kwargs: Any) -> dict: ...
def rhat(trace: Array) -> float: ...
def ess(trace: Array) -> float: ...
def dln_learning_coefficient(sizes: Sequence[int], rank: int) -> Tuple[float, int]: ...
def teacher_student_fast_slow(n: int, d: int, p: int, kappa: float, **kwargs: Any) -> dict: ...
def teacher_student_seed_average(n: int, d: int, p: int, kappa: float, seeds: Sequence[int], **kwargs: Any) -> dict: ...
def least_squares_sweep(x: Array, y: Array, sizes: Sequence[int], **kwargs: Any) -> dict: ...
def diabetes() -> Tuple[Array, Array]: ...
def linearized_predictor(
    net: Dense, w0: Array, x_train: Array, y_train: Array, x_test: Array, output: int = 0, offset: bool = True,
) -> Array: ...
def train_margin(x_train: Array, y_train: Array, x_test: Array, y_test: Array, **kwargs: Any) -> dict: ...
