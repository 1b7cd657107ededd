"""ExactNumber, the exact oracle's number: every operation against Python's own Fraction arithmetic.

Oracle: ``fractions.Fraction`` (the standard library) on the exact values of the operands, a float
taken at its exact value (``Fraction(float)``).  ExactNumber computes on numerators and
denominators directly (for speed); these tests pin it to Fraction's results, in lowest terms.
"""
import operator
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from mtsym.exact import ExactNumber

rationals = st.fractions(max_denominator=10 ** 6).filter(lambda q: abs(q.numerator) < 10 ** 12)
ints = st.integers(-10 ** 12, 10 ** 12)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
operands = st.one_of(
    ints.map(lambda v: (v, Fraction(v))),
    rationals.map(lambda q: (q, q)),
    rationals.map(lambda q: (ExactNumber(q), q)),
    floats.map(lambda v: (v, Fraction(v))),
    st.integers(-1000, 1000).map(lambda v: (np.int64(v), Fraction(v))),
    floats.map(lambda v: (np.float64(v), Fraction(v))),
    st.booleans().map(lambda v: (v, Fraction(int(v)))),
    rationals.map(lambda q: (sp.Rational(q.numerator, q.denominator), q)),
)
ARITH = [operator.add, operator.sub, operator.mul, operator.truediv]
COMPARE = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


def lowest_terms(v):
    return type(v) is ExactNumber and v.denominator > 0 and np.gcd(v.numerator, v.denominator) == 1 \
        if abs(v.numerator) < 2 ** 62 and v.denominator < 2 ** 62 else type(v) is ExactNumber


@settings(max_examples=400, deadline=None)
@given(rationals, operands, st.sampled_from(ARITH), st.booleans())
def test_arithmetic_is_fractions_in_lowest_terms(a, other, op, reflected):
    x, exact = other
    e = ExactNumber(a)
    if isinstance(x, sp.Basic) and reflected:
        return  # sympy's own operators run first on the left: not the oracle's number
    try:
        want = op(exact, a) if reflected else op(a, exact)
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            op(x, e) if reflected else op(e, x)
        return
    got = op(x, e) if reflected else op(e, x)
    assert type(got) is ExactNumber and got == want
    assert (got.numerator, got.denominator) == (want.numerator, want.denominator)
    assert lowest_terms(got)


@settings(max_examples=300, deadline=None)
@given(rationals, operands, st.sampled_from(COMPARE))
def test_comparisons_are_exact(a, other, op):
    x, exact = other
    if isinstance(x, sp.Basic):
        return
    assert op(ExactNumber(a), x) == op(a, exact)
    assert op(x, ExactNumber(a)) == op(exact, a)


@given(rationals, st.integers(-6, 6))
def test_unary_and_powers(a, k):
    e = ExactNumber(a)
    for got, want in [(-e, -a), (+e, a), (abs(e), abs(a))]:
        assert type(got) is ExactNumber and got == want
    if a != 0 or k >= 0:
        assert type(e ** k) is ExactNumber and e ** k == a ** k
    assert hash(e) == hash(a) and ExactNumber.of(a) == a and type(ExactNumber.of(a.numerator)) is ExactNumber


def test_a_float_is_taken_at_its_exact_value():
    x = ExactNumber(1, 3)
    assert 0.1 * x == Fraction(0.1) / 3 != Fraction(1, 30)
    assert x + np.float32(0.1) == Fraction(1, 3) + Fraction(float(np.float32(0.1)))
    assert (x < 0.3333333333333333) is False and x > 0.3333333333333333
    with pytest.raises(Exception, match="not finite"):
        x * float("inf")
    with pytest.raises(TypeError):
        x + "1"
