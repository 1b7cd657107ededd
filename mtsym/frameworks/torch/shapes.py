"""torch's shape calls and routine tensor methods: they move traced values around (no nodes).

``stack``, ``cat``, ``reshape``/``view``/``view_as``, ``flatten``, ``squeeze``,
``unsqueeze``, ``transpose``, ``permute``, ``expand``, ``repeat``, ``flip``,
``chunk``/``split``/``unbind``, ``narrow``, ``index_select`` (with numeric
indices); ``contiguous``, ``clone``, ``float``/``double``/``to(dtype)``/``cpu``
(traced values are exact: a float dtype changes nothing), ``numel``, ``size``,
``dim``; ``zeros_like``/``ones_like``/``full_like`` (numbers).
"""

__all__ = []

import math

import numpy as np

from ...errors import UnsupportedOperationError
from ...value import Value
from ..arrays import as_array, normalize_axis, wrap
from .base import rule, shape_args


@rule("torch.stack")
def stack(tensors, dim=0):
    arrays = [as_array(t, "torch.stack") for t in tensors]
    if len({a.shape for a in arrays}) > 1:
        raise UnsupportedOperationError("torch.stack", f"shapes differ: {[a.shape for a in arrays]}")
    d = normalize_axis(dim, arrays[0].ndim + 1, "torch.stack")
    return wrap(np.stack(arrays, axis=d))


@rule("torch.cat", "torch.concat", "torch.concatenate")
def cat(tensors, dim=0):
    arrays = [as_array(t, "torch.cat") for t in tensors]
    d = normalize_axis(dim, arrays[0].ndim, "torch.cat")
    try:
        return wrap(np.concatenate(arrays, axis=d))
    except ValueError as e:
        raise UnsupportedOperationError("torch.cat", str(e)) from None


@rule("torch.reshape", "torch.Tensor.reshape", "torch.Tensor.view")
def reshape(input, *shape):
    a = as_array(input, "reshape")
    try:
        return wrap(a.reshape(shape_args(shape, "reshape")))
    except ValueError as e:
        raise UnsupportedOperationError("reshape", str(e)) from None


@rule("torch.Tensor.view_as", "torch.Tensor.reshape_as")
def view_as(input, other):
    return reshape(input, as_array(other, "view_as").shape)


@rule("torch.flatten", "torch.Tensor.flatten")
def flatten(input, start_dim=0, end_dim=-1):
    a = as_array(input, "flatten")
    if a.ndim == 0:
        return wrap(a.reshape(1))
    s, e = normalize_axis(start_dim, a.ndim, "flatten"), normalize_axis(end_dim, a.ndim, "flatten")
    shape = a.shape[:s] + (int(np.prod(a.shape[s:e + 1], dtype=int)),) + a.shape[e + 1:]
    return wrap(a.reshape(shape))


@rule("torch.unsqueeze", "torch.Tensor.unsqueeze")
def unsqueeze(input, dim):
    a = as_array(input, "unsqueeze")
    return wrap(np.expand_dims(a, normalize_axis(dim, a.ndim + 1, "unsqueeze")))


@rule("torch.squeeze", "torch.Tensor.squeeze")
def squeeze(input, dim=None):
    a = as_array(input, "squeeze")
    if dim is None:
        return wrap(a.reshape(tuple(d for d in a.shape if d != 1)))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(d for d in (normalize_axis(x, a.ndim, "squeeze") for x in dims) if a.ndim and a.shape[d] == 1)
    return wrap(np.squeeze(a, axis=axes) if axes else a)


@rule("torch.transpose", "torch.Tensor.transpose", "torch.swapaxes", "torch.Tensor.swapaxes")
def transpose(input, dim0, dim1):
    a = as_array(input, "transpose")
    return wrap(np.swapaxes(a, normalize_axis(dim0, a.ndim, "transpose"), normalize_axis(dim1, a.ndim, "transpose")))


@rule("torch.t", "torch.Tensor.t")
def t(input):
    return wrap(as_array(input, "t").T)


@rule("torch.permute", "torch.Tensor.permute")
def permute(input, *dims):
    return wrap(np.transpose(as_array(input, "permute"), shape_args(dims, "permute")))


@rule("torch.flip", "torch.Tensor.flip")
def flip(input, dims):
    a = as_array(input, "flip")
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return wrap(np.flip(a, axis=tuple(normalize_axis(d, a.ndim, "flip") for d in dims)))


@rule("torch.Tensor.expand")
def expand(input, *sizes):
    a = as_array(input, "expand")
    sizes = shape_args(sizes, "expand")
    lead = len(sizes) - a.ndim
    if lead < 0:
        raise UnsupportedOperationError("expand", f"{len(sizes)} sizes for a {a.ndim}-D tensor")
    full = tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    try:
        return wrap(np.broadcast_to(a, full))
    except ValueError as e:
        raise UnsupportedOperationError("expand", str(e)) from None


@rule("torch.Tensor.expand_as")
def expand_as(input, other):
    return expand(input, as_array(other, "expand_as").shape)


@rule("torch.Tensor.repeat")
def repeat(input, *sizes):
    a = as_array(input, "repeat")
    sizes = shape_args(sizes, "repeat")
    if len(sizes) < a.ndim:
        raise UnsupportedOperationError("repeat", f"{len(sizes)} repeats for a {a.ndim}-D tensor")
    return wrap(np.tile(a, sizes))


@rule("torch.chunk", "torch.Tensor.chunk")
def chunk(input, chunks, dim=0):
    a = as_array(input, "chunk")
    d = normalize_axis(dim, a.ndim, "chunk")
    size = -(-a.shape[d] // chunks)
    return split(input, size, d)


@rule("torch.split", "torch.Tensor.split")
def split(tensor, split_size_or_sections, dim=0):
    a = as_array(tensor, "split")
    d = normalize_axis(dim, a.ndim, "split")
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        cuts = list(range(split_size_or_sections, n, split_size_or_sections))
    else:
        cuts = list(np.cumsum(split_size_or_sections)[:-1])
    return tuple(wrap(p) for p in np.split(a, cuts, axis=d))


@rule("torch.unbind", "torch.Tensor.unbind")
def unbind(input, dim=0):
    a = as_array(input, "unbind")
    d = normalize_axis(dim, a.ndim, "unbind")
    return tuple(wrap(np.take(a, i, axis=d)) for i in range(a.shape[d]))


@rule("torch.narrow", "torch.Tensor.narrow")
def narrow(input, dim, start, length):
    a = as_array(input, "narrow")
    d = normalize_axis(dim, a.ndim, "narrow")
    return wrap(np.take(a, range(start % a.shape[d], start % a.shape[d] + length), axis=d))


@rule("torch.select", "torch.Tensor.select")
def select(input, dim, index):
    a = as_array(input, "select")
    return wrap(np.take(a, index, axis=normalize_axis(dim, a.ndim, "select")))


@rule("torch.index_select", "torch.Tensor.index_select")
def index_select(input, dim, index):
    """``index_select`` with numeric indices (a traced index would depend on the data)."""
    a, idx = as_array(input, "index_select"), as_array(index, "index_select").reshape(-1)
    if any(isinstance(i, Value) for i in idx):
        raise UnsupportedOperationError("index_select", "the indices depend on the input's values")
    return wrap(np.take(a, [int(i) for i in idx], axis=normalize_axis(dim, a.ndim, "index_select")))


# --------------------------------------------------------------------------- routine methods
def _same(input, *args, **kwargs):
    return input


_FLOAT_DTYPES = {"float16", "bfloat16", "float32", "float64", "float", "double", "half"}


@rule("torch.Tensor.to", "torch.Tensor.type")
def to(input, *args, **kwargs):
    """``.to(dtype)``/``.to(device)``/``.type(dtype)``: traced values are exact, any float dtype keeps them."""
    for v in list(args) + [kwargs.get("dtype")]:
        name = str(v).replace("torch.", "") if v is not None else ""
        if name and (name in ("int8", "int16", "int32", "int64", "uint8", "bool", "long", "int", "short")):
            raise UnsupportedOperationError("torch.Tensor.to", f"converting traced values to {name} rounds them "
                                            "and drops the trace")
    return input


rule("torch.Tensor.contiguous", "torch.Tensor.float", "torch.Tensor.double", "torch.Tensor.cpu")(_same)


@rule("torch.clone", "torch.Tensor.clone")
def clone(input, *, memory_format=None):
    return wrap(as_array(input, "clone").copy())


@rule("torch.Tensor.long", "torch.Tensor.int", "torch.Tensor.bool")
def to_int(input, *args, **kwargs):
    a = as_array(input, "conversion to integers")
    if any(isinstance(v, Value) for v in a.flat):
        raise UnsupportedOperationError("torch.Tensor.long", "converting traced values to integers rounds them "
                                        "and drops the trace")
    return wrap(a)


@rule("torch.numel", "torch.Tensor.numel", "torch.Tensor.nelement")
def numel(input):
    return int(math.prod(as_array(input, "numel").shape))


@rule("torch.Tensor.size")
def size(input, dim=None):
    shape = as_array(input, "size").shape
    return shape if dim is None else shape[dim]


@rule("torch.Tensor.dim", "torch.Tensor.ndimension")
def dim(input):
    return as_array(input, "dim").ndim


def _like(fill):
    def like(input, *args, **kwargs):
        a = as_array(input, "zeros_like")
        out = np.empty(a.shape, dtype=object)
        out.fill(fill(args, kwargs))
        return wrap(out)
    return like


rule("torch.zeros_like")(_like(lambda a, k: 0))
rule("torch.ones_like")(_like(lambda a, k: 1))
rule("torch.full_like")(_like(lambda a, k: as_array(a[0] if a else k["fill_value"], "full_like")[()]))


# --------------------------------------------------------------------------- attributes
def _torch():
    import torch
    return torch


#: tensor attributes of traced arrays: traced values are exact, they present as float64 CPU tensors
ATTRIBUTES = {
    "dtype": lambda obj: _torch().float64,
    "device": lambda obj: _torch().device("cpu"),
    "is_cuda": lambda obj: False,
    "requires_grad": lambda obj: False,
    "layout": lambda obj: _torch().strided,
}
