"""The operations traced code calls: ``mt.relu``, ``mt.max``, ``mt.maxpool1d``, ...

Each works on traced values (recording one graph node per scalar result) and on
plain numbers (computing exactly, so the same user code runs as an exact
oracle).  Elementwise operations map over lists, tuples and arrays.  Each takes
``convention=`` (a name or a :class:`~mtsym.conventions.Convention`) to pin its
nodes' tie rule whatever the table's convention (how ``mt.declare`` says what a
hand-written derivative does: ``mt.relu(x, convention=mt.Convention(relu0=a))``).

Examples
--------
>>> relu(-2), relu(3), max(1, 5, 2), maximum([1, 4], [3, 2])
(0, 3, 5, [3, 4])
>>> maxpool1d([1, 3, 3, 2], 2, stride=2)
Array([3, 3])
>>> import mtsym as mt
>>> mt.derive(lambda x: relu(x[0], convention=Convention(relu0="1/4")), 1).grad_at((0,))
Matrix([[1/4]])
"""

from __future__ import annotations

__all__ = ["relu", "leaky_relu", "abs", "clamp", "max", "min", "maximum", "minimum",
           "maxpool1d", "maxpool2d", "sort", "max_pool"]

from numbers import Number
from typing import Any
from fractions import Fraction

import numpy as np

from .arrays import Array
from .conventions import Convention
from .errors import UnsupportedOperationError
from .exact import to_exact
from .primitives.pooling import pair, pool, pool_windows
from .value import Value, apply


_EXACT = (int, Fraction)


def _map(fn, x):
    if type(x) in _EXACT or isinstance(x, Value):
        return fn(x)
    if isinstance(x, Array):
        out = np.empty(x.a.shape, dtype=object)
        for i, v in np.ndenumerate(x.a):
            out[i] = fn(v)
        return Array(out)
    if isinstance(x, np.ndarray):
        return _map(fn, Array(x.astype(object)))
    if isinstance(x, (list, tuple)):
        return type(x)(_map(fn, v) for v in x)
    return fn(x)


def _pin(convention):
    return None if convention is None else Convention.get(convention)


def relu(x: Any, *, convention: Any = None) -> Any:
    """``max(0, x)`` elementwise; relu'(0) is ``convention.relu0``."""
    conv = _pin(convention)
    return _map(lambda v: apply("relu", (v,), (), conv), x)


def leaky_relu(x: Any, negative_slope: Number = Fraction(1, 100), *, convention: Any = None) -> Any:
    """``x if x > 0 else negative_slope * x``; the default slope is exactly 1/100."""
    s = to_exact(negative_slope, what="negative_slope")
    conv = _pin(convention)
    return _map(lambda v: apply("leaky_relu", (v,), (s,), conv), x)


def abs(x: Any, *, convention: Any = None) -> Any:
    """``|x|`` elementwise; abs'(0) is ``convention.abs0``."""
    conv = _pin(convention)
    return _map(lambda v: apply("abs", (v,), (), conv), x)


def clamp(x: Any, min: Number | None = None, max: Number | None = None, *, convention: Any = None) -> Any:
    """Clamp into ``[min, max]`` (numbers; either may be ``None``); see ``convention.clamp``."""
    lo = None if min is None else to_exact(min, what="clamp min")
    hi = None if max is None else to_exact(max, what="clamp max")
    if lo is None and hi is None:
        raise UnsupportedOperationError("clamp", "give min or max (or both)")
    if lo is not None and hi is not None and lo > hi:
        raise UnsupportedOperationError("clamp", f"min={lo} is larger than max={hi}")
    conv = _pin(convention)
    return _map(lambda v: apply("clamp", (v,), (lo, hi), conv), x)


def _flat_items(args, name):
    if len(args) == 1 and isinstance(args[0], (list, tuple, Array, np.ndarray)):
        seq = args[0]
        items = list(seq.a.ravel()) if isinstance(seq, Array) else list(np.asarray(seq, dtype=object).ravel())
    else:
        items = list(args)
    if not items:
        raise UnsupportedOperationError(name, "needs at least one argument")
    return items


def max(*args: Any, convention: Any = None) -> Any:
    """The maximum of the arguments (or of one sequence): one k-ary node, ties by ``convention.reduce``."""
    items = _flat_items(args, "max")
    return items[0] if len(items) == 1 else apply("max", items, (len(items),), _pin(convention))


def min(*args: Any, convention: Any = None) -> Any:
    """The minimum of the arguments (or of one sequence); ties by ``convention.reduce``."""
    items = _flat_items(args, "min")
    return items[0] if len(items) == 1 else apply("min", items, (len(items),), _pin(convention))


def _binary(name, a, b, conv=None):
    def seqish(v):
        return isinstance(v, (list, tuple, Array, np.ndarray))
    if not seqish(a) and not seqish(b):
        return apply(name, (a, b), (2,), conv)
    if seqish(a) and seqish(b):
        if len(a) != len(b):
            raise UnsupportedOperationError(name, f"lengths {len(a)} and {len(b)} differ")
        out = [_binary(name, u, v, conv) for u, v in zip(a, b)]
    elif seqish(a):
        out = [_binary(name, u, b, conv) for u in a]
    else:
        out = [_binary(name, a, v, conv) for v in b]
    return Array(np.array(out + [None], dtype=object)[:-1]) if isinstance(a, Array) or isinstance(b, Array) else out


def maximum(a: Any, b: Any, *, convention: Any = None) -> Any:
    """Elementwise ``max(a, b)``; at ``a = b`` the first gets ``convention.maximum``."""
    return _binary("maximum", a, b, _pin(convention))


def minimum(a: Any, b: Any, *, convention: Any = None) -> Any:
    """Elementwise ``min(a, b)``; at ``a = b`` the first gets ``convention.maximum``."""
    return _binary("minimum", a, b, _pin(convention))


def _as_object_array(x, ndim, name):
    a = x.a if isinstance(x, Array) else np.asarray(x, dtype=object)
    if a.ndim != ndim:
        raise UnsupportedOperationError(name, f"expects a {ndim}-D input, got shape {a.shape}")
    return a



def _window_max(conv=None):
    def reduce(items):
        return items[0] if len(items) == 1 else apply("maxpool", items, (len(items),), conv)
    return reduce


def max_pool(a: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, op: str, conv: Any = None, *,
             dilation: tuple | None = None, ceil_mode: bool = False, windows: list | None = None) -> Array:
    """Max pooling of the last ``len(kernel)`` axes of an object array: one ``maxpool`` node per window.

    The shared builder of every max-pooling front end (``op`` names it in errors;
    ``conv`` pins the tie rule of a framework's pooling).  ``dilation`` and
    ``ceil_mode`` as in torch; ``windows`` (one list of index lists per pooled
    axis, e.g. adaptive pooling's) replaces ``kernel``/``stride``/``padding``.
    """
    reduce = _window_max(conv)
    try:
        if windows is not None:
            return Array(pool_windows(a, windows, lambda items, oi: reduce(items)))
        return Array(pool(a, kernel, stride, padding, reduce, dilation, ceil_mode))
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None


def maxpool1d(seq: Any, kernel_size: int, stride: int | None = None, padding: int = 0, *,
              convention: Any = None) -> Array:
    """Max pooling over a 1-D sequence, as ``torch.nn.MaxPool1d``: one ``maxpool`` node per window.

    Ties in a window go by ``convention.pool`` (torch and jax: the first element).
    """
    a = _as_object_array(seq, 1, "maxpool1d")
    stride = kernel_size if stride is None else stride
    return max_pool(a, (kernel_size,), (stride,), (padding,), "maxpool1d", _pin(convention))


def maxpool2d(rows: Any, kernel_size: int | tuple, stride: int | tuple | None = None,
              padding: int | tuple = 0, *, convention: Any = None) -> Array:
    """Max pooling over a 2-D input, as ``torch.nn.MaxPool2d``; windows read row-major."""
    a = _as_object_array(rows, 2, "maxpool2d")
    try:
        k = pair(kernel_size, "kernel_size")
        s = pair(kernel_size if stride is None else stride, "stride")
        p = pair(padding, "padding")
    except ValueError as e:
        raise UnsupportedOperationError("maxpool2d", str(e)) from None
    return max_pool(a, k, s, p, "maxpool2d", _pin(convention))


def sort(x: Any, descending: bool = False, *, convention: Any = None) -> list:
    """The entries of a 1-D sequence sorted: one ``order`` node per rank (k-th smallest of all).

    Ties go by ``convention.order`` (torch and jax: ``"stable"``, as a stable
    ascending sort).  ``descending=True`` reverses the ranks (the same nodes).

    Examples
    --------
    >>> sort([3, 1, 2]), sort([3, 1, 2], descending=True)
    ([1, 2, 3], [3, 2, 1])
    """
    items = _flat_items((x,), "sort")
    k = len(items)
    conv = _pin(convention)
    out = [apply("order", items, (k, j), conv) for j in range(k)]
    return out[::-1] if descending else out
