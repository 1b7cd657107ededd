"""Affine jaxpr primitives: arithmetic, ``dot_general``, ``conv_general_dilated``, sums, ``reduce_window_sum``
(``stax.AvgPool``), ``cumsum``; and index arithmetic on constants (``floor``, ``rem``, ...).

Weights are taken at the exact value they hold whatever their dtype (JAX's
default float32 parameters next to float64 inputs included).
"""

__all__ = []

import math
from fractions import Fraction

import numpy as np

from ...arrays import lincomb, matmul
from ...errors import NonAffineError, UnsupportedOperationError
from ...primitives.pooling import pool_windows, windows_1d
from ...value import Value
from .. import linear as L
from ..arrays import along, emap, reduce_axes
from .base import numbers_only, op_name, rule


def _binary(fn):
    return lambda eqn, xs: emap(fn, *xs)


for _name, _fn in {"add": lambda u, v: u + v, "add_any": lambda u, v: u + v, "sub": lambda u, v: u - v,
                   "mul": lambda u, v: u * v, "div": lambda u, v: u / v}.items():
    rule(_name)(_binary(_fn))
rule("neg")(lambda eqn, xs: emap(lambda u: -u, xs[0]))
rule("square")(lambda eqn, xs: emap(lambda u: u * u, xs[0]))
rule("copy", "copy_p")(lambda eqn, xs: xs[0])


@rule("integer_pow")
def _integer_pow(eqn, xs):
    y = eqn.params["y"]
    if y < 0:
        raise NonAffineError(op_name("integer_pow"), f"x ** {y} is not piecewise affine")
    return emap(lambda u: u ** y, xs[0])


@rule("reduce_sum")
def _sum(eqn, xs):
    return reduce_axes(xs[0], tuple(eqn.params["axes"]), False, lambda v: lincomb([1] * len(v), v))


@rule("cumsum")
def _cumsum(eqn, xs):
    rev = eqn.params.get("reverse", False)

    def run(items):
        items = items[::-1] if rev else items
        out = [lincomb([1] * (i + 1), items[:i + 1]) for i in range(len(items))]
        return out[::-1] if rev else out
    return along(xs[0], eqn.params["axis"], run, op_name("cumsum"))


@rule("dot_general")
def _dot_general(eqn, xs):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = xs
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    L_ = np.transpose(lhs, list(lb) + lf + list(lc))
    R_ = np.transpose(rhs, list(rb) + list(rc) + rf)
    bshape = tuple(lhs.shape[d] for d in lb)
    lfs, rfs = tuple(lhs.shape[d] for d in lf), tuple(rhs.shape[d] for d in rf)
    k = int(np.prod([lhs.shape[d] for d in lc], dtype=int))
    L_ = L_.reshape(bshape + (int(np.prod(lfs, dtype=int)), k))
    R_ = R_.reshape(bshape + (k, int(np.prod(rfs, dtype=int))))
    out = np.empty(bshape + lfs + rfs, dtype=object)
    for bi in np.ndindex(*bshape):
        out[bi] = matmul(L_[bi], R_[bi]).reshape(lfs + rfs)
    return out


@rule("conv_general_dilated")
def _conv(eqn, xs):
    """``lax.conv_general_dilated`` (``stax.Conv``, ``flax.linen.Conv``): one affine node per output entry."""
    p = eqn.params
    op = op_name("conv_general_dilated")
    lhs, rhs = xs
    if any(isinstance(v, Value) for v in rhs.flat):
        raise UnsupportedOperationError(op, "the kernel depends on the input (a product of traced values is "
                                        "not affine)")
    if p.get("batch_group_count", 1) != 1:
        raise UnsupportedOperationError(op, "batch_group_count > 1 is not supported")
    dn = p["dimension_numbers"]
    lhs_spec, rhs_spec, out_spec = dn.lhs_spec, dn.rhs_spec, dn.out_spec
    x = np.transpose(lhs, lhs_spec)          # (N, C, spatial...)
    w = np.transpose(rhs, rhs_spec)          # (O, I, spatial...)
    pads = tuple(tuple(int(v) for v in q) for q in p["padding"])
    try:
        out = L.conv(x, w, None, tuple(p["window_strides"]), pads, tuple(p["rhs_dilation"]),
                     tuple(p["lhs_dilation"]), groups=p.get("feature_group_count", 1))
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None
    return np.transpose(out, np.argsort(out_spec))


@rule("reduce_window_sum")
def _window_sum(eqn, xs):
    """``lax.reduce_window(x, 0., lax.add, ...)`` (``stax.AvgPool`` before its division): one affine node per window."""
    p = eqn.params
    op = op_name("reduce_window_sum")
    if any(d != 1 for d in p["base_dilation"]):
        raise UnsupportedOperationError(op, "base dilation is not supported")
    a = xs[0]
    try:
        wins = [windows_1d(a.shape[d], p["window_dimensions"][d], p["window_strides"][d], tuple(p["padding"][d]),
                           p["window_dilation"][d]) for d in range(a.ndim)]
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None
    return pool_windows(a, wins, lambda items, oi: L.affine_of(tuple(items), (1,) * len(items), 0)
                        if all(isinstance(v, Value) for v in items) else lincomb([1] * len(items), items))


# --------------------------------------------------------------------------- arithmetic on constants
def _rem(u, v):
    q = Fraction(u) / Fraction(v)
    return u - v * (math.floor(q) if q >= 0 else math.ceil(q))   # C's fmod: truncated toward zero


for _name, _fn in {"floor": math.floor, "ceil": math.ceil, "sign": lambda u: (u > 0) - (u < 0)}.items():
    rule(_name)(numbers_only(_name, lambda eqn, xs, f=_fn: emap(f, xs[0])))
rule("rem")(numbers_only("rem", lambda eqn, xs: emap(_rem, *xs)))
