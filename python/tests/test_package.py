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
