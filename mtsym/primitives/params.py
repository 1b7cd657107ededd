"""Schemas of primitive parameters: what each entry of a node's ``params`` tuple may be.

A primitive declares ``params=(spec, ...)``, one spec per entry.  The schema
is what a graph read from a file is checked against (a file is untrusted: an
entry of the wrong type or size is refused, never run), and what the
completeness test round-trips.  ``check`` returns the entry normalised
(lists become tuples) or raises ``ValueError`` saying what was expected.

Examples
--------
>>> RATIONAL.check(Fraction(1, 3)), OPTIONAL_RATIONAL.check(None), RATIONALS.check([1, Fraction(1, 2)])
(Fraction(1, 3), None, (1, Fraction(1, 2)))
>>> COUNT.check(-1)
Traceback (most recent call last):
...
ValueError: expected an integer >= 1, got -1
"""

__all__ = ["Spec", "COUNT", "INDEX", "NAME", "RATIONAL", "OPTIONAL_RATIONAL", "RATIONALS", "word"]

import re
from fractions import Fraction

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Spec:
    """One parameter entry: a description and a check."""

    __slots__ = ("what", "_check")

    def __init__(self, what, check):
        self.what, self._check = what, check

    def check(self, v):
        """``v`` normalised, or ``ValueError``."""
        out = self._check(v)
        if out is _BAD:
            raise ValueError(f"expected {self.what}, got {v!r}"[:200])
        return out

    def __repr__(self):
        return f"Spec({self.what})"


_BAD = object()


def _int(lo):
    def check(v):
        return v if type(v) is int and v >= lo else _BAD
    return check


def _rational(v):
    return v if (type(v) is int or type(v) is Fraction) else _BAD


def _name(v):
    return v if isinstance(v, str) and _NAME.match(v) else _BAD


def _rationals(v):
    if not isinstance(v, (tuple, list)):
        return _BAD
    out = tuple(_rational(c) for c in v)
    return _BAD if any(c is _BAD for c in out) else out


COUNT = Spec("an integer >= 1", _int(1))
INDEX = Spec("an integer >= 0", _int(0))
NAME = Spec("a name [A-Za-z_][A-Za-z0-9_]*", _name)
RATIONAL = Spec("an exact rational (int or p/q)", _rational)
OPTIONAL_RATIONAL = Spec("an exact rational or null", lambda v: None if v is None else _rational(v))
RATIONALS = Spec("a list of exact rationals", _rationals)


def word(*choices):
    """A spec for one of a few words."""
    return Spec(f"one of {', '.join(map(repr, choices))}", lambda v: v if v in choices else _BAD)
