"""The staged graph sweep's shortcuts give what the plain sweep gives, bit for bit.

The plain reverse sweep reads every switching node's stored case codes and adds every
contribution into cleared rows.  Two shortcuts skip work: a rule whose cases follow from
its input values (a relu's sign, a max's winners) finds them again in the backward pass
(``lazy``: no codes written forward), and a stage that alone reads a run of rows writes
their adjoints outright (``owned``).  Here both are compared with the plain sweep on every
primitive, under every named convention, at points full of ties, with and without a
tolerance; and the key index of compiled tables with a dictionary.
"""

from fractions import Fraction
from itertools import product

import numpy as np
import pytest

import mtsym as mt
from mtsym.backends.keyindex import KeyIndex
from mtsym.backends.sweep import Schedule

CONVENTIONS = ("torch", "jax", "first", "last", "mean")


def _layers(x):
    W1 = np.array([[1, -1, 0], [2, 1, -1], [0, 1, 1], [1, 0, -2]])
    W2 = np.array([[1, -2, 1, 0], [-1, 1, 2, 1]])
    h = mt.relu(W1 @ x + np.array([0, -1, 1, 0]))
    return np.array([2, -3]) @ mt.relu(W2 @ h + 1) + mt.relu(x[2])


W1 = np.array([[1, -1, 0], [2, 1, -1], [0, 1, 1], [1, 0, -2]])
W2 = np.array([[1, -2, 1, 0], [-1, 1, 2, 1], [0, 1, -1, 1]])


def _last_layer(x):
    """A network's last layer: its adjoint is the same at every point (folded into the layers below)."""
    return np.array([2, -3, 1]) @ mt.relu(W2 @ mt.relu(W1 @ x + np.array([0, -1, 1, 0])) + 1)


def _two_outputs(x):
    h = mt.relu(W2 @ mt.relu(W1 @ x) - 1)
    return [np.array([1, 2, -1]) @ h, np.array([0, -1, 3]) @ h]


PROGRAMS = {
    "relu": (lambda x: mt.relu(x[0] - x[1]), 2),
    "abs": (lambda x: mt.abs(x[0] - x[1]) + mt.abs(x[1]), 2),
    "leaky_relu": (lambda x: mt.leaky_relu(x[0] - x[1], Fraction(1, 4)), 2),
    "relu layers": (_layers, 3),
    "last layer": (_last_layer, 3),
    "two outputs": (_two_outputs, 3),
    "abs layers": (lambda x: np.array([1, -1]) @ mt.abs(W2[:2] @ mt.relu(W1 @ x) - 1), 3),
    "max": (lambda x: mt.max(x) - mt.min(x), 3),
    "maximum": (lambda x: mt.maximum(x[0], x[1]) + mt.minimum(x[1], x[2]), 3),
    "maxpool 3x3": (lambda x: mt.maxpool2d(np.reshape(x, (3, 3)), 2, stride=1).sum(), 9),
    "max of 17": (lambda x: mt.max(list(x) + [x[0] + x[1]] * 8 + [x[1]] * 6), 3),
    "clamp": (lambda x: mt.clamp(x[0] - x[1], -1, 1), 2),
    "sort": (lambda x: np.array([1, -2, 3]) @ mt.sort(x), 3),
    "product": (lambda x: x[0] * x[1] + mt.relu(x[0]), 2),
}


def _points(n):
    grid = np.array(list(product((-1.0, 0.0, 1.0), repeat=n))) if n <= 4 else \
        np.random.default_rng(0).integers(-1, 2, size=(300, n)).astype(float)
    near = grid + np.random.default_rng(1).uniform(-0.3, 0.3, size=grid.shape)   # ties within 0.6 only
    return np.concatenate([grid, near])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_lazy_and_owned_sweeps_equal_the_plain_sweep(name, conv):
    fn, n = PROGRAMS[name]
    g = mt.trace(fn, n)
    X = _points(n)
    sched = Schedule(g, mt.Convention.get(conv))
    ref = Schedule(g, mt.Convention.get(conv))
    ref.owned = {}                    # every adjoint added into cleared rows
    outputs = g.outputs[0]
    for atol in (None, 0.6):
        V, C = ref.forward(X, atol)
        plain = ref.reverse(V, C, outputs).copy()
        V2, C2 = sched.forward(X, atol, lazy=True)
        fast = sched.reverse(V2, C2, outputs, lazy=True, atol=atol)
        assert np.array_equal(V, V2)
        assert np.array_equal(fast, plain), (name, conv, atol)
        assert np.isfinite(plain).all()


def test_the_shortcuts_are_taken():
    """Each sweep above would pass with no shortcut at all: check that they run where they should."""
    g = mt.trace(_layers, 3)
    sched = Schedule(g, mt.Convention.get("torch"))
    owners = {sched.stages[k].op for k in sched.owned}
    assert owners == {"relu", "affine"}      # relu layers own their affine rows, layers their relu rows
    rules = {st.op for st in sched.stages if st.rule.values_decide}
    assert rules == {"relu"}
    pool = Schedule(mt.trace(PROGRAMS["maxpool 3x3"][0], 9), mt.Convention.get("torch"))
    assert any(st.rule.values_decide and st.op == "maxpool" for st in pool.stages)
    for name, folded in (("last layer", {"adj", "wt"}), ("two outputs", {"adj"}), ("relu layers", set())):
        g = mt.trace(PROGRAMS[name][0], 3)
        sched = Schedule(g, mt.Convention.get("torch"))
        _, steps = sched._reverse_plan(tuple(g.outputs[0]), True)
        assert {key for *_, extra in steps for key in extra} == folded, name
        assert len(steps) == len(sched.stages) - (1 if folded else 0)   # the last layer's step is gone


def test_a_tie_gets_the_conventions_weights_without_codes():
    """max(x, y) at x = y: the lazy backward pass meets the tie and weighs it by the convention."""
    g = mt.trace(lambda x: mt.max([x[0], x[1]]), 2)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    for conv, want in (("torch", [0.5, 0.5]), ("first", [1.0, 0.0]), ("last", [0.0, 1.0])):
        sched = Schedule(g, mt.Convention.get(conv))
        V, C = sched.forward(X, lazy=True)
        J = sched.reverse(V, C, g.outputs[0], lazy=True)[:, 0, :].T
        assert J[0].tolist() == [1.0, 0.0] and J[1].tolist() == [0.0, 1.0]
        assert J[2].tolist() == want, conv


@pytest.mark.parametrize("space", [None, 1 << 12])
def test_key_index_finds_what_a_dictionary_finds(space):
    rng = np.random.default_rng(5)
    top = (1 << 12) if space else (1 << 62)
    K = np.unique(rng.integers(0, top, size=1500, dtype=np.int64))
    index = KeyIndex(K, space)
    queries = np.concatenate([K, rng.integers(0, top, size=5000, dtype=np.int64)])
    where = {int(k): i for i, k in enumerate(K)}
    assert index.find(queries).tolist() == [where.get(int(q), -1) for q in queries]


def test_key_index_probes_past_colliding_keys():
    # 300 keys in 1024 slots: by the birthday bound several share a slot, found by probing on
    K = np.random.default_rng(9).integers(0, 1 << 62, size=300, dtype=np.int64)
    index = KeyIndex(K)
    assert len(set(index._hash(K).tolist())) < len(K)
    assert index.find(K).tolist() == list(range(len(K)))
    assert index.find(K + 1).tolist() == [-1] * len(K)


@pytest.mark.parametrize("name", ["last layer", "relu layers", "two outputs"])
def test_a_bias_added_inside_the_product_changes_at_most_the_last_place(name):
    """``bias_in_product`` (evaluate's sweeps): the bias is one more column of a layer's product, over
    a row of ones; integer points give the same floats exactly (every sum is exact), others agree to
    rounding; the ones rows are refilled by every forward sweep, whatever the buffer held."""
    fn, n = PROGRAMS[name]
    g = mt.trace(fn, n)
    conv = mt.Convention.get("torch")
    plain, inside = Schedule(g, conv), Schedule(g, conv, bias_in_product=True)
    assert not plain.ones_rows and inside.ones_rows
    assert any(getattr(st, "Wb", None) is not None for st in inside.stages)
    X = _points(n)
    grid = len(X) // 2                      # _points: the integer grid, then the same points moved
    V0, C0 = plain.forward(X)
    J0 = plain.reverse(V0, C0, g.outputs[0]).copy()
    V1, C1 = inside.forward(X, reuse=True)
    V1[sorted(inside.ones_rows)] = 7.0       # a stale buffer: refilled below
    V1, C1 = inside.forward(X, reuse=True, lazy=True)
    J1 = inside.reverse(V1, C1, g.outputs[0], lazy=True)
    rows = [inside.rows[v] for v in sorted(plain.rows)]
    assert np.array_equal(V1[rows][:, :grid], V0[[plain.rows[v] for v in sorted(plain.rows)]][:, :grid])
    assert np.array_equal(J1[..., :grid], J0[..., :grid])
    np.testing.assert_allclose(V1[rows], V0[[plain.rows[v] for v in sorted(plain.rows)]], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(J1, J0, rtol=1e-13, atol=1e-13)


def test_compiled_keys_by_a_float_product_equal_the_integer_sums():
    """A compiled table keys each point by ``sum((code + off) * mult)``: below 2^53 as one float64
    product, above by an integer loop; both give the same keys (relus and a max with ties)."""
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) + mt.relu(x[0] + x[1] - 1) + mt.max([x[0], x[1], 0]), 2)
    ev = t.compile()
    X = np.concatenate([np.array(list(product((-1.0, 0.0, 0.5, 1.0), repeat=2))),
                        np.random.default_rng(2).normal(size=(200, 2))])
    _, C = ev.sched.forward(X)
    assert ev._exact_keys and ev._space < 2 ** 53
    fast = ev._keys(C)
    ev._space = 2 ** 60                          # the integer route
    slow = ev._keys(C)
    assert fast.dtype == slow.dtype == np.int64 and np.array_equal(fast, slow)
    assert len(set(fast.tolist())) > 5           # the points lie in several strata
