"""±inf as the identity of max/min: running maxima started at ``float("-inf")``, ``-inf`` padding and
tensor entries, ``-inf`` literals in jaxprs.  Tie tests against the frameworks at exact points."""
import pytest

import mtsym as mt
from mtsym.examples import max1
from mtsym.exact import INF, NEG_INF

torch = pytest.importorskip("torch")

from models.textbook import max_subarray as kadane, running_max  # noqa: E402  (the gallery's, as written)


def torch_grad(fn, point):
    x = torch.tensor([float(c) for c in point], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(fn(x), x)
    return g.tolist()


def test_running_max_from_minus_infinity_is_the_first_wins_loop():
    table = mt.derive(running_max, 3)
    # no node for -inf (the first comparison is decided): two comparisons, three outcomes each, as Table 1's loop
    assert len(table) == 3 and len(table.strata) == 3 ** 2 == len(mt.derive(max1, 3).strata)
    for p in [(1, 1, 1), (0, 2, 2), (3, 1, 3), (-1, -2, -3)]:
        assert [float(v) for v in table.grad_at(p)] == torch_grad(running_max, p)
    assert table.check(running_max).complete


def test_kadane_maximum_subarray():
    table = mt.derive(kadane, 3)
    for p in [(1, -3, 2), (0, 0, 0), (-1, -1, -1), (2, -2, 2), (1, -1, 1)]:
        assert table.value_at(p) == kadane(list(p))
        assert [float(v) for v in table.grad_at(p)] == torch_grad(kadane, p)
    report = table.check(kadane)
    assert report.ok and any(e.dim < 3 for e in report.agreeing)


def test_minus_infinity_in_max_like_ops_is_dropped():
    f = lambda x: mt.maximum(x[0], float("-inf")) + mt.max([x[1], NEG_INF, x[0]]) + mt.min(x[1], INF)  # noqa
    table = mt.derive(f, 2)
    assert [str(v) for v in table.grad_at((0, 0))] == ["3/2", "3/2"]       # max of the two finite ones ties
    assert mt.derive(lambda x: mt.sort([x[0], NEG_INF, x[1], INF])[1], 2).grad_at((1, 2)).tolist() == [[1, 0]]
    assert mt.call_exact(lambda x: mt.relu(NEG_INF) + mt.clamp(INF, 0, 1) + x[0], 1, (5,)) == 6


def test_minus_infinity_tensor_entries_and_padding():
    mask = torch.tensor([0.0, float("-inf"), 0.0], dtype=torch.float64)
    f = lambda x: torch.max(x + mask) + torch.nn.functional.max_pool1d(  # noqa: E731
        torch.nn.functional.pad(x[None], (1, 1), value=float("-inf")), 2, stride=1).sum()
    table = mt.derive(f, 3)
    for p in [(0, 0, 0), (1, 5, 1), (2, -1, 2)]:
        assert [float(v) for v in table.grad_at(p)] == torch_grad(f, p)
    assert table.check(f).ok


def test_minus_infinity_literal_in_a_jaxpr():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    f = lambda x: jnp.max(x, initial=-jnp.inf) + jnp.max(jnp.pad(x, 1, constant_values=-jnp.inf)[:2])  # noqa
    table = mt.derive(f, 3, framework="jax")
    with jax.enable_x64(True):
        g = jax.grad(f)(jnp.zeros(3))
    assert [float(v) for v in table.grad_at((0, 0, 0))] == [float(v) for v in g]
    assert table.check(f, framework="jax").ok


def test_infinities_compare_beyond_every_traced_value():
    assert mt.derive(lambda t: t if t > float("-inf") else 2 * t, "t").grad_at((0,)).tolist() == [[1]]
    assert mt.derive(lambda t: t if float("inf") > t else 2 * t, "t").grad_at((0,)).tolist() == [[1]]
    assert mt.derive(lambda t: t + 5 / INF, "t").value_at((1,)) == 1
