"""Pin every row of conventions.md that mtsym models: the framework itself, run here, against mtsym.

For each row three numbers must equal the value conventions.md records:
the framework's own autograd at the tie; mtsym's named convention ("torch" or
"jax") applied to mtsym's operations; and mtsym tracing the framework's code
under a table convention that differs ("mean"), which only the pinned
framework rule can bring back.  A framework upgrade that changes a rule fails
here first.
"""
from fractions import Fraction

import pytest

import mtsym as mt

torch = pytest.importorskip("torch")
F = torch.nn.functional

H, Q, T = Fraction(1, 2), Fraction(1, 4), Fraction(1, 3)


from mtsym.examples import max1 as _first_wins  # noqa: E402  (Table 1's loop works on tensors too)


def _last_wins(x):
    res = x[0]
    for i in range(1, len(x)):
        if x[i] >= res:
            res = x[i]
    return res


def _sum(v):
    return v if not hasattr(v, "__len__") else sum(v[i] for i in range(len(v)))


# name: (torch code, the same with mtsym ops, point, conventions.md's gradient)
TORCH_ROWS = {
    "relu at 0": (lambda x: torch.relu(x[0]), lambda x: mt.relu(x[0]), (0,), [0]),
    "leaky_relu(s) at 0": (lambda x: F.leaky_relu(x[0], 0.25), lambda x: mt.leaky_relu(x[0], 0.25), (0,), [Q]),
    "abs at 0": (lambda x: torch.abs(x[0]), lambda x: mt.abs(x[0]), (0,), [0]),
    "clamp at lo": (lambda x: torch.clamp(x[0], -1, 1), lambda x: mt.clamp(x[0], -1, 1), (-1,), [1]),
    "clamp at hi": (lambda x: torch.clamp(x[0], -1, 1), lambda x: mt.clamp(x[0], -1, 1), (1,), [1]),
    "clamp(x, 0, 0) at 0": (lambda x: torch.clamp(x[0], 0, 0), lambda x: mt.clamp(x[0], 0, 0), (0,), [1]),
    "clamp_min at the bound": (lambda x: torch.clamp_min(x[0], 2), lambda x: mt.clamp(x[0], min=2), (2,), [1]),
    "clamp_max at the bound": (lambda x: torch.clamp_max(x[0], 2), lambda x: mt.clamp(x[0], max=2), (2,), [1]),
    "hardtanh at -1": (lambda x: F.hardtanh(x[0]), None, (-1,), [0]),
    "hardtanh at 1": (lambda x: F.hardtanh(x[0]), None, (1,), [0]),
    "relu6 at 0": (lambda x: F.relu6(x[0]), None, (0,), [0]),
    "relu6 at 6": (lambda x: F.relu6(x[0]), None, (6,), [0]),
    "maximum(a, b) at a = b": (lambda x: torch.maximum(x[0], x[1]), lambda x: mt.maximum(x[0], x[1]), (1, 1),
                               [H, H]),
    "minimum(a, b) at a = b": (lambda x: torch.minimum(x[0], x[1]), lambda x: mt.minimum(x[0], x[1]), (1, 1),
                               [H, H]),
    "builtin max(a, b) at a = b": (lambda x: max(x[0], x[1]), lambda x: max(x[0], x[1]), (1, 1), [1, 0]),
    "builtin min(a, b) at a = b": (lambda x: min(x[0], x[1]), lambda x: min(x[0], x[1]), (1, 1), [1, 0]),
    "max(x), 3 tied": (lambda x: torch.max(x), lambda x: mt.max(x), (2, 2, 2), [T, T, T]),
    "amax(x), 2 tied": (lambda x: torch.amax(x), lambda x: mt.max(x), (2, 0, 2), [H, 0, H]),
    "min(x), 2 tied": (lambda x: torch.min(x), lambda x: mt.min(x), (0, 0, 2), [H, H, 0]),
    "amin(x), 3 tied": (lambda x: torch.amin(x), lambda x: mt.min(x), (1, 1, 1), [T, T, T]),
    "max(x, dim).values, 3 tied": (lambda x: torch.max(x, 0).values, None, (2, 2, 2), [1, 0, 0]),
    "min(x, dim).values, 2 tied": (lambda x: torch.min(x, dim=0).values, None, (3, 0, 0), [0, 1, 0]),
    "MaxPool1d(3) window tie": (lambda x: torch.nn.MaxPool1d(3)(x[None])[0, 0],
                                lambda x: mt.maxpool1d(x, 3)[0], (1, 1, 1), [1, 0, 0]),
    "MaxPool2d(2) window tie": (lambda x: torch.nn.MaxPool2d(2)(x.reshape(1, 2, 2))[0, 0, 0],
                                lambda x: mt.maxpool2d(x.reshape(2, 2), 2)[0, 0], (0, 5, 5, 5), [0, 1, 0, 0]),
    "loop with >": (_first_wins, _first_wins, (1, 1, 1), [1, 0, 0]),
    "loop with >=": (_last_wins, _last_wins, (1, 1, 1), [0, 0, 1]),
    # the observed values to pin
    "MaxPool1d(2, 1) on zeros(2)": (lambda x: _sum(torch.nn.MaxPool1d(2, stride=1)(x[None])[0]),
                                    lambda x: _sum(mt.maxpool1d(x, 2, stride=1)), (0, 0), [1, 0]),
    "MaxPool1d(2, 1) on zeros(4)": (lambda x: torch.nn.MaxPool1d(2, stride=1)(x[None]).sum(),
                                    lambda x: mt.maxpool1d(x, 2, stride=1).sum(), (0,) * 4, [1, 1, 1, 0]),
    "MaxPool1d(3, 2) on zeros(7)": (lambda x: torch.nn.MaxPool1d(3, stride=2)(x[None]).sum(),
                                    lambda x: mt.maxpool1d(x, 3, stride=2).sum(), (0,) * 7, [1, 0, 1, 0, 1, 0, 0]),
    "MaxPool1d(2, 2) on [1, 3, 3, 2]": (lambda x: torch.nn.MaxPool1d(2, stride=2)(x[None]).sum(),
                                        lambda x: mt.maxpool1d(x, 2, stride=2).sum(), (1, 3, 3, 2), [0, 1, 1, 0]),
    "MaxPool2d(2, 1) on zeros(3x3)": (lambda x: torch.nn.MaxPool2d(2, stride=1)(x.reshape(1, 3, 3)).sum(),
                                      lambda x: mt.maxpool2d(x.reshape(3, 3), 2, stride=1).sum(), (0,) * 9,
                                      [1, 1, 0, 1, 1, 0, 0, 0, 0]),
    "maximum(maximum(a, b), c) at a = b = c": (lambda x: torch.maximum(torch.maximum(x[0], x[1]), x[2]),
                                               lambda x: mt.maximum(mt.maximum(x[0], x[1]), x[2]), (0, 0, 0),
                                               [Q, Q, H]),
    "max(stack(a, b, c)) at a = b = c": (lambda x: torch.max(torch.stack([x[0], x[1], x[2]])),
                                         lambda x: mt.max([x[0], x[1], x[2]]), (0, 0, 0), [T, T, T]),
    "max([1, 3, 3, 2])": (lambda x: torch.max(x), lambda x: mt.max(x), (1, 3, 3, 2), [0, H, H, 0]),
    "max([3, 1, 3, 3])": (lambda x: torch.max(x), lambda x: mt.max(x), (3, 1, 3, 3), [T, 0, T, T]),
    # order statistics (measured here with torch 2.13.0 CPU)
    "sort(x)[3] at [3, 1, 3, 3, 2] (stable)": (lambda x: torch.sort(x).values[3], lambda x: mt.sort(x)[3],
                                              (3, 1, 3, 3, 2), [0, 0, 1, 0, 0]),
    "sort(x, descending)[0] at [3, 1, 3, 3, 2]": (lambda x: torch.sort(x, descending=True).values[0],
                                                  lambda x: mt.sort(x, descending=True, convention=REVERSE)[0],
                                                  (3, 1, 3, 3, 2), [1, 0, 0, 0, 0]),
    "sort(x, descending)[2] on zeros(4)": (lambda x: torch.sort(x, descending=True).values[2],
                                           lambda x: mt.sort(x, descending=True, convention=REVERSE)[2],
                                           (0, 0, 0, 0), [0, 0, 1, 0]),
    "msort(x)[1] on zeros(3)": (lambda x: torch.msort(x)[1], lambda x: mt.sort(x)[1], (0, 0, 0), [0, 1, 0]),
    "median(x) at [3, 1, 3, 3, 2]": (lambda x: torch.median(x), lambda x: mt.sort(x, convention=MEAN_ORDER)[2],
                                     (3, 1, 3, 3, 2), [T, 0, T, T, 0]),
    "median(x) on zeros(4)": (lambda x: torch.median(x), lambda x: mt.sort(x, convention=MEAN_ORDER)[1],
                              (0, 0, 0, 0), [Q, Q, Q, Q]),
    "median(x, 0) at [3, 1, 3, 3, 2]": (lambda x: torch.median(x, 0).values, lambda x: mt.sort(x)[2],
                                        (3, 1, 3, 3, 2), [1, 0, 0, 0, 0]),
    "median(x, 0) on zeros(4)": (lambda x: torch.median(x, 0).values, lambda x: mt.sort(x)[1], (0, 0, 0, 0),
                                 [0, 1, 0, 0]),
    # more pooling and activations
    "prelu(0.25) at 0": (lambda x: F.prelu(x, torch.tensor([0.25], dtype=x.dtype))[0],
                         lambda x: mt.leaky_relu(x[0], 0.25), (0,), [Q]),
    "MaxPool1d(3, 2, ceil_mode) on zeros(4)": (lambda x: F.max_pool1d(x[None], 3, 2, ceil_mode=True).sum(),
                                               None, (0,) * 4, [1, 0, 1, 0]),
    "MaxPool1d(2, 1, dilation=2) on zeros(4)": (lambda x: F.max_pool1d(x[None], 2, 1, dilation=2).sum(),
                                                None, (0,) * 4, [1, 1, 0, 0]),
    "AdaptiveMaxPool1d(2) on zeros(5)": (lambda x: F.adaptive_max_pool1d(x[None], 2).sum(), None, (0,) * 5,
                                         [1, 0, 1, 0, 0]),
}

REVERSE = mt.Convention("torch", order="reverse")
MEAN_ORDER = mt.Convention("torch", order="mean")


def _torch_grad(fn, point):
    x = torch.tensor([float(c) for c in point], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(fn(x), x, allow_unused=True)
    return [0.0] * len(point) if g is None else g.tolist()


@pytest.mark.parametrize("row", sorted(TORCH_ROWS))
def test_torch_row(row):
    torch_fn, mt_fn, point, want = TORCH_ROWS[row]
    n = len(point)
    assert _torch_grad(torch_fn, point) == [float(w) for w in want], "torch changed: update conventions.md"
    traced = mt.derive(torch_fn, n, convention="mean")
    assert list(traced.grad_at(point)) == want
    if mt_fn is not None:
        assert list(mt.derive(mt_fn, n, convention="torch").grad_at(point)) == want


def test_torch_relu_written_three_ways():
    """conventions.md surprise 1: relu -> 0, clamp(min=0) -> 1, maximum(x, 0) -> 1/2 at 0."""
    fns = [lambda x: torch.relu(x[0]), lambda x: torch.clamp(x[0], min=0),
           lambda x: torch.maximum(x[0], torch.tensor(0., dtype=torch.float64))]
    for fn, want in zip(fns, ([0.0], [1.0], [0.5])):
        assert _torch_grad(fn, (0,)) == want
        assert [float(v) for v in mt.derive(fn, 1, convention="last").grad_at((0,))] == want


# --------------------------------------------------------------------------- jax
JAX_ROWS = {
    "relu at 0": ("relu", lambda x: mt.relu(x[0]), (0,), [0]),
    "leaky_relu(s) at 0": ("leaky", lambda x: mt.leaky_relu(x[0], 0.25), (0,), [1]),
    "abs at 0": ("abs", lambda x: mt.abs(x[0]), (0,), [1]),
    "clip at lo": ("clip", lambda x: mt.clamp(x[0], -1, 1), (-1,), [H]),
    "clip at hi": ("clip", lambda x: mt.clamp(x[0], -1, 1), (1,), [H]),
    "clip(x, 0, 0) at 0": ("clip0", lambda x: mt.clamp(x[0], 0, 0), (0,), [Q]),
    "hard_tanh at -1": ("hard_tanh", None, (-1,), [1]),
    "hard_tanh at 1": ("hard_tanh", None, (1,), [1]),
    "relu6 at 0": ("relu6", None, (0,), [0]),
    "relu6 at 6": ("relu6", None, (6,), [0]),
    "maximum(a, b) at a = b": ("maximum", lambda x: mt.maximum(x[0], x[1]), (1, 1), [H, H]),
    "minimum(a, b) at a = b": ("minimum", lambda x: mt.minimum(x[0], x[1]), (1, 1), [H, H]),
    "max(x), 3 tied": ("max", lambda x: mt.max(x), (2, 2, 2), [T, T, T]),
    "min(x), 2 tied": ("min", lambda x: mt.min(x), (0, 0, 2), [H, H, 0]),
    "reduce_window max tie": ("pool", lambda x: mt.maxpool1d(x, 3)[0], (1, 1, 1), [1, 0, 0]),
    "reduce_window max(2, 1) on zeros(4)": ("pool21", lambda x: mt.maxpool1d(x, 2, stride=1).sum(), (0,) * 4,
                                            [1, 1, 1, 0]),
    "maximum(maximum(a, b), c) at a = b = c": ("max3", lambda x: mt.maximum(mt.maximum(x[0], x[1]), x[2]),
                                               (0, 0, 0), [Q, Q, H]),
    "max([1, 3, 3, 2])": ("max", lambda x: mt.max(x), (1, 3, 3, 2), [0, H, H, 0]),
    "max([3, 1, 3, 3])": ("max", lambda x: mt.max(x), (3, 1, 3, 3), [T, 0, T, T]),
    # order statistics (measured here with jax 0.10.2)
    "jnp.sort(x)[3] at [3, 1, 3, 3, 2]": ("sort3", lambda x: mt.sort(x)[3], (3, 1, 3, 3, 2), [0, 0, 1, 0, 0]),
    "jnp.sort(x, descending)[0] at [3, 1, 3, 3, 2]": ("sortdesc0", lambda x: mt.sort(x, descending=True)[0],
                                                      (3, 1, 3, 3, 2), [0, 0, 0, 1, 0]),
    "jnp.sort(x, stable=False)[1] on zeros(3)": ("unstable1", lambda x: mt.sort(x)[1], (0, 0, 0), [0, 1, 0]),
    "lax.top_k(x, 2)[1] on zeros(4)": ("topk1", lambda x: mt.sort(x, descending=True, convention=JAX_REV)[1],
                                       (0, 0, 0, 0), [0, 1, 0, 0]),
    "jnp.median on zeros(4)": ("median", None, (0, 0, 0, 0), [0, H, H, 0]),
    "jnp.median at [3, 1, 3, 3, 2]": ("median", None, (3, 1, 3, 3, 2), [1, 0, 0, 0, 0]),
}

JAX_REV = mt.Convention("jax", order="reverse")


def _jax_fns():
    jax = pytest.importorskip("jax")
    jnp, lax = jax.numpy, jax.lax
    return jax, {
        "relu": lambda x: jax.nn.relu(x[0]),
        "leaky": lambda x: jax.nn.leaky_relu(x[0], 0.25),
        "abs": lambda x: jnp.abs(x[0]),
        "clip": lambda x: jnp.clip(x[0], -1., 1.),
        "clip0": lambda x: jnp.clip(x[0], 0., 0.),
        "hard_tanh": lambda x: jax.nn.hard_tanh(x[0]),
        "relu6": lambda x: jax.nn.relu6(x[0]),
        "maximum": lambda x: jnp.maximum(x[0], x[1]),
        "minimum": lambda x: jnp.minimum(x[0], x[1]),
        "max": lambda x: jnp.max(x),
        "min": lambda x: jnp.min(x),
        "pool": lambda x: lax.reduce_window(x, -jnp.inf, lax.max, (3,), (3,), "VALID")[0],
        "pool21": lambda x: jnp.sum(lax.reduce_window(x, -jnp.inf, lax.max, (2,), (1,), "VALID")),
        "max3": lambda x: jnp.maximum(jnp.maximum(x[0], x[1]), x[2]),
        "sort3": lambda x: jnp.sort(x)[3],
        "sortdesc0": lambda x: jnp.sort(x, descending=True)[0],
        "unstable1": lambda x: jnp.sort(x, stable=False)[1],
        "topk1": lambda x: lax.top_k(x, 2)[0][1],
        "median": lambda x: jnp.median(x),
    }


@pytest.mark.parametrize("row", sorted(JAX_ROWS))
def test_jax_row(row):
    jax, fns = _jax_fns()
    key, mt_fn, point, want = JAX_ROWS[row]
    fn = fns[key]
    with jax.enable_x64(True):
        got = [float(v) for v in jax.grad(fn)(jax.numpy.array([float(c) for c in point]))]
    assert got == [float(w) for w in want], "jax changed: update conventions.md"
    assert list(mt.derive(fn, len(point), convention="mean", framework="jax").grad_at(point)) == want
    if mt_fn is not None:
        assert list(mt.derive(mt_fn, len(point), convention="jax").grad_at(point)) == want
