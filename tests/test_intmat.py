"""Exact integer matrix products through float64 limbs (mtsym.intmat) against Python integers."""
import random

import numpy as np
import pytest

from mtsym.intmat import LimbMatrix, limb_width, limbs


def rand_matrix(rng, p, m, bits, extreme=False):
    top = 1 << bits
    pick = (lambda: rng.choice([top - 1, -(top - 1), 0])) if extreme else (lambda: rng.randrange(-top + 1, top))
    return np.array([[pick() for _ in range(m)] for _ in range(p)], dtype=object).reshape(p, m)


@pytest.mark.parametrize("seed", range(12))
def test_products_equal_python_integer_products(seed):
    rng = random.Random(seed)
    for _ in range(15):
        p, m, k = rng.randint(1, 30), rng.randint(1, 700), rng.randint(1, 4)
        abits, fbits = rng.randint(1, 130), rng.randint(1, 170)
        extreme = rng.random() < 0.3
        A = rand_matrix(rng, p, m, abits, extreme)
        F = rand_matrix(rng, m, k, fbits, extreme)
        P = LimbMatrix(A, (1 << fbits) - 1).matmul(F)
        assert P.dtype == object and P.shape == (p, k)
        assert (P == A @ F).all()


def test_worst_case_sums_stay_exact():
    # every limb at its largest: each float64 dot product reaches just below 2^53
    for m in (1, 2, 127, 128, 129, 1000, 4096):
        B = limb_width(m)
        assert m * (1 << 2 * B) <= 1 << 53 < m * (1 << 2 * (B + 1))
        x = (1 << (3 * B)) - 1                        # three full limbs
        A = np.full((2, m), x, dtype=object)
        A[1] = -x
        F = np.full((m, 2), x, dtype=object)
        F[:, 1] = -x
        assert (LimbMatrix(A, x).matmul(F) == A @ F).all()
        assert LimbMatrix(A, x).matmul(F)[0, 0] == m * x * x


def test_int64_operands_and_empty_products():
    rng = np.random.default_rng(0)
    A = rng.integers(-2**40, 2**40, size=(5, 9))
    F = rng.integers(-2**50, 2**50, size=(9, 3))
    exact = A.astype(object) @ F.astype(object)
    assert (LimbMatrix(A, 2**50).matmul(F) == exact).all()
    assert LimbMatrix(A, 2**50).matmul(np.zeros((9, 0), dtype=object)).shape == (5, 0)


def test_an_entry_above_the_bound_is_refused_not_rounded():
    A = np.array([[1, 2, 3]], dtype=object)
    bound = (1 << 60) - 1
    M = LimbMatrix(A, bound)
    F = np.array([[bound], [-bound], [1]], dtype=object)
    assert (M.matmul(F) == A @ F).all()
    too_big = np.array([[1 << 200], [0], [0]], dtype=object)
    assert M.matmul(too_big) is None


def test_limbs_recompose():
    rng = random.Random(5)
    xs = [rng.randrange(-2**100, 2**100) for _ in range(50)]
    L = limbs(np.array(xs, dtype=object), 20, 6)
    back = [sum(int(L[k][i]) << (20 * k) for k in range(6)) for i in range(50)]
    assert back == xs
    assert all(0 <= v < 2**20 for k in range(5) for v in L[k].tolist())


def test_float_tensors_become_their_exact_rationals_in_bulk():
    # the bulk path of exact_array against the one-number conversion, on awkward floats (a torch
    # tensor too where torch is installed: the suite also runs with the test extra alone)
    import importlib.util
    from fractions import Fraction

    from mtsym.exact import to_exact
    from mtsym.frameworks.arrays import exact_array
    vals = [0.1, -0.0, 3.0, 5e-324, -1.5e4, 2.0 ** -24, 1 / 3]          # finite in float16 too
    inputs = [np.array(vals), np.float32(0.1), np.array(vals, dtype=np.float16).reshape(7, 1)]
    if importlib.util.find_spec("torch") is not None:
        import torch
        inputs.append(torch.tensor(vals, dtype=torch.float32))
    for x in inputs:
        arr = exact_array(x, "test")
        ref = np.asarray(x.double().numpy() if hasattr(x, "double") else x, dtype=np.float64)
        assert arr.shape == ref.shape
        for got, v in zip(arr.ravel().tolist(), ref.ravel().tolist()):
            assert got == to_exact(v) == Fraction(v) and type(got) is type(to_exact(v))
    assert str(exact_array(np.float32(0.1), "test")[()]) == "13421773/134217728"
    assert str(exact_array(np.array([1.0, -np.inf]), "test")[1]) == "-inf"     # not finite: one by one
