"""The compiled chain rule (mtsym.chainrule) against grad f^alpha and against PyTorch.

Oracles: the gradient of each stratum's f^alpha (found by enumeration, independently of the
graph sweep), and torch autograd at the strata's witnesses of full dimension (the a.e. gradient).
The strata are swept in discovery order (small changes between neighbours, the fast path) and in
a shuffled order (many changes at once), so the incremental updates are exercised both ways.
"""
import random

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.chainrule import ChainPlan
from zoo import ZOO

W1 = np.array([[2, -1], [1, 3], [-2, -1], [1, -1]])
W2 = np.array([[1, -2, 1, 1], [-1, 1, 2, -1]])


def net(x):
    return (np.array([1, -1]) @ mt.relu(W2 @ mt.relu(W1 @ x + np.array([1, 0, -1, 2])) + np.array([0, 1])))


CASES = [
    ("max4 torch", lambda x: mt.max(x), 4, "torch"),
    ("max4 first", lambda x: mt.max(x), 4, "first"),
    ("maxpool", ZOO["poolnet"][0], 5, "torch"),
    ("kinks jax", ZOO["kinks"][0], 2, "jax"),
    ("vector mean", ZOO["vector"][0], 2, "mean"),
    ("net", net, 2, "torch"),
    ("sort", lambda x: mt.sort(x)[1] - mt.min(x[0], x[2]), 3, "torch"),
]


def expected(s):
    return [c for f in s.forms for c in f[1:]]


@pytest.mark.parametrize("name, fn, n, conv", CASES, ids=[c[0] for c in CASES])
def test_sweep_equals_the_gradient_of_f_alpha_in_any_order(name, fn, n, conv):
    t = mt.derive(fn, n, convention=conv)
    by_discovery = sorted(t.strata, key=lambda s: s.discovery)
    shuffled = list(by_discovery)
    random.Random(3).shuffle(shuffled)
    for order in (by_discovery, shuffled):
        plans = {}
        for s in order:
            outs = tuple(s.output_nodes)
            plan = plans.setdefault(outs, ChainPlan(t.graph, outs, t.convention, t.n))
            assert plan.ok
            assert plan.gradient_of(s.record) == expected(s), (name, s.text)
    # the same numbers through the {node: case} entry point
    plan = ChainPlan(t.graph, tuple(t.strata[0].output_nodes), t.convention, t.n)
    assert all(plan.gradient(s.cases) == expected(s) for s in shuffled
               if tuple(s.output_nodes) == tuple(t.strata[0].output_nodes))


def test_full_dimensional_strata_match_torch_autograd():
    torch = pytest.importorskip("torch")
    t = mt.derive(net, 2)
    plan = ChainPlan(t.graph, tuple(t.strata[0].output_nodes), t.convention, 2)
    tW1, tW2 = torch.tensor(W1, dtype=torch.float64), torch.tensor(W2, dtype=torch.float64)
    checked = 0
    for s in sorted(t.strata, key=lambda s: s.discovery):
        g = plan.gradient_of(s.record)
        if s.dim == 2:
            x = torch.tensor([float(v) for v in s.record.witness], dtype=torch.float64, requires_grad=True)
            f64 = dict(dtype=torch.float64)
            h = torch.relu(tW1 @ x + torch.tensor([1.0, 0, -1, 2], **f64))
            y = torch.tensor([1.0, -1], **f64) @ torch.relu(tW2 @ h + torch.tensor([0.0, 1], **f64))
            y.backward()
            assert [float(v) for v in g] == x.grad.tolist()
            checked += 1
    assert checked > 5


def test_parametric_convention_is_swept_in_full():
    z = sp.Symbol("z")
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) + 2 * mt.relu(x[0]), 2, convention=mt.Convention("torch", relu0=z))
    plan = ChainPlan(t.graph, tuple(t.strata[0].output_nodes), t.convention, 2)
    for s in sorted(t.strata, key=lambda s: s.discovery):
        got = plan.gradient_of(s.record)
        assert all(sp.expand(a - b) == 0 for a, b in zip(got, expected(s)))
    assert any(sp.Expr.has(sp.sympify(g), z) for s in t.strata for g in plan.gradient(s.cases))


def test_products_need_values_so_the_plan_steps_aside():
    t = mt.derive(ZOO["product"][0], 2)
    assert not ChainPlan(t.graph, tuple(t.strata[0].output_nodes), t.convention, 2).ok
