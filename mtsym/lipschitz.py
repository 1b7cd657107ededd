"""Exact Lipschitz constants of piecewise affine functions, from their piece tables.

A continuous piecewise affine ``f`` is Lipschitz with the constant

    L = max over full-dimensional pieces P^alpha of ||grad f^alpha||

where ``||.||`` is the operator norm induced by the chosen vector norm on
inputs and outputs (a segment crosses the pieces in finitely many pieces of
segment; on each ``f`` moves by at most ``||grad f^alpha||`` times its length,
and the bound is attained inside the piece that attains the max).  The paper's
conclusion names this as a use of associated gradients; mtsym computes it
exactly:

* ``norm=1``: the largest column sum of ``|J|`` (for a gradient row: ``max |g_i|``);
* ``norm=inf``: the largest row sum of ``|J|`` (for a row: ``sum |g_i|``);
* ``norm=2``: ``sqrt`` of the largest eigenvalue of ``J^T J`` (for a row:
  ``sqrt(sum g_i^2)``), an exact algebraic number (sympy ``sqrt``/``CRootOf``).

``local=`` restricts to the pieces around a point (whose closure holds it: the
local Lipschitz constant there) or meeting the interior of a box
``[(lo1, hi1), ..., (lon, hin)]`` (exact feasibility of the stratum's
constraints plus the box, by the exact simplex of :mod:`mtsym.lp`).

A discontinuous program (a Python branch that jumps) has no Lipschitz
constant: the result is ``oo`` with ``continuous = False``.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.relu(x[0] + 2 * x[1]) - x[0] / 2, 2)
>>> L = lipschitz(t)
>>> L.value, L.gradient
(sqrt(17)/2, Matrix([[1/2, 2]]))
>>> lipschitz(t, norm=1).value, lipschitz(t, norm="inf").value
(2, 5/2)
>>> lipschitz(t, local=[(-3, -1), (-3, -1)]).value
1/2
"""

__all__ = ["LipschitzResult", "lipschitz", "operator_norm"]

import math

import sympy as sp

from .clarke import ClosureIndex, gradient_at
from .errors import InputError
from .extensions import register
from .exact import int_row, to_exact, to_sympy
from .lp import linprog

_NORMS = {1: 1, 2: 2, "1": 1, "2": 2, "inf": "inf", "oo": "inf", math.inf: "inf"}


def _norm_name(norm):
    if norm is sp.oo:
        return "inf"
    try:
        key = _NORMS.get(norm)
    except TypeError:
        key = None
    if key is None:
        raise InputError(f"lipschitz: norm={norm!r}; choose 1, 2 or 'inf'")
    return key


def operator_norm(J, norm=2):
    """The exact operator norm of a rational matrix (sympy Matrix or nested lists).

    Examples
    --------
    >>> operator_norm([[1, 1], [1, -2]])
    sqrt(sqrt(13)/2 + 7/2)
    >>> operator_norm([[3, -4]], 2), operator_norm([[3, -4]], 1), operator_norm([[3, -4]], "inf")
    (5, 4, 7)
    """
    norm = _norm_name(norm)
    J = sp.Matrix(J)
    if norm == 1:
        return max(sum(abs(J[i, j]) for i in range(J.rows)) for j in range(J.cols))
    if norm == "inf":
        return max(sum(abs(J[i, j]) for j in range(J.cols)) for i in range(J.rows))
    if J.rows == 1 or J.cols == 1:
        return sp.sqrt(sum(v ** 2 for v in J))
    G = J * J.T if J.rows <= J.cols else J.T * J
    return sp.sqrt(G.charpoly().real_roots()[-1])


class LipschitzResult:
    """An exact Lipschitz constant and where it is attained.

    Attributes
    ----------
    value : sympy number
        The constant (``oo`` when ``f`` is not continuous).
    norm : 1, 2 or "inf"
    piece : Piece or None
        A piece attaining it.
    stratum : Stratum or None
        A full-dimensional stratum of that piece attaining it.
    gradient : sympy.Matrix or None
        Its gradient (Jacobian).
    considered : int
        How many full-dimensional strata the max ran over.
    continuous : bool or None
    message : str
    """

    def __init__(self, value, norm, stratum, gradient, considered, continuous=True, message="", table=None):
        self.value, self.norm, self.stratum, self.gradient = value, norm, stratum, gradient
        self.considered, self.continuous, self.message = considered, continuous, message
        self.piece = None if stratum is None or table is None else table.pieces[stratum.piece]

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        where = "" if self.piece is None else f", attained on piece {self.piece.label}"
        return f"LipschitzResult({self.value} in the {self.norm}-norm{where})"


def _in_box(strata, box, n):
    """The full-dimensional strata whose interior meets the interior of the box (exact LP)."""
    bounds = []
    for lo, hi in box:
        lo, hi = to_exact(lo, what="box bound"), to_exact(hi, what="box bound")
        if not lo < hi:
            raise InputError(f"lipschitz: box side [{lo}, {hi}] is empty or flat; give lo < hi")
        bounds.append((lo, hi))
    out = []
    for s in strata:
        w = s.record.witness
        if all(lo < x < hi for x, (lo, hi) in zip(w, bounds)):
            out.append(s)
            continue
        # maximise t: s_k g_k(x) >= t, x_i - lo_i >= t, hi_i - x_i >= t, t <= 1 (x and t free)
        A, b = [], []
        for form, sign in s.constraints:
            A.append([-sign * c for c in form[1:]] + [1])
            b.append(sign * form[0])
        for i, (lo, hi) in enumerate(bounds):
            e = [0] * (n + 1)
            e[i], e[n] = -1, 1
            A.append(e)
            b.append(-lo)
            e = [0] * (n + 1)
            e[i], e[n] = 1, 1
            A.append(e)
            b.append(hi)
        A.append([0] * n + [1])
        b.append(1)
        r = linprog([0] * n + [1], A_ub=A, b_ub=b, free=range(n + 1), maximize=True)
        if r.status == "optimal" and r.value > 0:
            out.append(s)
    return out


#: above this many (lower-dimensional, full-dimensional) stratum pairs, continuity of a program
#: with Python branches is not checked (the result says so)
MAX_CONTINUITY_PAIRS = 50_000


def _discontinuity(table, index, strata):
    """``(S, F)``: a lower-dimensional stratum whose closure meets the closure of a full-dimensional
    stratum ``F`` where ``f^F`` differs from f, ``None`` when f is continuous, ``"unchecked"``.

    relu, max, min, abs, clamp, pooling, affine maps and products are continuous, so a program
    without Python branches is continuous.  Otherwise every pair is checked exactly: the closed
    polyhedron ``cl S & cl F`` (double description) and ``f^F - f^S`` on all its generators.
    """
    g = table.graph
    if g is not None and not g.has_branches():
        return None
    lower = [s for s in strata if s.dim < table.n]
    if len(lower) * len(index.full) > MAX_CONTINUITY_PAIRS or any(s.record.poly is None for s in lower):
        return "unchecked"
    for s in lower:
        for F in index.full:
            Q = s.record.poly
            for f, sign in F.constraints:
                Q = Q.meet(tuple(sign * c for c in int_row(f)))
                if Q is None:
                    break
            if Q is None:
                continue
            for a, b in zip(F.record.vals, s.record.vals):
                d = tuple(x - y for x, y in zip(a, b))
                if any(sum(c * x for c, x in zip(d, gen)) != 0 for gen in Q.gens + Q.lin):
                    return s, F
    return None


def lipschitz(table, norm=2, local=None):
    """The exact Lipschitz constant of the function of ``table``.

    Parameters
    ----------
    table : PieceTable
    norm : 1, 2 or "inf"
        The vector norm on inputs and outputs.
    local : None, a point, or a box ``[(lo, hi), ...]``
        ``None``: global.  A point: the pieces whose closure holds it.  A box:
        the pieces meeting its interior.

    Returns
    -------
    LipschitzResult
    """
    key = _norm_name(norm)
    n = table.n
    index = ClosureIndex(table)
    if local is None:
        strata = index.full
        region = table.strata
    else:
        local = list(local)
        if local and all(isinstance(b, (tuple, list)) for b in local):
            if len(local) != n:
                raise InputError(f"lipschitz: the box has {len(local)} sides; this table has {n} inputs")
            strata = _in_box(index.full, local, n)
            ids = {id(s) for s in strata}
            region = [s for s in table.strata
                      if s.dim < n and any(id(F) in ids for F in index.around(s.record.witness))]
        else:
            pt = table._point(local)
            strata = index.around(pt)
            region = [table.stratum_at(pt)]
    if not strata:
        raise InputError("lipschitz: no full-dimensional piece in the region")
    if any(type(f) is not tuple for s in strata for f in s.record.vals):
        raise InputError("lipschitz: f is not piecewise affine (it multiplies traced values); the exact "
                         "constant is defined here for piecewise affine functions only")
    bad = _discontinuity(table, index, region)
    unchecked = bad == "unchecked"
    if bad is not None and not unchecked:
        s, F = bad
        return LipschitzResult(sp.oo, key, None, None, len(strata), continuous=False, table=table,
                               message=f"f jumps across stratum {s.label} ({s.condition}): the piece of "
                                       f"stratum {F.label} does not continue it")
    best = None
    cache = {}
    for s in strata:
        g = gradient_at(table, s.forms, s.record.witness)
        if g not in cache:
            J = sp.Matrix(len(s.forms), n, [to_sympy(v) for v in g])
            cache[g] = (operator_norm(J, key), J)
        val, J = cache[g]
        if best is None or _greater(val, best[0]):
            best = (val, s, J)
    val, s, J = best
    if unchecked:
        return LipschitzResult(val, key, s, J, len(strata), continuous=None, table=table,
                               message="continuity not checked (too many stratum pairs, or no polyhedra in a "
                                       "table read from JSON): the constant holds if f is continuous")
    return LipschitzResult(val, key, s, J, len(strata), table=table)


def _greater(a, b):
    """Exact ``a > b`` for non-negative algebraic numbers (sympy decides the sign of ``a - b``)."""
    if a == b:
        return False
    return (a - b).is_positive is True


register("table.lipschitz", lipschitz)
