"""clamp(u, lo, hi): six cases along the real line (exact and numpy rules side by side)."""

__all__ = ["CLAMP", "CLAMP_TIE", "CLAMP_CASES"]

import numpy as np
import sympy as sp

from ..exact import to_sympy
from . import Primitive, TieParam, register
from . import params as P
from .maxlike import MAXIMUM_TIE
from .vectorized import Switching, stage_input


#: the cases of clamp(u, lo, hi), in the order of the real line (numpy codes are these positions)
CLAMP_CASES = ("below", "lo", "both", "inside", "hi", "above")
_CLAMP_WORDS = dict(zip(CLAMP_CASES, ("u < lo", "u = lo", "u = lo = hi", "lo < u < hi", "u = hi", "u > hi")))

CLAMP_TIE = TieParam("clamp", "clamp'(x) at a bound; ``None`` = as ``minimum(maximum(x, lo), hi)`` "
                     "(1/2, or 1/4 when ``lo == hi`` under ``maximum = 1/2``)",
                     dict(torch=1, jax=None, first=None, last=None, mean=None), none="as minimum(maximum(x, lo), hi)")


def _clamp_tests(vals, params):
    lo, hi = params
    u = vals[0]
    if lo is not None:
        s = yield (u[0] - lo,) + u[1:]
        if s < 0:
            return "below"
        if s == 0:
            return "both" if hi == lo else "lo"
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
    if case in ("below", "above"):
        return (0,), lo if case == "below" else hi
    w = conv.clamp
    if w is None:  # as minimum(maximum(x, lo), hi): one maximum tie, or two at lo == hi
        w = conv.maximum * conv.maximum if case == "both" else conv.maximum
    bound = hi if case == "hi" else lo
    return (w,), bound * (1 - w)


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


class _ClampRule(Switching):
    """``clamp(u, lo, hi)`` on many points: codes are positions in :data:`CLAMP_CASES`."""

    def setup(self, stage):
        lo, hi = stage.params
        stage.lo = None if lo is None else float(lo)
        stage.hi = None if hi is None else float(hi)

    def forward(self, stage, V):
        x = stage_input(stage, V)
        if stage.lo is not None:
            x = np.maximum(x, stage.lo)
        if stage.hi is not None:
            x = np.minimum(x, stage.hi)
        V[stage.out] = x

    def codes(self, stage, V, atol):
        x = stage_input(stage, V)
        t = 0.0 if atol is None else atol
        lo, hi = stage.lo, stage.hi
        code = CLAMP_CASES.index
        c = np.full(x.shape, code("inside"), dtype=np.int8)
        if hi is not None:
            c[np.abs(x - hi) <= t] = code("hi")
            c[x > hi + t] = code("above")
        if lo is not None:
            c[np.abs(x - lo) <= t] = code("both" if stage.params[0] == stage.params[1] else "lo")
            c[x < lo - t] = code("below")
        return c

    def encode(self, stage, case):
        return CLAMP_CASES.index(case)

    def decode(self, stage, code):
        return CLAMP_CASES[int(code)]

    def code_range(self, stage):
        return 0, len(CLAMP_CASES)


def _clamp_show(p):
    return f"min={p[0]}, max={p[1]}"


def _clamp_extended(xs, p):
    """clamp of ``-inf``/``+inf``: the bound on that side, or the infinity when there is none."""
    bound = p[1] if xs[0].sign > 0 else p[0]
    return xs[0] if bound is None else bound


CLAMP = register(Primitive(
    "clamp", numeric=_clamp_numeric, symbolic=_clamp_symbolic,
    kind="switching", numpy=_ClampRule(), params=(P.OPTIONAL_RATIONAL, P.OPTIONAL_RATIONAL), arity=1,
    ties=(CLAMP_TIE, MAXIMUM_TIE), tests=_clamp_tests, linear=_clamp_linear, show=_clamp_show,
    describe=lambda case, p: _CLAMP_WORDS[case], extended=_clamp_extended,
    tied=lambda case, p: (0,) if case in ("lo", "hi", "both") else (),
    doc="clamp(u, lo, hi); params (lo, hi), either may be None"))
