"""Local analysis against the full table: the star of a point, lexicographic and directional
derivatives, Clarke verdicts, restricted enumeration.  The oracle is always independent of the
code under test: the full partition (its strata whose closure holds the point), the table's
associated gradient at an exact point ``x0 + e e1 + e^2 e2 + ...``, exact difference quotients of
the program itself, or known combinatorics."""

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.examples import boustany, boustany_maxpool, max1
from mtsym.local.star import LocalTable


# --------------------------------------------------------------------------- programs
def relu_net(seed, sizes=(2, 3, 3, 1)):
    """A ReLU net with small integer weights and biases (many ties at integer points)."""
    rng = random.Random(seed)
    Ws = [[[rng.randint(-2, 2) for _ in range(a)] for _ in range(b)] for a, b in zip(sizes, sizes[1:])]
    bs = [[rng.randint(-1, 1) for _ in range(b)] for b in sizes[1:]]

    def f(x):
        h = x
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = np.array(W) @ h + np.array(b)
            if k < len(Ws) - 1:
                h = mt.relu(h)
        return h[0]
    return f


def max_comp(x):
    return mt.maximum(mt.max(x[0], x[1], 1), x[0] + x[1] - 1) - mt.relu(x[1] - x[0])


def pool(x):
    return mt.maxpool1d([x[0], x[1], x[0] + x[1], 2 * x[1] - x[0]], 2, stride=1).sum() - mt.max(x)


def vector(x):
    return [mt.relu(x[0] - x[1]), mt.max(x[0], x[1], 0) + mt.min(x[0], -x[1])]


PROGRAMS = [
    ("max4", lambda x: mt.max(x), 3),
    ("max1", max1, 3),                       # Python branches: explored with every test decided at x0
    ("max_comp", max_comp, 2),
    ("pool", pool, 2),
    ("vector", vector, 2),
    ("relu_net_0", relu_net(0), 2),
    ("relu_net_1", relu_net(1), 2),
    ("relu_net_2", relu_net(2, (3, 3, 2, 1)), 3),
]


def closure_holds(stratum, x0):
    for form, s in stratum.constraints:
        v = form[0] + sum(c * x for c, x in zip(form[1:], x0))
        if (s == 0 and v != 0) or s * v < 0:
            return False
    return True


def points_of(table, k=3):
    """Vertices, edge points, tie points and interior points: witnesses of strata of each dimension."""
    out = [(0,) * table.n]
    for d in range(table.n + 1):
        out += [tuple(s.record.witness) for s in table.strata if s.dim == d][:k]
    return list(dict.fromkeys(out))


@pytest.mark.parametrize("name,fn,n", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_star_is_the_strata_whose_closure_holds_the_point(name, fn, n):
    full = mt.derive(fn, n)
    for x0 in points_of(full):
        star = mt.derive(fn, n, around=x0)
        assert isinstance(star, LocalTable)
        expected = {s.path: s for s in full.strata if closure_holds(s, x0)}
        got = {s.path: s for s in star.strata}
        assert set(got) == set(expected), (x0, sorted(got), sorted(expected))
        for path, s in got.items():
            e = expected[path]
            assert s.dim == e.dim and s.forms == e.forms
            assert e.contains(s.witness), (x0, s.witness)          # the witness lies in that stratum
            assert all(abs(a - b) < star.radius for a, b in zip(s.witness, x0)) if star.radius else True
        # the associated gradient at x0 itself, and at each witness, is the full table's
        assert star.grad_at(x0) == full.grad_at(x0)
        for s in star.strata:
            assert star.stratum_at(s.witness) is s


def test_star_grows_with_the_ties_not_the_network():
    # one tie (relu of x1 - x2) in a net of 40 relus that are all strict at x0
    def f(x):
        return mt.relu(x[0] - x[1]) + sum(mt.relu(x[0] + x[1] + k) for k in range(1, 41))
    star = mt.derive(f, 2, around=(1, 1))
    # the nearest strict relu is x1 + x2 + 1 = 3 at x0 with gradient (1, 1): 3/2, rounded down to 1
    assert star.tied == 1 and len(star.strata) == 3 and star.radius == 1
    assert [s.dim for s in star.strata] == [2, 2, 1]


def test_star_methods_on_a_local_table():
    star = mt.derive(boustany, "t", around=(0,))
    assert star.verify().ok
    assert [s.text for s in star.spurious()] == ["t = 0"]
    hull = star.clarke_at((0,))
    assert hull.description == "the single value 0"          # both sides of t = 0 have slope 0
    # every stratum of Boustany's function touches t = 0 and no test is strict there: the star is
    # the whole table, with no box, and prints as it does
    assert star.radius is None and star.to_latex() == mt.derive(boustany, "t").to_latex()
    # verification and Clarke on a 2-D star with a box around it
    s2 = mt.derive(max_comp, 2, around=(1, 0))
    rep = s2.verify()
    assert rep.ok and len(rep.rows) == len(s2.strata)
    with pytest.raises(mt.InputError, match="outside this local table"):
        s2.grad_at((1 + s2.radius, 1))


def test_plots_of_a_star_and_of_a_slice():
    pytest.importorskip("matplotlib")
    fig = mt.derive(boustany, "t", around=(0,)).plot()
    assert fig.axes[1].get_xlabel() == "t"
    s2 = mt.derive(max_comp, 2, around=(1, 0))
    plane = s2.plot(legend=False).axes[0]                           # the view box is the neighbourhood
    assert plane.get_xlim() == (1 - s2.radius, 1 + s2.radius)
    sl = mt.derive(relu_net(3, (4, 6, 6, 1)), 4, on=mt.plane((0, 1, -1, 0), (1, 0, 1, -1), (0, 1, -1, 1),
                                                             box=((-2, 2), (-2, 2))))
    fig = sl.plot(arrows=False, spurious=False)
    assert len(fig.axes[0].patches) == sum(1 for s in sl.strata if s.dim == 2)    # one polygon per cell


@pytest.mark.torch
def test_star_check_against_torch():
    torch = pytest.importorskip("torch")
    star = mt.derive(lambda x: mt.max(x[0], x[1], x[0] - x[1]), 2, around=(0, 0))
    report = star.check(lambda x: torch.max(torch.stack([x[0], x[1], x[0] - x[1]])))
    assert report.ok and report.complete and len(report.agreeing) == len(star.strata) == 7


def _weights(rows, cols, seed):
    rng = random.Random(seed)
    W = set()
    while len(W) < rows:
        W.add(tuple(rng.randint(-3, 3) for _ in range(cols)))
    return np.array(sorted(W))


def test_star_too_large_says_how_many_nodes_tie():
    W = _weights(12, 6, 0)
    f = lambda x: mt.relu(W @ x).sum()                              # 12 relus through 0, zero bias
    with pytest.raises(mt.LimitError) as e:
        mt.derive(f, 6, around=(0,) * 6, max_strata=50)
    msg = str(e.value)
    assert "12 switching node(s) tie at x0" in msg and "531,441" in msg and "mt.lex_grad" in msg
    assert "at least" in msg                                        # a proven lower bound: 3^rank > 50


# --------------------------------------------------------------------------- lex_grad
def _lex_point(x0, eps, directions):
    p = list(x0)
    e = eps
    for d in directions:
        p = [a + e * b for a, b in zip(p, d)]
        e *= eps
    return tuple(p)


@pytest.mark.parametrize("name,fn,n", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_lex_grad_is_the_gradient_just_beside_x0(name, fn, n):
    full = mt.derive(fn, n)
    eye = [tuple(int(i == j) for j in range(n)) for i in range(n)]
    eps = Fraction(1, 2 ** 12)
    rng = random.Random(n)
    for x0 in points_of(full):
        for dirs in (None, [tuple(-c for c in e) for e in reversed(eye)],
                     [tuple(rng.randint(-2, 2) for _ in range(n)) for _ in range(n)]):
            g = mt.lex_grad(fn, x0, inputs=n, directions=dirs)
            p = _lex_point(x0, eps, eye if dirs is None else dirs)
            assert g == full.grad_at(p), (x0, dirs)
            if dirs is None or sp.Matrix(dirs).rank() == n:
                hull = full.clarke_at(x0)
                assert any(g == h for h in hull.gradients)        # a limiting gradient


def test_lex_grad_with_fewer_directions_is_the_associated_gradient_of_that_stratum():
    full = mt.derive(lambda x: mt.max(x), 3)
    g = mt.lex_grad(lambda x: mt.max(x), (0, 0, 0), directions=[(1, 1, 0)])
    assert g == full.grad_at((1, 1, 0)) == sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 2), 0]])


def test_directional_derivative_is_the_exact_difference_quotient():
    rng = random.Random(5)
    for name, fn, n in PROGRAMS:
        full = mt.derive(fn, n)
        for x0 in points_of(full, 2):
            d = tuple(rng.randint(-3, 3) for _ in range(n))
            h = Fraction(1, 2 ** 20)
            f0 = mt.call_exact(fn, n, x0)
            f1 = mt.call_exact(fn, n, tuple(a + h * b for a, b in zip(x0, d)))
            got = mt.directional(fn, x0, d, inputs=n)
            if isinstance(f0, list):
                assert list(got) == [sp.Rational(b - a) / sp.Rational(h) for a, b in zip(f0, f1)]
            else:
                assert got == sp.Rational(f1 - f0) / sp.Rational(h)


def test_lex_grad_on_a_torch_module_at_a_float_point():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 1))
    x = torch.randn(5)
    g = mt.lex_grad(net, x)
    xt = x.clone().double().requires_grad_(True)
    net64 = net.double()
    net64(xt).sum().backward()
    assert np.allclose(np.array(g, dtype=float).ravel(), xt.grad.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- is_clarke
def test_is_clarke_exact_on_enumerable_stars():
    r = mt.is_clarke(boustany, (0,), inputs="t")
    assert (r.verdict, r.method) == ("no", "star")
    assert mt.is_clarke(boustany_maxpool, (0,), inputs="t").verdict == "no"
    r = mt.is_clarke(lambda x: mt.max(x), (0, 0, 0))            # torch's (1/3, 1/3, 1/3)
    assert (r.verdict, r.method) == ("yes", "star")
    assert sum(r.certificate["weights"]) == 1
    assert mt.is_clarke(lambda x: mt.max(x), (0, 0, 0), g=(1, 1, 0)).verdict == "no"
    # max1 (Python branches) at a tie: its own gradient is a limiting gradient
    assert mt.is_clarke(max1, (1, 1, 0)).verdict == "yes"


def test_is_clarke_certificates_when_the_star_is_too_large():
    W = _weights(12, 6, 0)
    v = np.array([(-1) ** i for i in range(12)])
    f = lambda x: v @ mt.relu(W @ x)
    # torch: relu'(0) = 0 at all 12 relus; they are all off on a full-dimensional cone (the 12 rows of
    # W, in R^6, admit d with W d < 0 iff no convex combination of them is 0: checked here exactly)
    r = mt.is_clarke(f, (0,) * 6, max_strata=50)
    assert (r.verdict, r.method) == ("yes", "cone")
    d = r.certificate["direction"]
    assert all(c < 0 for c in (sp.Matrix(W) * d.T))                # every relu input < 0 along d
    assert set(r.certificate["cases"].values()) == {-1}
    assert r.gradient == sp.zeros(1, 6)
    # a vector outside the affine span of all limiting gradients: a proven "no"
    g = [1, 0, 0, 0, 0, 0]
    W2 = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0]] * 6)
    h = lambda x: mt.relu(W2 @ x).sum()
    r = mt.is_clarke(h, (0,) * 6, g=g, max_strata=2)
    assert (r.verdict, r.method) == ("no", "span")


# --------------------------------------------------------------------------- regions
@pytest.mark.parametrize("name,fn,n", [p for p in PROGRAMS if p[2] == 2], ids=[p[0] for p in PROGRAMS if p[2] == 2])
def test_a_box_holding_every_vertex_has_the_full_tables_strata(name, fn, n):
    full = mt.derive(fn, n)
    pts = [s.record.witness for s in full.strata]
    R = max(abs(c) for p in pts for c in p) + 1
    on_box = mt.derive(fn, n, on=mt.box((-R,) * n, (R,) * n))
    plane = mt.derive(fn, n, on=mt.plane((0, 0), (1, 0), (0, 1), box=((-R, R), (-R, R))))
    for t in (on_box, plane):
        assert sorted(s.dim for s in t.strata) == sorted(s.dim for s in full.strata)
        assert len(t.pieces) == len(full.pieces)
    # the plane's own coordinates are s, t; its gradient in the original inputs is the table's
    for s in plane.strata:
        assert plane.input_grad(s) == full.grad_at(s.record.witness)


def test_segment_strata_are_the_crossings():
    # the segment from (-2, -1) to (2, 1) crosses relu kinks of x1 - x2 - 1/2 and x1 + x2
    f = lambda x: mt.relu(x[0] - x[1] - Fraction(1, 2)) + mt.relu(x[0] + x[1])
    seg = mt.derive(f, 2, on=mt.segment((-2, -1), (2, 1)))
    assert [str(s.witness[0]) for s in sorted(seg.strata, key=lambda s: s.witness) if s.dim == 0] == ["1/2", "3/4"]
    assert str(seg.symbols[0]) == "t"
    assert seg.value_at((Fraction(7, 8),)) == f_exact(f, (Fraction(3, 2), Fraction(3, 4)))
    with pytest.raises(mt.InputError, match="outside the region"):
        seg.grad_at((1,))


def f_exact(f, p):
    return mt.call_exact(f, 2, p)


def test_plane_slice_through_a_net_matches_a_fine_grid():
    fn = relu_net(3, (4, 6, 6, 1))
    rng = random.Random(0)
    x0 = tuple(rng.randint(-1, 1) for _ in range(4))
    u, v = (1, 0, 1, -1), (0, 1, -1, 1)
    sl = mt.derive(fn, 4, on=mt.plane(x0, u, v, box=((-2, 2), (-2, 2))))
    # every activation pattern a 101 x 101 grid sees is one of the slice's cells (exact: dyadic grid)
    cells = {tuple(sorted(s.cases.items())) for s in sl.strata if s.dim == 2}
    grid = [Fraction(k, 25) - 2 for k in range(1, 100)]
    for a in grid[::7]:
        for b in grid[::7]:
            s = sl.stratum_at((a, b))
            assert s.contains((a, b))
            if s.dim == 2:
                assert tuple(sorted(s.cases.items())) in cells


# --------------------------------------------------------------------------- trace
def test_trace_of_branch_free_code_does_not_enumerate():
    W = np.array([[k, 1] for k in range(20)])
    f = lambda x: mt.relu(W @ x).sum()
    g = mt.trace(f, 2, max_strata=5)           # 81 strata: enumerating would stop at the limit
    assert g.number_of_nodes() == 2 + 20 + 20 + 1
    assert str(g) == str(mt.trace(f, 2))
    # a branching program is still traced along every path
    assert len(mt.trace(max1, 3).outputs) == 3


def test_trace_still_refuses_a_product_under_a_relu():
    with pytest.raises(mt.NonAffineError, match="relu"):
        mt.trace(lambda x: mt.relu(x[0] * x[1]), 2)


def test_wide_affine_combinations_are_exact():
    from mtsym.exact import aff_comb
    rng = random.Random(7)
    for _ in range(20):
        m, k = rng.randint(9, 30), rng.randint(1, 4)
        ws = [Fraction(rng.randint(-9, 9), rng.choice([1, 2, 3, 8, 1024])) for _ in range(m)]
        fs = [tuple(Fraction(rng.randint(-9, 9), rng.choice([1, 5, 16])) for _ in range(k)) for _ in range(m)]
        c = Fraction(rng.randint(-3, 3), 7)
        expected = tuple(sum((w * f[j] for w, f in zip(ws, fs)), Fraction(0)) + (c if j == 0 else 0)
                         for j in range(k))
        assert aff_comb(ws, fs, c) == expected
    z = sp.Symbol("z")
    assert aff_comb([z] + [1] * 9, [(1, 2)] * 10) == (z + 9, 2 * z + 18)     # symbols: the general path


def test_local_analysis_of_a_traced_graph_and_of_max_pooling():
    # a max-pooling layer on an image with tied pixels, traced once and analysed at two points
    def net(x):
        return mt.maxpool2d(x.reshape(4, 4), 2).reshape(-1) @ np.array([1, -2, 3, 1])
    g = mt.trace(net, 16)
    img = (0, 0, 1, 1,  0, 0, 1, 2,  3, 1, 2, 2,  3, 3, 0, 1)    # windows: 4-way tie, 2 wins, 3-way, 2-way
    star = mt.derive(g, 16, around=img)
    assert star.tied == 3 and len(star.strata) == 15 * 7 * 3       # non-empty tie sets per window
    assert star.program is None                                   # no oracle: verify's checks 1, 2, 4 are skipped
    full_dim = [s for s in star.strata if s.dim == 16]
    assert len(full_dim) == 4 * 3 * 2                             # one winner per tied window
    lex = mt.lex_grad(g, img)
    assert any(lex == star.pieces[s.piece].grad for s in full_dim)
    r = mt.is_clarke(g, img)                                      # torch: each window's first tied pixel
    assert (r.verdict, r.method) == ("yes", "star")
    with pytest.raises(mt.LimitError, match="3 switching node.*at least 315"):   # independent windows
        mt.derive(g, 16, around=img, max_strata=100)
    r = mt.is_clarke(g, img, max_strata=100)                      # the same verdict by certificate
    assert (r.verdict, r.method) == ("yes", "cone")


def test_bad_local_arguments():
    f = lambda x: mt.relu(x[0])
    with pytest.raises(mt.InputError, match="not both"):
        mt.derive(f, 2, around=(0, 0), on=mt.box((0, 0), (1, 1)))
    with pytest.raises(mt.InputError, match="on= takes"):
        mt.derive(f, 2, on=((0, 0), (1, 1)))
    with pytest.raises(mt.InputError, match="3 coordinates; the function has 2 inputs"):
        mt.lex_grad(f, (0, 0, 0), inputs=2)
    with pytest.raises(mt.InputError, match="independent"):
        mt.plane((0, 0), (1, 1), (2, 2))
    with pytest.raises(mt.InputError, match="not finite"):
        mt.directional(f, (float("nan"), 0), (1, 0))


def test_jax_code_at_a_tie():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    f = lambda x: jnp.max(x) - jax.nn.relu(x[0] - 2 * x[1])
    x0 = (0.0, 0.0)
    r = mt.is_clarke(f, x0, framework="jax")                # g: the associated gradient, what jax returns
    assert [float(c) for c in r.gradient] == [float(c) for c in jax.grad(f)(jnp.array(x0))]
    assert (r.verdict, r.method) == ("yes", "star")
    assert mt.lex_grad(f, x0, framework="jax") == mt.lex_grad(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), x0)
