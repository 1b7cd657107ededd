"""What every family of jaxpr rules shares: the rule table, JAX's pinned conventions, the refusal.

A rule is ``rule(eqn, invals) -> object array`` (or a list of arrays for a
primitive with several results); :func:`rule` files it under jaxpr primitive
names.  :data:`CONTEXT` holds the names of the ``jit`` calls being run
(``log_softmax``), so a refusal names the JAX function the user called as
well as the primitive.
"""

__all__ = ["rule", "RULES", "JAX", "JAX_HARD", "JAX_REVERSE", "CONTEXT", "refuse", "numbers_only", "op_name"]

from ...conventions import Convention
from ...value import Value
from ..arrays import refuse_kind

#: jax's rules: maximum 1/2, reductions 1/k, abs'(0) = 1, pooling to the first, sort stable
JAX = Convention("jax")
#: ``lax.clamp`` and ``jax.nn.relu6``: derivative 0 at the bounds
JAX_HARD = Convention("jax", clamp=0)
#: ``lax.top_k`` (the first of tied entries first): ranks of a tied block in reverse
JAX_REVERSE = Convention("jax", order="reverse")

#: primitive name -> rule(eqn, invals) -> object array (or list for multiple results)
RULES = {}
#: names of the jit-compiled JAX functions being interpreted, outermost first
CONTEXT = []


def rule(*names):
    """File the decorated function as the rule of these jaxpr primitives."""
    def deco(fn):
        for n in names:
            RULES[n] = fn
        return fn
    return deco


def op_name(name):
    """``jax primitive exp (in log_softmax)``: the primitive and the JAX function it came from."""
    inner = [c for c in CONTEXT if c and not c.startswith("_")]
    return f"jax primitive {name}" + (f" (in {inner[-1]})" if inner else "")


_NOT_PIECEWISE_LINEAR = {
    "exp", "exp2", "log", "log1p", "expm1", "logistic", "tanh", "sin", "cos", "tan", "asin", "acos", "atan",
    "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "sqrt", "rsqrt", "cbrt", "pow", "erf", "erfc",
    "erf_inv", "lgamma", "digamma", "reduce_prod", "cumprod", "cumlogsumexp", "logsumexp", "square_root"}
_DISCONTINUOUS = {"floor", "ceil", "round", "sign", "rem", "nextafter", "reduce_precision", "is_finite"}
_DATA_DEPENDENT = {"argmax", "argmin", "scatter", "scatter-add", "scatter_add", "scatter_mul", "scatter_min",
                   "scatter_max", "dynamic_update_slice", "while", "cond", "scan", "nonzero", "cummax", "cummin",
                   "random_bits", "random_seed", "random_wrap", "random_unwrap", "threefry2x32"}


def refuse(name):
    """The error for a primitive with no rule (or one refused in this use)."""
    refuse_kind(op_name(name), name, [(_NOT_PIECEWISE_LINEAR, "nonlinear"), (_DISCONTINUOUS, "discontinuous"),
                                      (_DATA_DEPENDENT, "data")],
                "is not a primitive mtsym can trace (supported: max, min, reduce_max, reduce_min, abs, relu, relu6, "
                "clamp, sort, top_k, reduce_window_max/sum, conv_general_dilated, dot_general, add, sub, mul, div "
                "by constants, cumsum, comparisons with select_n, pad, gather with constant indices, shape "
                "primitives)")


def numbers_only(name, fn):
    """A rule that computes on numbers (constant index arithmetic) and refuses traced values."""
    def rule_(eqn, xs):
        if any(isinstance(v, Value) for x in xs for v in x.flat):
            refuse(name)
        return fn(eqn, xs)
    return rule_
