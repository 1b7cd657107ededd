"""Exhaustive verification of a piece table: Theorem 1 and Corollaries 1-2, stratum by stratum.

For every stratum ``S`` (witness ``w``, dimension ``d``) and exactly:

1. **value** — ``f^alpha = f`` on ``S``: the program itself (run on exact
   numbers, the independent oracle: :mod:`mtsym.oracle`, as
   :func:`mtsym.call_exact`) and ``f^alpha`` agree at ``d + 1`` affinely
   independent points ``p_0..p_d``.  Both are affine on ``S``, so that proves
   equality on all of ``S``.  For a program without Python branches (so ``f``
   is continuous and equality on ``S`` is equality on its closure) the points
   are points of the closure, shared between strata (:mod:`mtsym.samples`: a
   vertex serves every stratum meeting there) and the program runs once for
   all of them; otherwise they are ``w`` and ``w + h_j v_j`` inside ``S``
   (``v_j`` a tangent basis, steps computed from the constraints).  (A program
   with products of traced values is polynomial on ``S``; a tensor grid of
   points of its degree is used.)
2. **tangential** (Remark 1, identities (15)/(16)) — ``grad~f . v`` equals the
   exact difference quotient of the program along ``v = p_j - p_0`` (these span
   the tangent space of ``S``).
3. **chain** (Corollary 2, eq. (14)) — the product of every node's local
   associated derivatives ``PRIMITIVES[op].linear(case, params, conv)`` along
   the graph from the inputs to the stratum's outputs (:mod:`mtsym.chainrule`)
   equals ``grad f^alpha``.
4. **a.e.** (Corollary 1) — on a full-dimensional stratum, ``grad~f`` equals the
   true gradient: the exact difference quotients of the program along ``n``
   independent directions (f is affine on the stratum).
5. **Clarke** (a diagnostic; see :mod:`mtsym.clarke`) — is ``grad~f`` on ``S``
   in the convex hull of the limiting gradients (the gradients of the
   full-dimensional strata whose closure contains the point) at an exact
   point of ``S`` and at the midpoints towards dim S + 1 points of its closure?  If not, ``S``
   is spurious.

``report.ok`` is true when checks 1-4 all ran and hold on every stratum (a
check that could not run, e.g. on a table read from JSON, is listed in
``report.not_run`` and printed "not run": ``ok`` never claims it); check 5 is
reported, not required (Murat–Trombetti allow spurious strata).  With a
parametric convention a stratum may be spurious for some parameter values only:
the report prints the values where it is not (``iff z in [0, 1]``).

Examples
--------
>>> import mtsym as mt
>>> r = mt.derive(lambda x: mt.relu(x), "x").verify()
>>> r.ok, len(r.rows), r.rows[2].clarke
(True, 3, True)
"""

__all__ = ["StratumCheck", "VerificationReport", "verify", "spurious", "clarke_at", "when_text"]

import json
import math
from fractions import Fraction
from itertools import product

import sympy as sp

from .clarke import ClosureIndex, clarke_at, diagnose_all, exact_value, gradient_at, is_zero, spurious, when_text
from .errors import MtsymError
from .exact import ExactNumber, to_sympy
from .display import ReprMixin
from .extensions import register
from .chainrule import ChainPlan
from .linalg import rref
from .oracle import run_point, run_points
from .primitives import PRIMITIVES
from .records import gc_paused
from .samples import PointPool
from .table import piece_label, steps_inside, stratum_label

CHECKS = ("value", "tangential", "chain", "ae")
_EXACT = (int, Fraction, ExactNumber)
_MAX_GRID = 729


# --------------------------------------------------------------------------- program oracle
def _form_at(form, point, symbols):
    """An f^alpha form at an exact point (exact; sympy when it holds convention symbols)."""
    if type(form) is tuple:
        v = form[0]
        for c, x in zip(form[1:], point):
            if c != 0 and x != 0:
                v = v + c * x
        return v
    return form.subs(dict(zip(symbols, (to_sympy(x) for x in point))))


def _int_form(form):
    """``(den, row)``: an affine form with rational entries as integers over one denominator;
    False when an entry holds a convention symbol."""
    den = 1
    for c in form:
        t = type(c)
        if t is Fraction:
            den = den * c.denominator // math.gcd(den, c.denominator)
        elif t is not int:
            return False
    if den == 1:
        return 1, form
    return den, tuple(c * den if type(c) is int else c.numerator * (den // c.denominator) for c in form)


def _gradient_through(points, values, n):
    """The gradient of the affine map taking ``values[j]`` (tuples, one entry per output) at the
    ``n + 1`` affinely independent ``points``: solved exactly, flattened row-major."""
    out = []
    for k in range(len(values[0])):
        rows = [[a - b for a, b in zip(p, points[0])] + [y[k] - values[0][k]]
                for p, y in zip(points[1:], values[1:])]
        R = rref(rows, n + 1)[0]
        out.extend(r[n] for r in R[:n])
    return out


def _degree(forms, symbols):
    d = 1
    for f in forms:
        if type(f) is not tuple:
            d = max(d, sp.Poly(f, *symbols).total_degree())
    return d


def _derivative_weights(D):
    """``c_k`` with ``p'(0) = sum(c_k p(k))`` for every polynomial of degree <= D (k = 0..D)."""
    out = []
    for k in range(D + 1):
        # L_k'(0) for the Lagrange basis on nodes 0..D
        total = Fraction(0)
        for i in range(D + 1):
            if i == k:
                continue
            term = Fraction(1, k - i)
            for j in range(D + 1):
                if j != k and j != i:
                    term *= Fraction(-j, k - j)
            total += term
        out.append(total)
    return out


# --------------------------------------------------------------------------- report
def _s(v):
    return str(to_sympy(v)) if isinstance(v, (int, Fraction)) else str(v)


class StratumCheck:
    """The checks of one stratum (one row of the report).

    Attributes
    ----------
    stratum, piece, dim : int
        ``table.strata[stratum]``, printed ``label`` (``S<stratum + 1>``), in ``table.pieces[piece]``.
    condition : str
    value, tangential, chain, ae : bool or None
        ``None``: not applicable (``ae`` off full-dimensional strata) or not
        available (no program / graph, e.g. a table read from JSON).
    clarke : bool or None
        grad~f in the hull of the limiting gradients (``None``: depends on the
        convention parameters, see ``clarke_when``, or undecided).
    limiting : list of tuple
        The limiting gradients (flattened).
    clarke_when : sympy boolean or None
        For a parametric convention, the parameter values where the stratum is not spurious.
    messages : list of str
        What failed, with the numbers.
    """

    __slots__ = ("stratum", "piece", "dim", "value", "tangential", "chain", "ae",
                 "clarke", "limiting", "clarke_when", "messages", "spurious", "_s", "_condition")

    def __init__(self, stratum):
        self.stratum, self.piece, self.dim = stratum.index, stratum.piece, stratum.dim
        self._s, self._condition = stratum, None
        self.value = self.tangential = self.chain = self.ae = None
        self.clarke = self.limiting = self.clarke_when = None
        self.spurious = False
        self.messages = []

    @property
    def condition(self):
        """The stratum's equalities and inequalities, as text."""
        if self._condition is None:
            self._condition = self._s.text
        return self._condition

    @property
    def label(self):
        """``"S3"``: the stratum as every report names it (see :func:`mtsym.table.stratum_label`)."""
        return stratum_label(self.stratum)

    @property
    def ok(self):
        """Checks 1-4 hold (or are not applicable)."""
        return all(getattr(self, c) is not False for c in CHECKS)

    def to_dict(self):
        """A JSON-ready dict."""
        return {"stratum": self.stratum, "label": self.label, "piece": self.piece, "dim": self.dim,
                "condition": self.condition,
                **{c: getattr(self, c) for c in CHECKS}, "ok": self.ok,
                "clarke": self.clarke, "spurious": self.spurious,
                "limiting": None if self.limiting is None else [[_s(v) for v in g] for g in self.limiting],
                "clarke_when": None if self.clarke_when is None else str(self.clarke_when),
                "messages": list(self.messages)}

    def __repr__(self):
        return f"StratumCheck({self.label}: {self.condition}, ok={self.ok}, clarke={self.clarke})"


def _mark(v, not_run=False):
    return ("not run" if not_run else "-") if v is None else "ok" if v else "FAIL"



class VerificationReport(ReprMixin):
    """What :func:`verify` returns: one :class:`StratumCheck` per stratum.

    ``ok`` is True when checks 1-4 hold on every stratum; ``spurious`` lists
    the rows whose gradient lies outside the Clarke gradient.  ``str(report)``
    is a table; ``to_dict()``/``to_json()`` serialise it.
    """

    def __init__(self, table, rows, not_run=()):
        self.name = table.name
        self.convention = table.convention.name
        self.symbols = tuple(str(s) for s in table.symbols)
        self.rows = rows
        self.not_run = tuple(not_run)
        self.note = ""

    @property
    def ok(self):
        """Checks 1-4 ran and hold on every stratum (false when one could not run: see ``not_run``)."""
        return not self.not_run and all(r.ok for r in self.rows)

    @property
    def failed(self):
        """The rows where a check 1-4 failed."""
        return [r for r in self.rows if not r.ok]

    @property
    def spurious(self):
        """The rows of spurious strata (with a parametric convention, for some parameter values)."""
        return [r for r in self.rows if r.spurious]

    def _spurious_text(self):
        always = [r for r in self.spurious if r.clarke_when is None]
        text = f"{len(always)} spurious" if always or len(always) == len(self.spurious) else ""
        conditional = {}
        for r in self.spurious:
            if r.clarke_when is not None:
                conditional.setdefault(when_text(r.clarke_when), []).append(r)
        for cond, rows in conditional.items():
            text += f"{', ' if text else ''}{len(rows)} spurious unless {cond}"
        return text

    def _status_text(self):
        checks = {"value": "1 (value)", "tangential": "2 (tangential)", "chain": "3 (chain)", "ae": "4 (a.e.)"}
        if self.failed:
            return f"{len(self.failed)} strata FAIL"
        if self.not_run:
            ran = [c for c in CHECKS if c not in self.not_run]
            return ("checks " + ", ".join(checks[c] for c in ran) + " hold, "
                    + ", ".join(checks[c] for c in self.not_run) + " NOT RUN")
        return "all checks hold"

    def to_dict(self):
        return {"function": self.name, "inputs": list(self.symbols), "convention": self.convention,
                "ok": self.ok, "not_run": list(self.not_run), "note": self.note,
                "spurious": [r.stratum for r in self.spurious],
                "rows": [r.to_dict() for r in self.rows]}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self):
        head = (f"verify {self.name}({', '.join(self.symbols)}), convention {self.convention}: "
                f"{len(self.rows)} strata, {self._status_text()}, {self._spurious_text()}"
                + (f"\n{self.note}" if self.note else ""))
        table = [("S", "piece", "dim", "value", "tangent", "chain", "a.e.", "Clarke", "stratum")]
        for r in self.rows:
            if r.clarke is None and r.clarke_when is not None:
                cl = f"iff {when_text(r.clarke_when)}"
            else:
                cl = {True: "in", False: "SPURIOUS", None: "-"}[r.clarke]
            nr = self.not_run
            table.append((r.label, piece_label(r.piece), str(r.dim), _mark(r.value, "value" in nr),
                          _mark(r.tangential, "tangential" in nr), _mark(r.chain, "chain" in nr),
                          _mark(r.ae, "ae" in nr and r.dim == len(self.symbols)), cl, r.condition))
        widths = [max(len(row[k]) for row in table) for k in range(len(table[0]) - 1)]
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1] for row in table]
        for r in self.rows:
            for m in r.messages:
                lines.append(f"  {r.label}: {m}")
        return "\n".join(lines)

    # notebook displays (mtsym.export.notebook.ReprMixin)
    def _repr_title(self):
        return f"verify {self.name}: {len(self.rows)} strata, {self._status_text()}, {self._spurious_text()}"

    def _repr_columns(self):
        return ["stratum", "dim", "value", "tangential", "chain", "a.e.", "Clarke", "condition"]

    def _repr_rows(self):
        def mark(v, check):
            return "not run" if v is None and check in self.not_run else v
        return [[r.label, r.dim, mark(r.value, "value"), mark(r.tangential, "tangential"), r.chain, r.ae,
                 (f"iff {when_text(r.clarke_when)}" if r.clarke_when is not None else "-") if r.clarke is None
                 else ("in" if r.clarke else "SPURIOUS"), r.condition] for r in self.rows]

    def __repr__(self):
        return (f"<VerificationReport {self.name}: ok={self.ok}, {len(self.rows)} strata, "
                f"{len(self.spurious)} spurious>")


# --------------------------------------------------------------------------- checks
class _Verifier:
    def __init__(self, table):
        self.table = table
        self.n = table.n
        self.symbols = table.symbols
        prog = table.program
        self.fn = None if prog is None else prog.fn
        self.spec = None if prog is None else prog.spec
        self.graph = table.graph
        self._order = {}
        self._memo = {}
        self.pool = PointPool(table)  # the points of checks 1, 2, 4 and of the Clarke diagnostic
        self.index = ClosureIndex(table, self.pool.planes)
        self.oracle_error = None
        self.chosen, self.values, self._int_forms = {}, {}, {}
        self.shared = False
        self._plans = {}

    def f(self, point):
        """The program's own value at an exact point (the independent oracle, as :func:`mtsym.call_exact`)."""
        return run_point(self.fn, self.spec, point)

    # ---- checks 1, 2, 4 for a program without branches: points shared between strata
    def share(self):
        """Choose every stratum's points from one pool (:mod:`mtsym.samples`) and run the program
        at all of them at once (:mod:`mtsym.oracle`): for a program without Python branches
        (continuous, so its closure points serve a stratum), on the strata with affine forms."""
        pool = self.pool
        if self.fn is None or self.graph is None or self.graph.has_branches():
            return
        strata = sorted((s for s in self.table.strata if all(type(f) is tuple for f in s.forms)),
                        key=lambda s: s.dim)
        self.chosen = {s.index: pool.choose(s) for s in strata}
        used = sorted({i for c in self.chosen.values() for i in c})
        try:
            values = run_points(self.fn, self.spec, None, homogeneous=[pool.points[i] for i in used])
        except MtsymError:
            raise
        except Exception as e:  # framework code (torch, jax) cannot run on exact numbers
            self.oracle_error = f"{type(e).__name__}: {e}"
            return
        self.values = dict(zip(used, values))
        self.shared = True

    def _residuals(self, forms, q, P, ys):
        """``f^alpha - f`` at the point ``P / q`` for each output: ``None`` when all are zero
        (integer arithmetic), else the exact differences."""
        rows = self._int_forms
        zero = True
        for form, y in zip(forms, ys):
            r = rows.get(id(form))
            if r is None:
                r = rows[id(form)] = _int_form(form)
            if r is False:
                zero = False
                break
            den, row = r
            v = row[0] * q
            for c, x in zip(row[1:], P):
                if c and x:
                    v += c * x
            if type(y) is int:
                if v != y * den * q:
                    zero = False
                    break
            elif v * y.denominator != y.numerator * den * q:
                zero = False
                break
        if zero:
            return None
        pt = tuple(Fraction(x, q) for x in P)
        return [_form_at(form, pt, self.symbols) - y for form, y in zip(forms, ys)]

    def sample_shared(self, row, s):
        idx = self.chosen[s.index]
        pts = [self.pool.points[i] for i in idx]
        ys = [self.values[i] for i in idx]
        forms = s.forms
        res = [self._residuals(forms, q, P, y) for (q, P), y in zip(pts, ys)]
        full = s.dim == self.n
        if all(r is None for r in res):
            row.value = row.tangential = True
            row.ae = True if full else None
            return
        m = len(forms)
        res = [[0] * m if r is None else r for r in res]
        exact = [tuple(Fraction(x, q) for x in P) for q, P in pts]
        # 1. value at the first point (f^alpha and f are affine on the closure: with 2. it holds on S)
        row.value = all(is_zero(e) for e in res[0])
        if not row.value:
            self._value_at(row, forms, exact[0], ys[0])
        # 2. tangential: the differences of f^alpha and of f between the points agree
        row.tangential = True
        grad = gradient_at(self.table, forms, exact[0])
        bad = None
        for j in range(1, len(pts)):
            v = [a - b for a, b in zip(exact[j], exact[0])]
            for k in range(m):
                if not is_zero(res[j][k] - res[0][k]):
                    row.tangential = False
                    bad = j if bad is None else bad
                    gv = sum((grad[k * self.n + i] * c for i, c in enumerate(v) if c), 0)
                    dq = ys[j][k] - ys[0][k]
                    row.messages.append(f"tangential: grad~f . v = {exact_value(gv)} but the change of f "
                                        f"along v = ({', '.join(_s(c) for c in v)}) is {_s(dq)}"
                                        + (f" (output {k})" if m > 1 else ""))
        if row.value and bad is not None:
            # f^alpha and f agree at the first point and change differently towards point `bad`
            row.value = self._value_at(row, forms, exact[bad], ys[bad])
        if full:
            row.ae = row.tangential
            if not row.ae:
                true = _gradient_through(exact, ys, self.n)
                row.messages.append(f"a.e.: grad~f = ({', '.join(_s(g) for g in grad)}) but the true gradient "
                                    f"is ({', '.join(_s(g) for g in true)})")

    # ---- checks 1, 2, 4: the program as oracle
    def sample(self, row, s):
        if self.fn is None:
            return
        w = s.record.witness
        forms = s.forms
        basis = s.tangent
        D = _degree(forms, self.symbols)
        d = len(basis)
        reach = D * max(d, 1) if D > 1 else 1
        hs = steps_inside(s.constraints, w, basis, reach)
        cache = {}

        def at(offsets):
            key = tuple(offsets)
            if key not in cache:
                p = list(w)
                for o, h, v in zip(key, hs, basis):
                    if o:
                        step = o * h
                        for i, c in enumerate(v):
                            if c:
                                p[i] = p[i] + step * c
                p = tuple(p)
                cache[key] = (p, self.f(p))
            return cache[key]

        # 1. value at the witness (affine: the rest of S follows from check 2, see below),
        #    or on a grid of the degree (polynomial)
        if D == 1:
            pts = [(0,) * d]
        elif (D + 1) ** d > _MAX_GRID:
            pts = [(0,) * d] + [tuple(k if i == j else 0 for i in range(d)) for j in range(d)
                                for k in range(1, D + 1)]
            row.messages.append(f"value: degree {D} in {d} directions; checked on lines through the witness")
        else:
            pts = list(product(range(D + 1), repeat=d))
        row.value = all(self._value_at(row, forms, *at(off)) for off in pts)
        # 2. tangential consistency and 4. a.e. gradient: difference quotients along each v_j
        cw = _derivative_weights(D)
        grad = gradient_at(self.table, forms, w)
        m = len(forms)
        row.tangential = True
        measured = []
        for j, (v, h) in enumerate(zip(basis, hs)):
            vals = [at(tuple(k if i == j else 0 for i in range(d)))[1] for k in range(D + 1)]
            for k in range(m):
                dq = sum(c * y[k] for c, y in zip(cw, vals)) / h
                dq = dq.numerator if isinstance(dq, Fraction) and dq.denominator == 1 else dq
                gv = sum((grad[k * self.n + i] * v[i] for i in range(self.n) if v[i] != 0), 0)
                measured.append(dq)
                if not is_zero(gv - dq):
                    row.tangential = False
                    row.messages.append(f"tangential: grad~f . v = {exact_value(gv)} but the derivative of f "
                                        f"along v = ({', '.join(map(str, v))}) is {_s(dq)}"
                                        + (f" (output {k})" if m > 1 else ""))
        if D == 1 and row.value and not row.tangential:
            # f^alpha and f are affine on S and agree at w: they differ at w + h v exactly when
            # their derivatives along v differ, so f^alpha != f on S
            j = next(j for j in range(d) if not all(
                is_zero(sum((grad[k * self.n + i] * c for i, c in enumerate(basis[j]) if c), 0)
                        - Fraction(at(tuple(int(i == j) for i in range(d)))[1][k] - at((0,) * d)[1][k]) / hs[j])
                for k in range(m)))
            row.value = self._value_at(row, forms, *at(tuple(int(i == j) for i in range(d))))
        if s.dim == self.n:
            # the tangent basis of a full-dimensional stratum is the coordinate basis
            row.ae = row.tangential
            if not row.ae:
                true = [measured[j * m + k] for k in range(m) for j in range(self.n)]
                row.messages.append(f"a.e.: grad~f = ({', '.join(_s(g) for g in grad)}) but the true gradient "
                                    f"is ({', '.join(_s(g) for g in true)})")

    def _value_at(self, row, forms, p, fv):
        for k, (form, y) in enumerate(zip(forms, fv)):
            fa = _form_at(form, p, self.symbols)
            if not is_zero(fa - y):
                row.messages.append(f"value: f^alpha = {exact_value(fa)} but the program gives {_s(y)} at "
                                    f"({', '.join(_s(x) for x in p)})" + (f", output {k}" if len(forms) > 1 else ""))
                return False
        return True

    # ---- check 3: the chain rule
    def _ancestors(self, outs):
        order = self._order.get(outs)
        if order is None:
            order = self._order[outs] = self.graph.ancestors_of(outs)
        return order

    def _local(self, v, case):
        """The local associated derivatives of node ``v`` on ``case``: ``(kind, data)`` (memoised)."""
        key = (v, case)
        r = self._memo.get(key)
        if r is None:
            data = self.graph.nodes[v]
            op, ins = data["op"], data["inputs"]
            prim = PRIMITIVES[op]
            if prim.kind == "input":
                r = ("input", data["params"][0])
            elif not ins:
                r = ("leaf", None)
            elif prim.linear is None and prim.partials is not None:  # smooth, not affine: needs values
                r = ("values", (prim, ins, data["params"]))
            elif prim.linear is None:
                r = ("error", f"node n{v} ({op}) has no local derivative rule")
            elif prim.switching and case is None:
                r = ("error", f"node n{v} ({op}) has no case on this stratum")
            else:
                conv = data.get("conv") or self.table.convention
                weights, _ = prim.linear(case, data["params"], conv)
                r = ("lin", tuple((u, wt) for u, wt in zip(ins, weights)
                                  if not (isinstance(wt, (int, Fraction)) and wt == 0)))
            self._memo[key] = r
        return r

    def chain(self, row, s):
        if self.graph is None:
            return
        outs = tuple(s.output_nodes)
        plan = self._plans.get(outs)
        if plan is None:
            plan = self._plans[outs] = ChainPlan(self.graph, outs, self.table.convention, self.n)
        swept = plan.gradient_of(s.record) if plan.ok else None
        if swept is None:  # values of smooth nodes needed, or a node without a case: node by node
            swept = self._sweep(row, s, outs, s.cases)
            if swept is None:
                return
        forms = s.forms
        if all(type(f) is tuple for f in forms):
            target = [c for f in forms for c in f[1:]]
        else:
            target = gradient_at(self.table, forms, s.record.witness)
        # equal lists: every entry equal (exact numbers, or identical expressions)
        row.chain = swept == target or all(a == b if type(a) in _EXACT and type(b) in _EXACT else is_zero(a - b)
                                           for a, b in zip(swept, target))
        if not row.chain:
            target = [exact_value(c) for c in target]
            swept = [exact_value(g) for g in swept]
        if not row.chain:
            row.messages.append(f"chain: the chain rule gives ({', '.join(_s(g) for g in swept)}) but "
                                f"grad f^alpha = ({', '.join(_s(g) for g in target)})")

    def _sweep(self, row, s, outs, cases):
        """The reverse sweep node by node (a product of traced values needs their values)."""
        order = self._ancestors(outs)
        w = s.record.witness
        values = None
        swept = []
        for out in outs:
            adj = {out: 1}
            grad = [0] * self.n
            for v in reversed(order):
                a = adj.get(v)
                if a is None or (isinstance(a, (int, Fraction)) and a == 0):
                    continue
                kind, data = self._local(v, cases.get(v))
                if kind == "lin":
                    for u, wt in data:
                        adj[u] = adj.get(u, 0) + a * wt
                elif kind == "input":
                    grad[data] += a
                elif kind == "values":
                    if values is None:
                        values = self.graph.values_at(w, order)
                    prim, ins, params = data
                    for u, wt in zip(ins, prim.partials([values[u] for u in ins], params)):
                        adj[u] = adj.get(u, 0) + a * wt
                elif kind == "error":
                    row.chain = False
                    row.messages.append(f"chain: {data}")
                    return None
            swept.extend(exact_value(g) for g in grad)
        return swept

    # ---- check 5
    def clarke(self, row, s):
        res = self.clarke_results[s.index]
        row.clarke, row.limiting, row.clarke_when = res.in_hull, res.limiting, res.when
        row.spurious = res.spurious
        if res.in_hull is not True and res.message:
            row.messages.append(f"Clarke: {res.message}")

    def row(self, s):
        row = StratumCheck(s)
        if self.fn is not None and self.oracle_error is None:
            try:
                if self.shared and s.index in self.chosen:
                    self.sample_shared(row, s)
                else:
                    self.sample(row, s)
            except MtsymError:
                raise
            except Exception as e:  # framework code (torch, jax) cannot run on exact numbers
                self.oracle_error = f"{type(e).__name__}: {e}"
        if self.oracle_error is not None:
            row.value = row.tangential = row.ae = None
        self.chain(row, s)
        self.clarke(row, s)
        return row


def verify(table):
    """Run the checks on every stratum of ``table``; returns a :class:`VerificationReport`.

    Examples
    --------
    >>> import mtsym as mt
    >>> report = mt.derive(lambda t: mt.maxpool1d([t, 4 * t], 2, stride=1)[0]
    ...                    - mt.maxpool1d([4 * t, t], 2, stride=1)[0], "t").verify()
    >>> report.ok, [r.condition for r in report.spurious]
    (True, ['t = 0'])
    """
    with gc_paused():  # many small acyclic objects: the collector would only walk the table again and again
        v = _Verifier(table)
        v.share()
        v.clarke_results = diagnose_all(table, v.index, v.pool, v.chosen)
        rows = [None] * len(table.strata)
        for s in sorted(table.strata, key=lambda s: s.discovery):  # neighbours share their first decisions
            rows[s.index] = v.row(s)
    not_run = ("value", "tangential", "ae") if v.oracle_error is not None or v.fn is None else ()
    if v.graph is None:
        not_run = not_run + ("chain",)
    report = VerificationReport(table, rows, not_run=tuple(c for c in CHECKS if c in not_run))
    if v.oracle_error is not None:
        report.note = ("checks 1, 2, 4 not run: the program does not run on exact numbers (framework code "
                       f"such as torch or jax; trace it with mtsym operations to check it) [{v.oracle_error[:160]}]")
    elif v.fn is None:
        report.note = "checks 1, 2, 4 not run: the table has no program (read from JSON)"
    return report


register("table.verify", verify)
register("table.spurious", spurious)
register("table.clarke_at", clarke_at)
