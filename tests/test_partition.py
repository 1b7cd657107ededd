"""The partition against known combinatorics and against itself (cover, disjointness, witnesses)."""
import itertools
import random
from fractions import Fraction
from math import comb

import pytest

import mtsym as mt
from mtsym.polyhedra import Polyhedron


def general_lines(m, seed):
    """m lines a.x + b = 0 in R^2 in general position (checked exactly)."""
    rng = random.Random(seed)
    while True:
        L = [(rng.randint(-30, 30), rng.randint(-30, 30), rng.randint(-30, 30)) for _ in range(m)]
        if any(a == 0 and b == 0 for a, b, _ in L):
            continue
        if any(a1 * b2 == a2 * b1 for (a1, b1, _), (a2, b2, _) in itertools.combinations(L, 2)):
            continue
        ok = True
        for (a1, b1, c1), (a2, b2, c2), (a3, b3, c3) in itertools.combinations(L, 3):
            det = a1 * (b2 * c3 - b3 * c2) - b1 * (a2 * c3 - a3 * c2) + c1 * (a2 * b3 - a3 * b2)
            if det == 0:
                ok = False
                break
        if ok:
            return L


def relu_sum(L, coefs):
    def f(x):
        return sum(c * mt.relu(a * x[0] + b * x[1] + d) for c, (a, b, d) in zip(coefs, L))
    return f


@pytest.mark.parametrize("m", [1, 2, 5, 9])
def test_m_lines_in_general_position(m):
    L = general_lines(m, seed=m)
    table = mt.derive(relu_sum(L, [1] * m), 2)
    dims = [s.dim for s in table.strata]
    assert dims.count(0) == comb(m, 2)            # vertices
    assert dims.count(1) == m * m                 # edges
    assert dims.count(2) == 1 + m + comb(m, 2)    # cells


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_k_ary_max_has_one_stratum_per_tie_set(k):
    table = mt.derive(lambda x: mt.max(x), k)
    assert len(table.strata) == 2 ** k - 1
    # a tie set of size j has dimension k - j + 1, and there are C(k, j) of them
    for j in range(1, k + 1):
        assert sum(1 for s in table.strata if s.dim == k - j + 1) == comb(k, j)


def test_max_of_affine_forms_prunes_empty_tie_sets():
    # x, x + 1, x + 2 never tie and x + 2 always wins: one stratum
    table = mt.derive(lambda x: mt.max(x, x + 1, x + 2), "x")
    assert len(table.strata) == 1
    # x and 2x tie only at 0; -x never ties with x + 1 at the same point as 2x
    table = mt.derive(lambda x: mt.max(x, 2 * x), "x")
    assert sorted(s.dim for s in table.strata) == [0, 1, 1]


def sample_points(n, seed, k=60):
    rng = random.Random(seed)
    pts = list(itertools.product((-1, 0, 1), repeat=n))
    pts += [tuple(Fraction(rng.randint(-40, 40), rng.randint(1, 7)) for _ in range(n)) for _ in range(k)]
    return pts


FUNCTIONS = [
    (lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 3),
    (lambda x: mt.maximum(mt.maximum(x[0], x[1]), x[2]) + mt.abs(x[0] - x[2]), 3),
    (lambda x: mt.clamp(x[0] + x[1], -1, 1) - mt.min(x[0], 0, x[1]), 2),
    (lambda x: mt.maxpool1d([x[0], x[1], x[0] + x[1], -x[1]], 2, stride=1)[1], 2),
]


@pytest.mark.parametrize("fn,n", FUNCTIONS)
def test_strata_cover_and_are_disjoint_and_witnesses_lie_inside(fn, n):
    table = mt.derive(fn, n)
    for s in table.strata:
        w = tuple(Fraction(int(c.p), int(c.q)) for c in s.witness)
        assert s.contains(w)
        assert table.stratum_at(w) is s
    for p in sample_points(n, seed=n) + [tuple(s.witness) for s in table.strata]:
        holders = [s for s in table.strata if s.contains(p)]
        assert len(holders) == 1, (p, holders)
        assert table.stratum_at(p) is holders[0]


@pytest.mark.parametrize("fn,n", FUNCTIONS)
def test_f_alpha_equals_the_program_on_its_stratum(fn, n):
    table = mt.derive(fn, n)
    pts = sample_points(n, seed=7 * n) + [s.witness for s in table.strata]
    for p in pts:
        assert table.value_at(p) == mt.call_exact(fn, n, p), p


def test_polyhedron_split_is_exact_on_a_triangle():
    P = Polyhedron.space(2)
    for h in [(0, 1, 0), (0, 0, 1), (1, -1, -1)]:   # x > 0, y > 0, 1 - x - y > 0
        P = P.split(h)[1]
    assert sorted(g for g in P.gens) == [(1, 0, 0), (1, 0, 1), (1, 1, 0)]
    kids = P.split((-1, 2, 0))                      # 2x - 1 cuts the triangle
    assert set(kids) == {-1, 0, 1}
    assert kids[0].dim == 1
    assert set(P.split((-5, 1, 1))) == {-1}         # x + y - 5 < 0 on the whole triangle
    w = kids[1].witness()
    assert 2 * w[0] - 1 > 0 and w[0] > 0 and w[1] > 0 and 1 - w[0] - w[1] > 0


def test_tangent_basis_spans_the_stratum_direction():
    table = mt.derive(lambda x: mt.max(x), 3)
    tie = next(s for s in table.strata if s.dim == 1)
    assert tie.tangent == [(1, 1, 1)]
    pair = next(s for s in table.strata if s.dim == 2)
    for v in pair.tangent:
        for f, sign in pair.constraints:
            if sign == 0:
                assert sum(c * x for c, x in zip(f[1:], v)) == 0


def _expected_piece_order(table):
    """The documented order of the pieces, from the forms as Fractions: dimension (largest first),
    then the gradient coefficients of every output (largest first), then discovery."""
    def key(piece):
        coeffs = tuple(-Fraction(c) for f in piece.forms for c in f[1:])
        return (-piece.dim, coeffs, min(s.discovery for s in piece.strata))
    return sorted(table.pieces, key=key)


PIECE_ORDER_PROGRAMS = [
    ("max of 5, torch ties 1/|T|", lambda x: mt.max(x), 5),
    ("relu lines, integer weights", relu_sum(general_lines(7, seed=3), [1, -2, 3, 1, -1, 2, 1]), 2),
    ("relu lines, rational weights", relu_sum(general_lines(6, seed=4),
                                              [Fraction(1, 3), Fraction(-5, 7), 2, Fraction(3, 11), -1, 1]), 2),
    ("two outputs", lambda x: [mt.max(x), mt.relu(x[0] - Fraction(1, 3) * x[1])], 3),
    ("relu lines, weights past int64", relu_sum(general_lines(5, seed=5), [10**20, -3 * 10**19, 7, 2**70, -1]), 2),
]


@pytest.mark.parametrize("name, fn, n", PIECE_ORDER_PROGRAMS, ids=[p[0] for p in PIECE_ORDER_PROGRAMS])
@pytest.mark.parametrize("scaled", [True, False], ids=["common-denominator", "cross-multiplied"])
def test_piece_order_from_integer_keys(name, fn, n, scaled, monkeypatch):
    """The pieces are ordered on integer keys (numerators over a common denominator, or pairwise
    cross-multiplication past a size): the order must be the one Fractions give."""
    import mtsym.table as table_module
    if not scaled:
        monkeypatch.setattr(table_module, "_SCALED_BITS", 0)
    table = mt.derive(fn, n)
    assert len(table.pieces) > 3
    assert [p.index for p in table.pieces] == list(range(len(table.pieces)))
    assert [id(p) for p in table.pieces] == [id(p) for p in _expected_piece_order(table)]


def test_piece_order_never_wraps_int64():
    # a numerator of exactly -2^63 fits int64 but its scaled negation does not: the order must come
    # from exact integers (largest coefficient first: 5, then 3/2, then -2^63)
    from mtsym.table import _packed_order
    keys = [(((0, -2 ** 63, 1), 1),), (((0, 5, 1), 1),), (((0, 3, 2), 2),)]
    assert _packed_order([2, 2, 2], keys, [0, 1, 2]) == [1, 2, 0]
