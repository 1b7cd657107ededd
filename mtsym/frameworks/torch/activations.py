"""torch's elementwise nonsmooth calls (relu, leaky_relu, prelu, abs, clamp, hardtanh, relu6), comparisons
and ``torch.where`` (Python branches), and dropout (the identity in eval mode).

An elementwise comparison of traced values (``x > 0``) is decided entry by
entry as a Python ``if`` is (each outcome is explored; the code says who wins a
tie), so ``torch.where(x > 0, x, 0.1 * x)`` is traced as written: at ``x = 0``
the comparison is false and the gradient is 0.1, as in torch.
"""

__all__ = []

import numpy as np

from ...errors import UnsupportedOperationError
from ...exact import to_exact
from ...value import Value, apply
from ..arrays import DataDependent, as_array, emap, wrap
from .base import TORCH, TORCH_HARD, number_arg, rule, unary


def _clamp_rule(op, input, lo, hi, conv):
    lo, hi = number_arg(lo, "min", op), number_arg(hi, "max", op)
    if lo is None and hi is None:
        raise UnsupportedOperationError(op, "give min or max (or both)")
    if lo is not None and hi is not None and lo > hi:
        raise UnsupportedOperationError(op, f"min={lo} is larger than max={hi}")
    return wrap(emap(unary("clamp", conv, (lo, hi)), as_array(input, op)))


@rule("torch.relu", "torch.Tensor.relu", "torch.nn.functional.relu")
def relu(input):
    """relu, derivative 0 at 0."""
    return wrap(emap(unary("relu", TORCH), as_array(input, "torch.relu")))


@rule("torch.nn.functional.leaky_relu")
def leaky_relu(input, negative_slope=0.01):
    """leaky relu; the slope (a float becomes its exact rational) at 0."""
    s = to_exact(negative_slope, what="negative_slope")
    return wrap(emap(unary("leaky_relu", TORCH, (s,)), as_array(input, "leaky_relu")))


@rule("torch.prelu", "torch.nn.functional.prelu", "torch.Tensor.prelu")
def prelu(input, weight):
    """``nn.PReLU``: a leaky relu whose slope is the (constant) weight of the input's channel (dim 1);
    prelu'(0) is the slope, as in torch."""
    a, w = as_array(input, "prelu"), as_array(weight, "prelu").reshape(-1)
    if any(isinstance(v, Value) for v in w):
        raise UnsupportedOperationError("prelu", "the weight must be numbers (a parameter), not traced values")
    if len(w) not in (1, a.shape[1] if a.ndim >= 2 else 1):
        raise UnsupportedOperationError("prelu", f"weight of {len(w)} slopes does not match input {a.shape}")
    out = np.empty(a.shape, dtype=object)
    for idx, v in np.ndenumerate(a):
        out[idx] = apply("leaky_relu", (v,), (w[0] if len(w) == 1 else w[idx[1]],), TORCH)
    return wrap(out)


@rule("torch.abs", "torch.absolute", "torch.Tensor.abs", "torch.Tensor.absolute")
def abs(input):
    """abs, derivative 0 at 0."""
    return wrap(emap(unary("abs", TORCH), as_array(input, "torch.abs")))


@rule("torch.clamp", "torch.clip", "torch.Tensor.clamp", "torch.Tensor.clip")
def clamp(input, min=None, max=None):
    """clamp, derivative 1 at a bound."""
    return _clamp_rule("torch.clamp", input, min, max, TORCH)


@rule("torch.clamp_min", "torch.Tensor.clamp_min")
def clamp_min(input, min):
    """clamp_min, derivative 1 at the bound."""
    return _clamp_rule("torch.clamp_min", input, min, None, TORCH)


@rule("torch.clamp_max", "torch.Tensor.clamp_max")
def clamp_max(input, max):
    """clamp_max, derivative 1 at the bound."""
    return _clamp_rule("torch.clamp_max", input, None, max, TORCH)


@rule("torch.nn.functional.hardtanh")
def hardtanh(input, min_val=-1.0, max_val=1.0):
    """hardtanh = clamp to ``[min_val, max_val]`` with derivative 0 at the bounds."""
    return _clamp_rule("hardtanh", input, min_val, max_val, TORCH_HARD)


@rule("torch.nn.functional.relu6")
def relu6(input):
    """relu6 = clamp to ``[0, 6]`` with derivative 0 at 0 and 6."""
    return _clamp_rule("relu6", input, 0, 6, TORCH_HARD)


# --------------------------------------------------------------------------- comparisons and where
def _compare(fn, op):
    def rule_(input, other):
        return wrap(emap(fn, as_array(input, op), as_array(other, op)))
    rule_.__name__ = op
    return rule_


gt = rule("torch.gt", "torch.greater", "torch.Tensor.gt", "torch.Tensor.greater", "torch.Tensor.__gt__")(
    _compare(lambda u, v: u > v, "gt"))
ge = rule("torch.ge", "torch.greater_equal", "torch.Tensor.ge", "torch.Tensor.greater_equal", "torch.Tensor.__ge__")(
    _compare(lambda u, v: u >= v, "ge"))
lt = rule("torch.lt", "torch.less", "torch.Tensor.lt", "torch.Tensor.less", "torch.Tensor.__lt__")(
    _compare(lambda u, v: u < v, "lt"))
le = rule("torch.le", "torch.less_equal", "torch.Tensor.le", "torch.Tensor.less_equal", "torch.Tensor.__le__")(
    _compare(lambda u, v: u <= v, "le"))
eq = rule("torch.eq", "torch.Tensor.eq", "torch.Tensor.__eq__")(_compare(lambda u, v: u == v, "eq"))
ne = rule("torch.ne", "torch.not_equal", "torch.Tensor.ne", "torch.Tensor.not_equal", "torch.Tensor.__ne__")(
    _compare(lambda u, v: u != v, "ne"))


def _decided(c, op):
    if not isinstance(c, (bool, int)) and not hasattr(c, "__index__"):
        raise UnsupportedOperationError(op, "the condition must be a comparison of traced values (decided as a "
                                        "Python if) or a boolean tensor")
    return bool(c)


@rule("torch.where", "torch.Tensor.where")
def where(condition, input=None, other=None):
    """``torch.where(cond, a, b)`` on a decided comparison: a Python branch per entry."""
    if input is None and other is None:
        DataDependent("torch.where(condition) (the indices of the true entries)").refuse()
    return wrap(emap(lambda c, a, b: a if _decided(c, "torch.where") else b, as_array(condition, "torch.where"),
                     as_array(input, "torch.where"), as_array(other, "torch.where")))


def _logical(fn, op):
    def rule_(input, other=None):
        if other is None:
            return wrap(emap(lambda u: fn(_decided(u, op)), as_array(input, op)))
        return wrap(emap(lambda u, v: fn(_decided(u, op), _decided(v, op)), as_array(input, op),
                         as_array(other, op)))
    return rule_


rule("torch.logical_and", "torch.Tensor.logical_and", "torch.Tensor.__and__", "torch.Tensor.__rand__")(
    _logical(lambda u, v: u and v, "logical_and"))
rule("torch.logical_or", "torch.Tensor.logical_or", "torch.Tensor.__or__", "torch.Tensor.__ror__")(
    _logical(lambda u, v: u or v, "logical_or"))
rule("torch.logical_not", "torch.Tensor.logical_not", "torch.Tensor.__invert__", "torch.bitwise_not")(
    _logical(lambda u: not u, "logical_not"))


# --------------------------------------------------------------------------- dropout
def _dropout(op):
    def dropout(input, p=0.5, training=True, inplace=False):
        if training and p != 0:
            raise UnsupportedOperationError(op, "in training mode dropout multiplies by a random mask (the result "
                                            "depends on the random draw); call model.eval(), where it is the "
                                            "identity")
        return input
    dropout.__name__ = op.rsplit(".", 1)[-1]
    dropout.inplace_ok = True
    return dropout


for _name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
    rule(f"torch.nn.functional.{_name}", f"torch.{_name}")(_dropout(f"torch.nn.functional.{_name}"))
