"""Theory: the least-squares sweep against scikit-learn's split and NumPy's least squares; the
teacher-student curves against their defining identities and the paper's double descent."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import doubledescent as dd
from doubledescent import theory


def test_least_squares_sweep_equals_numpy_on_scikit_learns_splits():
    x, y = theory.diabetes()
    assert x.shape == (442, 10)
    out = theory.least_squares_sweep(x, y, [3, 10, 40], repeats=3, cutoffs=[1e-2], device="cpu")
    assert len(out["n"]) == 9
    for k, (n, r) in enumerate(zip(out["n"], out["repeat"])):
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=442 - n, random_state=r, shuffle=True)
        beta, _, rank, s = np.linalg.lstsq(xtr, ytr, rcond=None)
        assert out["rank"][k] == rank
        np.testing.assert_allclose(out["train_mse"][k], np.mean((xtr @ beta - ytr) ** 2), rtol=1e-8, atol=1e-20)
        np.testing.assert_allclose(out["test_mse"][k], np.mean((xte @ beta - yte) ** 2), rtol=1e-8)
        np.testing.assert_allclose(out["smallest_singular_value"][k], s[rank - 1], rtol=1e-10)
    np.testing.assert_allclose(out["ideal"], np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-9)
    assert out["cutoff_test_mse"].shape == (9, 1)


def test_least_squares_sweep_rejects_bad_settings():
    x, y = theory.diabetes()
    with pytest.raises(ValueError, match="sizes"):
        theory.least_squares_sweep(x, y, [442], repeats=1)
    with pytest.raises(ValueError, match="repeats"):
        theory.least_squares_sweep(x, y, [5], repeats=0)


def test_fast_slow_curves_show_epoch_wise_double_descent():
    c = theory.teacher_student_fast_slow(150, 100, 70, 100.0)
    eg, r, q = c["eg"], c["r"], c["q"]
    # E_G = ½(1 + σ² − 2R + Q) with σ = 0, a student that starts at zero, and a teacher learned.
    np.testing.assert_allclose(eg, 0.5 * (1 - 2 * r + q), rtol=1e-12, atol=1e-15)
    assert eg[0] == pytest.approx(0.5, abs=1e-3)
    assert eg[-1] < 1e-3
    # Two descents: a local minimum followed by a bump before the final descent.
    inner = np.flatnonzero((eg[1:-1] < eg[:-2]) & (eg[1:-1] < eg[2:])) + 1
    assert len(inner) >= 1 and eg[inner[0]:].max() > eg[inner[0]] * 1.05
    # Freezing the slow block leaves its part of the error: the curve stalls above the full one.
    frozen = theory.teacher_student_fast_slow(150, 100, 70, 100.0, freeze="fast_only")
    assert frozen["eg"][-1] > 10 * eg[-1]


def test_seed_average_follows_the_fast_slow_approximation():
    seeds = list(range(20))
    exact = theory.teacher_student_seed_average(150, 100, 70, 100.0, seeds, device="cpu")
    assert exact["test_mean"].shape == exact["times"].shape == (50,)
    approx = theory.teacher_student_fast_slow(150, 100, 70, 100.0, times=exact["times"])
    # The approximation is the paper's: close to the exact average at the start and the end.
    assert abs(exact["eg"][0] - approx["eg"][0]) < 0.05
    assert exact["eg"][-1] < 0.05 and approx["eg"][-1] < 0.05
    with pytest.raises(ValueError, match="seeds"):
        theory.teacher_student_seed_average(150, 100, 70, 100.0, [], device="cpu")
