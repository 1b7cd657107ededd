"""Each convention's tie rules, at the tie (exact; no finite differences)."""
import sympy as sp
import pytest

import mtsym as mt
from conftest import flat

R = sp.Rational

# (function of t, {convention: derivative at t = 0})
CASES = [
    (lambda t: mt.relu(t), {"torch": 0, "jax": 0, "first": 0, "last": 1, "mean": R(1, 2)}),
    (lambda t: mt.abs(t), {"torch": 0, "jax": 1, "first": 1, "last": -1, "mean": 0}),
    (lambda t: mt.leaky_relu(t, 0.25), {"torch": R(1, 4), "jax": 1, "first": 1, "last": R(1, 4),
                                        "mean": R(5, 8)}),
    (lambda t: mt.clamp(t, 0, 1), {"torch": 1, "jax": R(1, 2), "first": 1, "last": 0, "mean": R(1, 2)}),
    (lambda t: mt.clamp(t, 0, 0), {"torch": 1, "jax": R(1, 4), "first": 1, "last": 0, "mean": R(1, 4)}),
    (lambda t: mt.clamp(t, -1, 0), {"torch": 1, "jax": R(1, 2), "first": 1, "last": 0, "mean": R(1, 2)}),
    (lambda t: mt.maximum(t, 0), {"torch": R(1, 2), "jax": R(1, 2), "first": 1, "last": 0, "mean": R(1, 2)}),
    (lambda t: mt.minimum(0, t), {"torch": R(1, 2), "jax": R(1, 2), "first": 0, "last": 1, "mean": R(1, 2)}),
    (lambda t: mt.max(t, 0, t), {"torch": R(2, 3), "jax": R(2, 3), "first": 1, "last": 1, "mean": R(2, 3)}),
    (lambda t: mt.max(0, t, 0), {"torch": R(1, 3), "jax": R(1, 3), "first": 0, "last": 0, "mean": R(1, 3)}),
    (lambda t: mt.maxpool1d([0, t], 2)[0], {"torch": 0, "jax": 0, "first": 0, "last": 1, "mean": R(1, 2)}),
]


@pytest.mark.parametrize("k", range(len(CASES)))
@pytest.mark.parametrize("conv", ["torch", "jax", "first", "last", "mean"])
def test_derivative_at_the_tie(k, conv):
    fn, want = CASES[k]
    table = mt.derive(fn, "t", convention=conv)
    assert flat(table.grad_at((0,))) == [want[conv]]


def test_torch_the_same_function_three_ways():
    # conventions.md, surprise 1: relu -> 0, clamp(min=0) -> 1, maximum(x, 0) -> 1/2
    got = [flat(mt.derive(f, "t").grad_at((0,)))[0]
           for f in (mt.relu, lambda t: mt.clamp(t, min=0), lambda t: mt.maximum(t, 0))]
    assert got == [0, 1, R(1, 2)]


def test_parametric_conventions_carry_symbols():
    a, b = sp.symbols("a b")
    conv = mt.Convention("torch", abs0=a, maximum=b)
    table = mt.derive(lambda t: mt.abs(t) + mt.maximum(t, -t), "t", convention=conv)
    assert flat(table.grad_at((0,))) == [a + 2 * b - 1]
    assert flat(table.grad_at((2,))) == [2]
    assert conv.symbols() == {a, b}


def test_convention_parameters_are_validated():
    with pytest.raises(mt.ConventionError):
        mt.Convention("torch", reduce="median")
    assert mt.Convention("jax", relu0="1/3").relu0 == R(1, 3)
    assert mt.Convention(mt.Convention("jax"), pool="last").pool == "last"
