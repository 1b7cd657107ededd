"""table.lipschitz(): exact constants, where they are attained, against independent oracles.

Oracles: the program on exact rational points (mt.call_exact) for attainment and for the
upper bound on random pairs, the product of layer norms (the usual bound), numpy's float
matrix 2-norm.
"""
import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.errors import InputError
from mtsym.lipschitz import operator_norm

W1 = [[1, -1], [2, 1], [-1, 3]]
B1 = [0, -1, 1]
W2 = [[1, -2, 1], [0, 1, 1], [2, 1, -1]]
B2 = [1, 0, -2]
W3 = [[1, -1, 2]]


def net(x):
    """A 2-3-3-1 ReLU network with integer weights."""
    h = mt.relu(np.array(W1, dtype=object) @ x + np.array(B1, dtype=object))
    h = mt.relu(np.array(W2, dtype=object) @ h + np.array(B2, dtype=object))
    return (np.array(W3, dtype=object) @ h)[0]


NORMS = {1: lambda v: sum(abs(c) for c in v), "inf": lambda v: max(abs(c) for c in v)}


@pytest.fixture(scope="module")
def table():
    return mt.derive(net, 2)


def test_network_exact_constant_beats_the_layer_product(table):
    exact = {k: table.lipschitz(norm=k).value for k in (2, 1, "inf")}
    assert exact == {2: 15, 1: 12, "inf": 21}
    for k, L in exact.items():
        bound = operator_norm(W3, k) * operator_norm(W2, k) * operator_norm(W1, k)
        assert (bound - L).is_positive                     # strictly tighter
    assert operator_norm(W3, 1) * operator_norm(W2, 1) * operator_norm(W1, 1) == 40
    assert operator_norm(W3, "inf") * operator_norm(W2, "inf") * operator_norm(W1, "inf") == 64
    two = operator_norm(W3, 2) * operator_norm(W2, 2) * operator_norm(W1, 2)
    assert abs(float(15 / two) - 0.6717067) < 1e-6            # the ratio quoted in docs/verification.md


def test_network_constant_is_attained_by_the_program(table):
    L = table.lipschitz(norm=2)
    s = L.stratum
    g = [Fraction(int(v.p), int(v.q)) for v in L.gradient]
    assert s.dim == 2 and L.piece is table.pieces[s.piece] and sum(v * v for v in g) == 225
    w = [Fraction(int(v.p), int(v.q)) for v in s.witness]
    h = Fraction(1, 1024)
    assert s.contains([a + h * b for a, b in zip(w, g)])
    rise = mt.call_exact(net, 2, [a + h * b for a, b in zip(w, g)]) - mt.call_exact(net, 2, w)
    assert rise == h * 225                                  # |f(w + h g) - f(w)| = L * |h g|


def test_network_constant_bounds_random_pairs(table):
    L2 = table.lipschitz(norm=2).value ** 2
    L1, Linf = table.lipschitz(norm=1).value, table.lipschitz(norm="inf").value
    rnd = random.Random(0)
    for _ in range(300):
        x = [Fraction(rnd.randint(-40, 40), 8) for _ in range(2)]
        y = [Fraction(rnd.randint(-40, 40), 8) for _ in range(2)]
        d = mt.call_exact(net, 2, x) - mt.call_exact(net, 2, y)
        v = [a - b for a, b in zip(x, y)]
        assert d * d <= L2 * sum(c * c for c in v)
        assert abs(d) <= L1 * NORMS[1](v)                   # |f(x) - f(y)| <= L ||x - y||, same norm
        assert abs(d) <= Linf * NORMS["inf"](v)


def test_scalar_norms_and_local():
    t = mt.derive(lambda x: mt.relu(x[0] + 2 * x[1]) - x[0] / 2, 2)
    assert t.lipschitz().value == sp.sqrt(17) / 2
    assert t.lipschitz(norm=1).value == 2 and t.lipschitz(norm=float("inf")).value == sp.Rational(5, 2)
    assert t.lipschitz(local=(0, 0)).value == sp.sqrt(17) / 2        # on the kink: both pieces
    assert t.lipschitz(local=(-2, 0)).value == sp.Rational(1, 2)     # inside the flat side
    assert t.lipschitz(local=[(-3, -1), (-3, -1)]).value == sp.Rational(1, 2)
    assert t.lipschitz(local=[(-3, 1), (-3, -1)]).value == sp.Rational(1, 2)
    # a box whose interior crosses the kink x1 + 2 x2 = 0 (at x1 = 3, x2 = -1)
    assert t.lipschitz(local=[(-3, 4), (-3, -1)]).value == sp.sqrt(17) / 2
    # a box that only touches the kink along its edge: the steep piece is not inside
    assert t.lipschitz(local=[(-4, -2), (0, 1)]).value == sp.Rational(1, 2)


def test_jacobian_two_norm_is_exact_largest_singular_value():
    t = mt.derive(lambda x: [mt.relu(x[0] + x[1]), x[0] - 2 * x[1]], 2)
    L = t.lipschitz()
    J = np.array([[1.0, 1.0], [1.0, -2.0]])
    assert L.value == sp.sqrt(sp.Rational(7, 2) + sp.sqrt(13) / 2)
    assert abs(float(L.value) - np.linalg.norm(J, 2)) < 1e-12
    J3 = [[1, 2, 0], [2, 1, 1], [0, 1, 3]]
    assert abs(float(operator_norm(J3)) - np.linalg.norm(np.array(J3, float), 2)) < 1e-12


def test_all_pieces_considered_match_brute_force_patterns(table):
    # every activation pattern of the network gives a candidate Jacobian; the realised ones are
    # the table's full-dimensional pieces, so the exact constant is at most the max over patterns
    best = 0
    for d1 in itertools.product((0, 1), repeat=3):
        for d2 in itertools.product((0, 1), repeat=3):
            J = sp.Matrix(W3) * sp.diag(*d2) * sp.Matrix(W2) * sp.diag(*d1) * sp.Matrix(W1)
            best = max(best, operator_norm(J, 1))
    assert table.lipschitz(norm=1).value <= best


def test_discontinuous_program_has_no_constant():
    def jump(x):
        if x > 0:
            return x + 1
        return x
    L = mt.derive(jump, "x").lipschitz()
    assert L.value == sp.oo and not L.continuous and "jumps" in L.message


def test_bad_arguments():
    t = mt.derive(lambda x: mt.relu(x), "x")
    with pytest.raises(InputError, match="norm"):
        t.lipschitz(norm=3)
    with pytest.raises(InputError, match="box"):
        t.lipschitz(local=[(1, 1)])


def test_continuity_is_decided_on_the_whole_meeting_of_closures():
    def jump_away_from_the_witness(x):    # jumps along x = 0 only where y > 3
        if x[0] > 0:
            return mt.relu(x[1] - 3)
        return x[0] - x[0]

    def touches_at_one_point(x):           # continuous: the wedge meets x = 0 only at the origin
        if x[0] > 0:
            return mt.relu(x[0] - mt.abs(x[1]))
        return x[0] - x[0]
    t = mt.derive(jump_away_from_the_witness, 2)
    assert t.value_at((0, 5)) == 0 and t.value_at((Fraction(1, 1000), 5)) == 2   # the jump, from the table
    r = t.lipschitz()
    assert r.value == sp.oo and r.continuous is False
    r = mt.derive(touches_at_one_point, 2).lipschitz()
    assert r.value == sp.sqrt(2) and r.continuous is True


def test_products_have_no_piecewise_affine_constant():
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x[0] * x[1], 2).lipschitz()
