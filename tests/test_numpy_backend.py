"""table.compile(): exact at stratum witnesses, PyTorch's float64 autograd at random and tie points."""

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from zoo import ZOO, random_points, tie_grid, torch_value_grad

torch = pytest.importorskip("torch")

_TABLES = {}


def table_of(name):
    if name not in _TABLES:
        fn, inputs, _, _ = ZOO[name]
        _TABLES[name] = mt.derive(fn, inputs, convention="torch")
    return _TABLES[name]


def _dyadic(w):
    return all(sp.Rational(c).q & (sp.Rational(c).q - 1) == 0 and abs(sp.Rational(c).p) < 2 ** 50 for c in w)


def _floats(m):
    return np.array([[float(v) for v in row] for row in m.tolist()])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_exact_at_every_representable_witness(name):
    table = table_of(name)
    ev = table.compile()
    strata = [s for s in table.strata if _dyadic(s.witness)]
    assert len(strata) >= max(1, len(table.strata) // 4)
    X = np.array([[float(c) for c in s.witness] for s in strata])
    got = ev.batch(X)
    assert got.stratum.tolist() == [s.index for s in strata]
    assert got.piece.tolist() == [s.piece for s in strata]
    for k, s in enumerate(strata):
        want_v = table.value_at(s.witness)
        want_g = _floats(table.grad_at(s.witness))
        if table.shape == ():
            assert got.value[k] == float(want_v)
            assert np.array_equal(got.grad[k], want_g[0])
        else:
            assert np.array_equal(got.value[k], [float(v) for v in want_v])
            assert np.array_equal(got.grad[k], want_g)


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("points", ["random", "ties"])
def test_equals_torch_autograd(name, points):
    fn, inputs, tfn, radius = ZOO[name]
    X = random_points(inputs) if points == "random" else tie_grid(inputs, radius)
    ev = table_of(name).compile()
    got = ev.batch(X)
    tv, tg = torch_value_grad(tfn, X)
    np.testing.assert_allclose(got.value, tv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.grad, tg, rtol=1e-12, atol=1e-12)
    assert (got.piece >= 0).all() and (got.piece < len(table_of(name))).all()
    assert ev.located_exactly == 0


def test_boustany_table2_values():
    ev = table_of("boustany").compile()
    g = ev.grad(np.array([-1.0, -0.01, 0.0, 0.01, 1.0]))
    assert g[:, 0].tolist() == [0.0, 0.0, -1.5, 0.0, 0.0]


def test_shapes_and_methods_agree():
    ev = table_of("vector").compile()
    X = random_points(2, 50, seed=3)
    b = ev.batch(X)
    assert b.value.shape == (50, 2) and b.grad.shape == (50, 2, 2)
    assert np.array_equal(ev.value(X), b.value) and np.array_equal(ev.grad(X), b.grad)
    assert np.array_equal(ev.piece(X), b.piece) and np.array_equal(ev.stratum(X), b.stratum)
    assert np.array_equal(ev(X), b.value)
    s = table_of("max4").compile()
    assert s.value(random_points(4, 5)).shape == (5,) and s.grad(random_points(4, 5)).shape == (5, 4)


@pytest.mark.parametrize("name", ["boustany", "poolnet", "vector"])
def test_chunks_give_the_same_answer(name, capsys):
    fn, inputs, _, radius = ZOO[name]
    X = np.concatenate([tie_grid(inputs, radius), random_points(inputs, 100)])
    whole = table_of(name).compile().batch(X)
    parts = table_of(name).compile(chunk_size=7, progress=True).batch(X)
    for a in ("value", "grad", "piece", "stratum"):
        assert np.array_equal(getattr(whole, a), getattr(parts, a))
    assert capsys.readouterr().err  # the progress bar wrote to stderr


def test_float_pattern_of_no_stratum_is_located_exactly():
    # exactly, ((x1 + x2) - x1) - x2 is 0 everywhere: one stratum; in float it is 2**-54 at (0.1, 0.2)
    table = mt.derive(lambda x: mt.relu(((x[0] + x[1]) - x[0]) - x[1]), 2)
    assert len(table.strata) == 1
    ev = table.compile()
    X = np.array([[0.1, 0.2], [1.0, 2.0]])
    assert ev.stratum(X).tolist() == [0, 0]
    assert ev.located_exactly == 1
    assert ev.grad(X).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_atol_makes_near_ties_ties():
    table = mt.derive(lambda x: mt.relu(x[0] - x[1]), 2)
    X = np.array([[1.0 + 2.0 ** -40, 1.0], [2.0, 1.0]])
    assert table.compile().grad(X).tolist() == [[1.0, -1.0], [1.0, -1.0]]
    assert table.compile(atol=1e-9).grad(X).tolist() == [[0.0, 0.0], [1.0, -1.0]]


def test_parametric_convention_needs_params():
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z))
    with pytest.raises(mt.ConventionError, match="params="):
        table.compile()
    ev = table.compile(params={z: 0.25})
    assert ev.grad(np.array([-1.0, 0.0, 2.0])).tolist() == [[0.0], [0.25], [1.0]]


def test_bad_points_and_tables():
    ev = table_of("max4").compile()
    with pytest.raises(mt.InputError, match=r"\(N, 4\)"):
        ev.value(np.zeros((3, 2)))
    with pytest.raises(mt.InputError, match="non-finite"):
        ev.value(np.full((1, 4), np.nan))
    t = mt.derive(lambda x: mt.relu(x), "x")
    t.graph = None
    with pytest.raises(mt.InputError, match="no graph"):
        t.compile()


def test_product_pieces_compile():
    # f^alpha = x1^2 + x2: its gradient depends on the point ("inhomogeneous" ValueError before)
    t = mt.derive(lambda x: x[0] * x[0] + x[1], 2)
    assert t.compile().grad(np.array([[3.0, 1.0], [-0.5, 2.0]])).tolist() == [[6.0, 1.0], [-1.0, 1.0]]
    v = mt.derive(lambda x: [x[0] * x[1] * x[1], mt.relu(x[0]) * x[1]], 2)
    X = np.array([[3.0, 1.0], [-2.0, 5.0]])
    want = [[[float(c) for c in v.grad_at(tuple(int(a) for a in x)).row(i)] for i in range(2)] for x in X]
    assert v.compile().grad(X).tolist() == want == [[[1.0, 6.0], [1.0, 3.0]], [[25.0, -20.0], [0.0, 0.0]]]


def test_compile_walks_a_deep_graph_once(monkeypatch):
    # a chain of relus: one ancestor search per switching node made compile() quadratic in the depth
    # (10^4 relus: 101 s); count the nodes the searches visit
    import networkx as nx

    from mtsym.graph import Graph
    n = 2000
    visited = [0]
    nx_ancestors, walk = nx.ancestors, Graph.ancestors_of

    def counted(fn):
        def inner(*args):
            out = fn(*args)
            visited[0] += len(out)
            return out
        return inner
    monkeypatch.setattr(nx, "ancestors", counted(nx_ancestors))
    monkeypatch.setattr(Graph, "ancestors_of", counted(walk))

    def chain(x):
        v = x[0]
        for _ in range(n):
            v = mt.relu(v)
        return v
    table = mt.derive(chain, 1)
    visited[0] = 0
    ev = table.compile()
    assert visited[0] <= 4 * (n + 1)
    assert ev.grad(np.array([[1.0], [0.0], [-1.0]])).ravel().tolist() == [1.0, 0.0, 0.0]


def test_bad_points_and_tolerances_are_input_errors():
    ev = table_of("max4").compile()
    with pytest.raises(mt.InputError, match="complex"):        # was silently truncated to the real part
        ev.value(np.array([[1 + 1j, 0, 0, 0]]))
    with pytest.raises(mt.InputError, match="not an array of real numbers"):
        ev.value([["a", 0, 0, 0]])
    for atol in (-1, float("nan"), float("inf"), "0.1"):
        with pytest.raises(mt.InputError, match="atol"):
            table_of("max4").compile(atol=atol)
