"""table.verify(), spurious() and clarke_at(): the paper's examples, mutations, the exact LP.

Oracles: the program itself run on exact numbers (mt.call_exact), the paper's printed
values (Tables 2 and 3, eqs. (19)-(20)), and scipy's HiGHS for the LP solver.
"""
import json
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.lp import hull_parameter_range, in_hull, linprog
from mtsym.primitives import PRIMITIVES

from mtsym.examples import boustany, max1  # noqa: F401  (the paper's functions, one definition)
from mtsym.examples import boustany_maxpool as table3


def witnesses(strata):
    return [tuple(s.witness) for s in strata]


def checks(row):
    return (row.value, row.tangential, row.chain, row.ae)


# ----------------------------------------------------------------- the paper's examples
def test_boustany_verifies_and_only_t0_is_spurious():
    table = mt.derive(boustany, "t", convention="torch")
    report = table.verify()
    assert report.ok
    assert all(r.value and r.tangential and r.chain for r in report.rows)
    assert [r.ae for r in report.rows if r.dim == 1] == [True, True]
    assert witnesses(table.spurious()) == [(0,)]
    (row,) = report.spurious
    assert table.strata[row.stratum].witness == (0,)
    assert row.clarke is False and row.limiting == [(0,)]        # -3/2 is not in {0}
    assert table.grad_at((0,)) == sp.Matrix([[sp.Rational(-3, 2)]])


def test_table3_maxpool_spurious_exactly_at_zero():
    table = mt.derive(table3, "t", convention="torch")
    report = table.verify()
    assert report.ok
    assert witnesses(table.spurious()) == [(0,)]
    assert table.grad_at((0,)) == sp.Matrix([[-3]])
    assert report.spurious[0].limiting == [(0,)]


def test_eq19_max4_verifies_with_no_spurious_stratum():
    table = mt.derive(lambda x: mt.max(x), 4, convention="torch")
    report = table.verify()
    assert report.ok and len(report.rows) == 15
    assert table.spurious() == [] and report.spurious == []
    assert all(r.clarke is True for r in report.rows)
    # at the tie x1 = x2 = x3 = x4 the limiting gradients are the four e_i, eq. (20) is their mean
    row = next(r for r in report.rows if r.dim == 1)
    assert sorted(row.limiting) == sorted(tuple(int(i == j) for i in range(4)) for j in range(4))


@pytest.mark.parametrize("conv", ["torch", "jax", "first", "last", "mean"])
def test_max_x_x_verifies_under_every_convention(conv):
    table = mt.derive(lambda x: mt.max(x, x), "x", convention=conv)
    report = table.verify()
    assert report.ok and table.spurious() == []
    assert [checks(r) for r in report.rows] == [(True, True, True, True)]


def test_max1_loop_eq17_verifies():
    table = mt.derive(max1, 4)
    report = table.verify()
    assert report.ok and len(report.rows) == len(table.strata)
    assert table.spurious() == []          # ties go to the first index: a limiting gradient


def test_parametric_relu0_only_half_is_not_spurious():
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(x) - mt.relu(-x) - x, "x", convention=mt.Convention("torch", relu0=z))
    report = table.verify()
    assert report.ok
    (row,) = [r for r in report.rows if r.dim == 0]
    assert row.clarke is None and row.clarke_when == sp.Eq(z, sp.Rational(1, 2))
    assert witnesses(table.spurious()) == [(0,)]
    # the same conclusion by substituting values: only z = 1/2 is inside
    for val, spurious in [(0, True), (sp.Rational(1, 2), False), (1, True)]:
        t = mt.derive(lambda x: mt.relu(x) - mt.relu(-x) - x, "x", convention=mt.Convention("torch", relu0=val))
        assert bool(t.spurious()) == spurious


def test_parametric_relu_interval():
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z))
    row = [r for r in table.verify().rows if r.dim == 0][0]
    assert row.clarke_when == sp.Interval(0, 1).as_relational(z)
    assert "iff" in str(table.verify())


# ----------------------------------------------------------------- more shapes of program
def test_vector_output_and_products_verify():
    t = mt.derive(lambda x: [mt.relu(x[0] + x[1]), x[0] - mt.abs(x[1])], 2)
    assert t.verify().ok
    t = mt.derive(lambda x: mt.relu(x[0]) * x[1] - mt.max(x[0], x[1]), 2)   # polynomial on strata
    r = t.verify()
    assert r.ok and len(r.rows) == 9


def test_report_is_a_table_and_json():
    report = mt.derive(boustany, "t").verify()
    text = str(report)
    assert "SPURIOUS" in text and "t = 0" in text and "all checks hold" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True and len(data["rows"]) == 3
    assert data["spurious"] == [report.spurious[0].stratum]
    assert json.loads(report.to_json())["rows"][2]["limiting"] == [["0"]]


def test_without_program_only_clarke_runs():
    table = mt.derive(boustany, "t")
    table.program = None
    table.graph = None
    report = table.verify()
    assert all(checks(r) == (None, None, None, None) for r in report.rows)
    assert witnesses(table.spurious()) == [(0,)]


# ----------------------------------------------------------------- clarke_at
def test_clarke_at_points():
    table = mt.derive(lambda x: mt.max(x[0], x[1]), 2)
    hull = table.clarke_at((0, 0))
    assert sorted(map(tuple, hull.gradients)) == [(0, 1), (1, 0)] and hull.dim == 1
    assert "segment" in hull.description
    assert hull.contains((Fraction(1, 2), Fraction(1, 2))) and not hull.contains((1, 1))
    inside = table.clarke_at((2, 1))
    assert inside.gradients == [sp.Matrix([[1, 0]])] and inside.dim == 0
    relu = mt.derive(lambda x: mt.relu(x), "x")
    assert relu.clarke_at((0,)).description == "the interval [0, 1]"
    assert json.dumps(hull.to_dict())


def test_clarke_at_three_way_kink():
    table = mt.derive(lambda x: mt.max(x[0], x[1], -x[0] - x[1]), 2)
    hull = table.clarke_at((0, 0))
    assert hull.dim == 2 and len(hull.vertices) == 3
    assert hull.contains((0, 0))                     # 0 is a Clarke critical point of this max


# ----------------------------------------------------------------- mutations: every check can fail
def _scaled_ties(orig):
    """A wrong max rule: on ties, the torch weights times 9/10 (they sum to 9/10)."""
    def linear(case, params, conv):
        w, b = orig(case, params, conv)
        if len(case) > 1 and conv.reduce == "mean":
            w = tuple(Fraction(9, 10) * v for v in w)
        return w, b
    return linear


def test_mutated_tie_rule_fails_exactly_the_tie_strata(monkeypatch):
    monkeypatch.setattr(PRIMITIVES["max"], "linear", _scaled_ties(PRIMITIVES["max"].linear))
    table = mt.derive(lambda x: mt.max(x), 4)
    report = table.verify()
    assert not report.ok
    node = next(iter(table.strata[0].cases))
    ties = {s.index for s in table.strata if len(s.cases[node]) > 1}
    assert {r.stratum for r in report.failed} == ties and len(ties) == 11
    for r in report.rows:
        if r.stratum in ties:
            # f^alpha is wrong along the stratum; the graph sweep agrees with f^alpha (same wrong rule)
            assert (r.value, r.tangential, r.chain) == (False, False, True)
            assert any(m.startswith("tangential") for m in r.messages)
        else:
            assert checks(r) == (True, True, True, True)


def test_mutated_tie_rule_in_a_composite_touches_only_its_ties(monkeypatch):
    monkeypatch.setattr(PRIMITIVES["max"], "linear", _scaled_ties(PRIMITIVES["max"].linear))
    table = mt.derive(lambda x: max1(x) - mt.max(x), 3)      # Boustany's f on R^3
    report = table.verify()
    node = next(v for v in table.graph.nodes if table.graph.op(v) == "max")
    ties = {s.index for s in table.strata if len(s.cases[node]) > 1}
    assert {r.stratum for r in report.failed} == ties and len(ties) == 4
    # on the scalar Boustany f the tie is the single point t = 0: f^alpha(0) = f(0) = 0 and there is no
    # tangent, so Murat-Trombetti allow any gradient there and checks 1-4 pass; the Clarke diagnostic
    # still flags the (now -5/4) gradient
    scalar = mt.derive(boustany, "t")
    assert scalar.verify().ok and scalar.grad_at((0,)) == sp.Matrix([[sp.Rational(-5, 4)]])
    assert witnesses(scalar.spurious()) == [(0,)]


def test_rule_changed_after_derive_fails_only_the_chain(monkeypatch):
    table = mt.derive(lambda x: mt.max(x), 3)
    monkeypatch.setattr(PRIMITIVES["max"], "linear", _scaled_ties(PRIMITIVES["max"].linear))
    report = table.verify()
    node = next(iter(table.strata[0].cases))
    ties = {s.index for s in table.strata if len(s.cases[node]) > 1}
    assert {r.stratum for r in report.failed} == ties and len(ties) == 4
    for r in report.failed:
        assert (r.value, r.tangential, r.chain) == (True, True, False)


def test_wrong_bias_fails_only_the_value(monkeypatch):
    orig = PRIMITIVES["relu"].linear

    def linear(case, params, conv):
        w, b = orig(case, params, conv)
        return (w, b + 1) if case == 0 and conv.name == "torch" else (w, b)
    monkeypatch.setattr(PRIMITIVES["relu"], "linear", linear)
    table = mt.derive(lambda x: mt.relu(x[0] - x[1]) + x[1], 2)
    report = table.verify()
    (row,) = report.failed
    assert table.strata[row.stratum].dim == 1 and (row.value, row.tangential, row.chain) == (False, True, True)


def test_wrong_slope_fails_the_ae_gradient(monkeypatch):
    orig = PRIMITIVES["relu"].linear

    def linear(case, params, conv):
        w, b = orig(case, params, conv)
        return ((2,), b) if case > 0 and conv.name == "torch" else (w, b)
    monkeypatch.setattr(PRIMITIVES["relu"], "linear", linear)
    table = mt.derive(lambda x: mt.relu(x), "x")
    report = table.verify()
    bad = {table.strata[r.stratum].witness for r in report.failed}
    assert bad == {(1,)}
    row = report.failed[0]
    assert row.ae is False and any(m.startswith("a.e.") for m in row.messages)


# ----------------------------------------------------------------- the exact LP
def test_linprog_matches_highs_on_random_problems():
    scipy = pytest.importorskip("scipy.optimize")
    rnd = random.Random(7)
    for _ in range(150):
        n, mu, me = rnd.randint(1, 4), rnd.randint(0, 4), rnd.randint(0, 2)
        c = [rnd.randint(-3, 3) for _ in range(n)]
        A_ub = [[rnd.randint(-3, 3) for _ in range(n)] for _ in range(mu)]
        b_ub = [rnd.randint(-5, 5) for _ in range(mu)]
        A_eq = [[rnd.randint(-3, 3) for _ in range(n)] for _ in range(me)]
        b_eq = [rnd.randint(-5, 5) for _ in range(me)]
        free = [j for j in range(n) if rnd.random() < 0.3]
        r = linprog(c, A_ub, b_ub, A_eq, b_eq, free=free)
        bounds = [(None, None) if j in free else (0, None) for j in range(n)]
        h = scipy.linprog(c, A_ub=A_ub or None, b_ub=b_ub or None, A_eq=A_eq or None, b_eq=b_eq or None,
                          bounds=bounds, method="highs")
        assert r.status == {0: "optimal", 2: "infeasible", 3: "unbounded"}[h.status]
        if r.status == "optimal":
            assert abs(float(r.value) - h.fun) < 1e-9
            x = r.x
            assert all(sum(a * v for a, v in zip(row, x)) <= b for row, b in zip(A_ub, b_ub))
            assert all(sum(a * v for a, v in zip(row, x)) == b for row, b in zip(A_eq, b_eq))
            assert all(x[j] >= 0 for j in range(n) if j not in free)


def test_in_hull_and_parameter_range():
    square = [(0, 0), (1, 0), (0, 1), (1, 1)]
    lam = in_hull(square, (Fraction(1, 3), Fraction(1, 2)))
    assert lam is not None and sum(lam) == 1 and min(lam) >= 0
    assert sum(w * p[0] for w, p in zip(lam, square)) == Fraction(1, 3)
    assert in_hull(square, (Fraction(1, 3), Fraction(-1, 100))) is None
    assert hull_parameter_range(square, (0, Fraction(1, 2)), (1, 0)) == (0, 1)
    assert hull_parameter_range([(0,)], (1,), (0,)) is None
    assert hull_parameter_range([(0,), (1,)], (0,), (0,)) == (None, None)



def test_reports_display_in_notebooks():
    import mtsym as mt
    t = mt.derive(lambda x: mt.max(x, 2 * x) - mt.max(x, x / 2), "x")
    rep = t.verify()
    html = rep._repr_html_()
    assert html.count("<tr") == len(t.strata) + 1
    assert rep._repr_latex_().startswith("$") or "\\begin" in rep._repr_latex_()


def test_framework_code_is_verified_by_the_graph_and_says_what_it_skipped():
    torch = pytest.importorskip("torch")
    t = mt.derive(lambda x: torch.relu(x[0] - x[1]), 2)
    report = t.verify()
    assert all(r.chain is True and r.value is None for r in report.rows)
    assert "checks 1, 2, 4 not run" in str(report) and "framework code" in report.to_dict()["note"]


def test_spurious_is_found_away_from_the_witness():
    # on {x1 = 0} the strata around change: at the origin the wedge x1 > |x2| touches it, at (0, 1)
    # only gradients (0, 0) are around, and grad~f = (1, 0) (relu'(0) = 1) is outside their hull
    def f(x):
        if x[0] > 0:
            return mt.relu(x[0] - mt.abs(x[1]))
        return mt.relu(x[0])
    t = mt.derive(f, 2, convention=mt.Convention("torch", relu0=1))
    assert [s.text for s in t.spurious()] == ["x1 = 0"]
    assert t.grad_at((0, 1)).tolist() == [[1, 0]]


def test_float_constants_in_user_code_verify():
    # the exact oracle ran 0.5 * max(...) in floats: a false FAIL at 3*x1 = 1 (value 1/6 vs a float)
    t = mt.derive(lambda x: 0.5 * mt.max([x[0], 1 - 2 * x[0]]), 1)
    report = t.verify()
    assert report.ok and len(report.rows) == 3
    W = np.array([[0.1, 0.3], [0.7, -0.2]])
    t = mt.derive(lambda x: 0.1 * mt.relu(np.float32(0.3) * x[0] - x[1]) + sum(W @ x) * 0.3 + abs(x[0] - 0.1), 2)
    assert t.verify().ok
    # the oracle's value is exact: 0.5 (a float) times 1/3
    assert mt.call_exact(lambda x: 0.5 * mt.max([x[0], 1 - 2 * x[0]]), 1, (Fraction(1, 3),)) == Fraction(1, 6)
