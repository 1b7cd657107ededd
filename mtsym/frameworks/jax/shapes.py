"""jaxpr primitives that move values (shapes, slices, ``gather`` with constant indices, ``pad``), comparisons
with ``select_n`` (Python branches), conversions, and calls (``jit``, ``pjit``)."""

__all__ = []

import numpy as np

from ...errors import UnsupportedOperationError
from ...value import Value
from ..arrays import DataDependent, as_array, emap, reduce_axes
from .base import CONTEXT, op_name, rule


def _compare(fn):
    return lambda eqn, xs: emap(fn, *xs)


for _name, _fn in {"gt": lambda u, v: u > v, "ge": lambda u, v: u >= v, "lt": lambda u, v: u < v,
                   "le": lambda u, v: u <= v, "eq": lambda u, v: u == v, "ne": lambda u, v: u != v}.items():
    rule(_name)(_compare(_fn))
rule("and")(lambda eqn, xs: emap(lambda u, v: u and v if isinstance(u, bool) else u & v, *xs))
rule("or")(lambda eqn, xs: emap(lambda u, v: u or v if isinstance(u, bool) else u | v, *xs))
rule("not")(lambda eqn, xs: emap(lambda u: not u if isinstance(u, bool) else ~u, xs[0]))


@rule("reduce_or", "reduce_and")
def _reduce_bool(eqn, xs):
    fn = any if eqn.primitive.name == "reduce_or" else all
    return reduce_axes(xs[0], tuple(eqn.params["axes"]), False, lambda v: fn(bool(u) for u in v))


@rule("select_n")
def _select_n(eqn, xs):
    def pick(p, *cases):
        if isinstance(p, (Value, DataDependent)):
            raise UnsupportedOperationError(op_name("select_n"), "the selector must be a comparison result")
        return cases[int(p)]
    return emap(pick, *xs)


@rule("convert_element_type")
def _convert(eqn, xs):
    dtype = np.dtype(eqn.params["new_dtype"])
    if dtype.kind == "f":
        return xs[0]
    if any(isinstance(v, Value) for v in xs[0].flat):
        raise UnsupportedOperationError(op_name("convert_element_type"), f"converting a traced value to {dtype} "
                                        "drops the trace")
    return emap(lambda u: bool(u) if dtype.kind == "b" else int(u), xs[0])


@rule("iota")
def _iota(eqn, xs):
    p = eqn.params
    shape = tuple(p["shape"])
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = idx[p["dimension"]]
    return out


# --------------------------------------------------------------------------- calls
@rule("jit", "pjit", "closed_call", "core_call", "remat", "checkpoint")
def _call(eqn, xs):
    from . import run_jaxpr
    closed = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
    CONTEXT.append(str(eqn.params.get("name", "")))
    try:
        if hasattr(closed, "consts"):
            return run_jaxpr(closed.jaxpr, [as_array(c, "jaxpr constant") for c in closed.consts], xs)
        return run_jaxpr(closed, [], xs)
    finally:
        CONTEXT.pop()


# --------------------------------------------------------------------------- shapes
@rule("broadcast_in_dim")
def _broadcast(eqn, xs):
    shape, dims = tuple(eqn.params["shape"]), tuple(eqn.params["broadcast_dimensions"])
    a = xs[0]
    view = [1] * len(shape)
    for i, d in enumerate(dims):
        view[d] = a.shape[i]
    return np.broadcast_to(a.reshape(view), shape)


rule("reshape")(lambda eqn, xs: xs[0].reshape(tuple(eqn.params["new_sizes"])))
rule("squeeze")(lambda eqn, xs: np.squeeze(xs[0], axis=tuple(eqn.params["dimensions"])))
rule("expand_dims")(lambda eqn, xs: np.expand_dims(xs[0], tuple(eqn.params["dimensions"])))
rule("transpose")(lambda eqn, xs: np.transpose(xs[0], tuple(eqn.params["permutation"])))
rule("rev")(lambda eqn, xs: np.flip(xs[0], axis=tuple(eqn.params["dimensions"])))
rule("concatenate")(lambda eqn, xs: np.concatenate(xs, axis=eqn.params["dimension"]))
rule("stack")(lambda eqn, xs: np.stack(xs, axis=eqn.params["axis"]))


@rule("slice")
def _slice(eqn, xs):
    p = eqn.params
    strides = p["strides"] or (1,) * xs[0].ndim
    return xs[0][tuple(slice(a, b, s) for a, b, s in zip(p["start_indices"], p["limit_indices"], strides))]


@rule("split")
def _split(eqn, xs):
    sizes, axis = eqn.params["sizes"], eqn.params["axis"]
    return np.split(xs[0], list(np.cumsum(sizes)[:-1]), axis=axis)


def _constant_ints(a, op):
    if any(isinstance(v, (Value, DataDependent)) for v in a.flat):
        raise UnsupportedOperationError(op_name(op), "a traced index depends on the data")
    return np.vectorize(int, otypes=[np.intp])(a) if a.size else a.astype(np.intp)


@rule("dynamic_slice")
def _dynamic_slice(eqn, xs):
    a, starts = xs[0], xs[1:]
    idx = []
    for d, (s, size) in enumerate(zip(starts, eqn.params["slice_sizes"])):
        start = int(min(max(int(_constant_ints(s, "dynamic_slice")[()]), 0), a.shape[d] - size))
        idx.append(slice(start, start + size))
    return a[tuple(idx)]


@rule("gather")
def _gather(eqn, xs):
    """XLA's gather with constant indices (``x[jnp.array([2, 0])]``, ``jnp.median``'s middle entries)."""
    p = eqn.params
    dn = p["dimension_numbers"]
    operand, indices = xs
    idx = _constant_ints(indices, "gather")
    if tuple(dn.operand_batching_dims):
        raise UnsupportedOperationError(op_name("gather"), "batched gathers are not supported")
    sizes = tuple(p["slice_sizes"])
    batch_shape = idx.shape[:-1]
    offset_shape = tuple(s for d, s in enumerate(sizes) if d not in dn.collapsed_slice_dims)
    fill = "FILL" in str(p.get("mode", ""))
    out = np.empty(batch_shape + offset_shape, dtype=object)
    for b in np.ndindex(*batch_shape):
        start = [0] * operand.ndim
        for i, d in enumerate(dn.start_index_map):
            start[d] = int(idx[b + (i,)])
        oob = any(not 0 <= start[d] <= operand.shape[d] - sizes[d] for d in range(operand.ndim))
        if oob and fill:
            out[b] = p.get("fill_value") or 0
            continue
        start = [min(max(s, 0), operand.shape[d] - sizes[d]) for d, s in enumerate(start)]
        piece = operand[tuple(slice(s, s + n) for s, n in zip(start, sizes))]
        out[b] = piece.reshape(offset_shape) if offset_shape else piece.reshape(())[()]
    nb = len(batch_shape)
    return np.moveaxis(out, list(range(nb, nb + len(offset_shape))), list(dn.offset_dims))


@rule("pad")
def _pad(eqn, xs):
    """``lax.pad`` / ``jnp.pad`` with a constant (``-inf`` too): crop, pad and interior-dilate each axis."""
    a, value = xs
    fill = value[()] if value.ndim == 0 else value
    for d, (lo, hi, interior) in enumerate(eqn.params["padding_config"]):
        lo, hi, interior = int(lo), int(hi), int(interior)
        n = a.shape[d]
        length = n + max(n - 1, 0) * interior
        grown = np.empty(a.shape[:d] + (length,) + a.shape[d + 1:], dtype=object)
        grown.fill(fill)
        sel = [slice(None)] * a.ndim
        sel[d] = slice(0, length, interior + 1)
        grown[tuple(sel)] = a
        parts = []
        if lo > 0:
            parts.append(np.full(a.shape[:d] + (lo,) + a.shape[d + 1:], fill, dtype=object))
        sel[d] = slice(max(-lo, 0), length - max(-hi, 0))
        parts.append(grown[tuple(sel)])
        if hi > 0:
            parts.append(np.full(a.shape[:d] + (hi,) + a.shape[d + 1:], fill, dtype=object))
        a = np.concatenate(parts, axis=d)
    return a
