"""JAX layers traced through their jaxprs: ``conv_general_dilated`` (``stax.Conv``), ``reduce_window_sum``
(``stax.AvgPool``), ``cumsum``, ``pad``, ``gather`` with constant indices; float32 parameters next to float64
inputs (taken at their exact values); ``mt.evaluate(..., framework="jax")``.  Checked against ``jax.grad`` /
``jax.jacrev`` in float64, with dyadic weights (exact arithmetic, so ties are JAX's ties)."""
import numpy as np
import pytest

import mtsym as mt

jax = pytest.importorskip("jax")
jnp, lax = jax.numpy, jax.lax


def jacobian(fn, X):
    with jax.enable_x64(True):
        flat = lambda v: jnp.ravel(fn(v))  # noqa: E731
        return (np.asarray(jax.vmap(flat)(jnp.asarray(X)), dtype=float),
                np.asarray(jax.vmap(jax.jacrev(flat))(jnp.asarray(X)), dtype=float))


def agrees(fn, n, X=None, ref=None):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.integers(-8, 9, size=(5, n)) / 4, np.zeros((1, n))]) if X is None else X
    r = mt.evaluate(fn, X, inputs=n, framework="jax")
    value, grad = jacobian(ref or fn, X)
    return np.array_equal(r.value.reshape(value.shape), value) and np.array_equal(r.grad.reshape(grad.shape), grad)


W = np.arange(-8, 10).reshape(3, 3, 1, 2) / 4          # HWIO, float64


@pytest.mark.parametrize("kw", [dict(window_strides=(1, 1), padding="SAME"),
                                dict(window_strides=(2, 1), padding=((1, 0), (0, 2)), rhs_dilation=(1, 2)),
                                dict(window_strides=(1, 1), padding=((0, 0), (1, 1)), lhs_dilation=(2, 1))])
def test_conv_general_dilated(kw):
    def f(x):
        y = lax.conv_general_dilated(x.reshape(1, 4, 4, 1), W, dimension_numbers=("NHWC", "HWIO", "NHWC"), **kw)
        return jax.nn.relu(y).ravel()
    assert agrees(f, 16)


def test_stax_cnn_with_float32_parameters_at_their_exact_values():
    from jax.example_libraries import stax
    init, apply = stax.serial(stax.Conv(2, (2, 2)), stax.Relu, stax.AvgPool((2, 2), (1, 1)), stax.Flatten,
                              stax.Dense(3))
    _, params = init(jax.random.PRNGKey(0), (1, 4, 4, 1))
    assert params[0][0].dtype == jnp.float32
    f = lambda x: apply(params, x.reshape(1, 4, 4, 1))[0]  # noqa: E731
    params64 = jax.tree_util.tree_map(lambda p: np.asarray(p, dtype=np.float64), params)
    ref = lambda x: apply(params64, x.reshape(1, 4, 4, 1))[0]  # noqa: E731
    X = np.random.default_rng(1).random((4, 16))
    r = mt.evaluate(f, X, inputs=16, framework="jax")
    value, grad = jacobian(ref, X)
    assert np.allclose(r.value, value, rtol=1e-12, atol=1e-12) and np.allclose(r.grad, grad, rtol=1e-12,
                                                                               atol=1e-12)


def test_pooling_cumsum_pad_gather():
    def f(x):
        m = lax.reduce_window(x.reshape(3, 3), -jnp.inf, lax.max, (2, 2), (1, 1), "SAME")
        s = lax.reduce_window(x.reshape(3, 3), 0.0, lax.add, (2, 1), (1, 1), "VALID")
        return jnp.concatenate([m.ravel(), s.ravel(), jnp.cumsum(x)[::3], jnp.pad(x[:2], (1, 2)),
                                x[jnp.array([4, 0, 8])]])
    assert agrees(f, 9)
    table = mt.derive(lambda x: jnp.sum(lax.reduce_window(x, -jnp.inf, lax.max, (2,), (1,), "SAME")), 3,
                      framework="jax")
    assert table.check(lambda x: jnp.sum(lax.reduce_window(x, -jnp.inf, lax.max, (2,), (1,), "SAME")),
                       framework="jax").complete


def test_where_and_clip_branches_against_jax_at_every_stratum():
    f = lambda x: jnp.sum(jnp.where(x > 0, x, 0.5 * x)) + jnp.clip(x[0] - x[1], -1.0, 1.0)  # noqa: E731
    table = mt.derive(f, 2, convention="first", framework="jax")
    assert table.check(f, framework="jax").complete
