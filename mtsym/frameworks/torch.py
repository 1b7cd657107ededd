"""PyTorch code, unchanged: traced values take part in torch calls through ``__torch_function__``.

:class:`~mtsym.trace.Value` and :class:`~mtsym.trace.Array` define
``__torch_function__``; torch hands every call that meets a traced value to
:func:`torch_function`, which looks the torch callable up in a rule table
(built the first time, when torch is imported) and runs the rule on numpy
object arrays of traced values.  Each rule pins **torch's own tie rule**
(``conventions.md``), whatever convention the table was asked for:

================================================  ==========================================
torch call                                        tie rule pinned on the node
================================================  ==========================================
``torch.max(x)``, ``amax``, ``min``, ``amin``     k tied entries get 1/k each
``torch.max(x, dim)``, ``torch.min(x, dim)``      everything to the first tied index
``torch.maximum/minimum(a, b)``, ``max(a, b)``    1/2 each at ``a = b``
``torch.relu``, ``F.relu``, ``nn.ReLU``           relu'(0) = 0
``F.leaky_relu``                                  the slope at 0
``torch.abs``                                     abs'(0) = 0
``torch.clamp/clip/clamp_min/clamp_max``          1 at a bound (also when ``min == max``)
``F.hardtanh``, ``F.relu6``, ``nn.ReLU6``         0 at a bound
``F.max_pool1d/2d``, ``nn.MaxPool1d/2d``          the first element of the window (row-major)
================================================  ==========================================

Smooth calls are traced exactly: ``F.linear``/``nn.Linear`` (float weights
become the exact rationals they hold), ``matmul``/``@``, ``+ - *``, ``/`` by
constants, ``sum``, ``mean``, ``stack``, ``cat``, ``reshape``, ``view``,
``flatten``, ``squeeze``, ``unsqueeze``, ``transpose``, ``permute``;
``nn.Sequential`` and other modules work because their ``forward`` makes these
calls.  A traced array also has these as methods (``x.max()``,
``x.clamp(0, 1)``, ``x.unsqueeze(0)``), with torch's meaning.

Anything else is refused with an :class:`~mtsym.errors.UnsupportedOperationError`
naming the torch function and the user's line: in-place ops (``relu_``,
``inplace=True``, ``out=``, ``x[i] = v``), ``.item()``, data-dependent
results (indices, ``nonzero``, boolean masks), elementwise comparisons.
``torch.tensor([t, 2 * t])`` cannot be intercepted (torch reads the entries
itself); write ``torch.stack([t, 2 * t])``.

Examples
--------
>>> import mtsym as mt
>>> table = mt.derive(lambda x: x.max() - x.max(0).values, 2)   # methods work without torch too
>>> table.grad_at((1, 1))
Matrix([[-1/2, 1/2]])
"""

__all__ = ["torch_function", "tensor_method", "rules", "METHODS", "TORCH", "TORCH_FIRST", "TORCH_HARD",
           "flatten", "func_name"]

import builtins
import collections
import functools
import importlib
from fractions import Fraction

import numpy as np

from ..conventions import Convention
from ..errors import UnsupportedOperationError, skip_frames_of
from ..extensions import register
from ..exact import to_exact
from ..ops import max_pool
from ..arrays import lincomb
from ..arrays import matmul as matmul_entries
from ..value import Value, apply
from .arrays import DataDependent, as_array, emap, normalize_axis, reduce_axes, reducer, wrap

#: torch's rules (conventions.md): relu'(0)=0, abs'(0)=0, maximum 1/2, reductions 1/k, pool first, clamp 1
TORCH = Convention("torch")
#: ``torch.max(x, dim)``: the gradient goes to the returned (first) index
TORCH_FIRST = Convention("torch", reduce="first")
#: ``hardtanh``/``relu6``: derivative 0 at the bounds
TORCH_HARD = Convention("torch", clamp=0)

_SPECS = []       # (handler, torch paths)
_RULES = None     # torch callable -> handler, built on first use
#: tensor methods of traced arrays/values (no torch needed): name -> handler(self, ...)
METHODS = {}


def _rule(*paths):
    def deco(fn):
        _SPECS.append((fn, paths))
        for p in paths:
            if p.startswith("torch.Tensor.") and not p.endswith("__"):
                METHODS[p[len("torch.Tensor."):]] = fn
        return fn
    return deco


def _resolve(path):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def rules():
    """The rule table ``{torch callable: handler}`` (imports torch; built once)."""
    global _RULES
    if _RULES is None:
        import torch
        skip_frames_of(torch)
        table = {}
        for fn, paths in _SPECS:
            for p in paths:
                obj = _resolve(p)
                if obj is not None:
                    table[obj] = fn
        _RULES = table
    return _RULES


def func_name(func):
    """A readable name of a torch callable: ``torch.max``, ``torch.Tensor.mul``, ``torch.nn.functional.relu``."""
    name = getattr(func, "__name__", None) or repr(func)
    qual = getattr(func, "__qualname__", "") or ""
    if getattr(func, "__objclass__", None) is not None or qual.startswith(("Tensor.", "TensorBase.")):
        return "torch.Tensor." + name
    mod = getattr(func, "__module__", None) or "torch"
    if mod.startswith("torch._C._nn") or mod == "torch.nn.functional":
        return "torch.nn.functional." + name
    if mod.startswith("torch._C") or mod == "torch":
        return "torch." + name
    return f"{mod}.{name}"


_DATA_DEPENDENT = {"nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "argmax", "argmin",
                   "argsort", "sort", "topk", "kthvalue", "bincount", "where", "__getitem__",
                   "__bool__", "__index__", "__int__", "__float__", "masked_fill", "index_select", "gather",
                   "numpy", "__array__"}
_COMPARISONS = {"gt", "lt", "ge", "le", "eq", "ne", "greater", "less", "greater_equal", "less_equal",
                "not_equal", "equal", "__gt__", "__lt__", "__ge__", "__le__", "__eq__", "__ne__", "isclose",
                "allclose"}
_REFUSED = {"detach": "detaching a traced value changes its gradient; mtsym cannot trace it",
            "backward": "call backward on real tensors; mtsym derives gradients itself",
            "requires_grad_": "traced values need no autograd flags",
            "item": ".item() would turn the traced value into a Python number and drop the trace; keep it a "
                    "tensor (compare it in an `if` if you need a decision)",
            "tolist": ".tolist() would turn traced values into Python numbers and drop the trace"}


def _is_inplace(name):
    dunder = name.startswith("__") and name.endswith("__")
    return (name.endswith("_") and not dunder) or name in ("__iadd__", "__isub__", "__imul__", "__itruediv__",
                                                           "__setitem__", "__ior__", "__iand__")


def _refuse(name):
    short = name.rsplit(".", 1)[-1]
    if _is_inplace(short):
        raise UnsupportedOperationError(name, "in-place operations on traced values are not traced; use the "
                                        "out-of-place form (e.g. torch.relu(x), x = x + 1)")
    if short in _DATA_DEPENDENT:
        raise UnsupportedOperationError(name, "its result (integer values, indices or shape) depends on the "
                                        "input's values; mtsym traces values through max/relu/affine ops only")
    if short in _COMPARISONS:
        raise UnsupportedOperationError(name, "an elementwise comparison gives a boolean tensor that depends on "
                                        "the data; compare traced scalars in a Python `if` (each outcome is "
                                        "explored) or use torch.maximum/torch.relu")
    if short in _REFUSED:
        raise UnsupportedOperationError(name, _REFUSED[short])
    raise UnsupportedOperationError(name, "is not a torch operation mtsym can trace (supported: max, amax, min, "
                                    "amin, maximum, minimum, relu, leaky_relu, abs, clamp, hardtanh, relu6, "
                                    "max_pool1d/2d, linear, matmul, + - *, / by constants, sum, mean, stack, cat, "
                                    "reshape, view, flatten, squeeze, unsqueeze, transpose, permute)")


def torch_function(func, types, args=(), kwargs=None):
    """The ``__torch_function__`` of traced values: run the rule of ``func``, or refuse it by name."""
    kwargs = kwargs or {}
    handler = rules().get(func)
    name = func_name(func)
    if handler is None:
        _refuse(name)
    if kwargs.get("inplace") or kwargs.get("out") is not None:
        raise UnsupportedOperationError(name, "in-place operations (inplace=True, out=) on traced values are "
                                        "not traced; use the out-of-place form")
    kwargs = {k: v for k, v in kwargs.items() if k not in ("inplace", "out")}
    return handler(*args, **kwargs)


def tensor_method(obj, name):
    """``obj.name`` for a traced Array/Value: a torch Tensor method, or an error naming it.

    Returns ``None`` for private and unknown names (the caller reports those).
    """
    if name.startswith("_"):
        return None
    fn = METHODS.get(name)
    if fn is not None:
        return functools.partial(fn, obj)
    if _is_inplace(name) or name in _DATA_DEPENDENT or name in _COMPARISONS or name in _REFUSED:
        _refuse(name)
    return None


# --------------------------------------------------------------------------- helpers
def _unary(prim, conv, params=()):
    return lambda v: apply(prim, (v,), params, conv)


def _bound(v, what, op):
    if v is None:
        return None
    a = as_array(v, op)
    if a.ndim != 0 or isinstance(a[()], Value):
        raise UnsupportedOperationError(op, f"{what} must be a number (tensor or traced bounds are not supported)")
    return to_exact(a[()], what=what)


def _clamp_rule(op, input, lo, hi, conv):
    lo, hi = _bound(lo, "min", op), _bound(hi, "max", op)
    if lo is None and hi is None:
        raise UnsupportedOperationError(op, "give min or max (or both)")
    if lo is not None and hi is not None and lo > hi:
        raise UnsupportedOperationError(op, f"min={lo} is larger than max={hi}")
    return wrap(emap(_unary("clamp", conv, (lo, hi)), as_array(input, op)))


MaxResult = collections.namedtuple("MaxResult", "values indices")
MaxResult.__doc__ = "``torch.max(x, dim)``: ``values`` are traced; ``indices`` depend on the data."


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


def _tuple(v, nd, what, op):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(v)
    if len(v) == 1:
        v = v * nd
    if len(v) != nd or not all(isinstance(a, (int, np.integer)) for a in v):
        raise UnsupportedOperationError(op, f"{what} must be an int or {nd} ints, got {v!r}")
    return tuple(int(a) for a in v)


def _pool(nd, op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if return_indices:
        raise UnsupportedOperationError(op, "return_indices=True gives data-dependent indices")
    if ceil_mode:
        raise UnsupportedOperationError(op, "ceil_mode=True is not supported")
    if _tuple(dilation, nd, "dilation", op) != (1,) * nd:
        raise UnsupportedOperationError(op, f"dilation={dilation!r} is not supported (only 1)")
    a = as_array(input, op)
    if a.ndim not in (nd + 1, nd + 2):
        raise UnsupportedOperationError(op, f"expects a {nd + 1}-D or {nd + 2}-D (batch) input like torch, got "
                                        f"shape {a.shape}")
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, int) and len(tuple(stride)) == 0) else \
        _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    return max_pool(a, k, s, p, op, TORCH)


def _shape_args(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(d, (int, np.integer)) for d in shape):
        raise UnsupportedOperationError(op, f"shape {shape!r} must be ints")
    return tuple(int(d) for d in shape)


# --------------------------------------------------------------------------- max-like
@_rule("torch.max", "torch.Tensor.max")
def max(input, dim=None, keepdim=False, *, other=None):
    """``torch.max``: full reduction 1/k per tie; with ``dim`` all to the first index; with a tensor: maximum."""
    return _max_like("max", "maximum", "torch.max", input, dim, keepdim, other)


@_rule("torch.min", "torch.Tensor.min")
def min(input, dim=None, keepdim=False, *, other=None):
    """``torch.min``, as :func:`max`."""
    return _max_like("min", "minimum", "torch.min", input, dim, keepdim, other)


@_rule("torch.amax", "torch.Tensor.amax")
def amax(input, dim=(), keepdim=False):
    """``torch.amax``: ties split evenly within each reduced slice."""
    return wrap(reduce_axes(as_array(input, "torch.amax"), dim, keepdim, reducer("max", TORCH)))


@_rule("torch.amin", "torch.Tensor.amin")
def amin(input, dim=(), keepdim=False):
    """``torch.amin``: ties split evenly."""
    return wrap(reduce_axes(as_array(input, "torch.amin"), dim, keepdim, reducer("min", TORCH)))


@_rule("torch.maximum", "torch.Tensor.maximum", "torch.max_other")
def maximum(input, other):
    """``torch.maximum``: 1/2 each at a tie, broadcasting."""
    return _max_like("max", "maximum", "torch.maximum", input, None, False, other)


@_rule("torch.minimum", "torch.Tensor.minimum")
def minimum(input, other):
    """``torch.minimum``: 1/2 each at a tie."""
    return _max_like("min", "minimum", "torch.minimum", input, None, False, other)


# --------------------------------------------------------------------------- activations
@_rule("torch.relu", "torch.Tensor.relu", "torch.nn.functional.relu")
def relu(input):
    """relu, derivative 0 at 0."""
    return wrap(emap(_unary("relu", TORCH), as_array(input, "torch.relu")))


@_rule("torch.nn.functional.leaky_relu")
def leaky_relu(input, negative_slope=0.01):
    """leaky relu; the slope (a float becomes its exact rational) at 0."""
    s = to_exact(negative_slope, what="negative_slope")
    return wrap(emap(_unary("leaky_relu", TORCH, (s,)), as_array(input, "leaky_relu")))


@_rule("torch.abs", "torch.absolute", "torch.Tensor.abs", "torch.Tensor.absolute")
def abs(input):
    """abs, derivative 0 at 0."""
    return wrap(emap(_unary("abs", TORCH), as_array(input, "torch.abs")))


@_rule("torch.clamp", "torch.clip", "torch.Tensor.clamp", "torch.Tensor.clip")
def clamp(input, min=None, max=None):
    """clamp, derivative 1 at a bound."""
    return _clamp_rule("torch.clamp", input, min, max, TORCH)


@_rule("torch.clamp_min", "torch.Tensor.clamp_min")
def clamp_min(input, min):
    """clamp_min, derivative 1 at the bound."""
    return _clamp_rule("torch.clamp_min", input, min, None, TORCH)


@_rule("torch.clamp_max", "torch.Tensor.clamp_max")
def clamp_max(input, max):
    """clamp_max, derivative 1 at the bound."""
    return _clamp_rule("torch.clamp_max", input, None, max, TORCH)


@_rule("torch.nn.functional.hardtanh")
def hardtanh(input, min_val=-1.0, max_val=1.0):
    """hardtanh = clamp to ``[min_val, max_val]`` with derivative 0 at the bounds."""
    return _clamp_rule("hardtanh", input, min_val, max_val, TORCH_HARD)


@_rule("torch.nn.functional.relu6")
def relu6(input):
    """relu6 = clamp to ``[0, 6]`` with derivative 0 at 0 and 6."""
    return _clamp_rule("relu6", input, 0, 6, TORCH_HARD)


# --------------------------------------------------------------------------- pooling
@_rule("torch.nn.functional.max_pool1d", "torch.max_pool1d")
def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-D max pooling over ``(C, L)`` or ``(N, C, L)``: window ties to the first element."""
    return _pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


@_rule("torch.nn.functional.max_pool2d", "torch.max_pool2d")
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling over ``(C, H, W)`` or ``(N, C, H, W)``: window ties to the first (row-major)."""
    return _pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


# --------------------------------------------------------------------------- smooth ops
@_rule("torch.nn.functional.linear")
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one affine node per output entry."""
    a, W = as_array(input, "linear"), as_array(weight, "linear")
    b = None if bias is None else as_array(bias, "linear")
    if W.ndim == 1:
        W = W.reshape(1, -1)
        squeeze = True
    else:
        squeeze = False
    if a.ndim == 0 or a.shape[-1] != W.shape[1]:
        raise UnsupportedOperationError("linear", f"input of shape {a.shape} does not match weight {W.shape}")
    bias_of = (lambda j: 0) if b is None else (lambda j: b[()] if b.ndim == 0 else b[j])
    traced_w = any(isinstance(v, Value) for v in W.flat)
    out = np.empty(a.shape[:-1] + (W.shape[0],), dtype=object)
    for idx in np.ndindex(*a.shape[:-1]):
        row = list(a[idx])
        for j in range(W.shape[0]):
            if traced_w:
                out[idx + (j,)] = builtins.sum((u * v for u, v in zip(row, W[j])), bias_of(j))
            else:
                out[idx + (j,)] = lincomb(list(W[j]), row, bias_of(j))
    return wrap(out[..., 0] if squeeze else out)


@_rule("torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__", "torch.mm", "torch.mv")
def matmul(input, other):
    """Matrix products of 1-D/2-D operands: one affine node per entry."""
    a, b = as_array(input, "matmul"), as_array(other, "matmul")
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise UnsupportedOperationError("matmul", f"only 1-D and 2-D operands are supported, got {a.shape} "
                                        f"and {b.shape}")
    return wrap(matmul_entries(a, b))


@_rule("torch.Tensor.__rmatmul__")
def rmatmul(input, other):
    return matmul(other, input)


def _arith(fn, op):
    def rule(input, other, *, alpha=1):
        return wrap(emap(lambda u, v: fn(u, v if alpha == 1 else alpha * v), as_array(input, op),
                         as_array(other, op)))
    rule.__name__ = op
    return rule


add = _rule("torch.add", "torch.Tensor.add", "torch.Tensor.__add__", "torch.Tensor.__radd__")(
    _arith(lambda u, v: u + v, "add"))
sub = _rule("torch.sub", "torch.subtract", "torch.Tensor.sub", "torch.Tensor.__sub__")(
    _arith(lambda u, v: u - v, "sub"))
rsub = _rule("torch.rsub", "torch.Tensor.__rsub__")(_arith(lambda u, v: v - u, "rsub"))
mul = _rule("torch.mul", "torch.multiply", "torch.Tensor.mul", "torch.Tensor.__mul__", "torch.Tensor.__rmul__")(
    _arith(lambda u, v: u * v, "mul"))


@_rule("torch.div", "torch.true_divide", "torch.divide", "torch.Tensor.div", "torch.Tensor.__truediv__",
       "torch.Tensor.true_divide")
def div(input, other, *, rounding_mode=None):
    """Division by constants."""
    if rounding_mode is not None:
        raise UnsupportedOperationError("torch.div", f"rounding_mode={rounding_mode!r} is not supported")
    return wrap(emap(lambda u, v: u / v, as_array(input, "div"), as_array(other, "div")))


@_rule("torch.Tensor.__rdiv__", "torch.Tensor.__rtruediv__")
def rdiv(input, other):
    return div(other, input)


@_rule("torch.neg", "torch.negative", "torch.Tensor.neg", "torch.Tensor.__neg__")
def neg(input):
    return wrap(emap(lambda u: -u, as_array(input, "neg")))


@_rule("torch.pow", "torch.Tensor.pow", "torch.Tensor.__pow__")
def pow(input, exponent):
    """Non-negative integer powers of traced values (products)."""
    e = as_array(exponent, "pow")
    if e.ndim != 0 or isinstance(e[()], Value) or not float(e[()]).is_integer() or e[()] < 0:
        raise UnsupportedOperationError("torch.pow", "only non-negative integer exponents are supported")
    k = int(e[()])
    return wrap(emap(lambda u: u ** k, as_array(input, "pow")))


@_rule("torch.sum", "torch.Tensor.sum")
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sums: one affine node per output entry."""
    return wrap(reduce_axes(as_array(input, "sum"), dim, keepdim, lambda xs: lincomb([1] * len(xs), xs)))


@_rule("torch.mean", "torch.Tensor.mean")
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Means: one affine node per output entry, weights exactly 1/k."""
    return wrap(reduce_axes(as_array(input, "mean"), dim, keepdim,
                            lambda xs: lincomb([Fraction(1, len(xs))] * len(xs), xs)))


# --------------------------------------------------------------------------- shapes
@_rule("torch.stack")
def stack(tensors, dim=0):
    arrays = [as_array(t, "torch.stack") for t in tensors]
    if len({a.shape for a in arrays}) > 1:
        raise UnsupportedOperationError("torch.stack", f"shapes differ: {[a.shape for a in arrays]}")
    d = normalize_axis(dim, arrays[0].ndim + 1, "torch.stack")
    return wrap(np.stack(arrays, axis=d))


@_rule("torch.cat", "torch.concat", "torch.concatenate")
def cat(tensors, dim=0):
    arrays = [as_array(t, "torch.cat") for t in tensors]
    d = normalize_axis(dim, arrays[0].ndim, "torch.cat")
    try:
        return wrap(np.concatenate(arrays, axis=d))
    except ValueError as e:
        raise UnsupportedOperationError("torch.cat", str(e)) from None


@_rule("torch.reshape", "torch.Tensor.reshape", "torch.Tensor.view")
def reshape(input, *shape):
    a = as_array(input, "reshape")
    try:
        return wrap(a.reshape(_shape_args(shape, "reshape")))
    except ValueError as e:
        raise UnsupportedOperationError("reshape", str(e)) from None


@_rule("torch.flatten", "torch.Tensor.flatten")
def flatten(input, start_dim=0, end_dim=-1):
    a = as_array(input, "flatten")
    if a.ndim == 0:
        return wrap(a.reshape(1))
    s, e = normalize_axis(start_dim, a.ndim, "flatten"), normalize_axis(end_dim, a.ndim, "flatten")
    shape = a.shape[:s] + (int(np.prod(a.shape[s:e + 1], dtype=int)),) + a.shape[e + 1:]
    return wrap(a.reshape(shape))


@_rule("torch.unsqueeze", "torch.Tensor.unsqueeze")
def unsqueeze(input, dim):
    a = as_array(input, "unsqueeze")
    return wrap(np.expand_dims(a, normalize_axis(dim, a.ndim + 1, "unsqueeze")))


@_rule("torch.squeeze", "torch.Tensor.squeeze")
def squeeze(input, dim=None):
    a = as_array(input, "squeeze")
    if dim is None:
        return wrap(a.reshape(tuple(d for d in a.shape if d != 1)))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(d for d in (normalize_axis(x, a.ndim, "squeeze") for x in dims) if a.ndim and a.shape[d] == 1)
    return wrap(np.squeeze(a, axis=axes) if axes else a)


@_rule("torch.transpose", "torch.Tensor.transpose", "torch.swapaxes", "torch.Tensor.swapaxes")
def transpose(input, dim0, dim1):
    a = as_array(input, "transpose")
    return wrap(np.swapaxes(a, normalize_axis(dim0, a.ndim, "transpose"), normalize_axis(dim1, a.ndim, "transpose")))


@_rule("torch.t", "torch.Tensor.t")
def t(input):
    a = as_array(input, "t")
    return wrap(a.T)


@_rule("torch.permute", "torch.Tensor.permute")
def permute(input, *dims):
    a = as_array(input, "permute")
    return wrap(np.transpose(a, _shape_args(dims, "permute")))


@_rule("torch.Tensor.size")
def size(input, dim=None):
    shape = as_array(input, "size").shape
    return shape if dim is None else shape[dim]


@_rule("torch.Tensor.dim")
def dim(input):
    return as_array(input, "dim").ndim


register("trace.torch_function", torch_function)
register("trace.tensor_method", tensor_method)
