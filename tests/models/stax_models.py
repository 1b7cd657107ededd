"""JAX models in the style of ``jax.example_libraries.stax`` (JAX's examples ``mnist_classifier.py`` and the
stax README): ``stax.serial`` of Dense/Relu layers (an MLP) and of Conv/Relu/MaxPool/AvgPool/Flatten/Dense (a
CNN, NHWC), parameters from ``init_fun`` in JAX's default float32 (taken at their exact values), inputs in
float64; and a function with ``jnp.sort``, ``jnp.median`` and ``lax.top_k``.
"""

import numpy as np

from . import Spec, dyadic


def _params(init_fun, shape, seed, dyadic_weights, reference):
    import jax
    import jax.numpy as jnp
    _, params = init_fun(jax.random.PRNGKey(seed), shape)
    if dyadic_weights:
        rng = np.random.default_rng(seed)
        params = jax.tree_util.tree_map(lambda p: jnp.asarray(dyadic(p.shape, rng), dtype=p.dtype), params)
    if reference:  # the same exact values in float64, for JAX's own run next to float64 inputs
        params = jax.tree_util.tree_map(lambda p: np.asarray(p, dtype=np.float64), params)
    return params


def mlp(dyadic_weights, reference=False):
    from jax.example_libraries import stax
    init_random_params, predict = stax.serial(
        stax.Dense(32), stax.Relu, stax.Dense(16), stax.Relu, stax.Dense(10))
    params = _params(init_random_params, (-1, 64), 0, dyadic_weights, reference)
    return lambda x: predict(params, x[None])[0]


def cnn(dyadic_weights, reference=False):
    from jax.example_libraries import stax
    init_fun, apply_fun = stax.serial(
        stax.Conv(4, (3, 3), padding="SAME"), stax.Relu, stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Conv(8, (3, 3)), stax.Relu, stax.AvgPool((2, 2)), stax.Flatten, stax.Dense(10))
    params = _params(init_fun, (1, 8, 8, 1), 1, dyadic_weights, reference)
    return lambda x: apply_fun(params, x.reshape(1, 8, 8, 1))[0]


def order_statistics(dyadic_weights, reference=False):
    import jax.numpy as jnp
    from jax import lax

    def f(x):
        rows = x.reshape(8, 8)
        return jnp.concatenate([jnp.sort(rows[0]), jnp.median(rows, axis=0), lax.top_k(rows[1], 3)[0],
                                jnp.sort(rows[2], descending=True)])
    return f


MODELS = {"stax MLP": Spec(mlp, "jax"), "stax CNN": Spec(cnn, "jax"),
          "jnp.sort, median, top_k": Spec(order_statistics, "jax")}
