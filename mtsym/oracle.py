"""The program's own exact values at many points in one run: verification's oracle, batched.

:func:`mtsym.call_exact` runs the user's function on :class:`~mtsym.exact.ExactNumber`
coordinates, one point per call.  Verification needs the program at thousands of points,
and a call interprets every line of the user's code once per point.  :func:`run_points`
runs the code **once** for many points: each coordinate is an :class:`ExactBatch`, the
exact rationals ``num[i] / (q[i] * D)`` of every point ``i`` at once (integer numpy arrays,
``int64`` while a bound proves no overflow, Python integers beyond), so ``a * x + b`` is one
integer operation per point, done by numpy.  The arithmetic is the batch's own (exact, written
here, independent of tracing); an mtsym operation on a batch applies the primitive's exact
``numeric`` rule point by point (on the numerators over their common positive denominator when
the primitive is declared ``homogeneous``, on exact rationals otherwise).

What a batch cannot do (compare values, which chooses a Python branch per point; multiply two
traced values) raises :class:`Unbatchable`, and :func:`run_points` falls back to one
:func:`~mtsym.call_exact` run per point, as does any other error: a batch never decides
anything the program would not.

Examples
--------
>>> import mtsym as mt
>>> from fractions import Fraction
>>> run_points(lambda x: mt.relu(x[0] - 2 * x[1]) + 0.5 * x[1], 2, [(0, 0), (3, 1), (Fraction(1, 3), -1)])
[(0,), (Fraction(3, 2),), (Fraction(11, 6),)]
"""

__all__ = ["ExactBatch", "Unbatchable", "run_points", "run_point"]

import math
import numbers
from fractions import Fraction

import numpy as np
import sympy as sp

from .errors import InputError
from .exact import ExactNumber, to_exact
from .primitives import PRIMITIVES
from .arrays import Array
from .trace import InputSpec, _flatten_output

_LIM = 1 << 62  # |entries| below this stay int64 (a sum of two stays below 2^63)


class Unbatchable(Exception):
    """The program did what a batch of points cannot (a comparison, a product of traced values)."""


def _lift(o):
    """A scalar operand as ``(numerator, denominator)``, exactly (a float at its exact value), or None."""
    t = type(o)
    if t is int:
        return o, 1
    if t is ExactNumber or t is Fraction:
        return o.numerator, o.denominator
    if isinstance(o, (int, Fraction)):
        return int(o.numerator), int(o.denominator)
    if isinstance(o, numbers.Real) or isinstance(o, sp.Rational):
        try:
            v = to_exact(o, what="number")
        except InputError as e:
            raise Unbatchable(str(e)) from None
        return v.numerator, v.denominator
    return None


def _scale(num, bound, f):
    """``(num * f, bound * |f|)`` for an integer array and a Python int, int64 while it provably fits."""
    if f == 1:
        return num, bound
    nb = bound * abs(f)
    if num.dtype == object:
        return num * f, nb
    if nb < _LIM and abs(f) < _LIM:
        return num * f, nb
    if bound:
        bound = int(np.abs(num).max())
        nb = bound * abs(f)
        if nb < _LIM and abs(f) < _LIM:
            return num * f, nb
    return num.astype(object) * f, nb


def _plus(a, ab, b, bb):
    """``a + b`` of integer arrays with bounds, int64 while it provably fits."""
    nb = ab + bb
    if a.dtype == object or b.dtype == object or nb < _LIM:
        return a + b, nb
    return a.astype(object) + b.astype(object), nb


class _Points:
    """What the batches of one run share: the points' denominators ``q`` (and their bound)."""

    __slots__ = ("q", "qmax", "size")

    def __init__(self, q):
        self.qmax = max(q) if q else 1
        self.q = np.array(q, dtype=np.int64 if self.qmax < _LIM else object)
        self.size = len(q)


def _refuse(what):
    def refuse(self, *args):
        raise Unbatchable(f"{what} of a batch of points")
    return refuse


class ExactBatch:
    """The exact rationals ``num[i] / (q[i] * D)`` of many points at once (one traced quantity).

    Arithmetic with numbers (floats at their exact value) and other batches is exact
    and elementwise; mtsym operations apply through ``__mtsym_apply__`` (see
    :func:`mtsym.value.apply`).  ``values()`` lists the rationals.
    """

    __slots__ = ("num", "pts", "D", "bound")
    __array_ufunc__ = None  # numpy scalars defer to the reflected operators

    def __init__(self, num, pts, D, bound):
        self.num, self.pts, self.D, self.bound = num, pts, D, bound

    def values(self):
        """The exact value at every point (``int`` or ``Fraction``)."""
        out = []
        D = self.D
        for n, q in zip(self.num.tolist(), self.pts.q.tolist()):
            v = Fraction(n, q * D)
            out.append(v.numerator if v.denominator == 1 else v)
        return out

    def _const(self, n, d, D):
        """The constant ``n / d`` over the common denominator ``D`` (a multiple of ``d``)."""
        return _scale(self.pts.q, self.pts.qmax, n * (D // d))

    def _rescaled(self, D):
        return _scale(self.num, self.bound, D // self.D)

    # arithmetic ---------------------------------------------------------------
    def __add__(self, o):
        if isinstance(o, ExactBatch):
            D = math.lcm(self.D, o.D)
            num, b = _plus(*self._rescaled(D), *o._rescaled(D))
            return ExactBatch(num, self.pts, D, b)
        c = _lift(o)
        if c is None:
            return NotImplemented
        n, d = c
        if n == 0:
            return self
        D = math.lcm(self.D, d)
        num, b = _plus(*self._rescaled(D), *self._const(n, d, D))
        return ExactBatch(num, self.pts, D, b)

    __radd__ = __add__

    def __neg__(self):
        return ExactBatch(-self.num, self.pts, self.D, self.bound)

    def __pos__(self):
        return self

    def __abs__(self):
        return ExactBatch(np.abs(self.num), self.pts, self.D, self.bound)

    def __sub__(self, o):
        if isinstance(o, ExactBatch):
            return self + (-o)
        c = _lift(o)
        return NotImplemented if c is None else self + Fraction(-c[0], c[1])

    def __rsub__(self, o):
        return (-self) + o

    @staticmethod
    def _number(o, what):
        """A number operand as ``(numerator, denominator)``, None for another type; a batch
        raises :class:`Unbatchable` (``what`` the program did)."""
        if isinstance(o, ExactBatch):
            raise Unbatchable(what)
        return _lift(o)

    def __mul__(self, o):
        c = self._number(o, "a product of two traced values")
        if c is None:
            return NotImplemented
        n, d = c
        if n == 0:
            return ExactBatch(np.zeros(self.pts.size, dtype=np.int64), self.pts, 1, 0)
        D = self.D * d
        g = math.gcd(n, D)
        num, b = _scale(self.num, self.bound, n // g)
        return ExactBatch(num, self.pts, D // g, b)

    __rmul__ = __mul__

    def __truediv__(self, o):
        c = self._number(o, "a division by a traced value")
        if c is None:
            return NotImplemented
        if c[0] == 0:
            raise ZeroDivisionError("division by zero")
        return self * Fraction(c[1], c[0])

    def __pow__(self, k):
        if k == 1:
            return self
        raise Unbatchable("a power of a traced value")

    __rtruediv__ = _refuse("a division by")
    __rpow__ = _refuse("a power of")
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _refuse("a comparison")
    __bool__ = __float__ = __int__ = __index__ = __round__ = _refuse("a conversion")
    __hash__ = object.__hash__

    # mtsym operations ---------------------------------------------------------
    @staticmethod
    def __mtsym_apply__(name, args, params, conv=None):
        """Primitive ``name`` at every point: its exact ``numeric`` rule, point by point."""
        batches = [a for a in args if isinstance(a, ExactBatch)]
        pts = batches[0].pts
        consts = []
        D = 1
        for a in args:
            if isinstance(a, ExactBatch):
                if a.pts is not pts:
                    raise Unbatchable("batches of different points")
                D = math.lcm(D, a.D)
                consts.append(None)
            else:
                c = _lift(a)
                if c is None:
                    raise Unbatchable(f"an argument of type {type(a).__name__}")
                D = math.lcm(D, c[1])
                consts.append(c)
        cols = []
        for a, c in zip(args, consts):
            num = a._rescaled(D)[0] if c is None else batches[0]._const(c[0], c[1], D)[0]
            cols.append(num.tolist())
        prim = PRIMITIVES[name]
        numeric = prim.numeric
        rows = zip(*cols)
        if prim.homogeneous:  # numeric(xs / s) = numeric(xs) / s for s = q[i] * D > 0
            out = [numeric(list(r), params) for r in rows]
            return _from_rationals(out, pts, D, None)
        qs = pts.q.tolist()
        out = [numeric([Fraction(v, q * D) for v in r], params) for r, q in zip(rows, qs)]
        return _from_rationals(out, pts, 1, qs)


def _from_rationals(vals, pts, D, qs):
    """A batch from per-point results: ``vals[i] / (q[i] * D)`` (``qs`` None), or the values
    themselves (``qs`` the points' denominators, ``D`` = 1)."""
    if any(type(v) is not int for v in vals):
        if not all(type(v) in (int, Fraction, ExactNumber) for v in vals):
            raise Unbatchable("a result that is not a number")
        L = 1
        for v in vals:
            if type(v) is not int:
                L = math.lcm(L, v.denominator)
        vals = [int(v * L) for v in vals]
        D *= L
    if qs is not None:  # values v: numerators v * q[i] over D
        vals = [v * q for v, q in zip(vals, qs)]
    bound = max(map(abs, vals), default=0)
    arr = np.array(vals, dtype=np.int64 if bound < _LIM else object)
    return ExactBatch(arr, pts, D, bound)


def _leaves(out):
    """The outputs of a batched run, flattened as the tracer flattens a return value."""
    if isinstance(out, Array):
        out = out.a
    if isinstance(out, np.ndarray):
        return [v for o in out.ravel() for v in _leaves(o)]
    if isinstance(out, (list, tuple)):
        return [v for o in out for v in _leaves(o)]
    return [out]


def _exact_points(points):
    return [tuple(to_exact(v, what="coordinate") for v in p) for p in points]


def run_point(fn, inputs, point):
    """The program's outputs at one exact point, as a tuple of ``int``/``Fraction`` (one
    :func:`mtsym.call_exact` run)."""
    spec = inputs if isinstance(inputs, InputSpec) else InputSpec(inputs)
    items, _ = _flatten_output(fn(*spec.arguments([ExactNumber(v) for v in point])))
    return tuple(to_exact(v, what="program output") for v in items)


def run_points(fn, inputs, points, homogeneous=None):
    """The program's outputs at every point (a list of tuples of ``int``/``Fraction``).

    One run of ``fn`` on :class:`ExactBatch` coordinates when the program allows it,
    else one exact run per point.  ``homogeneous``: the points as integer pairs
    ``(q, P)`` (the point ``P / q``, ``q > 0``) instead of ``points``.
    """
    spec = inputs if isinstance(inputs, InputSpec) else InputSpec(inputs)
    if homogeneous is None:
        pts = _exact_points(points)
        homogeneous = []
        for p in pts:
            q = math.lcm(*(v.denominator for v in p)) if p else 1
            homogeneous.append((q, tuple(int(v * q) for v in p)))
    out = _batched(fn, spec, homogeneous)
    if out is not None:
        return out
    return [run_point(fn, spec, tuple(Fraction(x, q) for x in P)) for q, P in homogeneous]


def _batched(fn, spec, hom):
    """:func:`run_points` in one run of batches, or None (the program cannot run on batches)."""
    if not hom:
        return []
    pts = _Points([q for q, _ in hom])
    cols = list(zip(*(P for _, P in hom))) if spec.n else []
    args = []
    for col in cols:
        bound = max(map(abs, col), default=0)
        args.append(ExactBatch(np.array(col, dtype=np.int64 if bound < _LIM else object), pts, 1, bound))
    try:
        items = _leaves(fn(*spec.arguments(args)))
        per_output = []
        for v in items:
            if isinstance(v, ExactBatch):
                if v.pts is not pts:
                    return None
                per_output.append(v.values())
            else:
                c = to_exact(v, what="program output")
                per_output.append([c] * pts.size)
    except Exception:  # noqa: BLE001  (a batch cannot decide what the program would: run it point by point)
        return None
    return [tuple(vals) for vals in zip(*per_output)] if per_output else [() for _ in hom]
