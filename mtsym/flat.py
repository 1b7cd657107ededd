"""Flat ties: a tie at a point that is no kink, because every quantity it ties is 0 near the point.

A switching node *ties* at an exact point when one of the sign tests its exact path answers there
is 0.  The tie is **flat** when each such quantity is identically 0 on a neighbourhood of the point
(e.g. a max-pool window whose arguments are all ReLUs that are off near the point): every case of
the node then gives the same local map, so the tie is no kink, splits nothing and counts as no tie.
This module holds that one definition, :func:`flat_tie`, used by the exact audit
(:mod:`mtsym.audit`, with the affine forms of the inputs along the exact cases) and by the local
analysis (:mod:`mtsym.local`, with :func:`zero_nodes`: the nodes identically 0 near the point, each
other input an independent unknown, which is a sufficient condition).

Examples
--------
>>> from fractions import Fraction
>>> from mtsym.primitives import PRIMITIVES
>>> mx = PRIMITIVES["max"]
>>> flat_tie(mx, (2,), [{}, {}], [0, 0])                  # max(0, 0) of two inputs both 0 near the point
True
>>> flat_tie(mx, (2,), [{0: 1}, {}], [0, 0])              # max(x1, 0) at x1 = 0: a kink
False
>>> flat_tie(mx, (2,), [{0: 1}, {0: 1}], [Fraction(1), Fraction(1)])   # max(x1, x1): flat
True
"""

__all__ = ["flat_tie", "walk", "drive", "replay", "zero_nodes", "classify"]

from fractions import Fraction

from .partition import ask
from .primitives import Choice, Restrict
from .trace import VAL_CONV


def _quantity(q):
    if isinstance(q, Choice):
        return None
    return (q.form if isinstance(q, Restrict) else q)[0]


def walk(prim, xs, params):
    """Drive ``prim.tests`` at the numbers ``xs``: ``(case, answers, quantities)`` of the path taken.

    ``answers`` are the Choice indices and signs sent, ``quantities`` the exact value of each sign
    test (``None`` for a Choice).  The path is :func:`mtsym.primitives.path_by_tests`'s (the first
    alternative of each Choice that holds); alternatives whose score another's strictly beats are
    not tried (they hold nowhere near these numbers).
    """
    vals = [(Fraction(x),) for x in xs]
    case, answers, asked = drive(prim, vals, params, lambda f: (f[0] > 0) - (f[0] < 0))
    quantities, k = [], 0
    for a in answers:                       # a Choice index has no quantity
        if k < len(asked) and asked[k][2] == len(quantities):
            quantities.append(asked[k][0][0])
            k += 1
        else:
            quantities.append(None)
    return case, answers, quantities


def drive(prim, forms, params, sign_of):
    """The one path of ``prim.tests`` on ``forms`` when ``sign_of(form)`` gives each test's sign:
    ``(case, answers, asked)``, ``asked`` the ``(form, sign, position in answers)`` of each sign
    test; ``None`` as soon as ``sign_of`` returns ``None`` (a test that could take several signs)."""
    todo = [()]
    while todo:
        answers = todo.pop()
        asked = []
        gen = prim.tests(forms, params)
        try:
            q = next(gen)
            for a in answers:
                q = gen.send(a)
            while True:
                if isinstance(q, Choice):
                    todo.extend(answers + (j,) for j in reversed(_candidates(q)))
                    break
                g, allowed = (q.form, q.signs) if isinstance(q, Restrict) else (q, (1, 0, -1))
                s = sign_of(g)
                if s is None:
                    return None
                if s not in allowed:
                    break
                asked.append((g, s, len(answers)))
                answers += (s,)
                q = gen.send(s)
        except StopIteration as stop:
            return stop.value, answers, asked
    raise ValueError(f"no case holds at {forms}")  # pragma: no cover - the cases partition space


def _candidates(q):
    """The alternatives of a Choice worth trying at a point: all, or those whose score is largest
    there (scores are forms; only their values at the point count)."""
    if q.scores is None:
        return range(q.m)
    vals = [q.sense * sc[0] for sc in q.scores]
    top = max(vals)
    return [j for j, v in enumerate(vals) if v == top]


def replay(prim, xs, params, answers):
    """The exact quantities of the sign tests at ``xs`` along a path given by its ``answers``."""
    vals = [(Fraction(x),) for x in xs]
    return [_quantity(ask(prim, vals, params, answers[:i])[1]) for i in range(len(answers))]


def flat_tie(prim, params, forms, values, path=None):
    """Whether every sign test the node's exact path answers 0 is on a quantity identically 0 near the point.

    Parameters
    ----------
    prim : Primitive
        A switching primitive.
    params : tuple
    forms : list of dict
        Per input, its gradient near the point as ``{coordinate: coefficient}`` (an empty dict: the
        input is constant near the point).  Any coordinates will do as long as a combination of
        the forms that is zero means a quantity that is constant near the point.
    values : list
        The inputs' exact values at the point.
    path : tuple, optional
        ``(answers, quantities)`` of :func:`walk` at ``values``, when already known.

    Returns
    -------
    bool
        True also when the node does not tie at all (no test is 0).
    """
    keys = sorted({i for f in forms for i in f})
    dense = [(Fraction(x),) + tuple(f.get(i, 0) for i in keys) for f, x in zip(forms, values)]
    answers, quantities = walk(prim, values, params)[1:] if path is None else path
    if not any(q is not None and a == 0 for a, q in zip(answers, quantities)):
        return True
    gen = prim.tests(dense, params)              # the same path, driven once on the forms
    try:
        q2 = next(gen)
        for a, q in zip(answers, quantities):
            if q is not None and a == 0 and any((q2.form if isinstance(q2, Restrict) else q2)[1:]):
                return False
            q2 = gen.send(a)
    except StopIteration:
        pass
    return True


def zero_nodes(nodes, vals, case_of=None):
    """The nodes identically 0 on a neighbourhood of the point, and the flat-tied switching nodes.

    A sufficient condition, exact: a node is 0 near the point when its value there is 0 and each
    input it weighs (under its case at the point, which holds near the point when the node is strict
    there or its tie is flat) is itself 0 near the point: a ReLU that is off, a max of such, an
    affine map of such with no constant.  A tie is flat (:func:`flat_tie`) when its tied quantities
    are combinations of such nodes, and of other nodes that cancel.

    Parameters
    ----------
    nodes : list of ``(prim, inputs, params, pinned)``
        The graph's nodes in topological order (as :class:`mtsym.local.sweep.Sweep` keeps them).
    vals : list
        Their exact values at the point (``None`` for a Python comparison).
    case_of : callable, optional
        ``case_of(v)``: the case of switching node ``v`` at the point (default: its primitive's
        ``case_of`` at the exact values).

    Returns
    -------
    (zero, flat) : (set of int, set of int)
        ``flat``: the switching nodes that tie at the point, all of whose ties are flat.

    Examples
    --------
    >>> import mtsym as mt
    >>> from mtsym.local.sweep import Sweep
    >>> g = mt.trace(lambda x: mt.max(mt.relu(x[0] - 1), mt.relu(x[1] - 1)) + mt.max(x[0], x[1]), 2)
    >>> sw = Sweep(g, mt.Convention("torch")); sw.start((0, 0)); sw._values_to(len(sw.nodes))
    >>> zero, flat = zero_nodes(sw.nodes, sw.vals)
    >>> sorted(g.nodes[v]["op"] for v in flat)      # max(0, 0) of two off ReLUs; max(x1, x2) is a kink
    ['max']
    """
    zero, flat = set(), set()
    for v, (prim, ins, params, _) in enumerate(nodes):
        is_zero, tie = classify(prim, ins, params, vals, v, zero, case_of)
        if is_zero:
            zero.add(v)
        if tie == "flat":
            flat.add(v)
    return zero, flat


def classify(prim, ins, params, vals, v, zero, case_of=None):
    """``(is_zero, tie)`` of node ``v`` given the ``zero`` nodes before it (see :func:`zero_nodes`);
    ``tie`` is ``None`` (not a switching node, or strict at the point), ``"flat"`` or ``"kink"``."""
    kind = prim.kind
    if kind in ("input", "branch", "smooth"):
        return False, None
    if not ins:
        return vals[v] == 0, None
    case, tie = None, None
    if prim.switching:
        xs = [vals[u] for u in ins]
        _, answers, quantities = walk(prim, xs, params)
        if any(q is not None and a == 0 for a, q in zip(answers, quantities)):
            forms = [{} if u in zero else {u: 1} for u in ins]
            if not flat_tie(prim, params, forms, xs, (answers, quantities)):
                return False, "kink"
            tie = "flat"
        if vals[v] != 0:
            return False, tie
        case = case_of(v) if case_of is not None else prim.case_of(xs, params)
    elif vals[v] != 0:
        return False, None
    w, _ = prim.linear(case, params, VAL_CONV)
    return all(u in zero for u, c in zip(ins, w) if c != 0), tie

