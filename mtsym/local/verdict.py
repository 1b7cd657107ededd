"""``mt.is_clarke``: is a gradient (by default the framework's own) a Clarke gradient at ``x0``?

The Clarke generalized gradient of a piecewise affine ``f`` at ``x0`` is the convex hull of its
*limiting gradients*, the gradients of the full-dimensional strata whose closure holds ``x0``.
Deciding whether a given vector belongs to it is NP-hard in general (Bolte, Boustany, Pauwels,
Pesquet-Popescu, ICLR 2023), so the answer comes in three kinds, never a guess:

1. **star** - the star of ``x0`` can be enumerated (at most ``max_strata`` strata): every limiting
   gradient is known, and an exact linear program answers ``"yes"`` (with convex weights) or ``"no"``;
2. **certificates** when it cannot:

   * ``"yes"``, *cone*: there is a full-dimensional stratum at ``x0`` on which every node's local
     derivative is the one the framework used at ``x0`` (found by following those cases through
     the tied nodes, exactly); its gradient is ``g``, so ``g`` is a limiting gradient;
   * ``"yes"``, *hull*: ``g`` is an exact convex combination of limiting gradients found by
     lexicographic derivatives along several direction matrices;
   * ``"no"``, *span*: every limiting gradient lies in the affine space ``g0 + span(B)`` (``g0``
     the output's gradient with the tied nodes held fixed, ``B`` the gradients of the tied nodes'
     inputs), and ``g`` does not;

3. ``"undecided"``, with the reason, otherwise.

Examples
--------
>>> import mtsym as mt
>>> from mtsym.examples import boustany
>>> r = mt.is_clarke(boustany, (0,), inputs="t")      # torch's -3/2 at t = 0
>>> r.verdict, r.method
('no', 'star')
>>> print(r.reason)
-3/2 is outside the convex hull of the 1 limiting gradient(s) at x0 (the star of x0, 3 strata, enumerated exactly)
>>> mt.is_clarke(lambda x: mt.relu(x), (0,), inputs="x").verdict
'yes'
"""

from __future__ import annotations

__all__ = ["is_clarke", "ClarkeVerdict"]

from typing import TYPE_CHECKING, Any, Callable, Sequence

from fractions import Fraction

import sympy as sp

from ..conventions import Convention
from ..errors import InputError, LimitError
from ..exact import int_row, to_exact, to_sympy
from ..lp import in_hull
from ..partition import Decider, _node_cases
from ..polyhedra import Polyhedron
from ..primitives import PRIMITIVES
from .basis import _PRIME, ModP
from .lex import point_of
from .star import Star, star_table
from .sweep import Row, Sweep, is_rational

if TYPE_CHECKING:
    from ..graph import Graph

#: default limit on the star's size before certificates take over
MAX_STAR = 10_000


class ClarkeVerdict:
    """What :func:`is_clarke` returns.

    Attributes
    ----------
    verdict : {"yes", "no", "undecided"}
    method : {"star", "cone", "hull", "span", None}
        How it was decided (see :mod:`mtsym.local.verdict`).
    certificate : dict
        The exact evidence: convex ``weights`` over ``limiting`` gradients (``"yes"``), the
        ``limiting`` gradients found (all of them for ``"star"``), a ``direction`` into the
        full-dimensional cone (``"cone"``), or the affine ``span`` (``"no"``, method ``"span"``).
    reason : str
    gradient : sympy.Matrix
        The vector that was tested.
    """

    __slots__ = ("verdict", "method", "certificate", "reason", "gradient")

    def __init__(self, verdict, method, certificate, reason, gradient):
        self.verdict, self.method, self.certificate, self.reason, self.gradient = \
            verdict, method, certificate, reason, gradient

    def __bool__(self):
        return self.verdict == "yes"

    def __str__(self):
        return f"is_clarke: {self.verdict}" + (f" ({self.method})" if self.method else "") + f": {self.reason}"

    def __repr__(self):
        return f"ClarkeVerdict({self.verdict!r}, method={self.method!r})"


def _fmt(v):
    if len(v) == 1:
        return str(to_sympy(v[0]))
    more = f", ... {len(v)} entries" if len(v) > 6 else ""
    return "(" + ", ".join(str(to_sympy(c)) for c in v[:6]) + more + ")"


def _flat(g):
    if hasattr(g, "tolist"):
        g = g.tolist()
    out = []
    for r in g if isinstance(g, (list, tuple)) else [g]:
        if isinstance(r, (list, tuple)):
            out.extend(r)
        else:
            out.append(r)
    try:
        return tuple(to_exact(v, what="gradient entry") for v in out)
    except InputError:
        raise InputError("is_clarke needs a rational gradient (no convention parameters)") from None


def is_clarke(fn: Callable | Graph, x0: Sequence, g: Any = None, inputs: int | str | None = None,
              convention: str | Convention = "torch", framework: str | None = None,
              max_strata: int = MAX_STAR) -> ClarkeVerdict:
    """Decide, exactly or by certificate, whether ``g`` lies in the Clarke generalized gradient at ``x0``.

    Parameters
    ----------
    fn : callable or Graph
        As for :func:`mtsym.lex_grad` (a graph: branch-free code).
    x0 : sequence of numbers
        The point (floats at their exact values).
    g : array_like, optional
        The vector (``m x n`` Jacobian for ``m`` outputs).  Default: the framework's own gradient
        at ``x0``, the associated gradient under ``convention`` (what torch or jax return there
        when their float forward pass is exact, see ``table.check``).
    inputs, convention, framework
        As for :func:`mtsym.derive`.
    max_strata : int
        Enumerate the star when it has at most this many strata; beyond, certificates.

    Returns
    -------
    ClarkeVerdict
    """
    conv = Convention.get(convention)
    if inputs is None and not hasattr(fn, "nodes"):
        inputs = len(point_of(x0))
    star = _star(fn, x0, inputs, conv, framework)
    sweep, outs = star.sweep, star.outputs
    n = len(sweep.point)
    if g is None:
        rows = sweep.gradient(outs)
        if any(not is_rational(c) for r in rows for c in r):
            raise InputError("is_clarke: the gradient under this convention holds parameters; pass g")
        g = tuple(c for r in rows for c in r)
    else:
        g = _flat(g)
        if len(g) != n * len(outs):
            raise InputError(f"is_clarke: g has {len(g)} entries, expected {n * len(outs)}")
    gm = sp.Matrix(len(outs), n, [to_sympy(c) for c in g])
    code = fn if not hasattr(fn, "nodes") else None
    try:
        limiting, count = _enumerated(star, code, inputs, x0, conv, framework, max_strata, n)
    except LimitError as e:
        if not star.branch_free:
            return ClarkeVerdict("undecided", None, {}, f"the star is too large and the code has Python branches "
                                 f"or products: no certificate applies ({e})", gm)
        return _certify(star, g, gm, n, len(outs), str(e))
    lam = in_hull(limiting, g)
    cert = {"limiting": [sp.Matrix(len(outs), n, [to_sympy(c) for c in p]) for p in limiting]}
    where = f"(the star of x0, {count} strata, enumerated exactly)"
    if lam is not None:
        cert["weights"] = [to_sympy(c) for c in lam]
        return ClarkeVerdict("yes", "star", cert, f"{_fmt(g)} is a convex combination of the {len(limiting)} "
                             f"limiting gradient(s) at x0 {where}", gm)
    return ClarkeVerdict("no", "star", cert, f"{_fmt(g)} is outside the convex hull of the {len(limiting)} "
                         f"limiting gradient(s) at x0 {where}", gm)


def _star(fn, x0, inputs, conv, framework):
    from ..api import _framework_code
    from ..graph import Graph
    code = fn if isinstance(fn, Graph) else _framework_code(fn, inputs, framework)
    return Star(code, inputs, point_of(x0), conv)


def _enumerated(star, code, inputs, x0, conv, framework, max_strata, n):
    """The distinct limiting gradients of the star (flattened) and its number of strata."""
    if star.branch_free:
        records, _ = star.enumerate(max_strata)
    else:
        if code is None:
            raise InputError("is_clarke: this graph has Python branches; pass the function")
        records = star_table(code, inputs, x0, conv, max_strata=max_strata, framework=framework)
        records = [s.record for s in records.strata]
    out = []
    for r in records:
        if r.dim == n:
            flat = tuple(c for f in r.forms for c in f[1:])
            if flat not in out:
                out.append(flat)
    return out, len(records)


# --------------------------------------------------------------------------- certificates
class _Dead(Exception):
    pass


class _Follow(Decider):
    """A run of the reduced program that keeps, at each tied node, the cases with the framework's
    local derivative, largest dimension first; alternatives go on a stack."""

    __slots__ = ("poly", "cons", "stack", "keep")

    def __init__(self, program, prefix, poly, cons, stack, keep):
        super().__init__(program, 10_000, prefix)
        self.poly, self.cons, self.stack, self.keep = poly, cons, stack, keep

    def _decide(self, node, prim, vals, params):
        leaves = [lf for lf in _node_cases(self.program, node, prim, vals, params, self.poly, self.cons,
                                           (0,) * self.program.n) if self.keep(node, lf[0])]
        if not leaves:
            raise _Dead
        leaves.sort(key=lambda lf: -lf[1].dim)
        base = tuple(self.path)
        for case, poly, cons in reversed(leaves[1:]):
            self.stack.append((base + ((node, case),), poly, cons))
        case, self.poly, self.cons = leaves[0]
        return case


def _coordinates(star, g, m, n):
    """``g`` as ``g0 + B c`` per output: ``c`` (flattened), or ``None`` when ``g`` is not of that form."""
    B = star.basis.vectors
    r = len(B)
    out = []
    for k, o in enumerate(star.outputs):
        g0 = star.frozen[o][0]
        d = [Fraction(a) - b for a, b in zip(g[k * n:(k + 1) * n], g0)]
        if r == 0:
            if any(d):
                return None
            continue
        # d = B c exactly: c from the normal equations, then checked
        Z = star.basis.right_inverse()
        Bd = [sum(Fraction(a) * b for a, b in zip(bi, d) if a and b) for bi in B]
        c = [sum(Fraction(Z[i][j]) * Bd[j] for j in range(r)) for i in range(r)]
        back = [sum((c[i] * B[i][j] for i in range(r) if c[i] and B[i][j]), Fraction(0)) for j in range(n)]
        if back != d:
            return None
        out.extend(c)
    return tuple(out)


#: beyond this many reduced coordinates, only the lexicographic certificates are tried
MAX_REDUCED = 40


def _certify(star, g, gm, n, m, why):
    """Certificates when the star is too large (see the module docstring)."""
    if not _rank_exceeds(star, MAX_REDUCED):
        star.build_basis()
        out = _reduced_certificates(star, g, gm, n, m, why)
        if out.verdict != "undecided":
            return out
    else:
        out = ClarkeVerdict("undecided", None, {}, f"{why.split('.')[0]}; the tied nodes span more than "
                            f"{MAX_REDUCED} directions, too many for the exact cone search", gm)
    d = _proposed_direction(star)
    if d is not None:
        sw = Sweep(star.graph, star.conv)
        eye = [tuple(int(i == j) for j in range(n)) for i in range(n)]
        sw.start(star.x0, [d] + eye)
        sw.resolve_all()
        lg = tuple(c for row in sw.gradient(star.outputs) for c in row)
        if lg == tuple(g):
            cert = {"direction": sp.Matrix([[to_sympy(c) for c in d]]),
                    "cases": {f"n{t}": sw.cases[t] for t in star.tied}}
            return ClarkeVerdict("yes", "cone", cert, f"{_fmt(g)} is the lexicographic derivative along the "
                                 "certificate's direction then the axes: the gradient of a full-dimensional stratum "
                                 f"at x0, a limiting gradient ({why.split(':')[0]})", gm)
        out = ClarkeVerdict("undecided", None, out.certificate, f"{out.reason}; the lexicographic derivative "
                            "along a proposed direction into the framework's cone (then the axes) is another "
                            "limiting gradient", gm)
    return out


def _rank_exceeds(star, k):
    """Whether the gradients of the tied nodes' inputs (tied nodes held fixed) span more than ``k``
    directions, proved modulo a prime (independence there is independence over the rationals); the
    search stops at ``k + 1`` independent vectors."""
    import numpy as np
    nodes = star.sweep.nodes
    ins = list(dict.fromkeys(u for t in star.tied for u in nodes[t][1]))
    if len(ins) <= k:
        return False
    from .star import _Frozen
    frozen = getattr(star, "frozen", None) or _Frozen(star)
    chosen, count = ModP(star.n), 0
    for u in ins:
        g0 = frozen[u][0]
        if not (bool(g0) if isinstance(g0, Row) else any(g0)):
            continue
        ints = g0.int_row() if isinstance(g0, Row) else int_row((0,) + tuple(g0))[1:]
        if chosen.add(np.array([[c % _PRIME for c in ints]], dtype=np.int64)):
            count += 1
            if count > k:
                return True
    return False


def _proposed_direction(star):
    """A direction into the cone where every tied node takes a strict case with the framework's local
    derivative (the gradients of its tests along the framework's cases at every tied node; least
    squares in floats, rounded to integers: only a proposal, which the exact lexicographic sweep
    then checks)."""
    import numpy as np
    sw, nodes, conv = star.sweep, star.sweep.nodes, star.conv
    floats = {}

    def as_floats(u):
        if u not in floats:
            got = sw.sparse_grad(u, conv)
            if got is None:
                row = sw.gradient([u], conv=conv, scaled=True)[0]
                floats[u] = (np.array(row.nums, dtype=float) / row.den if isinstance(row, Row)
                             else np.array([float(v) for v in row]))
            else:
                den, g = got
                q = np.zeros(star.n)
                for i, x in g.items():
                    q[i] = x / den
                floats[u] = q
        return floats[u]
    rows = []
    for t in star.tied:
        prim, ins, params, pinned = nodes[t]
        want = prim.linear(sw.cases[t], params, pinned or conv)
        for case, tests in star.leaves[t]:
            tied_tests = [(f, s) for f, s in tests if f[0] == 0]
            if prim.linear(case, params, pinned or conv) == want and all(s != 0 for _, s in tied_tests):
                for f, s in tied_tests:
                    q = np.zeros(star.n)
                    for c, u in zip(f[1:], ins):
                        if c:
                            q += float(c) * as_floats(u)
                    rows.append(s * q)
                break
    if not rows:
        return None
    Q = np.array(rows)
    Q = Q[np.abs(Q).sum(1) > 0]
    if not len(Q):
        return None
    d = None
    try:
        from scipy.optimize import linprog  # optional (extra "local"): without it, least squares only
    except ImportError:                     # pragma: no cover - scipy is in the test environment
        linprog = None
    if linprog is not None and len(Q) > Q.shape[1] // 2:   # many tests: Q d >= 1 by a float LP
        Qs = Q / np.abs(Q).max(1, keepdims=True)
        res = linprog(np.zeros(Q.shape[1]), A_ub=-Qs, b_ub=-np.ones(len(Q)), bounds=(-1e6, 1e6), method="highs")
        if res.status == 0:            # a vertex: often sparse; a generic nudge keeps Q d >= 1/2
            r = np.random.default_rng(0).standard_normal(Q.shape[1])
            d = res.x + r * (0.5 / max(np.abs(Qs @ r).max(), 1e-300))
    if d is None:
        try:                               # the least-norm d with Q d = 1
            d = Q.T @ np.linalg.solve(Q @ Q.T, np.ones(len(Q)))
        except np.linalg.LinAlgError:
            d, *_ = np.linalg.lstsq(Q, np.ones(len(Q)), rcond=None)
    if not np.all(np.isfinite(d)) or not d.any():
        return None
    d = np.round(d * (2 ** 40 / np.abs(d).max()))          # integers: cheaper exact sweeps along d
    return tuple(int(v) for v in d)


def _reduced_certificates(star, g, gm, n, m, why):
    """Span test, the framework's cone followed exactly, and lexicographic derivatives, all in the
    reduced coordinates ``y``."""
    program = star.reduce()
    r = star.r
    coords = _coordinates(star, g, m, n)
    span = {"g0": [sp.Matrix([[to_sympy(c) for c in star.frozen[o][0]]]) for o in star.outputs],
            "B": [sp.Matrix([[to_sympy(c) for c in b]]) for b in star.basis.vectors]}
    if coords is None:
        return ClarkeVerdict("no", "span", span, f"every limiting gradient at x0 lies in g0 + span(B) ({r} "
                             f"direction(s)), and {_fmt(g)} does not", gm)
    # 1. the cone of the framework's own cases
    sw, nodes = star.sweep, star.sweep.nodes
    weights = {}
    for t, rn in star.red_node.items():
        prim, _, params, pinned = nodes[t]
        weights[rn] = prim.linear(sw.cases[t], params, pinned or star.conv)

    def keep(node, case):
        data = program.graph.nodes[node]
        if node not in weights:
            return True
        return PRIMITIVES[data["op"]].linear(case, data["params"], data["conv"] or star.conv) == weights[node]
    stack = [((), Polyhedron.space(program.n), None)]
    for _ in range(200):
        if not stack:
            break
        prefix, poly, cons = stack.pop()
        run = _Follow(program, prefix, poly, cons, stack, keep)
        try:
            program.run(run)
        except _Dead:
            continue
        if run.poly.dim == program.n:
            w = run.poly.witness()
            Z = star.basis.right_inverse()
            d = [0] * n
            for i in range(r):
                zi = sum(Fraction(Z[i][k]) * w[k] for k in range(r) if w[k])
                for j, b in enumerate(star.basis.vectors[i]):
                    if b and zi:
                        d[j] += zi * b
            followed = dict(run.path)
            cert = {"direction": sp.Matrix([[to_sympy(c) for c in d]]),
                    "cases": {f"n{t}": followed[rn] for t, rn in star.red_node.items()}}
            return ClarkeVerdict("yes", "cone", cert, "the cases the framework used at every tied node hold together "
                                 "on a full-dimensional cone at x0 (entered along the certificate's direction): "
                                 f"{_fmt(g)} is the gradient there, a limiting gradient ({why.split(':')[0]})", gm)
    # 2. convex combination of lexicographic derivatives in the reduced coordinates
    red = Sweep(program.graph, star.conv)
    outs = program.graph.outputs[0]
    rr = program.n
    eye = [tuple(int(i == j) for j in range(rr)) for i in range(rr)]
    mats = [eye, [tuple(-c for c in e) for e in eye], eye[::-1]]
    for j in range(rr):
        for s in (1, -1):
            mats.append([tuple(s * c for c in eye[j])] + eye[:j] + eye[j + 1:])
    found = []
    for M in mats:
        red.start((0,) * rr, M)
        red.resolve_all()
        c = tuple(v for row in red.gradient(outs) for v in row[:r])
        if c not in found:
            found.append(c)
    lam = in_hull(found, coords) if r else ((1,) if found else None)
    lim = [_lift(star, c, n) for c in found]
    cert = {"limiting": [sp.Matrix(m, n, [to_sympy(v) for v in p]) for p in lim]}
    if lam is not None:
        cert["weights"] = [to_sympy(v) for v in lam]
        return ClarkeVerdict("yes", "hull", cert, f"{_fmt(g)} is a convex combination of {len(found)} limiting "
                             f"gradients found by lexicographic derivatives", gm)
    return ClarkeVerdict("undecided", None, cert, f"{why.split('.')[0]}; {_fmt(g)} is not a combination of the "
                         f"{len(found)} limiting gradients found by lexicographic derivatives, and deciding "
                         "membership is NP-hard in general", gm)


def _lift(star, c, n):
    B, r = star.basis.vectors, len(star.basis.vectors)
    out = []
    for k, o in enumerate(star.outputs):
        g0 = list(star.frozen[o][0])
        for i in range(r):
            ci = c[k * r + i]
            if ci:
                for j, b in enumerate(B[i]):
                    if b:
                        g0[j] += ci * b
        out.extend(g0)
    return tuple(out)
