"""table.check on ordinary float32 torch models: interior points with a certified margin.

The net is the 2-4-4-1 multilayer perceptron of the issue, in the idiom of the PyTorch
tutorials (``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``) with PyTorch's default
initialisation: its weights are float32 numbers, so no forward pass is exact, and before
the error bounds of :func:`mtsym.frameworks.points.float_certified` every stratum was skipped.
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.frameworks.points import float_certified, float_exact

torch = pytest.importorskip("torch")


def mlp(seed, sizes=(2, 4, 4, 1)):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_full_dimensional_stratum_of_a_default_initialised_net_is_checked(dtype):
    net = mlp(0)
    table = mt.derive(net, 2)
    report = table.check(net, dtype=dtype)
    full = [e for e in report if e.dim == 2]
    assert len(full) == sum(s.dim == 2 for s in table.strata) == 31
    assert all(e.status == "agree" for e in full), [e.line() for e in full if e.status != "agree"]
    assert report.ok and not report.differ and report.dtype == dtype


def test_certified_points_land_on_their_stratum_in_torch_float32():
    """The certificate's promise, against torch itself: at every certified point, the signs of
    torch's float32 pre-activations are the exact ones of the stratum."""
    net = mlp(3)
    table = mt.derive(net, 2)
    lin1, lin2 = net[0], net[2]
    grid = [Fraction(k, 8) for k in range(-24, 25, 3)]
    certified = refused = 0
    for p in itertools.product(grid, grid):
        s = table.stratum_at(p)
        ok, _ = float_certified(table.graph, s, p, 24)
        if not ok:
            refused += 1
            continue
        certified += 1
        with torch.no_grad():
            x = torch.tensor([float(c) for c in p], dtype=torch.float32)
            z1 = lin1(x)
            z2 = lin2(torch.relu(z1))
        W1 = lin1.weight.detach().double().numpy().astype(object)
        exact1 = [sum(Fraction(float(w)) * c for w, c in zip(row, p)) + Fraction(float(b))
                  for row, b in zip(W1, lin1.bias.detach().double().numpy())]
        assert [np.sign(float(v)) for v in z1] == [(v > 0) - (v < 0) for v in exact1]
        h = [max(v, 0) for v in exact1]
        W2 = lin2.weight.detach().double().numpy()
        exact2 = [sum(Fraction(float(w)) * c for w, c in zip(row, h)) + Fraction(float(b))
                  for row, b in zip(W2, lin2.bias.detach().double().numpy())]
        assert [np.sign(float(v)) for v in z2] == [(v > 0) - (v < 0) for v in exact2]
    assert certified > 200 and refused < certified


def test_a_point_near_a_kink_is_refused_and_a_tie_needs_exact_arithmetic():
    t = mt.derive(lambda x: mt.relu(0.1 * x[0] - 0.3 * x[1]), 2)
    near = (Fraction(3), Fraction(1) - Fraction(1, 2 ** 22))   # 0.1*3 - 0.3*x2 is tiny and positive
    s = t.stratum_at(near)
    assert s.dim == 2
    ok, why = float_certified(t.graph, s, near, 24)
    assert not ok and "rounding of a tie" in why
    assert float_certified(t.graph, s, near, 53)[0]          # float64 has the margin
    far = (1, 0)
    assert float_certified(t.graph, t.stratum_at(far), far, 24)[0]
    assert not float_exact(t.graph, t.stratum_at(far), far, 24)[0]


def test_exact_ties_are_still_certified():
    # every value is a small dyadic: the tie x1 = x2 of the max is computed exactly
    t = mt.derive(lambda x: mt.max(x[0], x[1]) + mt.relu(x[0] - 0.5), 2)
    p = (1, 1)
    s = t.stratum_at(p)
    assert s.dim == 1 and float_certified(t.graph, s, p, 24) == (True, "")
