"""The package as a user meets it: the README's example runs as written, every public function
and method has a docstring that help() shows, and the GIL is released during computations."""

import pathlib
import re
import threading
import time

import numpy as np

import doubledescent as dd
from doubledescent import estimators, theory

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_runs_as_written(capsys):
    text = README.read_text()
    section = text[text.index("## From Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    r2 = float(re.search(r"R²: ([0-9.]+)", out).group(1))
    llc, aoyagi = (float(v) for v in re.search(r"LLC ([0-9.]+) Aoyagi ([0-9.]+)", out).groups())
    assert r2 > 0.99
    assert abs(llc - aoyagi) < 0.15 * aoyagi


def test_every_public_function_and_method_is_documented():
    names = list(dd.__all__) + ["KernelRidgeRegressor", "EigenProRegressor", "RandomFeaturesRegressor"]
    for name in names:
        obj = getattr(dd, name)
        assert obj.__doc__ and obj.__doc__.strip(), name
        if isinstance(obj, type):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert member.__doc__ and member.__doc__.strip(), f"{name}.{attr}"
    for mod in (theory, estimators):
        for name in mod.__all__:
            assert getattr(mod, name).__doc__, name


def test_the_gil_is_released_while_the_crate_computes():
    x = np.random.default_rng(0).standard_normal((3000, 50))
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    start = time.perf_counter()
    for _ in range(3):
        dd.laplacian(x, bandwidth=5.0, device="cpu")
    end = time.perf_counter()
    stop.set()
    t.join()
    # A Python thread kept running during the calls (with the GIL held it would not tick).
    assert sum(start < s < end for s in ticks) >= 5


def test_kernels_and_networks_pickle_to_equal_objects():
    import pickle

    x = np.random.default_rng(3).standard_normal((20, 4))
    for k in (dd.Kernel("dispersal", bandwidth=2.0, gamma=1.5), dd.Kernel("relu_ntk", depth=3, bias=True)):
        k2 = pickle.loads(pickle.dumps(k))
        assert repr(k2) == repr(k)
        np.testing.assert_array_equal(k2.matrix(x, device="cpu"), k.matrix(x, device="cpu"))
    nets = [
        dd.DeepLinearNetwork(4, [3, 5], 2),
        dd.Dense(4, [6, 5], 2, activation="softplus", beta=3.0, parameterisation="tutorial", bias="hidden",
                 loss="cross_entropy"),
    ]
    for net in nets:
        net2 = pickle.loads(pickle.dumps(net))
        assert repr(net2) == repr(net)
        w = net.init(seed=1)
        np.testing.assert_array_equal(net2.forward(w, x), net.forward(w, x))
