"""jaxpr primitives with ties: max, min, abs, clamp, reductions, max pooling, sort, top_k, and the custom
derivative rules of ``jax.nn`` (or declared with ``mt.declare``); each pins JAX's own tie rule.

Measured with jax 0.10.2 and pinned in ``tests/test_pinned_conventions.py``:
``sort`` (``jnp.sort``; ``descending=True`` is the same sort read backwards by
``rev``) gives a tied block's ranks in input order, also with ``stable=False``;
``lax.top_k`` gives the first of tied entries first (``order="reverse"`` in
ascending ranks); ``jnp.median`` is the mean of the two middle order statistics
(a gather of the sorted array).
"""

__all__ = []

import numpy as np

from ...errors import UnsupportedOperationError
from ...exact import is_infinite
from ...ops import max_pool
from ...value import Value, apply
from ..arrays import DataDependent, along, as_array, emap, reduce_axes, reducer, wrap
from ..declare import declared_jax
from .base import JAX, JAX_HARD, JAX_REVERSE, op_name, refuse, rule


def _pair(prim):
    return lambda eqn, xs: emap(lambda u, v: apply(prim, (u, v), (2,), JAX), *xs)


rule("max")(_pair("maximum"))
rule("min")(_pair("minimum"))


@rule("abs")
def _abs(eqn, xs):
    return emap(lambda u: apply("abs", (u,), (), JAX), xs[0])


def _reduction(prim):
    red = reducer(prim, JAX)
    return lambda eqn, xs: reduce_axes(xs[0], tuple(eqn.params["axes"]), False, red)


rule("reduce_max")(_reduction("max"))
rule("reduce_min")(_reduction("min"))


def _bound(a, what):
    if a.ndim != 0 or isinstance(a[()], Value):
        raise UnsupportedOperationError(op_name("clamp"), f"{what} must be a constant scalar")
    return a[()]


def _clamp(x, lo, hi, conv):
    return emap(lambda u: apply("clamp", (u,), (lo, hi), conv), x)


@rule("clamp")
def _lax_clamp(eqn, xs):
    lo, x, hi = xs
    return _clamp(x, _bound(lo, "min"), _bound(hi, "max"), JAX_HARD)


_NN = {
    "relu": lambda x: emap(lambda u: apply("relu", (u,), (), JAX), x),
    "relu6": lambda x: _clamp(x, 0, 6, JAX_HARD),
}


def _source(eqn):
    closed = eqn.params.get("call_jaxpr") or eqn.params.get("fun_jaxpr")
    info = getattr(getattr(closed, "jaxpr", closed), "debug_info", None)
    return getattr(info, "func_src_info", "") or ""


def _declared(eqn, xs, kind):
    src = _source(eqn)
    what = declared_jax(src) if src else None
    name = src.split(" ", 1)[0] or "a function"
    if what is None:
        return None, name
    args = [wrap(x) for x in xs[eqn.params.get("num_consts", 0):]]
    out = what(*args)
    outs = list(out) if isinstance(out, (tuple, list)) and len(eqn.outvars) > 1 else [out]
    return [as_array(o, f"declaration of {name}") for o in outs], name


@rule("custom_jvp_call")
def _custom_jvp(eqn, xs):
    src = _source(eqn)
    name = src.split(" ", 1)[0]
    ours = "jax/_src/nn" in src.replace("\\", "/")
    if ours and name in _NN and len(xs) == 1:
        return [_NN[name](xs[0])]
    outs, name = _declared(eqn, xs, "custom_jvp")
    if outs is not None:
        return outs
    raise UnsupportedOperationError(f"custom_jvp_call of {name}", "its derivative is a hand-written rule: "
                                    "tracing the function would attach its operations' tie rules instead; "
                                    f"declare what it is: mt.declare({name}, lambda <its arguments>: <mtsym "
                                    "operations>) (known without a declaration: jax.nn.relu, jax.nn.relu6)")


@rule("custom_vjp_call", "custom_vjp_call_jaxpr")
def _custom_vjp(eqn, xs):
    outs, name = _declared(eqn, xs, "custom_vjp")
    if outs is not None:
        return outs
    raise UnsupportedOperationError(f"custom_vjp_call of {name}", "its derivative is a hand-written rule; "
                                    f"declare what it is: mt.declare({name}, lambda <its arguments>: <mtsym "
                                    "operations>)")


@rule("reduce_window_max")
def _pool(eqn, xs):
    p = eqn.params
    if any(d != 1 for d in p["base_dilation"]):
        raise UnsupportedOperationError(op_name("reduce_window_max"), "base dilation is not supported")
    pooled = max_pool(xs[0], tuple(p["window_dimensions"]), tuple(p["window_strides"]),
                      tuple(tuple(q) for q in p["padding"]), op_name("reduce_window_max"), JAX,
                      dilation=tuple(p["window_dilation"]))
    return pooled.a


@rule("sort")
def _sort(eqn, xs):
    if len(xs) != 1:   # argsort, sort_key_val: a permutation of other operands depends on the data
        _refuse_multi(eqn)
    k_axis = eqn.params["dimension"]

    def ranks(items):
        k = len(items)
        return [items[0] if k == 1 else apply("order", items, (k, j), JAX) for j in range(k)]
    return [along(xs[0], k_axis, ranks, op_name("sort"))]


def _refuse_multi(eqn):
    DataDependent(f"{op_name('sort')} of several operands (argsort, sort_key_val: a permutation that depends "
                  "on the data)").refuse()


@rule("top_k")
def _top_k(eqn, xs):
    k = eqn.params["k"]
    axis = eqn.params.get("axis", -1)

    def top(items):
        n = len(items)
        return [items[0] if n == 1 else apply("order", items, (n, n - 1 - i), JAX_REVERSE) for i in range(k)]
    values = along(xs[0], axis, top, op_name("top_k"))
    indices = np.empty(values.shape, dtype=object)
    indices.fill(DataDependent("lax.top_k(...) indices"))
    return [values, indices]


@rule("stop_gradient")
def _stop_gradient(eqn, xs):
    if any(isinstance(v, Value) for v in xs[0].flat):
        raise UnsupportedOperationError(op_name("stop_gradient"), "stops the gradient of a traced value: the "
                                        "derivative JAX computes is then not the function's")
    return xs[0]


@rule("is_finite")
def _is_finite(eqn, xs):
    return emap(lambda u: True if isinstance(u, Value) else not is_infinite(u), xs[0])


for _name in ("argmax", "argmin"):
    rule(_name)(lambda eqn, xs, _n=_name: refuse(_n))
