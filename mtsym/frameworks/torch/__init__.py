"""PyTorch code, unchanged: traced values take part in torch calls through ``__torch_function__``.

:class:`~mtsym.value.Value` and :class:`~mtsym.arrays.Array` define
``__torch_function__``; torch hands every call that meets a traced value to
:func:`torch_function`, which looks the torch callable up in a rule table
(built the first time, when torch is imported) and runs the rule on numpy
object arrays of traced values.  The rules live in one module per family:
:mod:`.maxlike` (max, min, maximum, sort, topk, kthvalue, median),
:mod:`.activations` (relu, leaky_relu, prelu, abs, clamp, hardtanh, relu6,
comparisons, ``where``, dropout), :mod:`.layers` (linear, convolutions, batch
norm, pooling, pad), :mod:`.arith` and :mod:`.shapes`; :mod:`.autograd` refuses
undeclared custom ``autograd.Function`` s.  Each nonsmooth rule pins **torch's
own tie rule** (``conventions.md``), whatever convention the table was asked
for:

================================================  ==========================================
torch call                                        tie rule pinned on the node
================================================  ==========================================
``torch.max(x)``, ``amax``, ``min``, ``amin``     k tied entries get 1/k each
``torch.max(x, dim)``, ``torch.min(x, dim)``      everything to the first tied index
``torch.maximum/minimum(a, b)``, ``max(a, b)``    1/2 each at ``a = b``
``torch.relu``, ``F.relu``, ``nn.ReLU``           relu'(0) = 0
``F.leaky_relu``, ``F.prelu``                     the slope at 0
``torch.abs``                                     abs'(0) = 0
``torch.clamp/clip/clamp_min/clamp_max``          1 at a bound (also when ``min == max``)
``F.hardtanh``, ``F.relu6``, ``nn.ReLU6``         0 at a bound
``F.max_pool1d/2d/3d``, adaptive max pooling      the first element of the window (row-major)
``torch.sort``, ``msort``                         a stable sort (descending: read backwards)
``torch.median(x)``                               1/k to each of k entries equal to the median
``topk``, ``kthvalue``, ``median(x, dim)``        a stable sort's (topk/kthvalue: see maxlike)
================================================  ==========================================

Affine calls are traced exactly, one affine node per output entry:
``F.linear``/``nn.Linear``, ``conv1d/2d/3d``, ``conv_transpose1d/2d``,
``batch_norm`` in eval mode, ``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d``,
``pad``, ``matmul``/``@``, ``+ - *``, ``/`` by constants, ``sum``, ``mean``;
dropout in eval mode is the identity; shape calls and routine methods
(``view``, ``flatten``, ``contiguous``, ``float``, ``to(dtype)``, ...) move
values.  ``nn.Sequential`` and other modules work because their ``forward``
makes these calls.  A traced array also has these as methods (``x.max()``,
``x.clamp(0, 1)``, ``x.view(x.size(0), -1)``), with torch's meaning.

Anything else is refused with an :class:`~mtsym.errors.UnsupportedOperationError`
naming the torch function, why, and the user's line: smooth nonlinear calls
(``exp``, ``sigmoid``, ``softmax``, ``layer_norm``: not piecewise linear),
batch norm and dropout in training mode (they depend on the batch or a random
draw), ``out=`` and ``x[i] = v``, ``.item()``, data-dependent results (indices,
``nonzero``, boolean masks).  In-place forms (``nn.ReLU(inplace=True)``,
``x.relu_()``, ``x.add_(1)``) write their result into the traced array itself,
so aliases see it as in torch.
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
           "TORCH_REVERSE", "TORCH_MEAN_ORDER", "func_name"]

import functools
import importlib

from ...arrays import Array
from ...errors import UnsupportedOperationError, skip_frames_of
from ...extensions import register
from . import activations, arith, autograd, layers, maxlike, shapes  # noqa: F401  (fill the rule table)
from ..arrays import as_array, refuse_kind
from ..numpy import FUNCTIONS as NUMPY_FUNCTIONS
from .autograd import guard
from .shapes import ATTRIBUTES
from .base import METHODS, SPECS, TORCH, TORCH_FIRST, TORCH_HARD, TORCH_MEAN_ORDER, TORCH_REVERSE

_RULES = None     # torch callable -> handler, built on first use
#: methods that take numpy's meaning when called with ``axis=``/``keepdims=``
_NUMPY_STYLE = {"sum", "mean", "max", "min", "amax", "amin"}


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
        for fn, paths in SPECS:
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
                   "argsort", "bincount", "__getitem__", "__bool__", "__index__", "__int__", "__float__",
                   "masked_fill", "gather", "scatter", "scatter_add", "take", "take_along_dim", "searchsorted",
                   "bucketize", "histc", "numpy", "__array__"}
_COMPARISONS = {"equal", "isclose", "allclose"}
#: smooth but not piecewise linear: refused with that reason
_NOT_PIECEWISE_LINEAR = {
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sinh",
    "cosh", "sigmoid", "logsigmoid", "softmax", "log_softmax", "softmin", "gelu", "elu", "selu", "celu", "silu",
    "mish", "softplus", "softsign", "hardswish", "hardsigmoid", "tanhshrink", "reciprocal", "erf", "atan", "asin",
    "acos", "logsumexp", "logit", "glu", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy", "kl_div",
    "cosine_similarity", "pdist", "cdist", "norm", "var", "std", "prod", "cumprod", "grid_sample", "dot", "outer",
    "einsum", "lp_pool1d", "lp_pool2d", "floor", "ceil", "round", "trunc", "frac", "sign", "sgn", "fmod",
    "remainder", "fmax", "fmin", "logcumsumexp"}
_RANDOM = {"rand", "randn", "rand_like", "randn_like", "randint", "randint_like", "bernoulli", "multinomial",
           "normal", "rrelu", "empty_like", "empty"}
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
        raise UnsupportedOperationError(name, "this in-place operation has no traced out-of-place twin; use the "
                                        "out-of-place form (e.g. torch.relu(x), x = x + 1)")
    if short in _REFUSED:
        raise UnsupportedOperationError(name, _REFUSED[short])
    refuse_kind(name, short, [(_DATA_DEPENDENT, "data"), (_COMPARISONS, _WHOLE), (_NOT_PIECEWISE_LINEAR, "nonlinear"),
                              (_RANDOM, "random")],
                "is not a torch operation mtsym can trace (supported: the max-like ops, sort/topk/median, relu and "
                "its relatives, clamp, linear layers and convolutions, batch norm and dropout in eval mode, "
                "pooling, pad, + - *, / by constants, sums, means and shape ops; see docs/frameworks.md)")


_WHOLE = ("compares whole tensors into one Python bool, which depends on the data; compare entries (x > y is "
          "decided entry by entry) or use torch.maximum/torch.relu")


def _write_back(target, result, name):
    """An in-place op on a traced array: the result is written into the array itself, so every alias
    (``identity = x`` in a residual block, a view) sees it, as in torch."""
    if not isinstance(target, Array):
        raise UnsupportedOperationError(name, "in-place operations are traced on traced arrays only (not on a "
                                        "traced scalar or a real tensor); use the out-of-place form")
    r = as_array(result, name)
    if r.shape != target.a.shape:
        raise UnsupportedOperationError(name, f"the in-place result has shape {r.shape}, not {target.a.shape}")
    try:
        target.a[...] = r
    except ValueError as e:  # a read-only view (expand, broadcast)
        raise UnsupportedOperationError(name, f"cannot write into this traced array in place ({e})") from None
    return target


def _out_of_place(name):
    """The rule of an in-place function's out-of-place twin (``torch.relu_`` -> ``torch.relu``)."""
    if not _is_inplace(name.rsplit(".", 1)[-1]):
        return None
    if not _BY_NAME:
        for fn, paths in SPECS:
            for p in paths:
                _BY_NAME.setdefault(p, fn)
    return _BY_NAME.get(name[:-1])


_BY_NAME = {}


def torch_function(func, types, args=(), kwargs=None):
    """The ``__torch_function__`` of traced values: run the rule of ``func``, or refuse it by name.

    ``inplace=True`` and in-place functions (``torch.relu_``) on a traced array
    write their result into it (see :func:`_write_back`); ``out=`` is refused.
    """
    guard()
    kwargs = kwargs or {}
    handler = rules().get(func)
    name = func_name(func)
    twin = _out_of_place(name) if handler is None else None
    if handler is None and twin is None:
        _refuse(name)
    if kwargs.get("out") is not None:
        raise UnsupportedOperationError(name, "out= writes into another tensor; use the returned value")
    if twin is not None:
        return _write_back(args[0], twin(*args, **kwargs), name)
    if getattr(handler, "inplace_ok", False):
        return handler(*args, **kwargs)
    inplace = kwargs.pop("inplace", False)
    kwargs.pop("out", None)
    result = handler(*args, **kwargs)
    return _write_back(args[0], result, name) if inplace else result


def tensor_method(obj, name):
    """``obj.name`` for a traced Array/Value: a torch Tensor method, or an error naming it.

    Returns ``None`` for private and unknown names (the caller reports those).
    """
    if name.startswith("_"):
        return None
    guard()
    if name in ATTRIBUTES:
        return ATTRIBUTES[name](obj)
    fn = METHODS.get(name)
    if fn is not None:
        alias = NUMPY_FUNCTIONS.get(name) if name in _NUMPY_STYLE else None
        if alias is None:
            return functools.partial(fn, obj)

        def method(*args, **kwargs):  # x.max(axis=0): numpy's meaning (values, the table's convention)
            if "axis" in kwargs or "keepdims" in kwargs:
                return alias(obj, *args, **kwargs)
            return fn(obj, *args, **kwargs)
        return method
    twin = METHODS.get(name[:-1]) if _is_inplace(name) else None
    if twin is not None:   # x.relu_(), x.add_(1), x.clamp_(0, 1): written into x
        return lambda *args, **kwargs: _write_back(obj, twin(obj, *args, **kwargs), name)
    if _is_inplace(name) or name in _DATA_DEPENDENT or name in _COMPARISONS or name in _REFUSED \
            or name in _NOT_PIECEWISE_LINEAR:
        _refuse(name)
    return None


register("trace.torch_function", torch_function)
register("trace.tensor_method", tensor_method)
