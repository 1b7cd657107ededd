"""k-ary max and min rows: reductions, elementwise maximum/minimum, pooling windows.

One node, ``2^k - 1`` tie cases: the case is the tuple ``T`` of tied argmax
positions.  Its stratum is ``{a_i = a_t for i in T, a_k < a_t for k not in T}``:
the enumeration chooses the first tied position ``t``, then asks of every other
argument only "tied with ``a_t``, or below it" (below only, before ``t``), so
each case is exactly its polyhedron and never a refinement of it.  The rows
differ only in who gets the derivative at a tie.
"""

__all__ = ["MAX", "MIN", "MAXIMUM", "MINIMUM", "MAXPOOL", "tie_weights", "describe_tie", "MAXIMUM_TIE", "REDUCE",
           "POOL", "tied_args"]

from fractions import Fraction

import sympy as sp

from ..exact import Infinite
from . import Choice, Primitive, Reapply, Restrict, TieParam, register
from . import params as P
from .vectorized import ArgRule

_H = Fraction(1, 2)
_RULES = ("mean", "first", "last")

MAXIMUM_TIE = TieParam("maximum", "weight of the first argument of ``maximum(a, b)`` (and ``minimum``) at "
                       "``a = b``; the second gets 1 - w", dict(torch=_H, jax=_H, first=1, last=0, mean=_H))
REDUCE = TieParam("reduce", "``max(x)``/``min(x)`` over k tied entries: ``\"mean\"`` (1/k each), "
                  "``\"first\"``, ``\"last\"``", dict(torch="mean", jax="mean", first="first", last="last",
                                                         mean="mean"), choices=_RULES, numeric=False)
POOL = TieParam("pool", "max-pooling window ties: ``\"first\"`` (row-major), ``\"last\"``, ``\"mean\"``",
                dict(torch="first", jax="first", first="first", last="last", mean="mean"),
                choices=_RULES, numeric=False)


_BELOW = (-1,)
_TIED_OR_BELOW = (0, -1)


def _difference(a, b, sign):
    """The form ``sign * (a - b)``, computed when asked (a replayed branch never asks)."""
    if sign > 0:
        return lambda: tuple(x - y for x, y in zip(a, b))
    return lambda: tuple(y - x for x, y in zip(a, b))


def _arg_tests(sign):
    def tests(vals, params):
        t = yield Choice(len(vals), vals, sign)
        return (yield from _rest(vals, t, 0, [t]))

    def _rest(vals, t, start, tie):
        """The tests of the arguments from ``start`` on, once ``t`` is the first tied position."""
        at = vals[t]
        for i in range(start, len(vals)):
            if i == t:
                continue
            s = yield Restrict(_difference(vals[i], at, sign), _BELOW if i < t else _TIED_OR_BELOW)
            if s == 0:
                tie.append(i)
        return tuple(sorted(tie))

    def resume(vals, params, answers):
        """``replay(tests, vals, params, answers)`` in one step: the generator after ``answers``
        (the choice of ``t``, then one sign per argument other than ``t``, in order) and its next
        question, without asking the answered tests again."""
        if not answers:
            gen = tests(vals, params)
            return gen, next(gen)
        t = answers[0]
        tie = [t]
        i = 0
        for s in answers[1:]:
            if i == t:
                i += 1
            if s == 0:
                tie.append(i)
            i += 1
        gen = _rest(vals, t, i, tie)
        return gen, next(gen)

    tests.resume = resume
    return tests


def _arg_case(sign):
    def case_of(xs, params):
        m = max(xs) if sign > 0 else min(xs)
        return tuple(i for i, x in enumerate(xs) if x == m)
    return case_of
def _extended(sign):
    """``max`` with infinite arguments: ``-inf`` is dropped (the identity), ``+inf`` wins (``min``: the reverse)."""
    def extended(xs, params):
        inf = [x for x in xs if type(x) is Infinite]
        if any(x.sign == sign for x in inf):
            return next(x for x in inf if x.sign == sign)
        keep = [x for x in xs if type(x) is not Infinite]
        if not keep:
            return inf[0]
        return keep[0] if len(keep) == 1 else Reapply(keep, (len(keep),))
    return extended


#: ``Fraction(1, m)`` by ``m``: a mean over m tied arguments (one object, not one per tie set)
_MEAN = {}


def tie_weights(k, tie, rule):
    """Weights over ``k`` arguments for the tie set ``tie`` under ``rule``.

    ``rule`` is ``"mean"``, ``"first"``, ``"last"``, or a number ``w``: the first
    of two tied arguments gets ``w``, the second ``1 - w``.

    Examples
    --------
    >>> tie_weights(3, (0, 2), "mean")
    (Fraction(1, 2), 0, Fraction(1, 2))
    >>> tie_weights(2, (0, 1), 1)
    (1, 0)
    """
    w = [0] * k
    if len(tie) == 1:
        w[tie[0]] = 1
    elif rule == "first":
        w[tie[0]] = 1
    elif rule == "last":
        w[tie[-1]] = 1
    elif rule == "mean":
        q = _MEAN.get(len(tie)) or _MEAN.setdefault(len(tie), Fraction(1, len(tie)))
        for i in tie:
            w[i] = q
    else:  # a weight for the first of two tied arguments
        w[tie[0]] = rule
        w[tie[1]] = 1 - rule
    return tuple(w)


def describe_tie(case, params=None):
    """A tie set in words: ``argument 2 wins`` or ``tie #1 = #3``."""
    if len(case) == 1:
        return f"argument {case[0] + 1} wins"
    return "tie " + " = ".join(f"#{i + 1}" for i in case)


def tied_args(case, params=None):
    """The tied positions of a tie set (``()`` when one argument wins)."""
    return tuple(case) if len(case) > 1 else ()


def _row(name, sign, tie, doc):
    pick = max if sign > 0 else min
    sym = sp.Max if sign > 0 else sp.Min
    key = tie.name
    return register(Primitive(
        name, numeric=lambda xs, p: pick(xs), symbolic=lambda xs, p: sym(*xs),
        kind="switching", numpy=ArgRule(sign), params=(P.COUNT,), arity=lambda p: p[0], ties=(tie,),
        tests=_arg_tests(sign), case_of=_arg_case(sign),
        linear=lambda case, p, conv: (tie_weights(p[0], case, getattr(conv, key)), 0),
        homogeneous=True, extended=_extended(sign), describe=describe_tie, tied=tied_args, doc=doc))


# params of every max-like node: (k,) the number of arguments
MAXIMUM = _row("maximum", 1, MAXIMUM_TIE, "maximum(a, b); ties by convention.maximum")
MINIMUM = _row("minimum", -1, MAXIMUM_TIE, "minimum(a, b); ties by convention.maximum")
MAX = _row("max", 1, REDUCE, "max(x1..xk), a reduction; ties by convention.reduce")
MIN = _row("min", -1, REDUCE, "min(x1..xk), a reduction; ties by convention.reduce")
MAXPOOL = _row("maxpool", 1, POOL, "one max-pooling window, row-major; ties by convention.pool")
