"""Exact numbers at the boundary, and affine forms as tuples of rationals.

Every number a user hands mtsym becomes an exact rational here, once:

* ``int``, ``Fraction``, sympy ``Rational`` and numpy integers stay what they are
  (as ``int`` or ``Fraction``);
* a ``float`` (or numpy float) becomes **the exact rational it represents**:
  ``0.1`` becomes ``3602879701896397/36028797018963968``, the value a framework
  computes with.  Write ``Fraction(1, 10)`` or ``"1/10"`` for the decimal;
* strings such as ``"1/3"``, ``"-2"``, ``"0.25"`` or ``"1e-3"`` are parsed exactly,
  by a strict grammar (:data:`NUMBER`; never evaluated);
* ``nan`` and ``inf`` are refused with :class:`~mtsym.errors.InputError` where a number is
  needed.  Where user code meets an infinity as a value (``best = float("-inf")`` starting a
  running maximum, a ``-inf`` literal in a jaxpr), it is an :class:`Infinite`: ``-inf`` is the
  identity of ``max`` and compares below every number; arithmetic that stays infinite is
  allowed, and whatever would be ``nan`` or reach a result is refused by name.

An *affine form* over ``n`` inputs is a tuple ``(c0, c1, ..., cn)`` meaning
``c0 + c1*x1 + ... + cn*xn``.  Hot loops work on these tuples; sympy objects are
built only for the user.
"""

__all__ = [
    "to_exact",
    "to_sympy",
    "from_sympy",
    "aff_const",
    "aff_var",
    "aff_comb",
    "aff_is_const",
    "aff_to_expr",
    "int_row",
    "is_exact_number",
    "as_integers",
    "NUMBER",
    "tolerance",
    "ExactNumber",
    "Infinite",
    "INF",
    "NEG_INF",
    "NAN",
    "is_infinite",
    "to_extended",
]

import math
import numbers
import re
from fractions import Fraction
from functools import reduce
from operator import mul

import sympy as sp

from .errors import InputError, UnsupportedOperationError


#: the strings :func:`to_exact` reads: an integer, a decimal or ``p/q``, with an optional
#: exponent of at most three digits (a longer one could ask for a number of any size)
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?(/\d+)?\Z")


def is_exact_number(v):
    """True for the numbers mtsym takes as coefficients (not traced values)."""
    return isinstance(v, (numbers.Number, sp.Number)) and not isinstance(v, complex)


def to_exact(v, what="number"):
    """Convert a user number to ``int`` or ``Fraction``, exactly.

    Examples
    --------
    >>> to_exact(0.5), to_exact(3), to_exact("1/3")
    (Fraction(1, 2), 3, Fraction(1, 3))
    >>> to_exact(float("nan"))
    Traceback (most recent call last):
    ...
    mtsym.errors.InputError: number nan is not finite; mtsym needs finite numbers
    """
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else v
    if isinstance(v, sp.Rational):
        return int(v.p) if v.q == 1 else Fraction(int(v.p), int(v.q))
    if isinstance(v, sp.Float):
        if not v.is_finite:
            raise InputError(f"{what} {v} is not finite; mtsym needs finite numbers")
        return to_exact(sp.Rational(v), what)
    if isinstance(v, str):
        text = v.strip()
        if not NUMBER.match(text):
            raise InputError(f"{what} {v[:60]!r} is not a number mtsym can read exactly (write an "
                             "integer, a decimal or p/q)")
        try:
            f = Fraction(text)
        except (ValueError, ZeroDivisionError) as e:
            raise InputError(f"{what} {v!r} is not a number mtsym can read exactly") from e
        return f.numerator if f.denominator == 1 else f
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        fv = float(v)
        if not math.isfinite(fv):
            raise InputError(f"{what} {fv} is not finite; mtsym needs finite numbers")
        f = Fraction(fv)
        return f.numerator if f.denominator == 1 else f
    if isinstance(v, (Infinite, _NaN)):
        raise InputError(f"{what} {v} is not finite; mtsym needs finite numbers")
    if isinstance(v, sp.Basic) and v.is_number:
        raise InputError(f"{what} {v} is irrational or not a plain number; mtsym needs rationals")
    raise InputError(f"{what} {v!r} of type {type(v).__name__} is not a number")


def tolerance(v, what="atol", positive=False):
    """A tolerance as a float: finite and >= 0 (> 0 when ``positive``), ``None`` kept.

    Examples
    --------
    >>> tolerance(None), tolerance(1e-9)
    (None, 1e-09)
    >>> tolerance(-1)
    Traceback (most recent call last):
    ...
    mtsym.errors.InputError: atol=-1 must be a finite number >= 0
    """
    if v is None:
        return None
    bound = "> 0" if positive else ">= 0"
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InputError(f"{what}={v!r} must be a finite number {bound}")
    f = float(v)
    if not math.isfinite(f) or f < 0 or (positive and f == 0):
        raise InputError(f"{what}={v!r} must be a finite number {bound}")
    return f


def to_sympy(v):
    """An exact number (or sympy expression) as a sympy object.

    Nothing else is accepted: a string is never parsed (it could be code), a
    float never enters symbolic work.

    Examples
    --------
    >>> to_sympy(Fraction(1, 3)), to_sympy(sp.Symbol("z") + 1)
    (1/3, z + 1)
    >>> to_sympy("__import__('os')")
    Traceback (most recent call last):
    ...
    mtsym.errors.InputError: "__import__('os')" of type str is not an exact number or sympy expression
    """
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, Fraction):
        return sp.Rational(v.numerator, v.denominator)
    if isinstance(v, sp.Basic):
        return v
    shown = repr(v)[:60] if not isinstance(v, str) else '"' + v[:60] + '"'
    raise InputError(f"{shown} of type {type(v).__name__} is not an exact number or sympy expression")


def from_sympy(v):
    """A sympy number back to ``int``/``Fraction``; other expressions unchanged."""
    if isinstance(v, sp.Rational):
        return to_exact(v)
    return v


def aff_const(c, n):
    """The constant affine form ``c`` over ``n`` inputs."""
    return (c,) + (0,) * n


def aff_var(i, n):
    """The affine form of input ``i`` (0-based) over ``n`` inputs."""
    row = [0] * (n + 1)
    row[i + 1] = 1
    return tuple(row)


def aff_comb(weights, forms, const=0):
    """``const + sum(w * form)`` for affine forms (tuples of equal length)."""
    if len(forms) > _WIDE:
        out = _aff_comb_integers(weights, forms, const)
        if out is not None:
            return out
    out = None
    for w, f in zip(weights, forms):
        if w == 0:
            continue
        if out is None:
            out = [w * c if c else 0 for c in f] if w != 1 else list(f)
        elif w == 1:
            out = [a + b for a, b in zip(out, f)]
        else:  # zero entries skipped: a rational weight times 0 is costly and changes nothing
            out = [a + w * b if b else a for a, b in zip(out, f)]
    if out is None:
        n = len(forms[0]) if forms else 1
        out = [0] * n
    if const != 0:
        out[0] = out[0] + const
    return tuple(out)


_WIDE = 8
_RATIONAL = {int, Fraction}


def _aff_comb_integers(weights, forms, const):
    """:func:`aff_comb` of many rational forms in integer arithmetic over common denominators
    (one Fraction per entry instead of one per product); ``None`` when an entry is not rational."""
    if not {type(w) for w in weights} <= _RATIONAL or not {type(c) for f in forms for c in f} <= _RATIONAL:
        return None
    dw = reduce(_lcm, {w.denominator for w in weights if type(w) is Fraction}, 1)
    W = [w * dw if type(w) is int else w.numerator * (dw // w.denominator) for w in weights]
    out = []
    for col in zip(*forms):
        d = reduce(_lcm, {c.denominator for c in col if type(c) is Fraction}, 1)
        if d == 1:
            acc = sum(map(mul, W, col))
        else:
            acc = sum(map(mul, W, [c * d if type(c) is int else c.numerator * (d // c.denominator) for c in col]))
        q = Fraction(acc, dw * d)
        out.append(q.numerator if q.denominator == 1 else q)
    if const != 0:
        out[0] = out[0] + const
    return tuple(out)


def aff_is_const(f):
    """True when the form has no input coefficient."""
    return all(c == 0 for c in f[1:])


def aff_to_expr(form, symbols):
    """The sympy expression of an affine form (entries may be sympy expressions)."""
    expr = to_sympy(form[0])
    for c, s in zip(form[1:], symbols):
        if c != 0:
            expr += to_sympy(c) * s
    return expr


def _lcm(a, b):
    return a * b // math.gcd(a, b)


def int_row(form):
    """A rational form scaled by a positive number to coprime integers.

    Examples
    --------
    >>> int_row((Fraction(1, 2), Fraction(-1, 3), 0))
    (3, -2, 0)
    """
    if all(type(c) is int for c in form):  # the usual case, without Fraction arithmetic
        g = math.gcd(*form)
        return tuple(form) if g <= 1 else tuple(c // g for c in form)
    den = reduce(_lcm, (c.denominator for c in form if isinstance(c, Fraction)), 1)
    row = [int(c * den) for c in form]
    g = reduce(math.gcd, row, 0)
    if g > 1:
        row = [c // g for c in row]
    return tuple(row)


def as_integers(point):
    """``(q, P)`` with ``point == P / q``, ``P`` integers."""
    q = 1
    for v in point:
        if isinstance(v, Fraction):
            q = q * v.denominator // math.gcd(q, v.denominator)
    return q, tuple(int(v * q) for v in point)


# --------------------------------------------------------------------------- the exact oracle's numbers
_gcd = math.gcd
_new = object.__new__


def _make(n, d):
    """The ExactNumber ``n / d`` of integers already in lowest terms, ``d > 0`` (no normalisation)."""
    r = _new(ExactNumber)
    r._numerator = n
    r._denominator = d
    return r


def _lift(o):
    """An operand next to an ExactNumber as ``(numerator, denominator)``, exactly (a float at its
    exact value), or None when it is not a real number."""
    if isinstance(o, (int, Fraction)):
        return int(o.numerator), int(o.denominator)
    if isinstance(o, numbers.Real) or isinstance(o, sp.Rational):
        v = to_exact(o, what="number")
        return v.numerator, v.denominator
    return None


def _sum(na, da, nb, db):
    """``na/da + nb/db`` of fractions in lowest terms, in lowest terms (Fraction's algorithm,
    with the cases of equal and of unit denominators first)."""
    if da == db:
        if da == 1:
            return _make(na + nb, 1)
        t = na + nb
        g = _gcd(t, da)
        return _make(t, da) if g == 1 else _make(t // g, da // g)
    if db == 1:
        return _make(na + nb * da, da)
    if da == 1:
        return _make(na * db + nb, db)
    g = _gcd(da, db)
    if g == 1:
        return _make(na * db + da * nb, da * db)
    s = da // g
    t = na * (db // g) + nb * s
    g2 = _gcd(t, g)
    return _make(t, s * db) if g2 == 1 else _make(t // g2, s * (db // g2))


def _prod(na, da, nb, db):
    """``(na/da) * (nb/db)`` of fractions in lowest terms, in lowest terms."""
    g = _gcd(na, db)
    if g > 1:
        na //= g
        db //= g
    g = _gcd(nb, da)
    if g > 1:
        nb //= g
        da //= g
    return _make(na * nb, da * db)


def _quot(na, da, nb, db):
    """``(na/da) / (nb/db)``."""
    if nb == 0:
        raise ZeroDivisionError(f"Fraction({na * db}, 0)")
    return _prod(na, da, db, nb) if nb > 0 else _prod(na, da, -db, -nb)


class ExactNumber(Fraction):
    """A rational that keeps plain Python arithmetic exact: with a float, the float's exact value.

    The exact oracle (:func:`mtsym.call_exact`, the value checks of ``verify``)
    runs the user's code on these, so ``0.5 * x`` is ``Fraction(1, 2) * x``, as
    tracing computes it, instead of a rounded float.  The arithmetic works on
    the numerator and denominator directly (no ``Fraction`` is built on the way,
    an integer operand needs no ``gcd`` for ``+`` and ``-``): the oracle runs
    every line of the user's program on these.

    Examples
    --------
    >>> x = ExactNumber(1, 3)
    >>> 0.5 * x, x + 0.1 == Fraction(1, 3) + Fraction(0.1), type(abs(-x)).__name__
    (ExactNumber(1, 6), True, 'ExactNumber')
    >>> ExactNumber.of(Fraction(2, 4)), 3 - x, 1 / x, x > Fraction(1, 4)
    (ExactNumber(1, 2), ExactNumber(8, 3), ExactNumber(3, 1), True)
    """

    __slots__ = ()
    __array_ufunc__ = None  # numpy scalars defer to the reflected operators

    @staticmethod
    def of(v):
        """The ExactNumber of an ``int`` or ``Fraction`` (no parsing: the fast constructor)."""
        return _make(v, 1) if type(v) is int else _make(v.numerator, v.denominator)

    def __add__(a, b):
        t = type(b)
        if t is int:
            return _make(a._numerator + b * a._denominator, a._denominator)
        if t is ExactNumber or t is Fraction:
            return _sum(a._numerator, a._denominator, b._numerator, b._denominator)
        q = _lift(b)
        return NotImplemented if q is None else _sum(a._numerator, a._denominator, *q)

    __radd__ = __add__

    def __sub__(a, b):
        t = type(b)
        if t is int:
            return _make(a._numerator - b * a._denominator, a._denominator)
        if t is ExactNumber or t is Fraction:
            return _sum(a._numerator, a._denominator, -b._numerator, b._denominator)
        q = _lift(b)
        return NotImplemented if q is None else _sum(a._numerator, a._denominator, -q[0], q[1])

    def __rsub__(a, b):
        t = type(b)
        if t is int:
            return _make(b * a._denominator - a._numerator, a._denominator)
        if t is ExactNumber or t is Fraction:
            return _sum(b._numerator, b._denominator, -a._numerator, a._denominator)
        q = _lift(b)
        return NotImplemented if q is None else _sum(q[0], q[1], -a._numerator, a._denominator)

    def __mul__(a, b):
        t = type(b)
        if t is int:
            d = a._denominator
            if d == 1:
                return _make(a._numerator * b, 1)
            g = _gcd(b, d)
            return _make(a._numerator * b, d) if g == 1 else _make(a._numerator * (b // g), d // g)
        if t is ExactNumber or t is Fraction:
            return _prod(a._numerator, a._denominator, b._numerator, b._denominator)
        q = _lift(b)
        return NotImplemented if q is None else _prod(a._numerator, a._denominator, *q)

    __rmul__ = __mul__

    def __truediv__(a, b):
        t = type(b)
        if t is int or t is ExactNumber or t is Fraction:
            q = (b, 1) if t is int else (b._numerator, b._denominator)
        else:
            q = _lift(b)
            if q is None:
                return NotImplemented
        return _quot(a._numerator, a._denominator, *q)

    def __rtruediv__(a, b):
        t = type(b)
        if t is int or t is ExactNumber or t is Fraction:
            q = (b, 1) if t is int else (b._numerator, b._denominator)
        else:
            q = _lift(b)
            if q is None:
                return NotImplemented
        return _quot(q[0], q[1], a._numerator, a._denominator)

    def __pow__(self, k):
        if type(k) is not int:
            return NotImplemented
        r = Fraction(self._numerator, self._denominator) ** k
        return _make(r.numerator, r.denominator)

    def __neg__(self):
        return _make(-self._numerator, self._denominator)

    def __pos__(self):
        return self

    def __abs__(self):
        return _make(abs(self._numerator), self._denominator)

    # comparisons: integer products for ints and fractions, Fraction's (exact) rules otherwise
    def __eq__(a, b):
        t = type(b)
        if t is int:
            return a._denominator == 1 and a._numerator == b
        if t is ExactNumber or t is Fraction:
            return a._numerator == b._numerator and a._denominator == b._denominator
        return Fraction.__eq__(a, b)

    __hash__ = Fraction.__hash__

    def __lt__(a, b):
        t = type(b)
        if t is int:
            return a._numerator < b * a._denominator
        if t is ExactNumber or t is Fraction:
            return a._numerator * b._denominator < b._numerator * a._denominator
        return Fraction.__lt__(a, b)

    def __gt__(a, b):
        t = type(b)
        if t is int:
            return a._numerator > b * a._denominator
        if t is ExactNumber or t is Fraction:
            return a._numerator * b._denominator > b._numerator * a._denominator
        return Fraction.__gt__(a, b)

    def __le__(a, b):
        t = type(b)
        if t is int:
            return a._numerator <= b * a._denominator
        if t is ExactNumber or t is Fraction:
            return a._numerator * b._denominator <= b._numerator * a._denominator
        return Fraction.__le__(a, b)

    def __ge__(a, b):
        t = type(b)
        if t is int:
            return a._numerator >= b * a._denominator
        if t is ExactNumber or t is Fraction:
            return a._numerator * b._denominator >= b._numerator * a._denominator
        return Fraction.__ge__(a, b)

    def __repr__(self):
        return f"ExactNumber({self._numerator}, {self._denominator})"


# --------------------------------------------------------------------------- infinities
def _array_like(o):
    """Lists, tuples and array types (looked up on the type: a traced value's attributes are its methods)."""
    return isinstance(o, (list, tuple)) or getattr(type(o), "__array__", None) is not None


class Infinite:
    """``+inf`` or ``-inf`` met as a value in user code.

    ``-inf`` is the identity of ``max`` and ``+inf`` of ``min`` (the primitives
    drop them: ``max(x, -inf)`` is ``x``), both compare strictly beyond every
    number and traced value, and arithmetic that stays infinite (``-inf + x``,
    ``2 * -inf``, ``x / inf = 0``) is exact.  What would be ``nan``
    (``inf - inf``, ``0 * inf``), a product with a traced value (its sign is
    unknown) or an infinite result is refused by name.

    Examples
    --------
    >>> NEG_INF < -10**9 < INF, -INF is NEG_INF, NEG_INF + 3, 2 * NEG_INF, 5 / INF
    (True, True, -inf, -inf, 0)
    >>> INF - INF  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mtsym.errors.UnsupportedOperationError: inf - inf at ...: the result is nan; mtsym needs finite numbers
    """

    __slots__ = ("sign",)

    def __new__(cls, sign):
        return _INFINITIES[sign] if sign in _INFINITIES else super().__new__(cls)

    def __init__(self, sign):
        self.sign = sign

    def __repr__(self):
        return "inf" if self.sign > 0 else "-inf"

    __str__ = __repr__

    def __float__(self):
        return math.inf if self.sign > 0 else -math.inf

    def __bool__(self):
        return True

    def __hash__(self):
        return hash(float(self))

    def __neg__(self):
        return _INFINITIES[-self.sign]

    def __pos__(self):
        return self

    def __abs__(self):
        return _INFINITIES[1]

    def _other_sign(self, o):
        """``None`` for a finite scalar, the sign of an infinity, or ``NotImplemented`` for arrays."""
        if type(o) is Infinite:
            return o.sign
        if _array_like(o):
            return NotImplemented
        if isinstance(o, float) and math.isinf(o):
            return 1 if o > 0 else -1
        if isinstance(o, _NaN) or isinstance(o, float) and math.isnan(o):
            raise UnsupportedOperationError("nan", "nan is not finite; mtsym needs finite numbers")
        return None

    def __add__(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        if s is not None and s != self.sign:
            raise UnsupportedOperationError("inf - inf", "the result is nan; mtsym needs finite numbers")
        return self

    __radd__ = __add__

    def __sub__(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        if s == self.sign:
            raise UnsupportedOperationError("inf - inf", "the result is nan; mtsym needs finite numbers")
        return self

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        if s is None:
            if not is_exact_number(o):
                raise UnsupportedOperationError("*", f"{self} times a traced value is not finite (its sign "
                                                "depends on the value); mtsym needs finite numbers")
            if o == 0:
                raise UnsupportedOperationError("*", f"0 * {self} is nan; mtsym needs finite numbers")
            s = 1 if o > 0 else -1
        return _INFINITIES[s * self.sign]

    __rmul__ = __mul__

    def __truediv__(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        if s is not None or not is_exact_number(o) or o == 0:
            raise UnsupportedOperationError("/", f"{self} / {o!r} is not a finite number or a sign mtsym knows")
        return _INFINITIES[self.sign * (1 if o > 0 else -1)]

    def __rtruediv__(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        if s is not None:
            raise UnsupportedOperationError("/", "inf / inf is nan; mtsym needs finite numbers")
        return 0  # finite / inf, also for a traced value (its derivative is 0 as well)

    def _cmp(self, o):
        s = self._other_sign(o)
        if s is NotImplemented:
            return NotImplemented
        return self.sign - (s or 0)   # > 0: self is larger

    def __lt__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c < 0

    def __le__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c <= 0

    def __gt__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c > 0

    def __ge__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c >= 0

    def __eq__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c == 0

    def __ne__(self, o):
        c = self._cmp(o)
        return c if c is NotImplemented else c != 0


_INFINITIES = {}
INF = _INFINITIES[1] = Infinite(1)
NEG_INF = _INFINITIES[-1] = Infinite(-1)


class _NaN:
    """``nan`` met as a value (a jaxpr literal that is never selected); any use is refused."""

    __slots__ = ()

    def __repr__(self):
        return "nan"

    def _refuse(self, *args):
        raise UnsupportedOperationError("nan", "nan is not finite; mtsym needs finite numbers")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __neg__ = __bool__ = __float__ = _refuse
    __hash__ = object.__hash__


NAN = _NaN()


def is_infinite(v):
    """True for ``Infinite``, ``NAN`` and non-finite floats (numbers that :func:`to_exact` refuses as such)."""
    t = type(v)
    if t is int or t is Fraction:
        return False
    if t is Infinite or t is _NaN:
        return True
    try:
        return isinstance(v, numbers.Real) and not isinstance(v, numbers.Rational) and not math.isfinite(v)
    except (TypeError, ValueError, OverflowError):
        return False


def to_extended(v, what="number"):
    """:func:`to_exact`, except that infinities become :class:`Infinite` and ``nan`` :data:`NAN`.

    Examples
    --------
    >>> to_extended(float("-inf")), to_extended(0.5), to_extended(float("nan"))
    (-inf, Fraction(1, 2), nan)
    """
    t = type(v)
    if t is Infinite or t is _NaN:
        return v
    if is_infinite(v):
        f = float(v)
        return NAN if math.isnan(f) else _INFINITIES[1 if f > 0 else -1]
    return to_exact(v, what)
