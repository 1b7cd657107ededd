"""torch's smooth arithmetic: ``@``/``matmul``, ``+ - *``, ``/`` by constants, integer powers, sums, means."""

__all__ = []

import numpy as np

from fractions import Fraction

from ...arrays import lincomb
from ...arrays import matmul as matmul_entries
from ...errors import NonAffineError, UnsupportedOperationError
from ...value import Value
from ..arrays import along, as_array, emap, reduce_axes, wrap
from .base import rule


@rule("torch.matmul", "torch.Tensor.matmul", "torch.Tensor.__matmul__", "torch.mm", "torch.mv", "torch.bmm",
      "torch.Tensor.mm", "torch.Tensor.mv", "torch.Tensor.bmm")
def matmul(input, other):
    """Matrix products (batched over leading axes, numpy's broadcasting): one affine node per entry."""
    a, b = as_array(input, "matmul"), as_array(other, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise UnsupportedOperationError("matmul", "both operands must have at least one dimension")
    if a.ndim <= 2 and b.ndim <= 2:
        return wrap(matmul_entries(a, b))
    A = a if a.ndim > 1 else a[None]
    B = b if b.ndim > 1 else b[:, None]
    try:
        batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except ValueError:
        raise UnsupportedOperationError("matmul", f"shapes {a.shape} and {b.shape} do not broadcast") from None
    A = np.broadcast_to(A, batch + A.shape[-2:])
    B = np.broadcast_to(B, batch + B.shape[-2:])
    out = np.empty(batch + (A.shape[-2], B.shape[-1]), dtype=object)
    for idx in np.ndindex(*batch):
        out[idx] = matmul_entries(A[idx], B[idx])
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return wrap(out)


@rule("torch.Tensor.__rmatmul__")
def rmatmul(input, other):
    return matmul(other, input)


def _arith(fn, op):
    def rule_(input, other, *, alpha=1):
        return wrap(emap(lambda u, v: fn(u, v if alpha == 1 else alpha * v), as_array(input, op),
                         as_array(other, op)))
    rule_.__name__ = op
    return rule_


add = rule("torch.add", "torch.Tensor.add", "torch.Tensor.__add__", "torch.Tensor.__radd__")(
    _arith(lambda u, v: u + v, "add"))
sub = rule("torch.sub", "torch.subtract", "torch.Tensor.sub", "torch.Tensor.__sub__")(
    _arith(lambda u, v: u - v, "sub"))
rsub = rule("torch.rsub", "torch.Tensor.__rsub__")(_arith(lambda u, v: v - u, "rsub"))
mul = rule("torch.mul", "torch.multiply", "torch.Tensor.mul", "torch.Tensor.__mul__", "torch.Tensor.__rmul__")(
    _arith(lambda u, v: u * v, "mul"))


@rule("torch.div", "torch.true_divide", "torch.divide", "torch.Tensor.div", "torch.Tensor.__truediv__",
      "torch.Tensor.true_divide")
def div(input, other, *, rounding_mode=None):
    """Division by constants."""
    if rounding_mode is not None:
        raise UnsupportedOperationError("torch.div", f"rounding_mode={rounding_mode!r} is not piecewise linear "
                                        "(it rounds)")
    return wrap(emap(lambda u, v: u / v, as_array(input, "div"), as_array(other, "div")))


@rule("torch.Tensor.__rdiv__", "torch.Tensor.__rtruediv__")
def rdiv(input, other):
    return div(other, input)


@rule("torch.neg", "torch.negative", "torch.Tensor.neg", "torch.Tensor.__neg__")
def neg(input):
    return wrap(emap(lambda u: -u, as_array(input, "neg")))


@rule("torch.pow", "torch.Tensor.pow", "torch.Tensor.__pow__", "torch.square", "torch.Tensor.square")
def pow(input, exponent=2):
    """Non-negative integer powers of traced values (products: smooth, allowed in outputs, not in switches)."""
    e = as_array(exponent, "pow")
    if e.ndim != 0 or isinstance(e[()], Value):
        raise NonAffineError("torch.pow", "a traced exponent is not piecewise affine")
    if Fraction(e[()]).denominator != 1 or e[()] < 0:
        raise NonAffineError("torch.pow", f"x ** {e[()]} is not piecewise affine; only non-negative integer "
                             "powers (products) are traced")
    k = int(e[()])
    return wrap(emap(lambda u: u ** k, as_array(input, "pow")))


@rule("torch.Tensor.__rpow__")
def rpow(input, other):
    raise NonAffineError("**", "an exponential of a traced value (c ** x) is not piecewise affine")


@rule("torch.sum", "torch.Tensor.sum")
def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sums: one affine node per output entry."""
    return wrap(reduce_axes(as_array(input, "sum"), dim, keepdim, lambda xs: lincomb([1] * len(xs), xs)))


@rule("torch.mean", "torch.Tensor.mean")
def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Means: one affine node per output entry, weights exactly 1/k."""
    return wrap(reduce_axes(as_array(input, "mean"), dim, keepdim,
                            lambda xs: lincomb([Fraction(1, len(xs))] * len(xs), xs)))


@rule("torch.cumsum", "torch.Tensor.cumsum")
def cumsum(input, dim, *, dtype=None):
    """Running sums along ``dim``: one affine node per entry."""
    return wrap(along(as_array(input, "cumsum"), dim,
                      lambda xs: [lincomb([1] * (i + 1), xs[:i + 1]) for i in range(len(xs))], "cumsum"))
