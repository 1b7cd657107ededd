"""Order statistics: the j-th smallest of k values, the primitive behind ``mt.sort``.

A sorted array is k ``order`` nodes, one per rank.  Node ``order(k, j)`` is
the j-th smallest (0-based) of its k arguments.  Its case is ``(T, B)``: the
arguments tied at its value (``T``) and those strictly below it (``B``); the
others are above, and ``len(B) <= j < len(B) + len(T)``.  So the stratum of a
case is the relatively open polyhedron ``{a_i = a_t (i in T), a_b < a_t
(b in B), a_c > a_t (others)}``: the enumeration picks the first tied argument
``t``, then asks of every other argument "below, tied or above" (never tied
before ``t``), and drops an answer as soon as the counts make rank j
impossible.

At a tie the value is any tied argument; who gets the derivative is the
convention parameter ``order``: the block of tied arguments fills the ranks
``len(B) .. len(B) + len(T) - 1`` and

* ``"stable"``: rank ``len(B) + r`` goes to the r-th tied argument in input
  order (a stable ascending sort: ``torch.sort``, ``jnp.sort``);
* ``"reverse"``: to the r-th tied argument from the end (``torch.sort(...,
  descending=True)``, read in ascending ranks);
* ``"first"`` / ``"last"``: every rank of the block to the first / last tied argument;
* ``"mean"``: ``1/len(T)`` to each tied argument (``torch.median``).

Examples
--------
>>> from mtsym.conventions import Convention
>>> ORDER.case_of([3, 1, 3, 3, 2], (5, 3))          # 1 < 2 < 3 = 3 = 3: rank 3 is in the block of 3s
((0, 2, 3), (1, 4))
>>> ORDER.linear(((0, 2, 3), (1, 4)), (5, 3), Convention("torch"))[0]   # rank 3 = 2nd of the block
(0, 0, 1, 0, 0)
>>> ORDER.linear(((0, 2, 3), (1, 4)), (5, 3), Convention("mean"))[0]
(Fraction(1, 3), 0, Fraction(1, 3), Fraction(1, 3), 0)
"""

__all__ = ["ORDER", "ORDER_TIE", "order_weights"]

from fractions import Fraction

import numpy as np
import sympy as sp

from ..exact import Infinite
from . import Choice, Primitive, Reapply, Restrict, TieParam, register
from . import params as P
from .maxlike import describe_tie
from .vectorized import Switching

ORDER_TIE = TieParam(
    "order", "order statistics (``mt.sort``) over tied entries: ``\"stable\"`` (the block's r-th rank to the "
    "r-th tied entry), ``\"reverse\"``, ``\"first\"``, ``\"last\"``, ``\"mean\"``",
    dict(torch="stable", jax="stable", first="first", last="last", mean="mean"),
    choices=("stable", "reverse", "first", "last", "mean"), numeric=False)


def _tests(vals, params):
    k, j = params
    t = yield Choice(k)
    at = vals[t]
    tie, below = [t], []
    above = 0
    for i in range(k):
        if i == t:
            continue
        allowed = [-1, 0, 1] if i > t else [-1, 1]    # t is the first tied argument
        if len(below) == j:                            # rank j must stay at or above the block
            allowed.remove(-1)
        if above == k - 1 - j:                         # ... and at or below its top
            allowed.remove(1)
        s = yield Restrict(tuple(x - y for x, y in zip(vals[i], at)), tuple(allowed))
        if s < 0:
            below.append(i)
        elif s == 0:
            tie.append(i)
        else:
            above += 1
    return tuple(sorted(tie)), tuple(below)


def _case_of(xs, params):
    v = sorted(xs)[params[1]]
    return (tuple(i for i, x in enumerate(xs) if x == v), tuple(i for i, x in enumerate(xs) if x < v))


def order_weights(k, j, case, rule):
    """The weights of the k arguments of ``order(k, j)`` on ``case`` under ``rule`` (see the module)."""
    tie, below = case
    w = [0] * k
    r = j - len(below)
    if rule == "mean" and len(tie) > 1:
        q = Fraction(1, len(tie))
        for i in tie:
            w[i] = q
        return tuple(w)
    pick = {"stable": r, "reverse": len(tie) - 1 - r, "first": 0, "last": len(tie) - 1, "mean": 0}[rule]
    w[tie[pick]] = 1
    return tuple(w)


class _OrderRule(Switching):
    """``order(k, j)`` on many points: ``np.sort``, and cases interned per stage as they are met."""

    def setup(self, stage):
        stage.k, stage.j = stage.params
        stage.cases, stage.case_code = [], {}

    def _stack(self, stage, V):
        return np.stack([V[i] for i in stage.ins])

    def forward(self, stage, V):
        V[stage.out] = np.sort(self._stack(stage, V), axis=0)[stage.j]

    def codes(self, stage, V, atol):
        M = self._stack(stage, V)                       # (k, nodes, N)
        v = np.sort(M, axis=0)[stage.j]
        t = 0.0 if atol is None else atol
        tie, below = np.abs(M - v) <= t, M < v - t
        key = np.concatenate([tie, below]).reshape(2 * stage.k, -1).T
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        k = stage.k
        ids = np.array([self.encode(stage, (tuple(np.flatnonzero(u[:k]).tolist()),
                                            tuple(np.flatnonzero(u[k:]).tolist()))) for u in uniq], dtype=np.int32)
        return ids[inv.ravel()].reshape(v.shape)

    def encode(self, stage, case):
        code = stage.case_code.get(case)
        if code is None:
            code = stage.case_code[case] = len(stage.cases)
            stage.cases.append(case)
        return code

    def decode(self, stage, code):
        return stage.cases[int(code)]

    def code_range(self, stage):
        return 0, max(1, len(stage.cases))

    def radix(self, stage):
        return None


def _extended(xs, params):
    """Order statistics with infinite arguments: the ``-inf`` take the lowest ranks, ``+inf`` the highest."""
    k, j = params
    neg = [x for x in xs if type(x) is Infinite and x.sign < 0]
    pos = [x for x in xs if type(x) is Infinite and x.sign > 0]
    if j < len(neg):
        return neg[0]
    if j >= k - len(pos):
        return pos[0]
    finite = [x for x in xs if type(x) is not Infinite]
    return finite[0] if len(finite) == 1 else Reapply(finite, (len(finite), j - len(neg)))


def _describe(case, params):
    tie, below = case
    rank = params[1] - len(below)
    return f"{describe_tie(tie)}, {len(below)} below (rank {params[1]} is the block's #{rank + 1})"


def _validate(params):
    k, j = params
    if not j < k:
        raise ValueError(f"rank {j} is not in 0..{k - 1}")


ORDER = register(Primitive(
    "order", numeric=lambda xs, p: sorted(xs)[p[1]],
    symbolic=lambda xs, p: sp.Function(f"order{p[1]}")(*xs),
    kind="switching", numpy=_OrderRule(), params=(P.COUNT, P.INDEX), arity=lambda p: p[0], ties=(ORDER_TIE,),
    validate=_validate, tests=_tests, case_of=_case_of, show=lambda p: f"rank {p[1]} of {p[0]}",
    linear=lambda case, p, conv: (order_weights(p[0], p[1], case, conv.order), 0),
    homogeneous=True, extended=_extended, describe=_describe,
    tied=lambda case, p: tuple(case[0]) if len(case[0]) > 1 else (),
    doc="the j-th smallest (0-based) of k arguments; params (k, j); ties by convention.order"))
