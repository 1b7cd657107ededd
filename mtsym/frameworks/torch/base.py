"""What every family of torch rules shares: the rule table, torch's pinned conventions, argument helpers.

A rule is a plain function taking torch's own arguments; :func:`rule` files it
under the torch paths it implements (``"torch.max"``, ``"torch.Tensor.max"``,
``"torch.nn.functional.max_pool2d"``), and ``torch.Tensor.*`` paths also make it
a method of traced arrays (:data:`METHODS`).
"""

__all__ = ["rule", "SPECS", "METHODS", "TORCH", "TORCH_FIRST", "TORCH_HARD", "TORCH_REVERSE", "TORCH_MEAN_ORDER",
           "unary", "number_arg", "ints", "shape_args", "traced_weights"]

import numpy as np

from ...conventions import Convention
from ...errors import UnsupportedOperationError
from ...exact import to_exact
from ...value import Value, apply
from ..arrays import as_array

#: torch's rules (conventions.md): relu'(0)=0, abs'(0)=0, maximum 1/2, reductions 1/k, pool first, clamp 1,
#: sort stable
TORCH = Convention("torch")
#: ``torch.max(x, dim)``: the gradient goes to the returned (first) index
TORCH_FIRST = Convention("torch", reduce="first")
#: ``hardtanh``/``relu6``: derivative 0 at the bounds
TORCH_HARD = Convention("torch", clamp=0)
#: ``torch.sort(..., descending=True)`` (stable, read backwards): ranks of a tied block go in reverse
TORCH_REVERSE = Convention("torch", order="reverse")
#: ``torch.median(x)``: 1/k to each of the k entries equal to the median
TORCH_MEAN_ORDER = Convention("torch", order="mean")

#: (handler, torch paths), filled by :func:`rule`
SPECS = []
#: tensor methods of traced arrays/values (no torch needed): name -> handler(self, ...)
METHODS = {}


def rule(*paths):
    """File the decorated function as the rule of these torch callables (``torch.Tensor.*`` are methods too)."""
    def deco(fn):
        SPECS.append((fn, paths))
        for p in paths:
            if p.startswith("torch.Tensor.") and not p.endswith("__"):
                METHODS[p[len("torch.Tensor."):]] = fn
        return fn
    return deco


def unary(prim, conv, params=()):
    """``v -> prim(v)`` with the node's tie rule pinned to ``conv``."""
    return lambda v: apply(prim, (v,), params, conv)


def number_arg(v, what, op):
    """A numeric (not traced) scalar argument as an exact number, or ``None``."""
    if v is None:
        return None
    a = as_array(v, op)
    if a.ndim != 0 or isinstance(a[()], Value):
        raise UnsupportedOperationError(op, f"{what} must be a number (tensor or traced bounds are not supported)")
    return to_exact(a[()], what=what)


def ints(v, nd, what, op):
    """An int or ``nd`` ints (torch's ``_pair``) as a tuple of ``nd`` ints."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),) * nd
    v = tuple(v)
    if len(v) == 1:
        v = v * nd
    if len(v) != nd or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in v):
        raise UnsupportedOperationError(op, f"{what} must be an int or {nd} ints, got {v!r}")
    return tuple(int(a) for a in v)


def shape_args(shape, op):
    """``f(2, 3)`` or ``f((2, 3))`` or ``f(torch.Size([2, 3]))`` as a tuple of ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(d, (int, np.integer)) for d in shape):
        raise UnsupportedOperationError(op, f"shape {shape!r} must be ints")
    return tuple(int(d) for d in shape)


def traced_weights(w, op):
    """Refuse a traced weight of a linear layer (the map would not be affine in the inputs)."""
    if any(isinstance(v, Value) for v in w.flat):
        raise UnsupportedOperationError(op, "the weights depend on the input (a product of traced values is not "
                                        "affine); mtsym traces layers whose weights are numbers")
    return w
