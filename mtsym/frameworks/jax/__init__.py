"""JAX code via ``jax.make_jaxpr``: the jaxpr is interpreted on traced values.

``mt.derive(fn, inputs, framework="jax")`` (or :func:`derive_jax`, and
``mt.evaluate(fn, X, inputs=..., framework="jax")``) asks JAX for the jaxpr of
``fn`` (float64, under ``jax.enable_x64``; float32 when the function's own
float32 parameters do not mix with float64 inputs, as in
``lax.conv_general_dilated``), then runs the jaxpr equation by equation on
mtsym's traced values.  Every constant is taken at the exact value it holds,
whatever its dtype.  The rules live in one module per family:
:mod:`.nonsmooth`, :mod:`.smooth`, :mod:`.shapes`.  Each nonsmooth primitive
carries **JAX's own tie rule** (``conventions.md``), whatever convention the
table was asked for:

==============================================  ==========================================
jaxpr primitive (from)                          tie rule pinned on the node
==============================================  ==========================================
``max``, ``min`` (``jnp.maximum``, ``clip``)    1/2 each at a tie (``_balanced_eq``)
``reduce_max``, ``reduce_min`` (``jnp.max``)    k tied entries get 1/k each
``abs``                                         abs'(0) = 1
``reduce_window_max`` (max pooling)             the first element of the window
``sort`` (``jnp.sort``, ``jnp.median``)         a stable sort
``top_k`` (``lax.top_k``)                       the first tied entry first
``custom_jvp_call`` of ``jax.nn.relu``          relu'(0) = 0
``custom_jvp_call`` of ``jax.nn.relu6``         0 at 0 and 6
``clamp`` (``lax.clamp``)                       0 at a bound
comparisons + ``select_n`` (``jnp.where``,      a Python-style branch: each outcome is
``leaky_relu``, ``hard_tanh``)                  explored, the code says who wins a tie
==============================================  ==========================================

Affine primitives are traced exactly: ``dot_general``, ``conv_general_dilated``,
``add``, ``sub``, ``mul``, ``div`` by constants, ``neg``, ``integer_pow``,
``reduce_sum``, ``reduce_window_sum``, ``cumsum``, ``convert_element_type``
(to floats), the shape primitives (``slice``, ``reshape``, ``pad``,
``gather`` with constant indices, ...); ``jit`` calls are entered.  ``-inf``
literals are the identity of max (``jnp.max(x, initial=-jnp.inf)``).  Custom
derivative rules other than ``jax.nn``'s are refused until declared with
:func:`mtsym.declare`.  Other primitives (``exp``, ``while``, ``argmax``,
``stop_gradient``) are refused with an :class:`~mtsym.errors.UnsupportedOperationError`
naming the primitive, the JAX function it came from (``exp (in log_softmax)``)
and the source line JAX recorded for it.

JAX is imported only when this is used; ``jax`` is an optional extra.
"""

__all__ = ["derive_jax", "traceable", "interpret", "run_jaxpr", "PRIMITIVE_RULES", "JAX", "JAX_HARD", "x64"]

import re

from ...errors import UnsupportedOperationError, skip_frames_of, source_line
from ...extensions import register
from ...trace import InputSpec
from ..arrays import as_array, wrap
from . import nonsmooth, shapes, smooth  # noqa: F401  (fill the rule table)
from .base import CONTEXT, JAX, JAX_HARD, RULES, refuse

#: primitive name -> rule(eqn, invals) -> object array (or list for multiple results)
PRIMITIVE_RULES = RULES


# --------------------------------------------------------------------------- entry points
def _make_jaxpr(jax, fn, spec, dtype):
    import jax.numpy as jnp
    dt = getattr(jnp, dtype)
    if spec.vector:
        args = (jax.ShapeDtypeStruct((spec.n,), dt),)
    else:
        args = tuple(jax.ShapeDtypeStruct((), dt) for _ in range(spec.n))
    with x64(jax):
        return jax.make_jaxpr(fn)(*args)


def traceable(fn, inputs):
    """A Python function of traced values that runs the jaxpr of ``fn``.

    ``inputs`` is ``derive``'s: ``n`` -> ``fn(x)`` with ``x`` of shape ``(n,)``;
    names -> scalar arguments.  The jaxpr is made with float64 inputs, or with
    float32 inputs when the function's float32 parameters refuse float64 ones
    (both give the same exact program: constants are read at their exact value).
    """
    import jax
    skip_frames_of(jax)
    spec = InputSpec(inputs)
    try:
        try:
            closed = _make_jaxpr(jax, fn, spec, "float64")
        except TypeError as e:
            if "dtype" not in str(e):
                raise
            closed = _make_jaxpr(jax, fn, spec, "float32")
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
    from ...api import derive
    return derive(fn, inputs, convention, framework="jax", **options)


def interpret(closed, args):
    """Run a ClosedJaxpr on object arrays of traced values; returns the output arrays."""
    del CONTEXT[:]
    return run_jaxpr(closed.jaxpr, [as_array(c, "jaxpr constant") for c in closed.consts], args)


def _is_literal(v):
    return type(v).__name__ == "Literal" and hasattr(v, "val")


def run_jaxpr(jaxpr, consts, args):
    """Run an (open) jaxpr on object arrays: its constants, then its arguments."""
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
            rule = RULES.get(name)
            if rule is None:
                refuse(name)
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


register("framework.jax", traceable)
