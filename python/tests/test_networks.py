"""Networks: forward passes against NumPy, gradients against finite differences, tangent
kernels against J Jᵀ, training lowers the loss, and the linearised predictor."""

import numpy as np
import pytest

import doubledescent as dd


def numpy_forward(sizes, w, x):
    """The plain parameterisation z = a Wᵀ + b, ReLU hidden layers, biases everywhere, in
    PyTorch's flat order (per layer: W row-major fan-out × fan-in, then b)."""
    a, k = x, 0
    for l in range(len(sizes) - 1):
        nin, nout = sizes[l], sizes[l + 1]
        wl = w[k : k + nin * nout].reshape(nout, nin)
        k += nin * nout
        b = w[k : k + nout]
        k += nout
        a = a @ wl.T + b
        if l < len(sizes) - 2:
            a = np.maximum(a, 0.0)
    assert k == len(w)
    return a


def test_dense_forward_equals_numpy(rng):
    net = dd.Dense(4, [7, 5], 3, activation="relu", parameterisation="standard", bias="all")
    w = net.init(seed=3) + 0.1 * rng.standard_normal(net.num_params)  # non-zero biases
    x = rng.standard_normal((20, 4))
    np.testing.assert_allclose(net.forward(w, x), numpy_forward(net.sizes, w, x), rtol=1e-12, atol=1e-14)
    f32 = net.forward(w.astype(np.float32), x.astype(np.float32))
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, numpy_forward(net.sizes, w, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "net",
    [
        dd.Dense(3, [6], 2, activation="swish", beta=2.0, parameterisation="ntk", bias="none"),
        dd.Dense(3, [5, 4], 2, activation="softplus", parameterisation="tutorial", bias="hidden"),
        dd.DeepLinearNetwork(3, [4, 3], 2),
    ],
    ids=repr,
)
def test_gradients_equal_finite_differences(rng, net):
    w = net.init(seed=1)
    x = rng.standard_normal((15, 3))
    y = rng.standard_normal((15, 2))
    loss, g = net.loss_grad(w, x, y)
    assert loss == pytest.approx(net.loss(w, x, y), rel=1e-14)
    h = 1e-6
    fd = np.array([(net.loss(w + h * e, x, y) - net.loss(w - h * e, x, y)) / (2 * h) for e in np.eye(len(w))])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


def test_tangent_kernel_equals_the_jacobian_product(rng):
    net = dd.Dense(3, [8, 6], 2, activation="swish", beta=1.0, parameterisation="ntk", bias="hidden")
    w = net.init(seed=2)
    x = rng.standard_normal((12, 3))
    z = rng.standard_normal((7, 3))
    for output in (0, 1):
        jx = net.jacobian(w, x, output)
        # The Jacobian against central differences of the forward pass.
        h = 1e-6
        fd = np.stack(
            [(net.forward(w + h * e, x)[:, output] - net.forward(w - h * e, x)[:, output]) / (2 * h) for e in np.eye(len(w))],
            axis=1,
        )
        np.testing.assert_allclose(jx, fd, rtol=1e-5, atol=1e-8)
        jz = net.jacobian(w, z, output)
        np.testing.assert_allclose(net.tangent_kernel(w, x, None, output), jx @ jx.T, rtol=1e-10)
        np.testing.assert_allclose(net.tangent_kernel(w, x, z, output), jx @ jz.T, rtol=1e-10)


@pytest.mark.parametrize("optimizer,lr,steps", [("gd", 0.05, 200), ("adam", 0.01, 30)])
def test_training_lowers_the_loss(rng, optimizer, lr, steps):
    net = dd.Dense(2, [16], 1, activation="relu", bias="all")
    x = rng.standard_normal((64, 2))
    y = np.sin(x[:, :1] * 2)
    w0 = net.init(seed=0)
    w, hist = net.train(w0, x, y, optimizer=optimizer, lr=lr, steps=steps, batch_size=16, seed=1)
    assert hist["final_loss"] == pytest.approx(net.loss(w, x, y), rel=1e-12)
    assert hist["final_loss"] < 0.5 * net.loss(w0, x, y)
    with pytest.raises(dd.DivergedError) as e:
        net.train(w0, x * 1e3, y, optimizer="gd", lr=1e3, steps=50)
    assert e.value.process == "gradient descent" and e.value.step >= 1


def test_linearized_predictor_interpolates_and_matches_a_kernel_solve(rng):
    net = dd.Dense(3, [32], 1, activation="relu", parameterisation="ntk", bias="none")
    w0 = net.init(seed=4)
    x = rng.standard_normal((10, 3))
    y = rng.standard_normal(10)
    z = rng.standard_normal((6, 3))
    # At the training points the predictor returns the targets (Θ(X, X) is invertible here).
    np.testing.assert_allclose(dd.linearized_predictor(net, w0, x, y, x), y, atol=1e-8)
    j = net.jacobian(w0, x, 0)
    jz = net.jacobian(w0, z, 0)
    f0x, f0z = net.forward(w0, x)[:, 0], net.forward(w0, z)[:, 0]
    ref = jz @ j.T @ np.linalg.solve(j @ j.T, y - f0x) + f0z
    np.testing.assert_allclose(dd.linearized_predictor(net, w0, x, y, z), ref, rtol=1e-7, atol=1e-9)
