"""The Clarke diagnostic: limiting gradients around a point and the convex hull they span.

The test, in the words used everywhere (this module, :mod:`mtsym.verify`, the
verification and theory pages): a lower-dimensional stratum ``S`` is **spurious**
when, at some point ``x`` of ``S``, ``grad~f`` on ``S`` lies outside the Clarke
generalized gradient at ``x``: the convex hull of the *limiting gradients*, the
gradients of the full-dimensional strata whose closure contains ``x``.  mtsym
tests ``x`` = the witness of ``S`` and one point along each tangent direction of
``S`` (the strata around ``S`` can change along it), exactly.  Murat–Trombetti
allow any associated gradient on ``S`` (it has measure zero); a spurious stratum
is where an optimiser sees a gradient no neighbour has (Boustany's ``t = 0``).

The closure of a full-dimensional stratum ``{s_k * g_k(x) > 0}`` is
``{s_k * g_k(x) >= 0}``.  :class:`ClosureIndex` answers "which closures hold
``x``" with one sign evaluation per distinct hyperplane and bitmask
arithmetic, so the diagnostic over a whole table costs about one pass.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.relu(x), "x")
>>> hull = clarke_at(t, (0,))
>>> hull.gradients
[Matrix([[1]]), Matrix([[0]])]
>>> print(hull)
Clarke gradient at (0): the interval [0, 1] (2 limiting gradients)
"""

__all__ = ["ClosureIndex", "ClarkeHull", "ClarkeResult", "clarke_at", "diagnose", "diagnose_all", "spurious",
           "when_text", "gradient_at", "exact_value", "is_zero"]

from fractions import Fraction

import sympy as sp

from .exact import as_integers, int_row, to_exact, to_sympy
from .table import steps_inside
from .errors import InputError
from .linalg import rank
from .lp import hull_parameter_range, in_hull
from .samples import sign_masks


# --------------------------------------------------------------------------- exact values
def exact_value(v):
    """``v`` as an int/Fraction when it is a rational number, else a (expanded) sympy expression."""
    if isinstance(v, (int, Fraction)):
        return v
    v = sp.expand(to_sympy(v))
    return to_exact(v) if v.is_Rational else v


def is_zero(v):
    """Exact test ``v == 0`` for numbers and sympy expressions (parameters included)."""
    if isinstance(v, (int, Fraction)):
        return v == 0
    return sp.expand(to_sympy(v)) == 0


def gradient_at(table, forms, point):
    """The Jacobian of the forms at an exact point, flattened row-major (exact entries).

    Affine forms give their coefficients; a non-affine form (a product of
    traced values) is differentiated and evaluated at ``point``.
    """
    out = []
    sub = None
    for f in forms:
        if type(f) is tuple:
            out.extend(exact_value(c) for c in f[1:])
        else:
            if sub is None:
                sub = dict(zip(table.symbols, (to_sympy(v) for v in point)))
            out.extend(exact_value(sp.diff(f, s).subs(sub)) for s in table.symbols)
    return tuple(out)


def _canonical(form):
    """``(key, flip)``: the hyperplane of ``form`` as coprime integers, leading coefficient > 0."""
    row = int_row(form)
    lead = next(c for c in row[1:] if c != 0)
    if lead < 0:
        return tuple(-c for c in row), -1
    return row, 1


class ClosureIndex:
    """Which full-dimensional strata of a table have a closure holding a given point.

    Every strict constraint of every full-dimensional stratum is filed under
    its hyperplane; a point excludes the strata whose constraint it violates
    strictly.  One sign per hyperplane, then bit operations.
    """

    def __init__(self, table):
        n = table.n
        self.table = table
        self.full = [s for s in table.strata if s.dim == n]
        keys, masks = {}, {}
        self._sides = []  # per full-dimensional stratum: its (hyperplane, side) pairs
        for bit, s in enumerate(self.full):
            sides = []
            for form, sign in s.constraints:
                key, flip = _canonical(form)
                kid = keys.setdefault(key, len(keys))
                masks[(kid, sign * flip)] = masks.get((kid, sign * flip), 0) | (1 << bit)
                sides.append((kid, sign * flip))
            self._sides.append(sides)
        self._keys = list(keys)
        self._masks = masks
        self._all = (1 << len(self.full)) - 1

    def around(self, point):
        """The full-dimensional strata whose closure contains the exact ``point``."""
        q, P = as_integers(tuple(to_exact(v, what="coordinate") for v in point))
        out = self._all
        masks = self._masks
        for kid, key in enumerate(self._keys):
            v = key[0] * q + sum(c * x for c, x in zip(key[1:], P))
            if v != 0:
                m = masks.get((kid, -1 if v > 0 else 1))
                if m:
                    out &= ~m
        full = self.full
        return [full[i] for i in range(len(full)) if out >> i & 1]

    def around_all(self, points, homogeneous=None):
        """:meth:`around` for many exact points at once (one sign per hyperplane and point, from
        :func:`mtsym.samples.sign_masks`; then one mask per full-dimensional stratum).
        ``homogeneous``: the points as integer pairs ``(q, P)`` (the point ``P / q``) instead."""
        hom = homogeneous if homogeneous is not None else \
            [as_integers(tuple(to_exact(v, what="coordinate") for v in p)) for p in points]
        points = hom
        masks = sign_masks(self._keys, hom)
        # per hyperplane, the points on its closed sides: -1 below or on it, +1 above or on it
        sides = {}
        for kid, (z, p, m) in enumerate(masks):
            sides[(kid, 1)] = z | p
            sides[(kid, -1)] = z | m
        out = [[] for _ in points]
        everywhere = (1 << len(points)) - 1
        for F, pairs in zip(self.full, self._sides):  # in order: each list comes out in self.full's order
            m = everywhere
            for pair in pairs:
                m &= sides[pair]
            while m:
                low = m & -m
                out[low.bit_length() - 1].append(F)
                m ^= low
        return out


def _distinct(grads):
    seen, out = set(), []
    for g in grads:
        if g not in seen:
            seen.add(g)
            out.append(g)
    return out


def _matrix(table, flat):
    n = table.n
    rows = [list(map(to_sympy, flat[i:i + n])) for i in range(0, len(flat), n)]
    return sp.Matrix(rows)


def _fmt(flat):
    return "(" + ", ".join(str(v) for v in flat) + ")"


class ClarkeHull:
    """The limiting gradients at a point and their convex hull (the Clarke generalized gradient).

    Attributes
    ----------
    point : tuple
        The exact point.
    strata : list of Stratum
        The full-dimensional strata whose closure holds the point.
    gradients : list of sympy.Matrix
        Their distinct gradients (1 x n, or m x n Jacobians).
    vertices : list of sympy.Matrix
        The extreme points of the hull.
    dim : int
        The affine dimension of the hull.
    """

    def __init__(self, table, point, strata):
        self._table = table
        self.point = tuple(point)
        self.strata = strata
        self._flat = _distinct(gradient_at(table, s.forms, point) for s in strata)
        self.gradients = [_matrix(table, g) for g in self._flat]
        self._exact = all(isinstance(v, (int, Fraction)) for g in self._flat for v in g)
        if self._exact and len(self._flat) > 1:
            self._vert = [g for i, g in enumerate(self._flat)
                          if in_hull(self._flat[:i] + self._flat[i + 1:], g) is None]
            self.dim = rank([[a - b for a, b in zip(g, self._flat[0])] for g in self._flat[1:]])
        else:
            self._vert = list(self._flat)
            self.dim = 0
        self.vertices = [_matrix(table, g) for g in self._vert]

    def contains(self, grad):
        """Whether a gradient (Matrix or flat sequence of exact numbers) lies in the hull (exact LP)."""
        flat = tuple(exact_value(v) for v in (list(grad) if hasattr(grad, "tolist") else grad))
        if not self._exact or not all(isinstance(v, (int, Fraction)) for v in flat):
            raise InputError("clarke hull: membership needs rational gradients (no convention symbols)")
        return in_hull(self._flat, flat) is not None

    @property
    def description(self):
        """The hull in words: a point, an interval, a segment or a polytope with its vertices."""
        v = self._vert
        if len(self._flat[0]) == 1 and self._exact:
            lo, hi = min(g[0] for g in v), max(g[0] for g in v)
            return f"the single value {lo}" if lo == hi else f"the interval [{lo}, {hi}]"
        if len(v) == 1:
            return f"the single gradient {_fmt(v[0])}"
        if self.dim == 1:
            return f"the segment from {_fmt(v[0])} to {_fmt(v[1])}"
        return (f"a {self.dim}-dimensional polytope with {len(v)} vertices "
                + ", ".join(_fmt(g) for g in v))

    def to_dict(self):
        """JSON-ready: point, limiting gradients, vertices, dimension, description."""
        return {"point": [str(to_sympy(v)) for v in self.point],
                "gradients": [[str(to_sympy(x)) for x in g] for g in self._flat],
                "vertices": [[str(to_sympy(x)) for x in g] for g in self._vert],
                "dim": self.dim, "description": self.description}

    def __str__(self):
        pt = ", ".join(str(to_sympy(v)) for v in self.point)
        k = len(self._flat)
        return f"Clarke gradient at ({pt}): {self.description} ({k} limiting gradient{'s' * (k != 1)})"

    __repr__ = __str__


def clarke_at(table, point, index=None):
    """The limiting gradients at an exact point and their convex hull.

    Parameters
    ----------
    table : PieceTable
    point : sequence of exact numbers
    index : ClosureIndex, optional
        Reused across calls.

    Returns
    -------
    ClarkeHull
    """
    pt = table._point(point)
    index = ClosureIndex(table) if index is None else index
    return ClarkeHull(table, pt, index.around(pt))


class ClarkeResult:
    """The Clarke diagnostic of one stratum.

    Attributes
    ----------
    in_hull : bool or None
        ``True``: grad~f on the stratum lies in the hull of the limiting
        gradients; ``False``: it does not (for every value of the convention's
        parameters); ``None``: it depends on the parameters (see ``when``) or
        could not be decided (see ``message``).
    limiting : list of tuple
        The distinct limiting gradients (flattened).
    weights : tuple or None
        Convex weights writing grad~f as a combination of ``limiting``.
    when : sympy boolean or None
        For a parametric convention: the parameter values for which the
        stratum is not spurious.
    message : str
    """

    __slots__ = ("in_hull", "limiting", "weights", "when", "message")

    def __init__(self, in_hull, limiting, weights=None, when=None, message=""):
        self.in_hull, self.limiting, self.weights, self.when, self.message = \
            in_hull, limiting, weights, when, message

    @property
    def spurious(self):
        """True when grad~f is outside the hull (for some parameter values, with a parametric
        convention); an undecided hull (``in_hull is None`` and no condition found) is not spurious."""
        if self.limiting is None:
            return False
        return self.in_hull is False or (self.in_hull is None and self.when is not None)

    def __repr__(self):
        return f"ClarkeResult(in_hull={self.in_hull}, when={self.when}, {self.message!r})"


def when_text(when):
    """A parameter condition as text: ``z in [0, 1]`` for an interval of one symbol, else sympy's form.

    Examples
    --------
    >>> z = sp.Symbol("z")
    >>> when_text((0 <= z) & (z <= 1)), when_text(z >= 0), when_text(sp.Eq(z, 1))
    ('z in [0, 1]', 'z >= 0', 'z = 1')
    """
    syms = when.free_symbols
    if len(syms) == 1:
        z = next(iter(syms))
        try:
            s = when.as_set()
        except (NotImplementedError, TypeError, ValueError):  # pragma: no cover - sympy cannot say
            s = None
        if isinstance(s, sp.FiniteSet) and len(s) == 1:
            return f"{z} = {next(iter(s))}"
        if isinstance(s, sp.Interval):
            if s.start == -sp.oo:
                return f"{z} {'<' if s.right_open else '<='} {s.end}"
            if s.end == sp.oo:
                return f"{z} {'>' if s.left_open else '>='} {s.start}"
            return f"{z} in {'(' if s.left_open else '['}{s.start}, {s.end}{')' if s.right_open else ']'}"
    return f"{when.lhs} = {when.rhs}" if isinstance(when, sp.Equality) else str(when)


def _parametric(target, points):
    """Hull membership of a target affine in one convention symbol: the interval of that symbol."""
    syms = set()
    for v in target:
        if not isinstance(v, (int, Fraction)):
            syms |= v.free_symbols
    if len(syms) != 1:
        return None, None, f"depends on {len(syms)} convention parameters; not decided"
    z = syms.pop()
    base, slope = [], []
    for v in target:
        e = sp.expand(to_sympy(v))
        if sp.degree(e, z) > 1:
            return None, None, f"not affine in {z}; not decided"
        base.append(to_exact(e.subs(z, 0)))
        slope.append(to_exact(e.coeff(z, 1)))
    rng = hull_parameter_range(points, base, slope)
    if rng is None:
        return False, sp.false, f"outside the hull for every {z}"
    lo, hi = (to_sympy(v) if v is not None else None for v in rng)
    if lo is None and hi is None:
        return True, sp.true, f"inside the hull for every {z}"
    interval = sp.Interval(-sp.oo if lo is None else lo, sp.oo if hi is None else hi)
    when = interval.as_relational(z)
    return None, when, f"inside the hull only when {when_text(when)}"


def diagnose(table, stratum, index):
    """The :class:`ClarkeResult` of one stratum: at its witness, and at one point along each
    tangent direction (the strata around a stratum may change along it); the first point
    where grad~f is outside the hull decides."""
    w = stratum.record.witness
    around = index.around(w)
    res = _diagnose_at(table, stratum, around, w)
    if res.in_hull is False or stratum.dim in (0, table.n):
        return res
    seen = {frozenset(id(F) for F in around)}
    basis = stratum.tangent
    for v, h in zip(basis, steps_inside(stratum.constraints, w, basis, 1)):
        p = tuple(x + h * c for x, c in zip(w, v))
        around = index.around(p)
        key = frozenset(id(F) for F in around)
        if key in seen:  # the same strata around: the same verdict (f^alpha are affine)
            continue
        seen.add(key)
        r = _diagnose_at(table, stratum, around, p)
        if r.in_hull is False:
            r.message += f" at ({', '.join(str(x) for x in p)})"
            return r
    return res


def diagnose_all(table, index=None):
    """:func:`diagnose` for every stratum of ``table`` (a list in table order), the points of
    all strata located at once (:meth:`ClosureIndex.around_all`).  A full-dimensional stratum
    is the only one whose closure holds its witness (the strata are disjoint and open)."""
    index = ClosureIndex(table) if index is None else index
    n = table.n
    out = [None] * len(table.strata)
    asks = []  # (stratum, [witness, points along tangent vectors] as integer pairs (q, P))
    for s in table.strata:
        if s.dim == n:
            forms = s.forms
            w = None if all(type(f) is tuple for f in forms) else s.record.witness
            out[s.index] = _diagnose_at(table, s, [s], w)
            continue
        w = s.record.witness
        q, P = as_integers(w)
        pts = [(q, P)]
        if s.dim:
            basis = s.tangent
            for v, h in zip(basis, steps_inside(s.constraints, w, basis, 1)):
                H = h.denominator if type(h) is Fraction else 1   # h = 1 / H
                pts.append((q * H, tuple(x * H + q * c for x, c in zip(P, v))))
        asks.append((s, pts))
    around = iter(index.around_all(None, homogeneous=[p for _, pts in asks for p in pts]))
    for s, pts in asks:
        arounds = [next(around) for _ in pts]
        res = _diagnose_at(table, s, arounds[0], s.record.witness)
        out[s.index] = res
        if res.in_hull is False or s.dim == 0:
            continue
        seen = {frozenset(id(F) for F in arounds[0])}
        for (q, P), a in zip(pts[1:], arounds[1:]):
            key = frozenset(id(F) for F in a)
            if key in seen:  # the same strata around: the same verdict (f^alpha are affine)
                continue
            seen.add(key)
            p = tuple(Fraction(x, q) for x in P)
            p = tuple(x.numerator if x.denominator == 1 else x for x in p)
            r = _diagnose_at(table, s, a, p)
            if r.in_hull is False:
                r.message += f" at ({', '.join(str(x) for x in p)})"
                out[s.index] = r
                break
    return out


def _diagnose_at(table, stratum, around, w):
    target = gradient_at(table, stratum.forms, w)
    pts = _distinct(gradient_at(table, s.forms, w) for s in around)
    if not pts:
        return ClarkeResult(None, None, message="no full-dimensional stratum around the witness")
    if not all(isinstance(v, (int, Fraction)) for g in pts for v in g):
        return ClarkeResult(None, pts, message="limiting gradients hold convention parameters; not decided")
    if all(isinstance(v, (int, Fraction)) for v in target):
        lam = in_hull(pts, target)
        if lam is not None:
            return ClarkeResult(True, pts, weights=lam)
        return ClarkeResult(False, pts, message=f"{_fmt(target)} is not in the convex hull of "
                            + "{" + ", ".join(_fmt(p) for p in pts) + "}")
    ok, when, msg = _parametric(target, pts)
    return ClarkeResult(ok, pts, when=when, message=msg)


def spurious(table):
    """The strata whose associated gradient lies outside the Clarke gradient at their witness.

    With a parametric convention, a stratum is listed unless its gradient lies
    in the hull for every parameter value (``verify()`` reports for which
    values it does).

    Examples
    --------
    >>> import mtsym as mt
    >>> t = mt.derive(lambda x: mt.relu(x) - mt.relu(-x) - x, "x", convention=mt.Convention("torch", relu0=1))
    >>> [s.condition for s in spurious(t)]
    [Eq(x, 0)]
    """
    index = ClosureIndex(table)
    return [s for s in table.strata if s.dim < table.n and diagnose(table, s, index).spurious]
