"""Rows whose case is the sign of their one input: relu, abs, leaky_relu (exact and numpy rules side by side)."""

__all__ = ["RELU", "ABS", "LEAKY_RELU", "RELU0", "ABS0", "LEAKY0"]

from fractions import Fraction

import numpy as np
import sympy as sp

from ..exact import INF, NEG_INF, to_sympy
from . import Primitive, TieParam, register, sign
from . import params as P
from .vectorized import SignRule

_H = Fraction(1, 2)
_WORDS = {1: "u > 0", 0: "u = 0", -1: "u < 0"}


def _sign_tests(vals, params):
    s = yield vals[0]
    return s


def _sign_case(xs, params):
    return sign(xs[0])


def _describe_sign(case, params):
    return _WORDS[case]


def _tied_sign(case, params):
    return (0,) if case == 0 else ()


def _sign_extended(at_minus_inf):
    """relu/abs/leaky_relu of ``-inf``/``+inf`` (the argument is the one input, infinite)."""
    return lambda xs, p: INF if xs[0].sign > 0 else at_minus_inf(p)


def _leaky_minus_inf(p):
    return NEG_INF if p[0] > 0 else INF if p[0] < 0 else 0


# =========================================================================== relu
def _relu_numpy(x, params, out):
    """``max(x, 0)`` into ``out``; against a column of zeros (numpy's loop with a broadcast array
    runs 1.4x faster than with the scalar 0, measured on (64, 1800) blocks)."""
    np.maximum(x, np.zeros((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype), out=out)


RELU0 = TieParam("relu0", "relu'(0), relu(x) = max(0, x)",
                 dict(torch=0, jax=0, first=0, last=1, mean=_H))

RELU = register(Primitive(
    "relu", numeric=lambda xs, p: xs[0] if xs[0] > 0 else 0,
    symbolic=lambda xs, p: sp.Max(0, xs[0]),
    kind="switching", numpy=SignRule(_relu_numpy), params=(), arity=1, ties=(RELU0,),
    tests=_sign_tests, case_of=_sign_case, sign_input=0,
    linear=lambda case, p, conv: ((1 if case > 0 else 0 if case < 0 else conv.relu0,), 0),
    homogeneous=True, extended=_sign_extended(lambda p: 0), describe=_describe_sign, tied=_tied_sign,
    doc="relu(u) = max(0, u)"))


# =========================================================================== abs
ABS0 = TieParam("abs0", "abs'(0), abs(x) = max(x, -x)", dict(torch=0, jax=1, first=1, last=-1, mean=0))

ABS = register(Primitive(
    "abs", numeric=lambda xs, p: abs(xs[0]), symbolic=lambda xs, p: sp.Abs(xs[0]),
    kind="switching", numpy=SignRule(lambda x, p, out: np.abs(x, out=out)), params=(), arity=1, ties=(ABS0,),
    tests=_sign_tests, case_of=_sign_case, sign_input=0,
    linear=lambda case, p, conv: ((1 if case > 0 else -1 if case < 0 else conv.abs0,), 0),
    homogeneous=True, extended=_sign_extended(lambda p: INF), describe=_describe_sign, tied=_tied_sign, doc="abs(u)"))


# =========================================================================== leaky_relu
LEAKY0 = TieParam("leaky0", "leaky_relu'(0): ``\"slope\"``, ``\"one\"``, ``\"mean\"`` or a number",
                  dict(torch="slope", jax="one", first="one", last="slope", mean="mean"),
                  choices=("slope", "one", "mean"))


def _leaky0(slope, conv):
    rule = conv.leaky0
    if rule == "slope":
        return slope
    if rule == "one":
        return 1
    if rule == "mean":
        return (1 + slope) * _H
    return rule


def _leaky_numpy(x, params, out):
    s = float(params[0])
    np.copyto(out, np.where(x > 0, x, s * x))


LEAKY_RELU = register(Primitive(
    "leaky_relu", numeric=lambda xs, p: xs[0] if xs[0] > 0 else p[0] * xs[0],
    symbolic=lambda xs, p: sp.Piecewise((xs[0], xs[0] > 0), (to_sympy(p[0]) * xs[0], True)),
    kind="switching", numpy=SignRule(_leaky_numpy), params=(P.RATIONAL,), arity=1, ties=(LEAKY0,),
    tests=_sign_tests, case_of=_sign_case, sign_input=0, show=lambda p: f"slope={p[0]}",
    linear=lambda case, p, conv: ((1 if case > 0 else p[0] if case < 0 else _leaky0(p[0], conv),), 0),
    homogeneous=True, extended=_sign_extended(_leaky_minus_inf), describe=_describe_sign, tied=_tied_sign,
    doc="leaky_relu(u) = u if u > 0 else slope*u; params (slope,)"))
