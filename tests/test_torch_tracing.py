"""PyTorch code traced unchanged through ``__torch_function__``.

Tie/kink tests: mtsym's exact associated gradient at a tie against torch's own
autograd at the same (exactly representable) point.  The tables are derived
under conventions that differ from torch's ("last", "first", "mean"): a torch
op must carry torch's rule whatever the table's convention.
"""
import copy
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

R = sp.Rational
a = 4  # the paper's Table 1 reads the global `a`


def max1(x):
    res = x[0]
    for i in range(1, a):
        if x[i] > res: res = x[i]  # noqa: E701  (Table 1, as printed)
    return res


def max2(x):
    return torch.max(x)


def boustany(t):
    x = t * torch.tensor([1., 2., 3., 4.])
    return max1(x) - max2(x)


maxpool1d = torch.nn.MaxPool1d(2, stride=1)


def simplified(t):
    """Section 4.4: f(t) = maxpool1d(t, 4t) - maxpool1d(4t, t)."""
    return (maxpool1d(torch.stack([t, 4 * t])[None]) - maxpool1d(torch.stack([4 * t, t])[None]))[0, 0]


def torch_grad(fn, point, vector=True):
    """torch autograd at a point (float64, also for tensors fn creates): the independent oracle."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_grad(fn, point, vector)
    finally:
        torch.set_default_dtype(previous)


def _torch_grad(fn, point, vector):
    if vector:
        x = torch.tensor([float(c) for c in point], dtype=torch.float64, requires_grad=True)
        out = fn(x)
        (g,) = torch.autograd.grad(out, x, allow_unused=True)
        return [0.0] * len(point) if g is None else g.tolist()
    args = [torch.tensor(float(c), dtype=torch.float64, requires_grad=True) for c in point]
    gs = torch.autograd.grad(fn(*args), args, allow_unused=True)
    return [0.0 if g is None else g.item() for g in gs]


def mt_grad(table, point):
    return [float(v) for v in table.grad_at(point)]


# --------------------------------------------------------------------------- the paper's code
@pytest.mark.parametrize("conv", ["torch", "first", "last", "mean"])
def test_table1_code_as_printed_gives_minus_three_halves_at_zero(conv):
    table = mt.derive(boustany, "t", convention=conv)
    assert list(table.grad_at((0,))) == [R(-3, 2)]
    for t in (-1, R(-1, 2), R(-1, 100), R(1, 100), R(1, 2), 1):  # Table 2
        assert list(table.grad_at((t,))) == [0]
    assert torch_grad(boustany, (0,), vector=False) == [-1.5]


def test_section_4_4_maxpool1d_gives_minus_three_at_zero():
    for conv in ("torch", "last", "mean"):
        table = mt.derive(simplified, "t", convention=conv)
        assert list(table.grad_at((0,))) == [-3]
        for t in (-1, R(-1, 2), R(-1, 100), R(1, 100), R(1, 2), 1):  # Table 3
            assert list(table.grad_at((t,))) == [0]
    assert torch_grad(simplified, (0,), vector=False) == [-3.0]


def test_max_with_dim_gives_everything_to_the_first_index():
    """conventions.md surprise 2: with torch.max(x, dim) the Boustany derivative at 0 is 0."""
    def f(t):
        x = t * torch.tensor([1., 2., 3., 4.])
        return max1(x) - torch.max(x, dim=0).values
    table = mt.derive(f, "t", convention="mean")
    assert list(table.grad_at((0,))) == [0]
    assert torch_grad(f, (0,), vector=False) == [0.0]


def test_amax_splits_like_max():
    def f(t):
        x = t * torch.tensor([1., 2., 3., 4.])
        return max1(x) - torch.amax(x)
    assert list(mt.derive(f, "t", convention="first").grad_at((0,))) == [R(-3, 2)]


# --------------------------------------------------------------------------- each op at its ties
OPS = {
    "torch.max": (lambda x: torch.max(x), [(1, 3, 3, 2), (3, 1, 3, 3), (0, 0, 0, 0)]),
    "x.max()": (lambda x: x.max(), [(1, 3, 3, 2)]),
    "torch.amax": (lambda x: torch.amax(x), [(3, 1, 3, 3)]),
    "torch.min": (lambda x: torch.min(x), [(2, 1, 1, 5)]),
    "torch.amin": (lambda x: torch.amin(x), [(2, 1, 1, 1)]),
    "max(x, dim).values": (lambda x: torch.max(x, 0).values, [(1, 3, 3, 2), (0, 0, 0, 0)]),
    "min(x, dim)[0]": (lambda x: torch.min(x, dim=0)[0], [(2, 1, 1, 5)]),
    "max(x.view(2,2), dim=1)": (lambda x: torch.max(x.view(2, 2), dim=1).values.sum(), [(1, 1, 2, 2)]),
    "maximum(maximum(a,b),c)": (lambda x: torch.maximum(torch.maximum(x[0], x[1]), x[2]), [(0, 0, 0, 0)]),
    "torch.max(stack)": (lambda x: torch.max(torch.stack([x[0], x[1], x[2]])), [(0, 0, 0, 0)]),
    "torch.minimum": (lambda x: torch.minimum(x[0], x[1]), [(1, 1, 0, 0)]),
    "torch.max(a, b)": (lambda x: torch.max(x[0], x[1]), [(2, 2, 0, 0)]),
    "torch.relu": (lambda x: torch.relu(x[0]) + torch.relu(x[1] - x[2]), [(0, 1, 1, 0)]),
    "F.relu": (lambda x: F.relu(x).sum(), [(0, 0, 1, -1)]),
    "nn.ReLU": (lambda x: nn.ReLU()(x).sum(), [(0, 0, 1, -1)]),
    "F.leaky_relu": (lambda x: F.leaky_relu(x, 0.25).sum(), [(0, -1, 1, 0)]),
    "torch.abs": (lambda x: torch.abs(x).sum(), [(0, -1, 1, 0)]),
    "torch.clamp": (lambda x: torch.clamp(x, -1, 1).sum(), [(-1, 1, 0, 2)]),
    "clamp(x, 0, 0)": (lambda x: torch.clamp(x, 0, 0).sum(), [(0, 1, -1, 0)]),
    "clamp_min": (lambda x: torch.clamp_min(x, 1).sum() + x.clamp(max=2).sum(), [(1, 2, 0, 3)]),
    "F.hardtanh": (lambda x: F.hardtanh(x).sum(), [(-1, 1, 0, 2)]),
    "F.relu6": (lambda x: F.relu6(x).sum(), [(0, 6, 3, 7)]),
    "nn.ReLU6": (lambda x: nn.ReLU6()(x).sum(), [(0, 6, 3, 7)]),
    "F.max_pool1d": (lambda x: F.max_pool1d(x[None], 2, stride=1).sum(), [(0, 0, 0, 0), (1, 3, 3, 2)]),
    "nn.MaxPool1d(3, 2)": (lambda x: nn.MaxPool1d(3, stride=2, padding=1)(x.reshape(1, 4)).sum(), [(0, 0, 0, 0)]),
    "F.max_pool2d": (lambda x: F.max_pool2d(x.reshape(1, 2, 2), 2).sum(), [(0, 0, 0, 0), (1, 2, 2, 1)]),
    "nn.MaxPool2d": (lambda x: nn.MaxPool2d(1)(x.reshape(1, 1, 2, 2)).sum(), [(0, 0, 0, 0)]),
    "t * tensor": (lambda x: torch.max(x[0] * torch.tensor([1., -2., 3.])), [(0, 0, 0, 0)]),
    "tensor @ x": (lambda x: torch.relu(torch.tensor([[1., -1., 0., 0.], [0., 0., 2., -2.]]) @ x).sum(),
                   [(1, 1, 0, 0)]),
    "cat/flatten/unsqueeze": (lambda x: torch.max(torch.cat([x[:2], x[2:]]).unsqueeze(0).flatten()),
                              [(1, 1, 1, 0)]),
    "reshape/transpose": (lambda x: torch.amax(torch.reshape(x, (2, 2)).t(), dim=0).sum(), [(1, 1, 1, 1)]),
    "sum/mean": (lambda x: torch.relu(x.sum() - 2 * torch.mean(x)), [(1, 1, 0, 0)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_torch_op_has_torchs_gradient_at_its_ties(name):
    fn, points = OPS[name]
    table = mt.derive(fn, 4, convention="last")   # "last" differs from torch almost everywhere
    for p in points:
        assert mt_grad(table, p) == pytest.approx(torch_grad(fn, p), abs=1e-12), (name, p)


def test_sequential_of_linear_and_relu_has_exact_weights():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    table = mt.derive(lambda x: net(x)[0], 2)
    net = copy.deepcopy(net)
    w = net[0].weight.detach().double().numpy()
    b = net[0].bias.detach().double().numpy()
    # the switching quantities are the float32 weights as exact rationals
    forms = {tuple(f) for s in table.strata for f, _ in s.constraints}
    for j in range(3):
        row = tuple(Fraction(float(v)) for v in (b[j], *w[j]))
        den = 1
        for v in row:
            den = den * v.denominator // np.gcd(den, v.denominator)
        ints = [int(v * den) for v in row]
        g = int(np.gcd.reduce([abs(v) for v in ints]))
        assert tuple(v // g for v in ints) in forms
    # finite-difference-free: at full-dimensional witnesses the gradient is torch's
    net64 = net.double()  # same exact weights, float64 arithmetic
    for s in table.strata:
        if s.dim == 2:
            assert mt_grad(table, s.witness) == pytest.approx(torch_grad(lambda x: net64(x)[0], s.witness), rel=1e-9)


def test_values_of_shape_ops_match_torch():
    def f(x):
        y = torch.stack([x[0], 2 * x[1]])
        z = torch.cat([y, x[2:]]).reshape(2, 2).flatten()
        return F.linear(z, torch.tensor([[1., 0.5, -1., 2.]]), torch.tensor([0.25]))[0]
    table = mt.derive(f, 4)
    p = (1, 2, 3, 4)
    assert float(table.value_at(p)) == f(torch.tensor([1., 2., 3., 4.])).item() == 8.25


def test_torch_ops_are_marked_in_the_graph():
    text = str(mt.trace(lambda x: torch.max(x, 0).values + F.hardtanh(x[0]), 2, convention="mean"))
    assert "ties torch(reduce=first)" in text and "ties torch(clamp=0)" in text


# --------------------------------------------------------------------------- refusals
REFUSED = {
    "torch.Tensor.add_": (lambda x: torch.ones(2, dtype=torch.float64).add_(x).sum(), "traced arrays only"),
    "torch.add": (lambda x: torch.add(x, 1, out=torch.empty(2)).sum(), "out="),
    "item assignment": (lambda x: x.__setitem__(0, x[1]), "in-place"),
    "item": (lambda x: x.max().item(), ".item()"),
    "torch.nonzero": (lambda x: torch.nonzero(x), "depends on the input"),
    "torch.max(x, dim).indices": (lambda x: x[torch.max(x, 0).indices], "depends on the input"),
    "torch.exp": (lambda x: torch.exp(x).sum(), "not piecewise linear"),
    "torch.equal": (lambda x: torch.equal(torch.tensor([1., 2.]), x), "one Python bool"),
    "torch.sigmoid": (lambda x: torch.sigmoid(x).sum(), "not piecewise linear"),
}


@pytest.mark.parametrize("op", sorted(REFUSED))
def test_untraceable_torch_code_names_the_op_and_the_line(op):
    fn, words = REFUSED[op]
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(fn, 2)
    assert e.value.op == op
    assert words in str(e.value)
    assert "test_torch_tracing.py" in e.value.line


def test_in_place_ops_write_into_the_traced_array_as_torch_does():
    """``inplace=True``, ``torch.relu_`` and ``x.add_`` change the array every alias holds (torchvision's
    ``nn.ReLU(inplace=True)``, a residual block's ``identity = x``)."""
    def f(x):
        y = x.view(2, 2) * 1
        alias = y
        y.add_(-1)
        torch.relu_(alias)
        return alias.sum() + y[0, 0] + nn.ReLU(inplace=True)(x * 2).sum()
    table = mt.derive(f, 4)
    for p in [(1, -1, 2, 0), (0, 0, 0, 0), (-1, 3, -2, 1)]:
        assert mt_grad(table, p) == torch_grad(f, p)
        assert float(table.value_at(p)) == f(torch.tensor([float(c) for c in p], dtype=torch.float64)).item()


def test_torch_tensor_of_traced_values_is_torchs_own_error():
    """torch.tensor reads its entries itself; the docs say to use torch.stack."""
    with pytest.raises(Exception):
        mt.derive(lambda t: torch.tensor([t, 2 * t]).sum(), "t")
    assert list(mt.derive(lambda t: torch.stack([t, 2 * t]).sum(), "t").grad_at((1,))) == [3]


def test_an_all_zero_row_is_still_a_traced_value():
    # (W @ x)[1] was the int 0, and torch.relu(0) torch's own TypeError
    W = torch.tensor([[1.0, -1.0], [0.0, 0.0]])
    t = mt.derive(lambda x: torch.relu((W @ x)[1]) + torch.relu((W @ x)[0]), 2)
    assert t.grad_at((2, 1)) == sp.Matrix([[1, -1]]) and t.grad_at((0, 0)) == sp.Matrix([[0, 0]])
    assert t.check(lambda x: torch.relu((W @ x)[1]) + torch.relu((W @ x)[0])).ok
    t = mt.derive(lambda x: mt.relu((np.zeros((1, 2)) @ x)[0]) + x[0], 2)
    assert t.grad_at((1, 1)) == sp.Matrix([[1, 0]])
