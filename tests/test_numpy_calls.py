"""NumPy calls on traced arrays (``__array_ufunc__`` / ``__array_function__``): the piecewise-linear ones are
traced under the table's convention (NumPy computes no gradient, so no framework rule is pinned); tie tests
against mtsym's own operations and exact values, not finite differences."""
import numpy as np
import pytest
import sympy as sp

import mtsym as mt

H = sp.Rational(1, 2)


def same(f, g, n, points):
    tf, tg = mt.derive(f, n), mt.derive(g, n)
    return all(tf.grad_at(p) == tg.grad_at(p) and tf.value_at(p) == tg.value_at(p) for p in points)


def test_maximum_max_abs_clip_match_mtsym_operations():
    pts = [(0, 0, 0), (1, 1, -1), (2, -2, 2), (0, 1, 1)]
    assert same(lambda x: np.max(np.maximum(x, 0)), lambda x: mt.max(mt.maximum(list(x), 0)), 3, pts)
    assert same(lambda x: np.sum(np.abs(x)) - np.min(x), lambda x: sum(mt.abs(list(x))) - mt.min(x), 3, pts)
    assert same(lambda x: np.clip(x, -1, 1).sum(), lambda x: sum(mt.clamp(list(x), -1, 1)), 3, pts)
    assert same(lambda x: np.amax(x) + np.amin(x), lambda x: mt.max(x) + mt.min(x), 3, pts)


def test_conventions_apply_to_numpy_calls():
    for conv, want in [("torch", [H, H]), ("first", [1, 0]), ("last", [0, 1])]:
        assert list(mt.derive(lambda x: np.max(x), 2, convention=conv).grad_at((1, 1))) == want


def test_axis_reductions_and_methods():
    f = lambda x: np.max(x.reshape(2, 2), axis=0).sum() + x.reshape(2, 2).sum(axis=1)[0] + x.max(axis=0)  # noqa
    table = mt.derive(f, 4)
    assert table.value_at((1, 2, 3, 4)) == (3 + 4) + (1 + 2) + 4
    assert list(table.grad_at((1, 2, 3, 4))) == [1, 1, 1, 2]
    Q = sp.Rational(1, 4)      # at a tie: 1/2 per column maximum, 1/4 per entry of the full maximum
    assert list(table.grad_at((1, 1, 1, 1))) == [H + 1 + Q, H + 1 + Q, H + Q, H + Q]


def test_sort_and_median():
    table = mt.derive(lambda x: np.sort(x)[0] + 2 * np.median(x), 4)
    assert table.value_at((4, 1, 3, 2)) == 1 + 2 * sp.Rational(5, 2)
    assert list(table.grad_at((4, 1, 3, 2))) == [0, 1, 1, 1]
    assert list(table.grad_at((0, 0, 0, 0))) == [1, 1, 1, 0]     # stable: ranks 0, 1, 2 to entries 0, 1, 2


def test_dot_matmul_where_and_shapes():
    W = np.array([[1.0, -2.0], [0.5, 1.0]])
    f = lambda x: np.where(x > 0, x, 0.25 * x) @ np.dot(W, x) + np.concatenate([x, x]).sum()  # noqa: E731
    table = mt.derive(f, 2)
    p = (2, -1)
    h = [2, -0.25]
    assert float(table.value_at(p)) == pytest.approx(np.dot(h, W @ np.array(p, float)) + 2)


def test_numpy_scalar_and_array_operands():
    f = lambda x: np.float64(2) * x[0] + np.maximum(np.array([1.0, 2.0]), x).sum()  # noqa: E731
    assert list(mt.derive(f, 2).grad_at((1, 2))) == [2 + H, H]
