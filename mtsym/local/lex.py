"""``mt.lex_grad`` and ``mt.directional``: exact answers at one point of any network, no enumeration.

The program is traced once in graph-only mode (as :func:`mtsym.evaluate` does), then one exact
:class:`~mtsym.local.sweep.Sweep` runs at ``x0``: every switching node takes its case at
``x0 + e m1 + e^2 m2 + ...`` (the *lexicographic* case), and one reverse sweep gives the gradient
of the stratum entered.  A Python ``if`` on traced values is decided the same way while the
function runs, so code with branches is traced along the one path it takes.

With ``n`` independent directions (the default: the coordinate axes) that stratum is
full-dimensional, so the result is a *limiting gradient*: the gradient of ``f`` on an open set
whose closure holds ``x0``, an element of the Clarke generalized gradient (Nesterov 2005; Khan
and Barton's LD-derivatives).  It does not depend on the convention.

Examples
--------
>>> import mtsym as mt
>>> f = lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1])
>>> mt.lex_grad(f, (0, 0))                       # enters x1 > 0 first, then x2 > 0
Matrix([[0, 2]])
>>> mt.lex_grad(f, (0, 0), directions=[(-1, 0), (0, -1)])
Matrix([[0, 1]])
>>> mt.directional(f, (0, 0), (1, 1)), mt.directional(f, (0, 0), (1, 0))
(1, 0)
"""

from __future__ import annotations

__all__ = ["lex_grad", "directional", "local_sweep", "point_of"]

from typing import Any, Callable, Sequence

import sympy as sp

from ..conventions import Convention
from ..errors import InputError
from ..exact import to_exact, to_sympy
from ..graph import Graph
from ..partition import DEFAULT_MAX_EVENTS, Decider
from ..trace import InputSpec, Program
from .sweep import Sweep


def point_of(x0, n=None, what="x0"):
    """``x0`` (a sequence, numpy array or tensor) as a tuple of exact numbers (floats exactly)."""
    if hasattr(x0, "detach"):
        x0 = x0.detach()
    if hasattr(x0, "tolist"):
        x0 = x0.tolist()
    if not isinstance(x0, (list, tuple)):
        x0 = [x0]
    flat = []
    for v in x0:
        if isinstance(v, (list, tuple)):
            flat.extend(v)
        else:
            flat.append(v)
    pt = tuple(to_exact(v, what=f"coordinate of {what}") for v in flat)
    if n is not None and len(pt) != n:
        raise InputError(f"{what} has {len(pt)} coordinates; the function has {n} inputs")
    return pt


class _LexDecider(Decider):
    """Answers each Python comparison of a graph-only run by its lexicographic case."""

    __slots__ = ("sweep",)

    def __init__(self, program, sweep, max_events):
        super().__init__(program, max_events)
        self.sweep = sweep

    def _decide(self, node, prim, vals, params):
        self.sweep.extend()
        return self.sweep.case(node)


def local_sweep(fn, x0, inputs=None, directions=(), convention="torch", framework=None, max_events=None):
    """Trace ``fn`` (or take a branch-free :class:`~mtsym.graph.Graph`) and sweep it at ``x0``.

    Returns ``(sweep, outputs, shape, program)``: every switching node on the path is decided
    (lexicographically along ``directions``); ``program`` is ``None`` for a graph.
    """
    conv = Convention.get(convention)
    if isinstance(fn, Graph):
        if fn.has_branches() or len(fn.outputs) != 1:
            raise InputError("this graph has Python branches (several program paths); pass the function "
                             "itself so the path at x0 can be followed")
        pt = point_of(x0, len(fn.symbols))
        sweep = Sweep(fn, conv)
        sweep.start(pt, _directions(directions, len(pt)))
        outs = fn.outputs[0]
        shape = fn.graph.get("shape", () if len(outs) == 1 else (len(outs),))
        sweep.resolve_all()
        return sweep, outs, shape, None
    from ..api import _framework_code
    if inputs is None:
        inputs = len(point_of(x0))
    spec = InputSpec(inputs)
    pt = point_of(x0, spec.n)
    program = Program(_framework_code(fn, inputs, framework), inputs, conv, exact=False)
    sweep = Sweep(program.graph, conv)
    sweep.start(pt, _directions(directions, spec.n))
    values, shape = program.run(_LexDecider(program, sweep, DEFAULT_MAX_EVENTS if max_events is None
                                            else max_events))
    sweep.extend()
    sweep.resolve_all()
    return sweep, tuple(v.node for v in values), shape, program


def _directions(directions, n):
    out = []
    for d in directions:
        if not (isinstance(d, tuple) and len(d) == n and all(type(c) is int for c in d)):
            d = point_of(d, n, what="direction")
        out.append(d)
    return out


def _matrix(rows, shape):
    return sp.Matrix([[to_sympy(c) for c in r] for r in rows])


def lex_grad(fn: Callable | Graph, x0: Sequence, inputs: int | str | None = None,
             directions: Sequence[Sequence] | None = None, convention: str | Convention = "torch",
             framework: str | None = None) -> sp.Matrix:
    """The exact lexicographic derivative of ``fn`` at ``x0``: a limiting (Clarke) gradient.

    Parameters
    ----------
    fn : callable or Graph
        Traced code as for :func:`mtsym.derive` (PyTorch code as written, JAX code with
        ``framework="jax"``), or a branch-free graph from :func:`mtsym.trace`.
    x0 : sequence of numbers
        The point (floats are taken at their exact values).
    inputs : int or str, optional
        As in :func:`mtsym.derive`; default ``len(x0)`` (a vector input).
    directions : sequence of vectors, optional
        ``m1, m2, ...``: the stratum entered is the one holding ``x0 + e m1 + e^2 m2 + ...``
        for every small ``e > 0``.  Default: the coordinate axes ``e1, ..., en``.  With
        directions that span ``R^n`` the result is a limiting gradient, whatever the convention.
    convention : str or Convention
        The tie rule on a stratum that is not full-dimensional (directions that do not span):
        then the result is that stratum's associated gradient.
    framework : {None, "torch", "jax"}

    Returns
    -------
    sympy.Matrix
        ``1 x n`` (the ``m x n`` Jacobian for ``m`` outputs), exact.

    Examples
    --------
    >>> import mtsym as mt
    >>> mt.lex_grad(lambda x: mt.max(x), (0, 0, 0))      # x1 wins along e1
    Matrix([[1, 0, 0]])
    >>> mt.lex_grad(lambda x: mt.max(x), (0, 0, 0), directions=[(0, 0, 0)])   # stays on the tie
    Matrix([[1/3, 1/3, 1/3]])
    """
    if directions is None:
        n = InputSpec(inputs).n if inputs is not None else (len(fn.symbols) if isinstance(fn, Graph)
                                                              else len(point_of(x0)))
        directions = [tuple(int(i == j) for j in range(n)) for i in range(n)]
    sweep, outs, shape, _ = local_sweep(fn, x0, inputs, directions, convention, framework)
    return _matrix(sweep.gradient(outs), shape)


def directional(fn: Callable | Graph, x0: Sequence, d: Sequence, inputs: int | str | None = None,
                convention: str | Convention = "torch", framework: str | None = None) -> Any:
    """The exact one-sided directional derivative ``f'(x0; d) = lim (f(x0 + t d) - f(x0)) / t``, t -> 0+.

    One sweep: each switching node is decided by its value at ``x0`` and, on a tie, by its
    derivative along ``d``.

    Returns
    -------
    sympy number, or a column Matrix for ``m`` outputs.

    Examples
    --------
    >>> import mtsym as mt
    >>> mt.directional(lambda t: mt.abs(t), (0,), (-1,), inputs="t")
    1
    """
    sweep, outs, shape, _ = local_sweep(fn, x0, inputs, [d], convention, framework)
    vals = [to_sympy(sweep.derivative(v, 0)) for v in outs]
    return vals[0] if shape == () else sp.Matrix(vals)
