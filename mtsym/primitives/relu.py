"""Rows with one switching input: relu, leaky_relu, abs, clamp."""

__all__ = ["RELU", "LEAKY_RELU", "ABS", "CLAMP"]

from fractions import Fraction

import sympy as sp

from ..exact import to_sympy
from . import Primitive, register, sign

_WORDS = {1: "u > 0", 0: "u = 0", -1: "u < 0"}


def _sign_tests(vals, params):
    s = yield vals[0]
    return s


def _describe_sign(case, params):
    return _WORDS[case]


RELU = register(Primitive(
    "relu", numeric=lambda xs, p: xs[0] if xs[0] > 0 else 0,
    symbolic=lambda xs, p: sp.Max(0, xs[0]),
    tests=_sign_tests, case_of=lambda xs, p: sign(xs[0]),
    linear=lambda case, p, conv: ((1 if case > 0 else 0 if case < 0 else conv.relu0,), 0),
    describe=_describe_sign, doc="relu(u) = max(0, u)"))


def _leaky0(slope, conv):
    rule = conv.leaky0
    if rule == "slope":
        return slope
    if rule == "one":
        return 1
    if rule == "mean":
        return (1 + slope) * Fraction(1, 2)
    return rule


LEAKY_RELU = register(Primitive(
    "leaky_relu", numeric=lambda xs, p: xs[0] if xs[0] > 0 else p[0] * xs[0],
    symbolic=lambda xs, p: sp.Piecewise((xs[0], xs[0] > 0), (to_sympy(p[0]) * xs[0], True)),
    tests=_sign_tests, case_of=lambda xs, p: sign(xs[0]),
    linear=lambda case, p, conv: ((1 if case > 0 else p[0] if case < 0 else _leaky0(p[0], conv),), 0),
    describe=_describe_sign, doc="leaky_relu(u) = u if u > 0 else slope*u; params (slope,)"))

ABS = register(Primitive(
    "abs", numeric=lambda xs, p: abs(xs[0]), symbolic=lambda xs, p: sp.Abs(xs[0]),
    tests=_sign_tests, case_of=lambda xs, p: sign(xs[0]),
    linear=lambda case, p, conv: ((1 if case > 0 else -1 if case < 0 else conv.abs0,), 0),
    describe=_describe_sign, doc="abs(u)"))


def _clamp_tests(vals, params):
    lo, hi = params
    u = vals[0]
    if lo is not None:
        s = yield (u[0] - lo,) + u[1:]
        if s < 0:
            return "below"
        if s == 0:
            return "both" if hi is not None and hi == lo else "lo"
    if hi is not None:
        s = yield (u[0] - hi,) + u[1:]
        if s > 0:
            return "above"
        if s == 0:
            return "hi"
    return "inside"


def _clamp_linear(case, params, conv):
    lo, hi = params
    if case == "inside":
        return (1,), 0
    if case == "below":
        return (0,), lo
    if case == "above":
        return (0,), hi
    if case == "both":
        w = conv.clamp if conv.clamp is not None else conv.maximum * conv.maximum
        return (w,), lo * (1 - w)
    w = conv.clamp if conv.clamp is not None else conv.maximum
    bound = lo if case == "lo" else hi
    return (w,), bound * (1 - w)


def _clamp_case(xs, p):
    lo, hi = p
    v = xs[0]
    if lo is not None:
        if v < lo:
            return "below"
        if v == lo:
            return "both" if hi is not None and hi == lo else "lo"
    if hi is not None:
        if v > hi:
            return "above"
        if v == hi:
            return "hi"
    return "inside"


def _clamp_numeric(xs, p):
    lo, hi = p
    v = xs[0]
    if lo is not None and v < lo:
        v = lo
    if hi is not None and v > hi:
        v = hi
    return v


def _clamp_symbolic(xs, p):
    lo, hi = p
    v = xs[0]
    if lo is not None:
        v = sp.Max(v, to_sympy(lo))
    if hi is not None:
        v = sp.Min(v, to_sympy(hi))
    return v


CLAMP = register(Primitive(
    "clamp", numeric=_clamp_numeric, symbolic=_clamp_symbolic, tests=_clamp_tests, case_of=_clamp_case,
    linear=_clamp_linear,
    describe=lambda case, p: {"below": "u < lo", "lo": "u = lo", "both": "u = lo = hi",
                              "inside": "lo < u < hi", "hi": "u = hi", "above": "u > hi"}[case],
    doc="clamp(u, lo, hi); params (lo, hi), either may be None"))
