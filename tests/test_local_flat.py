"""Flat ties in the local analysis: a max-pooling window of ReLUs that are all off near the point ties
in value but is no kink, so it is neither counted as tied nor split; lex_grad against torch's
autograd away from ties, and against exact difference quotients at ties."""

import random
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.flat import flat_tie, zero_nodes
from mtsym.local.sweep import Sweep
from mtsym.primitives import PRIMITIVES
from test_local import closure_holds      # noqa: E402  (tests/ is on the path, as for tests/models)

torch = pytest.importorskip("torch")

# a 1-D convolution of width 2 (3 channels: kernel and bias), ReLU, max pooling over the 2 positions
KERNELS = ((1, 1, -10), (1, -1, 0), (2, -1, 1))
HEAD = (1, -2, 3)


def conv_relu_pool(x):
    h = np.array([[mt.relu(k0 * x[i] + k1 * x[i + 1] + b) for i in range(2)] for k0, k1, b in KERNELS])
    return mt.maxpool2d(h, (1, 2)).reshape(-1) @ np.array(HEAD)


def conv_relu_pool_torch(x):
    w = torch.tensor([[k[:2]] for k in KERNELS], dtype=x.dtype)               # (3, 1, 2)
    b = torch.tensor([k[2] for k in KERNELS], dtype=x.dtype)
    h = torch.relu(torch.nn.functional.conv1d(x.view(1, 1, 3), w, b))          # (1, 3, 2)
    return torch.nn.functional.max_pool1d(h, 2).view(3) @ torch.tensor(HEAD, dtype=x.dtype)


X0 = (1, 1, 1)   # channel 0: both ReLUs off (a flat window); channel 1: ReLUs at 0; channel 2: 2 = 2


def test_flat_window_is_found_and_not_counted():
    g = mt.trace(conv_relu_pool, 3)
    sw = Sweep(g, mt.Convention("torch"))
    sw.start(X0)
    sw._values_to(len(sw.nodes))
    zero, flat = zero_nodes(sw.nodes, sw.vals)
    pools = [v for v in range(len(sw.nodes)) if sw.nodes[v][0].name == "maxpool"]
    assert len(pools) == 3
    assert [p in flat for p in pools] == [True, False, False]       # only channel 0's window is flat
    assert all(u in zero for u in sw.nodes[pools[0]][1])             # its two ReLUs are 0 near X0
    assert not any(u in zero for u in sw.nodes[pools[1]][1])         # channel 1's ReLUs tie at 0: a kink
    # the same definition the audit uses, on explicit forms
    assert flat_tie(PRIMITIVES["maxpool"], (2,), [{}, {}], [0, 0])
    assert not flat_tie(PRIMITIVES["maxpool"], (2,), [{0: 1}, {1: 1}], [0, 0])


def test_star_with_a_flat_window_is_the_full_tables_strata_at_the_point():
    full = mt.derive(conv_relu_pool, 3)
    star = mt.derive(conv_relu_pool, 3, around=X0)
    # tied: channel 1's two ReLUs and its window, channel 2's window; not channel 0's flat window
    assert star.tied == 4
    expected = {s.path: s for s in full.strata if closure_holds(s, X0)}
    got = {s.path: s for s in star.strata}
    assert set(got) == set(expected)
    for path, s in got.items():
        assert s.dim == expected[path].dim and s.forms == expected[path].forms
        assert expected[path].contains(s.witness)
    assert star.grad_at(X0) == full.grad_at(X0)
    assert star.clarke_at(X0).gradients == full.clarke_at(X0).gradients


def _torch_grad(x):
    xt = torch.tensor([float(c) for c in x], dtype=torch.float64, requires_grad=True)
    conv_relu_pool_torch(xt).backward()
    return xt.grad.tolist()


def test_lex_grad_is_torchs_gradient_where_nothing_ties():
    rng = random.Random(11)
    g = mt.trace(conv_relu_pool, 3)
    for _ in range(20):
        x = tuple(Fraction(rng.randint(-400, 400), 37) for _ in range(3))
        lex = [Fraction(str(c)) for c in mt.lex_grad(g, x)]
        assert lex == [Fraction(c).limit_denominator(1000) for c in _torch_grad(x)]   # integer-weight net


def _f(x):
    return Fraction(conv_relu_pool(x))


@pytest.mark.parametrize("directions", [None, [(0, 0, -1), (0, 1, 0), (1, 0, 0)], [(1, 1, 1), (0, 1, 0), (1, 0, 0)]])
def test_lex_grad_at_ties_is_the_difference_quotient_along_the_lexicographic_directions(directions):
    # at X0 (flat and genuine ties) and at a point where channel 2's window ties alone
    for x0 in (X0, (0, 1, 1)):
        dirs = directions or [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
        e = Fraction(1, 2 ** 8)
        p = [Fraction(c) for c in x0]
        for k, d in enumerate(dirs, 1):
            p = [a + e ** k * b for a, b in zip(p, d)]
        h = e ** 6                                   # far inside the piece p lies in
        quotients = [(_f([a + h * (i == j) for j, a in enumerate(p)]) - _f(p)) / h for i in range(3)]
        lex = [Fraction(str(c)) for c in mt.lex_grad(conv_relu_pool, x0, inputs=3, directions=directions)]
        assert lex == quotients, (x0, directions)


def test_lenet_at_a_digit_image_and_at_a_random_image():
    # LeNet-5 as the PyTorch tutorial writes it, on an 8x8 digit brought to 32x32 (4x4 blocks: ties)
    import sys
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from models.lenet import Net
    torch.manual_seed(0)
    net = Net().double().eval()

    def f(x):
        return net(torch.nn.functional.interpolate(x.view(1, 1, 8, 8), scale_factor=4))[0][0]
    g = mt.trace(f, 64)
    rng = np.random.default_rng(0)
    x = rng.random(64)                                         # nothing ties at a random image
    xt = torch.tensor(x, requires_grad=True)
    f(xt).backward()
    lex = np.array([float(c) for c in mt.lex_grad(g, x)])
    assert np.allclose(lex, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    from sklearn.datasets import load_digits
    img = load_digits().data[0] / 16                           # exact in binary: k/16
    sw = Sweep(g, mt.Convention("torch"))
    sw.start(tuple(Fraction(c) for c in img))
    sw._values_to(len(sw.nodes))
    zero, flat = zero_nodes(sw.nodes, sw.vals)
    assert flat                                                # windows of ReLUs off on the blank border
    r = mt.is_clarke(g, img)
    assert r.verdict in ("yes", "no") or "limiting gradient" in r.reason      # decided, or says why not


def test_a_swept_graph_still_pickles():
    # the audit sends graphs to Dask workers; what sweeps keep about a graph stays outside it
    import pickle
    g = mt.trace(conv_relu_pool, 3)
    mt.lex_grad(g, X0)
    assert pickle.loads(pickle.dumps(g)).number_of_nodes() == g.number_of_nodes()
