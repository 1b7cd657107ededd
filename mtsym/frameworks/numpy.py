"""NumPy calls on traced arrays (``np.maximum(x, 0)``, ``np.max(x, axis=0)``, ``np.sort(x)``, ...).

Traced arrays and values define ``__array_ufunc__`` and ``__array_function__``;
numpy hands every call that meets one to :func:`numpy_ufunc` /
:func:`numpy_function`, which run the piecewise-linear ones on traced values and
refuse the others by name (``numpy.exp``: not piecewise linear;
``numpy.argmax``: depends on the data).  NumPy computes no gradients, so its
max-like calls take the **table's** convention (no framework rule is pinned):

=========================================  =========================================
numpy call                                 traced as
=========================================  =========================================
``maximum``, ``minimum``                   ``mt.maximum`` / ``mt.minimum``
``max``/``amax``, ``min``/``amin``         ``mt.max`` / ``mt.min`` per reduced slice
``abs``/``absolute``, ``clip``             ``mt.abs``, ``mt.clamp``
``sort``, ``median``                       order statistics (``mt.sort``)
``sum``, ``mean``, ``dot``, ``matmul``     affine nodes
``greater``, ``less``, ... , ``where``     Python branches, entry by entry
shape functions                            moves (``reshape``, ``concatenate``, ...)
=========================================  =========================================

Examples
--------
>>> import numpy as np, mtsym as mt
>>> mt.derive(lambda x: np.max(np.maximum(x, 0)), 2).grad_at((0, 0))
Matrix([[1/4, 1/4]])
"""

__all__ = ["numpy_ufunc", "numpy_function", "UFUNCS", "FUNCTIONS"]

import operator
from fractions import Fraction

import numpy as np

from ..arrays import Array, lincomb, matmul
from ..errors import NonAffineError, UnsupportedOperationError
from ..extensions import register
from ..value import Value, apply
from .arrays import along, as_array, emap, reduce_axes, reducer, refuse_kind, wrap

#: ufunc name -> rule on object arrays
UFUNCS = {}
#: numpy function name -> rule taking numpy's arguments
FUNCTIONS = {}

_SMOOTH = {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "sin", "cos", "tan", "arcsin",
           "arccos", "arctan", "sinh", "cosh", "tanh", "arctan2", "hypot", "reciprocal", "power", "float_power",
           "logaddexp", "logaddexp2", "prod", "cumprod", "var", "std", "linalg", "norm", "exp"}
_DISCONTINUOUS = {"floor", "ceil", "rint", "round", "around", "trunc", "fix", "sign", "heaviside", "mod",
                  "remainder", "fmod", "floor_divide", "divmod", "modf", "signbit"}
_DATA_DEPENDENT = {"argmax", "argmin", "argsort", "nonzero", "flatnonzero", "argwhere", "unique", "searchsorted",
                   "digitize", "histogram", "bincount", "extract", "compress", "partition", "argpartition",
                   "nanargmax", "nanargmin"}


def _refuse(name):
    short = name.rsplit(".", 1)[-1]
    refuse_kind(f"numpy.{short}", short, [(_SMOOTH, "nonlinear"), (_DISCONTINUOUS, "discontinuous"),
                                          (_DATA_DEPENDENT, "data")],
                "is not a numpy function mtsym can trace (supported: maximum, minimum, max, min, abs, clip, sort, "
                "median, sum, mean, dot, matmul, comparisons, where and shape functions)")


def _ufunc(*names):
    def deco(fn):
        for n in names:
            UFUNCS[n] = fn
        return fn
    return deco


def _function(*names):
    def deco(fn):
        for n in names:
            FUNCTIONS[n] = fn
        return fn
    return deco


def _arr(x, op):
    return as_array(x, f"numpy.{op}")


def _binary(fn, op):
    return lambda a, b: wrap(emap(fn, _arr(a, op), _arr(b, op)))


_ufunc("add")(_binary(lambda u, v: u + v, "add"))
_ufunc("subtract")(_binary(lambda u, v: u - v, "subtract"))
_ufunc("multiply")(_binary(lambda u, v: u * v, "multiply"))
_ufunc("true_divide", "divide")(_binary(lambda u, v: u / v, "divide"))
_ufunc("greater")(_binary(lambda u, v: u > v, "greater"))
_ufunc("greater_equal")(_binary(lambda u, v: u >= v, "greater_equal"))
_ufunc("less")(_binary(lambda u, v: u < v, "less"))
_ufunc("less_equal")(_binary(lambda u, v: u <= v, "less_equal"))
_ufunc("equal")(_binary(lambda u, v: u == v, "equal"))
_ufunc("not_equal")(_binary(lambda u, v: u != v, "not_equal"))
_ufunc("logical_and")(_binary(lambda u, v: bool(u) and bool(v), "logical_and"))
_ufunc("logical_or")(_binary(lambda u, v: bool(u) or bool(v), "logical_or"))
_ufunc("maximum")(_binary(lambda u, v: apply("maximum", (u, v), (2,)), "maximum"))
_ufunc("minimum")(_binary(lambda u, v: apply("minimum", (u, v), (2,)), "minimum"))
_ufunc("negative")(lambda a: wrap(emap(lambda u: -u, _arr(a, "negative"))))
_ufunc("positive")(lambda a: a)
_ufunc("absolute", "fabs")(lambda a: wrap(emap(lambda u: apply("abs", (u,), ()), _arr(a, "absolute"))))
_ufunc("logical_not")(lambda a: wrap(emap(lambda u: not u, _arr(a, "logical_not"))))
_ufunc("square")(lambda a: wrap(emap(lambda u: u * u, _arr(a, "square"))))
_ufunc("matmul")(lambda a, b: wrap(matmul(_arr(a, "matmul"), _arr(b, "matmul"))))


@_ufunc("clip")
def _clip_ufunc(a, lo, hi):
    return clip(a, lo, hi)


def _number(v, what, op):
    if v is None:
        return None
    c = _arr(v, op)
    if c.ndim or isinstance(c[()], Value):
        raise UnsupportedOperationError(f"numpy.{op}", f"{what} must be a number (traced or array bounds are "
                                        "not supported)")
    return c[()]


def _reduce(prim):
    def rule(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        if out is not None or where is not None:
            raise UnsupportedOperationError(f"numpy.{prim}", "out= and where= are not supported on traced arrays")
        x = _arr(a, prim)
        if initial is not None:
            x = np.concatenate([x.reshape(-1) if axis is None else x,
                                np.full((1,) if axis is None else x.shape[:axis % x.ndim] + (1,) +
                                        x.shape[axis % x.ndim + 1:], _number(initial, "initial", prim),
                                        dtype=object)], axis=0 if axis is None else axis)
        return wrap(reduce_axes(x, axis, keepdims, reducer(prim, None)))
    return rule


_function("max", "amax", "nanmax")(_reduce("max"))
_function("min", "amin", "nanmin")(_reduce("min"))


@_function("sum", "nansum")
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=0, where=None):
    if out is not None or where is not None:
        raise UnsupportedOperationError("numpy.sum", "out= and where= are not supported on traced arrays")
    return wrap(reduce_axes(_arr(a, "sum"), axis, keepdims, lambda xs: lincomb([1] * len(xs), xs, initial)))


@_function("mean", "nanmean", "average")
def mean(a, axis=None, dtype=None, out=None, keepdims=False, weights=None, **kwargs):
    if out is not None or weights is not None:
        raise UnsupportedOperationError("numpy.mean", "out= and weights= are not supported on traced arrays")
    return wrap(reduce_axes(_arr(a, "mean"), axis, keepdims,
                            lambda xs: lincomb([Fraction(1, len(xs))] * len(xs), xs)))


@_function("clip")
def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    lo, hi = _number(kwargs.pop("min", a_min), "min", "clip"), _number(kwargs.pop("max", a_max), "max", "clip")
    if out is not None:
        raise UnsupportedOperationError("numpy.clip", "out= is not supported on traced arrays")
    if lo is not None and hi is not None and lo > hi:
        raise UnsupportedOperationError("numpy.clip", f"min={lo} is larger than max={hi}")
    return wrap(emap(lambda u: apply("clamp", (u,), (lo, hi)), _arr(a, "clip")))


@_function("abs", "absolute")
def absolute(x, *args, **kwargs):
    return UFUNCS["absolute"](x)


@_function("maximum")
def maximum(a, b, *args, **kwargs):
    return UFUNCS["maximum"](a, b)


@_function("minimum")
def minimum(a, b, *args, **kwargs):
    return UFUNCS["minimum"](a, b)


def _along(a, axis, fn, op):
    x = _arr(a, op)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return along(x, axis, fn, f"numpy.{op}")


@_function("sort")
def sort(a, axis=-1, kind=None, order=None, **kwargs):
    """``np.sort``: one ``order`` node per rank, ties by the table's ``convention.order``."""
    def ranks(xs):
        k = len(xs)
        return [xs[0] if k == 1 else apply("order", xs, (k, j)) for j in range(k)]
    return wrap(_along(a, axis, ranks, "sort"))


@_function("median", "nanmedian")
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the middle order statistic, or the mean of the two middle ones."""
    def mid(xs):
        k = len(xs)
        if k == 1:
            return [xs[0]]
        lo, hi = (k - 1) // 2, k // 2
        a_, b_ = apply("order", xs, (k, lo)), apply("order", xs, (k, hi))
        return [a_ if lo == hi else lincomb([Fraction(1, 2)] * 2, [a_, b_])]
    out_ = _along(a, axis, mid, "median")
    return wrap(out_.reshape(out_.shape[:-1]) if axis is None or not keepdims else out_)


@_function("dot", "matmul", "inner")
def dot(a, b, out=None):
    return wrap(matmul(_arr(a, "dot"), _arr(b, "dot")))


@_function("where")
def where(condition, x=None, y=None):
    if x is None and y is None:
        _refuse("nonzero")
    return wrap(emap(lambda c, u, v: u if c else v, _arr(condition, "where"), _arr(x, "where"), _arr(y, "where")))


# --------------------------------------------------------------------------- shapes
def _shape_fn(name, fn):
    FUNCTIONS[name] = lambda a, *args, **kwargs: wrap(fn(_arr(a, name), *args, **kwargs))


for _name in ("reshape", "ravel", "transpose", "expand_dims", "squeeze", "flip", "fliplr", "flipud", "swapaxes",
              "moveaxis", "rollaxis", "atleast_1d", "atleast_2d", "broadcast_to", "tile", "repeat", "roll",
              "diagonal", "triu", "tril", "pad", "copy", "asarray", "array", "trace", "rot90", "take"):
    _shape_fn(_name, getattr(np, _name))


def _seq_fn(name, fn):
    FUNCTIONS[name] = lambda arrays, *args, **kwargs: wrap(fn([_arr(a, name) for a in arrays], *args, **kwargs))


for _name in ("concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "block"):
    _seq_fn(_name, getattr(np, _name))

FUNCTIONS["shape"] = lambda a: _arr(a, "shape").shape
FUNCTIONS["ndim"] = lambda a: _arr(a, "ndim").ndim
FUNCTIONS["size"] = lambda a, axis=None: _arr(a, "size").size if axis is None else _arr(a, "size").shape[axis]
FUNCTIONS["zeros_like"] = lambda a, *args, **kw: wrap(np.zeros(_arr(a, "zeros_like").shape, dtype=int).astype(object))
FUNCTIONS["ones_like"] = lambda a, *args, **kw: wrap(np.ones(_arr(a, "ones_like").shape, dtype=int).astype(object))


# --------------------------------------------------------------------------- dispatch
_OPERATORS = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "true_divide": operator.truediv,
              "divide": operator.truediv, "floor_divide": operator.floordiv, "remainder": operator.mod,
              "power": operator.pow, "matmul": operator.matmul}


def numpy_ufunc(ufunc, method, *inputs, **kwargs):
    """``__array_ufunc__`` of traced values and arrays.

    A numpy scalar next to a traced scalar (``np.float64(2) * v``) is the Python
    operator on the scalar's value, so the operator's own rules and errors apply.
    """
    name = ufunc.__name__
    if method == "__call__" and name in _OPERATORS and len(inputs) == 2 and not kwargs and \
            not any(isinstance(x, (np.ndarray, list, Array)) for x in inputs):
        a, b = (x.item() if isinstance(x, np.generic) else x for x in inputs)
        return _OPERATORS[name](a, b)
    if kwargs.get("out") is not None:
        raise UnsupportedOperationError(f"numpy.{name}", "out= (in-place) is not supported on traced arrays")
    if method == "reduce" and name in ("maximum", "minimum", "add"):
        prim = {"maximum": "max", "minimum": "min"}.get(name)
        axis = kwargs.get("axis", 0)
        x = _arr(inputs[0], name)
        red = reducer(prim, None) if prim else (lambda xs: lincomb([1] * len(xs), xs))
        return wrap(reduce_axes(x, axis, kwargs.get("keepdims", False), red))
    fn = UFUNCS.get(name)
    if method != "__call__" or fn is None:
        _refuse(name if fn is None else f"{name}.{method}")
    if name == "power":
        raise NonAffineError("numpy.power", "not piecewise affine")
    return fn(*inputs)


def numpy_function(func, types, args, kwargs):
    """``__array_function__`` of traced arrays."""
    fn = FUNCTIONS.get(func.__name__)
    if fn is None:
        _refuse(func.__name__)
    return fn(*args, **kwargs)


register("trace.numpy_ufunc", numpy_ufunc)
register("trace.numpy_function", numpy_function)
