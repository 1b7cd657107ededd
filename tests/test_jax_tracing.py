"""JAX code traced through ``jax.make_jaxpr``: tie/kink tests against ``jax.grad``.

Tables are derived under the "last" convention: every jax primitive must carry
JAX's own rule regardless.
"""
import pytest
import sympy as sp

import mtsym as mt

jax = pytest.importorskip("jax")
jnp = jax.numpy
lax = jax.lax

R = sp.Rational


def jax_grad(fn, point):
    with jax.enable_x64(True):
        return [float(v) for v in jax.grad(fn)(jnp.array([float(c) for c in point]))]


def test_boustany_with_jnp_max_gives_minus_three_halves():
    def f(t):
        x = t * jnp.array([1., 2., 3., 4.])
        res = x[0]
        for i in range(1, 4):  # max1 has a Python `if`; under jax the loop is written with the first-wins rule
            res = jnp.where(x[i] > res, x[i], res)
        return res - jnp.max(x)
    table = mt.derive(f, "t", convention="last", framework="jax")
    assert list(table.grad_at((0,))) == [R(-3, 2)]
    assert list(table.grad_at((1,))) == [0] and list(table.grad_at((-1,))) == [0]
    with jax.enable_x64(True):
        assert float(jax.grad(f)(0.0)) == -1.5


def test_simplified_example_with_reduce_window_gives_minus_three():
    def mp(v):
        return lax.reduce_window(v, -jnp.inf, lax.max, (2,), (1,), "VALID")

    def f(t):
        return (mp(jnp.stack([t, 4 * t])) - mp(jnp.stack([4 * t, t])))[0]
    table = mt.derive(f, "t", convention="mean", framework="jax")
    assert list(table.grad_at((0,))) == [-3]
    with jax.enable_x64(True):
        assert float(jax.grad(f)(0.0)) == -3.0


W = [[1., -2., 0.5, 0.], [0.25, 0., 0., 3.]]
OPS = {
    "jnp.max": (lambda x: jnp.max(x), [(1, 3, 3, 2), (3, 1, 3, 3), (0, 0, 0, 0)]),
    "jnp.min": (lambda x: jnp.min(x), [(2, 1, 1, 5)]),
    "jnp.maximum chain": (lambda x: jnp.maximum(jnp.maximum(x[0], x[1]), x[2]), [(0, 0, 0, 0)]),
    "jax.nn.relu": (lambda x: jnp.sum(jax.nn.relu(x)), [(0, 0, 1, -1)]),
    "maximum(x, 0)": (lambda x: jnp.sum(jnp.maximum(x, 0.)), [(0, 0, 1, -1)]),
    "jnp.abs": (lambda x: jnp.sum(jnp.abs(x)), [(0, -1, 1, 0)]),
    "jnp.clip": (lambda x: jnp.sum(jnp.clip(x, -1., 1.)), [(-1, 1, 0, 2)]),
    "clip(x, 0, 0)": (lambda x: jnp.sum(jnp.clip(x, 0., 0.)), [(0, 1, -1, 0)]),
    "lax.clamp": (lambda x: jnp.sum(lax.clamp(-1., x, 1.)), [(-1, 1, 0, 2)]),
    "leaky_relu": (lambda x: jnp.sum(jax.nn.leaky_relu(x, 0.25)), [(0, -1, 1, 0)]),
    "hard_tanh": (lambda x: jnp.sum(jax.nn.hard_tanh(x)), [(-1, 1, 0, 2)]),
    "relu6": (lambda x: jnp.sum(jax.nn.relu6(x)), [(0, 6, 3, 7)]),
    "reduce_window 2d": (lambda x: jnp.sum(lax.reduce_window(x.reshape(2, 2), -jnp.inf, lax.max, (2, 1), (1, 1),
                                                             "VALID")), [(0, 0, 0, 0), (1, 2, 1, 2)]),
    "dot_general": (lambda x: jnp.sum(jax.nn.relu(jnp.array(W) @ x + 1.)), [(1, 1, 0, 0), (0, 0, 0, -1 / 3 * 0)]),
    "affine with constants": (lambda x: jnp.max(jnp.stack([2 * x[0] - 1., x[1] / 4, 3 - x[2]])), [(1, 4, 2, 0)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_each_jax_primitive_has_jaxs_gradient_at_its_ties(name):
    fn, points = OPS[name]
    table = mt.derive(fn, 4, convention="last", framework="jax")
    for p in points:
        got = [float(v) for v in table.grad_at(p)]
        assert got == pytest.approx(jax_grad(fn, p), abs=1e-12), (name, p)


def test_jax_entry_points_agree():
    from mtsym.frameworks.jax import derive_jax
    f = OPS["jnp.max"][0]
    assert derive_jax(f, 4).grad_at((0, 0, 0, 0)) == mt.derive(f, 4, framework="jax").grad_at((0, 0, 0, 0))


@pytest.mark.parametrize("fn, op", [
    (lambda x: jnp.exp(x[0]), "jax primitive exp"),
    (lambda x: jnp.argmax(x) * 1.0, "jax primitive argmax"),
    (lambda x: jax.nn.softplus(x[0]), "custom_jvp_call of logaddexp"),
])
def test_unsupported_jax_names_the_primitive_and_the_line(fn, op):
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(fn, 2, framework="jax")
    assert e.value.op.startswith(op)
    assert "test_jax_tracing.py" in e.value.line


def test_python_branch_on_a_jax_tracer_is_reported():
    def f(x):
        if x[0] > 0:
            return x[0]
        return x[1]
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(f, 2, framework="jax")
    assert e.value.op == "jax.make_jaxpr"


def test_unknown_framework_is_an_input_error():
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x[0], 1, framework="tensorflow")
