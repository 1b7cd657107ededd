"""The audit's float passes: what the certified float64 pass proves is the exact case, every time.

Oracle: exact rational arithmetic at every sample (each node by its primitive's exact rule, each
case by ``case_of``), independent of the float passes.  Points: the zoo's integer grids (full of
ties), random points, and points within a few ulps of a kink; weights with inexact decimals
(0.1, 1/3 as a rational) so that the float64 values are rounded.
"""
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.audit.exact import ExactSample, walk
from mtsym.audit.layers import trace_model
from mtsym.audit.passes import Passes
from mtsym.primitives import PRIMITIVES
from zoo import ZOO, random_points, tie_grid

W = np.array([[0.1, -0.7, 0.3], [1 / 3, 0.2, -0.9], [0.25, 0.25, -0.5]])
B = np.array([0.1, -0.2, 0.0])
THIRD = Fraction(1, 3)


def rounded_net(x):
    h = mt.relu(W @ x + B)
    h = mt.leaky_relu(h[0] - THIRD * h[1] + x[2], Fraction(1, 10)), mt.abs(h[2] - 0.1)
    return mt.max([h[0], h[1], mt.clamp(x[0] * 0.3, -0.2, 0.2)]) + mt.sort([x[0], x[1] + 0.1, x[2]])[1]


def _near_kinks(seed=0, N=300):
    """Points where rounded_net's first layer is within a few ulps of zero (and exact zeros)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    rows = rng.integers(0, 3, N)
    for i in range(N):   # solve W[r] @ x + B[r] = 0 for x[2], then nudge by 0, 1 or 2 ulps
        r = rows[i]
        x2 = -(B[r] + W[r, 0] * X[i, 0] + W[r, 1] * X[i, 1]) / W[r, 2]
        X[i, 2] = x2
        for _ in range(rng.integers(0, 3)):
            X[i, 2] = np.nextafter(X[i, 2], np.inf if rng.random() < 0.5 else -np.inf)
    X[:20] = 0.0
    return X


CASES = {name: (ZOO[name][0], ZOO[name][1], np.concatenate([tie_grid(ZOO[name][1], ZOO[name][3]),
                                                            random_points(ZOO[name][1], 200, seed=3)]))
         for name in ("max4", "mlp", "poolnet", "kinks", "vector", "product")}
CASES["rounded"] = (rounded_net, 3, np.concatenate([_near_kinks(), random_points(3, 200, seed=5)]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_proved_case_is_the_exact_case(name):
    fn, inputs, X = CASES[name]
    conv = mt.Convention("torch")
    t = trace_model(fn, inputs, conv)
    P = Passes(t.graph, conv, t.outputs)
    C, proved = P.certified(X)
    nodes = P.switching_nodes()
    n_proved = n_tied = 0
    for s in range(X.shape[0]):
        es = ExactSample(t.graph, [Fraction(v) for v in X[s]])
        for r, v in enumerate(nodes):
            exact = es.case(v)
            tied = PRIMITIVES[t.graph.nodes[v]["op"]].tied(exact, t.graph.nodes[v]["params"])
            if proved[r, s]:
                n_proved += 1
                assert P.case(v, int(C[r, s])) == exact, (name, s, v)
                assert not tied
            n_tied += bool(tied)
    assert n_proved > 0.5 * proved.size      # the filter proves most cases
    assert n_tied > 0                         # and the points do meet ties


def test_float32_pass_decides_as_float32_arithmetic():
    # 1 + 2**-24 rounds to 1 in float32, not in float64
    g = mt.trace(lambda x: mt.relu(x[0] + x[1] - 1), 2)
    P = Passes(g, mt.Convention("torch"))
    X = np.array([[1.0, 2.0 ** -24]])
    _, C32 = P.framework(X, np.float32)
    _, C64 = P.framework(X, np.float64)
    assert C32.tolist() == [[0]] and C64.tolist() == [[1]]


@pytest.mark.parametrize("name", sorted(n for n, p in PRIMITIVES.items() if p.switching))
def test_tied_is_the_zero_answers_of_the_primitive_tests(name):
    """``prim.tied(case)`` is non-empty exactly when the tests generator answers some sign test 0."""
    from test_registry import SAMPLES
    fn, inputs, _ = SAMPLES[name]
    table = mt.derive(fn, inputs)
    g = table.graph
    seen = set()
    for s in table.strata:
        es = ExactSample(g, [Fraction(v) for v in s.witness])
        for v in g.switching_nodes():
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            if d["op"] != name:
                continue
            xs = es.inputs_of(v) if prim.kind != "branch" else [es.value(u) for u in d["inputs"]]
            case, _, quantities = walk(prim, xs, d["params"])
            assert case == prim.case_of(xs, d["params"])
            zeros = sum(1 for q in quantities if q == 0)      # sign tests answered 0 (Choice steps are None)
            tied = prim.tied(case, d["params"])
            seen.add(bool(tied))
            assert bool(tied) == (zeros > 0), (name, case)
            assert len(tied) >= zeros
    assert seen == {True, False}
