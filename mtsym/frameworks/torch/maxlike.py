"""torch's max-like calls: max, min, amax, amin, maximum, minimum, and the order statistics
(sort, msort, topk, kthvalue, median), each with torch's tie rule pinned on its nodes.

Measured with torch 2.13.0 (CPU) and pinned in ``tests/test_pinned_conventions.py``:
``torch.sort`` ascending is stable, ``descending=True`` is stable read backwards
(``order="reverse"``); ``msort`` is ``sort`` along dim 0; ``torch.median(x)``
gives 1/k to each of the k entries equal to the median, ``torch.median(x, dim)``
its index (a stable sort's).  ``topk`` and ``kthvalue`` select with a partial
sort whose order among tied entries is implementation-defined (``topk(zeros(4),
2)`` returns indices 2, 3): no rule of the tie set alone describes it, so their
nodes carry the stable rule and ``table.check`` reports the strata where torch
chose otherwise.
"""

__all__ = ["MaxResult", "SortResult"]

import collections

import numpy as np

from ...errors import UnsupportedOperationError
from ...value import apply
from ..arrays import DataDependent, along, as_array, emap, reduce_axes, reducer, wrap
from .base import TORCH, TORCH_FIRST, TORCH_MEAN_ORDER, TORCH_REVERSE, rule

MaxResult = collections.namedtuple("MaxResult", "values indices")
MaxResult.__doc__ = "``torch.max(x, dim)``: ``values`` are traced; ``indices`` depend on the data."
SortResult = collections.namedtuple("SortResult", "values indices")
SortResult.__doc__ = "``torch.sort``/``topk``/``kthvalue``/``median(x, dim)``: traced ``values``; the indices " \
    "depend on the data."


def _max_like(prim, pair, op, input, dim, keepdim, other):
    if other is None and dim is not None and not isinstance(dim, (int, np.integer)):
        other, dim = dim, None  # torch.max(a, b)
    if other is not None:
        return wrap(emap(lambda u, v: apply(pair, (u, v), (2,), TORCH), as_array(input, op), as_array(other, op)))
    a = as_array(input, op)
    if dim is None:
        return wrap(reduce_axes(a, None, False, reducer(prim, TORCH)))
    values = wrap(reduce_axes(a, dim, keepdim, reducer(prim, TORCH_FIRST)))
    return MaxResult(values, DataDependent(f"{op}(x, dim).indices"))


@rule("torch.max", "torch.Tensor.max")
def max(input, dim=None, keepdim=False, *, other=None):
    """``torch.max``: full reduction 1/k per tie; with ``dim`` all to the first index; with a tensor: maximum."""
    return _max_like("max", "maximum", "torch.max", input, dim, keepdim, other)


@rule("torch.min", "torch.Tensor.min")
def min(input, dim=None, keepdim=False, *, other=None):
    """``torch.min``, as :func:`max`."""
    return _max_like("min", "minimum", "torch.min", input, dim, keepdim, other)


@rule("torch.amax", "torch.Tensor.amax")
def amax(input, dim=(), keepdim=False):
    """``torch.amax``: ties split evenly within each reduced slice."""
    return wrap(reduce_axes(as_array(input, "torch.amax"), dim, keepdim, reducer("max", TORCH)))


@rule("torch.amin", "torch.Tensor.amin")
def amin(input, dim=(), keepdim=False):
    """``torch.amin``: ties split evenly."""
    return wrap(reduce_axes(as_array(input, "torch.amin"), dim, keepdim, reducer("min", TORCH)))


@rule("torch.maximum", "torch.Tensor.maximum", "torch.max_other")
def maximum(input, other):
    """``torch.maximum``: 1/2 each at a tie, broadcasting."""
    return _max_like("max", "maximum", "torch.maximum", input, None, False, other)


@rule("torch.minimum", "torch.Tensor.minimum")
def minimum(input, other):
    """``torch.minimum``: 1/2 each at a tie."""
    return _max_like("min", "minimum", "torch.minimum", input, None, False, other)


# --------------------------------------------------------------------------- order statistics
def _ranks(ranks, conv):
    """``xs -> [order(k, j) for j in ranks(k)]`` with the tie rule ``conv``."""
    def fn(xs):
        k = len(xs)
        return [xs[0] if k == 1 else apply("order", xs, (k, j), conv) for j in ranks(k)]
    return fn


def _keep(out, keepdim, dim):
    return out if keepdim else np.squeeze(out, axis=dim % out.ndim)


@rule("torch.sort", "torch.Tensor.sort")
def sort(input, dim=-1, descending=False, stable=False):
    """``torch.sort``: stable ascending; ``descending=True`` reads a stable sort backwards."""
    a = as_array(input, "torch.sort")
    if descending:
        values = along(a, dim, _ranks(lambda k: range(k - 1, -1, -1), TORCH_REVERSE), "torch.sort")
    else:
        values = along(a, dim, _ranks(range, TORCH), "torch.sort")
    return SortResult(wrap(values), DataDependent("torch.sort(...).indices"))


@rule("torch.msort", "torch.Tensor.msort")
def msort(input):
    """``torch.msort``: ``sort`` along dim 0 (values)."""
    return wrap(along(as_array(input, "torch.msort"), 0, _ranks(range, TORCH), "torch.msort"))


@rule("torch.topk", "torch.Tensor.topk")
def topk(input, k, dim=-1, largest=True, sorted=True):
    """``torch.topk`` values: the k largest (smallest) in order; ties as a stable sort (see the module)."""
    if not sorted:
        raise UnsupportedOperationError("torch.topk", "sorted=False returns the k values in an "
                                        "implementation-defined order; use sorted=True")
    a = as_array(input, "torch.topk")
    n = a.shape[dim] if a.ndim else 1
    if not 0 <= k <= n:
        raise UnsupportedOperationError("torch.topk", f"k={k} is out of range for {n} entries")
    if largest:
        fn = _ranks(lambda m: range(m - 1, m - 1 - k, -1), TORCH_REVERSE)
    else:
        fn = _ranks(lambda m: range(k), TORCH)
    return SortResult(wrap(along(a, dim, fn, "torch.topk")), DataDependent("torch.topk(...).indices"))


@rule("torch.kthvalue", "torch.Tensor.kthvalue")
def kthvalue(input, k, dim=-1, keepdim=False):
    """``torch.kthvalue`` values: the k-th smallest (1-based); ties as a stable sort (see the module)."""
    a = as_array(input, "torch.kthvalue")
    n = a.shape[dim] if a.ndim else 1
    if not 1 <= k <= n:
        raise UnsupportedOperationError("torch.kthvalue", f"k={k} is out of range for {n} entries")
    out = along(a, dim, _ranks(lambda m: [k - 1], TORCH), "torch.kthvalue")
    return SortResult(wrap(_keep(out, keepdim, dim)), DataDependent("torch.kthvalue(...).indices"))


@rule("torch.median", "torch.Tensor.median", "torch.nanmedian", "torch.Tensor.nanmedian")
def median(input, dim=None, keepdim=False):
    """``torch.median``: the lower median; over all entries 1/k to each of k tied entries, along ``dim``
    to one index (a stable sort's)."""
    a = as_array(input, "torch.median")
    if dim is None:
        flat = list(a.ravel())
        k = len(flat)
        return flat[0] if k == 1 else apply("order", flat, (k, (k - 1) // 2), TORCH_MEAN_ORDER)
    out = along(a, dim, _ranks(lambda m: [(m - 1) // 2], TORCH), "torch.median")
    return SortResult(wrap(_keep(out, keepdim, dim)), DataDependent("torch.median(x, dim).indices"))
