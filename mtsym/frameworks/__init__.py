"""Real frameworks: trace PyTorch and JAX code as written, and hold the frameworks to the table.

``mtsym.frameworks.torch``
    traced values take part in torch calls through ``__torch_function__``;
    each torch op carries torch's own tie rule (a pinned convention).
``mtsym.frameworks.jax``
    a ``jax.make_jaxpr`` interpreter: ``mt.derive(fn, n, framework="jax")``.
``mtsym.frameworks.check``
    ``table.check(fn, framework=...)`` and ``table.write_checker(path, fn)``.
``mtsym.frameworks.points``
    float-exact (dyadic) points of a stratum, and the certificate that a float
    forward pass computes exactly there.

Neither framework is a dependency: each module imports its framework only when
a framework object is met.
"""

__all__ = ["FRAMEWORKS"]

#: the framework names ``derive``, ``check`` and ``write_checker`` accept
FRAMEWORKS = ("torch", "jax")

from . import arrays, check, declare, jax, numpy, torch  # noqa: E402,F401  (register the tracer hooks, jax front end, table.check)
