"""JAX code via ``jax.make_jaxpr``: the jaxpr is interpreted on traced values.

``mt.derive(fn, inputs, framework="jax")`` (or :func:`derive_jax`) asks JAX for
the jaxpr of ``fn`` (float64, under ``jax.enable_x64``), then runs the jaxpr
equation by equation on mtsym's traced values.  Each nonsmooth primitive
carries **JAX's own tie rule** (``conventions.md``), whatever convention the
table was asked for:

==============================================  ==========================================
jaxpr primitive (from)                          tie rule pinned on the node
==============================================  ==========================================
``max``, ``min`` (``jnp.maximum``, ``clip``)    1/2 each at a tie (``_balanced_eq``)
``reduce_max``, ``reduce_min`` (``jnp.max``)    k tied entries get 1/k each
``abs``                                         abs'(0) = 1
``reduce_window_max`` (max pooling)             the first element of the window
``custom_jvp_call`` of ``jax.nn.relu``          relu'(0) = 0
``custom_jvp_call`` of ``jax.nn.relu6``         0 at 0 and 6
``clamp`` (``lax.clamp``)                       0 at a bound
comparisons + ``select_n`` (``jnp.where``,      a Python-style branch: each outcome is
``leaky_relu``, ``hard_tanh``)                  explored, the code says who wins a tie
==============================================  ==========================================

Smooth primitives are traced exactly: ``dot_general``, ``add``, ``sub``,
``mul``, ``div`` by constants, ``neg``, ``integer_pow``, ``reduce_sum``,
``convert_element_type`` (to floats), and the shape primitives (``slice``,
``squeeze``, ``reshape``, ``broadcast_in_dim``, ``concatenate``, ...); ``jit``
calls are entered.  Other primitives (``exp``, ``while``, ``gather``, custom
derivative rules of other functions, ``argmax``) are refused with an
:class:`~mtsym.errors.UnsupportedOperationError` naming the primitive and the
source line JAX recorded for it.

JAX is imported only when this is used; ``jax`` is an optional extra.
"""

__all__ = ["derive_jax", "traceable", "interpret", "PRIMITIVE_RULES", "JAX", "JAX_HARD"]

import os
import re

import numpy as np

from ..conventions import Convention
from ..errors import UnsupportedOperationError, skip_frames_of, source_line
from ..extensions import register
from ..ops import max_pool
from ..arrays import lincomb, matmul
from ..trace import InputSpec
from ..value import Value, apply
from .arrays import DataDependent, as_array, emap, reduce_axes, reducer, wrap

#: jax's rules: maximum 1/2, reductions 1/k, abs'(0) = 1, pooling to the first
JAX = Convention("jax")
#: ``lax.clamp`` and ``jax.nn.relu6``: derivative 0 at the bounds
JAX_HARD = Convention("jax", clamp=0)

#: primitive name -> rule(eqn, invals) -> object array (or list for multiple results)
PRIMITIVE_RULES = {}


def _rule(*names):
    def deco(fn):
        for n in names:
            PRIMITIVE_RULES[n] = fn
        return fn
    return deco


# --------------------------------------------------------------------------- entry points
def traceable(fn, inputs):
    """A Python function of traced values that runs the jaxpr of ``fn``.

    ``inputs`` is ``derive``'s: ``n`` -> ``fn(x)`` with ``x`` of shape ``(n,)``;
    names -> scalar arguments.
    """
    import jax
    import jax.numpy as jnp
    skip_frames_of(jax)
    spec = InputSpec(inputs)
    try:
        with x64(jax):
            if spec.vector:
                args = (jax.ShapeDtypeStruct((spec.n,), jnp.float64),)
            else:
                args = tuple(jax.ShapeDtypeStruct((), jnp.float64) for _ in range(spec.n))
            closed = jax.make_jaxpr(fn)(*args)
    except Exception as e:  # jax's own tracing errors (Python `if` on a tracer, ...)
        raise UnsupportedOperationError("jax.make_jaxpr", f"JAX could not trace {getattr(fn, '__name__', fn)}: "
                                        f"{type(e).__name__}: {str(e).splitlines()[0]}") from e
    single = len(closed.jaxpr.outvars) == 1

    def run(*args):
        outs = interpret(closed, [as_array(a, "jax input") for a in args])
        return wrap(outs[0]) if single else [wrap(o) for o in outs]

    run.__name__ = getattr(fn, "__name__", "f")
    run.jaxpr = closed
    return run


def x64(jax):
    """A context in which JAX computes in float64 (``jax.enable_x64``; older JAX: ``jax.experimental``)."""
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # pragma: no cover - JAX before the top-level context manager
        from jax.experimental import enable_x64 as enable
    return enable(True)


def derive_jax(fn, inputs, convention="torch", **options):
    """``mt.derive(fn, inputs, convention, framework="jax", **options)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> table = derive_jax(lambda x: jnp.max(x) + jnp.abs(x[0]), 2)
    >>> table.grad_at((0, 0))
    Matrix([[3/2, 1/2]])
    """
    from ..api import derive
    return derive(fn, inputs, convention, framework="jax", **options)


def interpret(closed, args):
    """Run a ClosedJaxpr on object arrays of traced values; returns the output arrays."""
    return _eval(closed.jaxpr, [as_array(c, "jaxpr constant") for c in closed.consts], args)


def _is_literal(v):
    return type(v).__name__ == "Literal" and hasattr(v, "val")


def _eval(jaxpr, consts, args):
    env = {}

    def read(v):
        return as_array(v.val, "jaxpr literal") if _is_literal(v) else env[v]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = c
    for v, a in zip(jaxpr.invars, args):
        env[v] = a
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        with source_line(_line(eqn)):
            rule = PRIMITIVE_RULES.get(name)
            if rule is None:
                _refuse(name)
            outs = rule(eqn, [read(v) for v in eqn.invars])
        if not eqn.primitive.multiple_results:
            outs = [outs]
        for v, o in zip(eqn.outvars, outs):
            if type(v).__name__ != "DropVar":
                env[v] = o
    return [read(v) for v in jaxpr.outvars]


_SUMMARY = re.compile(r"^(?P<file>.*?):(?P<line>\d+)(?::\d+)?(?: \(.*\))?$")


def _line(eqn):
    """The user's source line JAX recorded for an equation, as ``file:line: code``."""
    try:
        from jax._src import source_info_util
        summary = source_info_util.summarize(eqn.source_info)
    except Exception:  # pragma: no cover - private API moved
        return ""
    m = _SUMMARY.match(summary)
    if not m:
        return summary
    import linecache
    code = linecache.getline(m["file"], int(m["line"])).strip()
    return f"{m['file']}:{m['line']}" + (f": {code}" if code else "")


_DATA_DEPENDENT = {"argmax", "argmin", "sort", "top_k", "gather", "scatter", "scatter-add", "scatter_add",
                   "dynamic_update_slice", "while", "cond", "scan", "nonzero"}


def _refuse(name):
    if name in _DATA_DEPENDENT:
        raise UnsupportedOperationError(f"jax primitive {name}", "its result or control flow depends on the "
                                        "input's values through indices or loops; mtsym traces max/relu/affine "
                                        "programs")
    raise UnsupportedOperationError(f"jax primitive {name}", "is not a primitive mtsym can trace (supported: max, "
                                    "min, reduce_max, reduce_min, abs, relu, relu6, clamp, reduce_window_max, "
                                    "dot_general, add, sub, mul, div by constants, comparisons with select_n, "
                                    "shape primitives)")


# --------------------------------------------------------------------------- nonsmooth
def _pair(prim):
    return lambda eqn, xs: emap(lambda u, v: apply(prim, (u, v), (2,), JAX), *xs)


PRIMITIVE_RULES["max"] = _pair("maximum")
PRIMITIVE_RULES["min"] = _pair("minimum")


@_rule("abs")
def _abs(eqn, xs):
    return emap(lambda u: apply("abs", (u,), (), JAX), xs[0])


def _reduction(prim):
    red = reducer(prim, JAX)
    return lambda eqn, xs: reduce_axes(xs[0], tuple(eqn.params["axes"]), False, red)


PRIMITIVE_RULES["reduce_max"] = _reduction("max")
PRIMITIVE_RULES["reduce_min"] = _reduction("min")


def _bound(a, what):
    if a.ndim != 0 or isinstance(a[()], Value):
        raise UnsupportedOperationError("clamp", f"{what} must be a constant scalar")
    return a[()]


def _clamp(x, lo, hi, conv):
    return emap(lambda u: apply("clamp", (u,), (lo, hi), conv), x)


@_rule("clamp")
def _lax_clamp(eqn, xs):
    lo, x, hi = xs
    return _clamp(x, _bound(lo, "min"), _bound(hi, "max"), JAX_HARD)


_CUSTOM_JVP = {
    "relu": lambda x: emap(lambda u: apply("relu", (u,), (), JAX), x),
    "relu6": lambda x: _clamp(x, 0, 6, JAX_HARD),
}


@_rule("custom_jvp_call")
def _custom_jvp(eqn, xs):
    closed = eqn.params["call_jaxpr"]
    info = getattr(closed.jaxpr, "debug_info", None)
    src = getattr(info, "func_src_info", "") or ""
    name = src.split(" ", 1)[0]
    ours = os.sep.join(("jax", "_src", "nn")) in src or "jax/_src/nn" in src
    if ours and name in _CUSTOM_JVP and len(xs) == 1:
        return [_CUSTOM_JVP[name](xs[0])]
    raise UnsupportedOperationError(f"custom_jvp_call of {name or 'a function'}", "its derivative is a custom "
                                    "rule mtsym does not know (known: jax.nn.relu, jax.nn.relu6)")


@_rule("custom_vjp_call", "custom_vjp_call_jaxpr")
def _custom_vjp(eqn, xs):
    raise UnsupportedOperationError("custom_vjp_call", "its derivative is a custom rule mtsym does not know")


@_rule("reduce_window_max")
def _pool(eqn, xs):
    p = eqn.params
    a = xs[0]
    if any(d != 1 for d in tuple(p["base_dilation"]) + tuple(p["window_dilation"])):
        raise UnsupportedOperationError("reduce_window_max", "dilation is not supported")
    pooled = max_pool(a, tuple(p["window_dimensions"]), tuple(p["window_strides"]),
                      tuple(tuple(q) for q in p["padding"]), "reduce_window_max", JAX)
    return pooled.a


# --------------------------------------------------------------------------- smooth
def _binary(fn):
    return lambda eqn, xs: emap(fn, *xs)


PRIMITIVE_RULES.update({
    "add": _binary(lambda u, v: u + v), "add_any": _binary(lambda u, v: u + v),
    "sub": _binary(lambda u, v: u - v), "mul": _binary(lambda u, v: u * v),
    "div": _binary(lambda u, v: u / v),
    "neg": lambda eqn, xs: emap(lambda u: -u, xs[0]),
    "square": lambda eqn, xs: emap(lambda u: u * u, xs[0]),
    "integer_pow": lambda eqn, xs: emap(lambda u: u ** eqn.params["y"], xs[0]),
    "copy": lambda eqn, xs: xs[0], "copy_p": lambda eqn, xs: xs[0],
})


@_rule("reduce_sum")
def _sum(eqn, xs):
    return reduce_axes(xs[0], tuple(eqn.params["axes"]), False, lambda v: lincomb([1] * len(v), v))


@_rule("convert_element_type")
def _convert(eqn, xs):
    dtype = np.dtype(eqn.params["new_dtype"])
    if dtype.kind == "f":
        return xs[0]
    if any(isinstance(v, Value) for v in xs[0].flat):
        raise UnsupportedOperationError("convert_element_type", f"converting a traced value to {dtype} drops "
                                        "the trace")
    return emap(lambda u: bool(u) if dtype.kind == "b" else int(u), xs[0])


@_rule("dot_general")
def _dot_general(eqn, xs):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = xs
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    L = np.transpose(lhs, list(lb) + lf + list(lc))
    R = np.transpose(rhs, list(rb) + list(rc) + rf)
    bshape = tuple(lhs.shape[d] for d in lb)
    lfs, rfs = tuple(lhs.shape[d] for d in lf), tuple(rhs.shape[d] for d in rf)
    k = int(np.prod([lhs.shape[d] for d in lc], dtype=int))
    L = L.reshape(bshape + (int(np.prod(lfs, dtype=int)), k))
    R = R.reshape(bshape + (k, int(np.prod(rfs, dtype=int))))
    out = np.empty(bshape + lfs + rfs, dtype=object)
    for bi in np.ndindex(*bshape):
        out[bi] = matmul(L[bi], R[bi]).reshape(lfs + rfs)
    return out


# --------------------------------------------------------------------------- comparisons, select
def _compare(fn):
    return lambda eqn, xs: emap(fn, *xs)


PRIMITIVE_RULES.update({
    "gt": _compare(lambda u, v: u > v), "ge": _compare(lambda u, v: u >= v),
    "lt": _compare(lambda u, v: u < v), "le": _compare(lambda u, v: u <= v),
    "eq": _compare(lambda u, v: u == v), "ne": _compare(lambda u, v: u != v),
    "and": _binary(lambda u, v: u and v if isinstance(u, bool) else u & v),
    "or": _binary(lambda u, v: u or v if isinstance(u, bool) else u | v),
    "not": lambda eqn, xs: emap(lambda u: not u if isinstance(u, bool) else ~u, xs[0]),
})


@_rule("select_n")
def _select_n(eqn, xs):
    def pick(p, *cases):
        if isinstance(p, (Value, DataDependent)):
            raise UnsupportedOperationError("select_n", "the selector must be a comparison result")
        return cases[int(p)]
    return emap(pick, *xs)


# --------------------------------------------------------------------------- shapes and calls
@_rule("jit", "pjit", "closed_call", "core_call", "remat", "checkpoint")
def _call(eqn, xs):
    closed = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
    if hasattr(closed, "consts"):
        return _eval(closed.jaxpr, [as_array(c, "jaxpr constant") for c in closed.consts], xs)
    return _eval(closed, [], xs)


@_rule("broadcast_in_dim")
def _broadcast(eqn, xs):
    shape, dims = tuple(eqn.params["shape"]), tuple(eqn.params["broadcast_dimensions"])
    a = xs[0]
    view = [1] * len(shape)
    for i, d in enumerate(dims):
        view[d] = a.shape[i]
    return np.broadcast_to(a.reshape(view), shape)


@_rule("reshape")
def _reshape(eqn, xs):
    return xs[0].reshape(tuple(eqn.params["new_sizes"]))


@_rule("squeeze")
def _squeeze(eqn, xs):
    return np.squeeze(xs[0], axis=tuple(eqn.params["dimensions"]))


@_rule("expand_dims")
def _expand(eqn, xs):
    return np.expand_dims(xs[0], tuple(eqn.params["dimensions"]))


@_rule("transpose")
def _transpose(eqn, xs):
    return np.transpose(xs[0], tuple(eqn.params["permutation"]))


@_rule("rev")
def _rev(eqn, xs):
    return np.flip(xs[0], axis=tuple(eqn.params["dimensions"]))


@_rule("slice")
def _slice(eqn, xs):
    p = eqn.params
    strides = p["strides"] or (1,) * xs[0].ndim
    return xs[0][tuple(slice(a, b, s) for a, b, s in zip(p["start_indices"], p["limit_indices"], strides))]


@_rule("concatenate")
def _concatenate(eqn, xs):
    return np.concatenate(xs, axis=eqn.params["dimension"])


@_rule("stack")
def _stack(eqn, xs):
    return np.stack(xs, axis=eqn.params["axis"])


@_rule("dynamic_slice")
def _dynamic_slice(eqn, xs):
    a, starts = xs[0], xs[1:]
    idx = []
    for d, (s, size) in enumerate(zip(starts, eqn.params["slice_sizes"])):
        if isinstance(s[()], Value):
            raise UnsupportedOperationError("dynamic_slice", "a traced start index is data-dependent")
        start = int(min(max(int(s[()]), 0), a.shape[d] - size))
        idx.append(slice(start, start + size))
    return a[tuple(idx)]


register("framework.jax", traceable)
