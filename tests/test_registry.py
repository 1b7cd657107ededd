"""The primitive registry is complete: every declaration carries everything an operation means.

For every registered primitive: a numpy rule, a parameter schema, a value of each
of its tie parameters under every named convention, a line in the graph's text
form, a JSON round trip, the compiled numpy rule agreeing with the exact table,
and a comparison with PyTorch autograd where PyTorch has the operation (in the
random-program property test, or here).  A new primitive without an entry in
``SAMPLES`` fails :func:`test_every_primitive_has_a_sample`.
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.conventions import NAMED, Convention
from mtsym.primitives import KINDS, PRIMITIVES, TIE_PARAMS
from mtsym.primitives.vectorized import Rule

from test_properties import PRIMITIVE_OF

torch = pytest.importorskip("torch")

#: primitive -> (a program that uses it, its inputs, the same program in torch or None)
SAMPLES = {
    "input": (lambda x: x[0], 2, lambda x: x[0]),
    "const": (lambda x: mt.maximum(x[0], 1), 1, lambda x: torch.maximum(x[0], torch.tensor(1.0, dtype=x.dtype))),
    "affine": (lambda x: 2 * x[0] - x[1] / 2 + 1, 2, lambda x: 2 * x[0] - x[1] / 2 + 1),
    "mul": (lambda x: x[0] * x[1] + mt.relu(x[0]), 2, lambda x: x[0] * x[1] + torch.relu(x[0])),
    "branch": (lambda x: x[0] if x[0] > x[1] else x[1], 2, lambda x: x[0] if x[0] > x[1] else x[1]),
    "relu": (lambda x: mt.relu(x[0] - x[1]), 2, lambda x: torch.relu(x[0] - x[1])),
    "abs": (lambda x: mt.abs(x[0] - x[1]), 2, lambda x: torch.abs(x[0] - x[1])),
    "leaky_relu": (lambda x: mt.leaky_relu(x[0] - x[1], Fraction(1, 4)), 2,
                   lambda x: torch.nn.functional.leaky_relu(x[0] - x[1], 0.25)),
    "max": (lambda x: mt.max(x), 3, lambda x: torch.amax(x)),
    "min": (lambda x: mt.min(x), 3, lambda x: torch.amin(x)),
    "maximum": (lambda x: mt.maximum(x[0], x[1]), 2, lambda x: torch.maximum(x[0], x[1])),
    "minimum": (lambda x: mt.minimum(x[0], x[1]), 2, lambda x: torch.minimum(x[0], x[1])),
    "maxpool": (lambda x: mt.maxpool1d(x, 2, stride=1), 3,
                lambda x: torch.nn.functional.max_pool1d(x.view(1, 1, -1), 2, stride=1).view(-1)),
    "clamp": (lambda x: mt.clamp(x[0] - x[1], -1, 1), 2, lambda x: torch.clamp(x[0] - x[1], -1, 1)),
    "order": (lambda x: mt.sort(x), 3, lambda x: torch.sort(x).values),
}


def test_every_primitive_has_a_sample():
    assert set(SAMPLES) == set(PRIMITIVES)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_declaration_is_complete(name):
    prim = PRIMITIVES[name]
    assert prim.kind in KINDS
    assert isinstance(prim.numpy, Rule) and prim.numpy.switching == prim.switching
    assert isinstance(prim.params, tuple)
    assert prim.linear is not None or prim.partials is not None or prim.kind == "branch"
    if prim.switching:
        assert prim.case_of is not None and prim.describe is not None and prim.tied is not None
    for t in prim.ties:
        assert TIE_PARAMS[t.name] is t


@pytest.mark.parametrize("key", sorted(TIE_PARAMS))
def test_each_tie_parameter_has_a_value_under_every_named_convention(key):
    t = TIE_PARAMS[key]
    for name in NAMED:
        assert getattr(Convention(name), key) == t.values[name]
        # the value is one the parameter accepts (a file holding it reads back)
        assert getattr(Convention.restore(name, name, {key: t.values[name]}), key) == t.values[name]
    assert key in Convention.__doc__


def _table(name):
    fn, inputs, _ = SAMPLES[name]
    return mt.derive(fn, inputs)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_prints_and_round_trips_through_json(name):
    table = _table(name)
    ops = {table.graph.nodes[v]["op"] for v in table.graph.nodes}
    assert name in ops
    text = str(table.graph)
    node = next(v for v in table.graph.nodes if table.graph.nodes[v]["op"] == name)
    assert f"n{node} = " in text
    back = mt.PieceTable.from_json(table.to_json())
    assert back.to_json() == table.to_json()
    for s in table.strata:
        assert back.grad_at(s.witness) == table.grad_at(s.witness)


def _torch_jacobian(fn, point):
    x = torch.tensor([float(v) for v in point], dtype=torch.float64, requires_grad=True)
    y = torch.as_tensor(fn(x)).reshape(-1)
    rows = []
    for k in range(y.numel()):
        if not y.requires_grad:
            rows.append([0.0] * len(point))
            continue
        g, = torch.autograd.grad(y[k], x, retain_graph=True, allow_unused=True)
        rows.append([0.0] * len(point) if g is None else g.tolist())
    return np.array(rows)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_numpy_rule_and_torch_agree_with_the_table_at_ties(name):
    fn, inputs, torch_fn = SAMPLES[name]
    table = _table(name)
    ev = table.compile()
    pts = list(itertools.product((-1, 0, 1), repeat=table.n))
    got = ev.grad(np.array(pts, dtype=float)).reshape(len(pts), -1, table.n)
    for p, g in zip(pts, got):
        want = np.array(table.grad_at(p), dtype=float).reshape(-1, table.n)
        assert np.allclose(g, want, atol=1e-12), (name, p)
        assert np.allclose(_torch_jacobian(torch_fn, p), want, atol=1e-12), (name, p)


def test_the_property_test_covers_every_primitive_torch_has():
    # input and const are in every program; mul is compared with torch above (products are not
    # switching quantities, so the random programs leave them out)
    assert set(PRIMITIVE_OF.values()) | {"input", "const", "mul"} == set(PRIMITIVES)
