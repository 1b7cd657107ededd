"""The Clarke diagnostic: limiting gradients around a point and the convex hull they span.

The test, in the words used everywhere (this module, :mod:`mtsym.verify`, the
verification and theory pages): a lower-dimensional stratum ``S`` is **spurious**
when, at some point ``x`` of ``S``, ``grad~f`` on ``S`` lies outside the Clarke
generalized gradient at ``x``: the convex hull of the *limiting gradients*, the
gradients of the full-dimensional strata whose closure contains ``x``.  mtsym
tests ``x`` = an exact point of ``S`` (its witness, or the point the witness is rounded from)
and the midpoints towards dim S + 1 points of its closure (affinely independent, so every
direction of ``S`` is explored: the strata around ``S`` can change along it; the points are
those verification runs the program at, :mod:`mtsym.samples`), exactly.  Murat–Trombetti
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

from .exact import as_integers, to_exact, to_sympy
from .errors import InputError
from .linalg import rank
from .lp import hull_parameter_range, in_hull
from .samples import Hyperplanes, PointPool, set_bits, sign_masks


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


class ClosureIndex:
    """Which full-dimensional strata of a table have a closure holding a given point.

    Every strict constraint of every full-dimensional stratum is filed under
    its hyperplane; a point excludes the strata whose constraint it violates
    strictly.  One sign per hyperplane, then bit operations.
    """

    def __init__(self, table, planes=None):
        n = table.n
        self.table = table
        self.full = [s for s in table.strata if s.dim == n]
        planes = Hyperplanes(self.full) if planes is None else planes  # may hold other strata's too
        of, rows = planes.of, planes.rows
        keys, masks = {}, {}
        self._sides = []  # per full-dimensional stratum: its (hyperplane, side) pairs
        for bit, s in enumerate(self.full):
            sides = []
            for form, sign in s.constraints:
                pk, flip = of[id(form)]
                kid = keys.setdefault(rows[pk], len(keys))
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
            for j in set_bits(m):
                out[j].append(F)
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


def _probes(stratum, pool, chosen):
    """The points a stratum is tested at, as integer pairs ``(q, P)``: its exact point
    (``record.point``: the witness, or the interior point the witness is rounded from while the
    witness has not been asked for; no rounding is done here), and the midpoints between that
    point and ``dim + 1`` affinely independent points of its closure
    (:meth:`mtsym.samples.PointPool.choose`), inside the stratum and along all its directions."""
    q, P = stratum.record.point
    pts = [(q, P)]
    if stratum.dim:
        idx = chosen.get(stratum.index) if chosen else None
        for i in (pool.choose(stratum) if idx is None else idx):
            q2, P2 = pool.points[i]
            pts.append((2 * q * q2, tuple(a * q2 + b * q for a, b in zip(P, P2))))
    return pts


def _rational(q, P):
    """The point ``P / q`` as a tuple of int/Fraction."""
    return tuple(x // q if x % q == 0 else Fraction(x, q) for x in P)


def _verdict(table, stratum, pts, arounds, cache=None):
    """The first point where grad~f is outside the hull decides (the first point's verdict otherwise)."""
    res = _diagnose_at(table, stratum, arounds[0], _rational(*pts[0]), cache)
    if res.in_hull is False:
        return res
    seen = {tuple(map(id, arounds[0]))}  # each list is in the table's order of full-dimensional strata
    for (q, P), around in zip(pts[1:], arounds[1:]):
        key = tuple(map(id, around))
        if key in seen:  # the same strata around: the same verdict (f^alpha are affine)
            continue
        seen.add(key)
        p = _rational(q, P)
        r = _diagnose_at(table, stratum, around, p, cache)
        if r.in_hull is False:
            r.message += f" at ({', '.join(str(x) for x in p)})"
            return r
    return res


def diagnose(table, stratum, index, pool=None):
    """The :class:`ClarkeResult` of one stratum: at an exact point of it, and at the midpoints between
    that point and ``dim + 1`` affinely independent points of its closure (the strata around a
    stratum may change along it); the first point where grad~f is outside the hull decides.
    ``pool``: a :class:`~mtsym.samples.PointPool` of the table (built when not given: a pass
    over the table; :func:`diagnose_all` tests every stratum at once)."""
    if stratum.dim == table.n:
        return diagnose_all(table, index, pool, only=stratum)
    pts = _probes(stratum, pool if pool is not None else PointPool(table), None)
    return _verdict(table, stratum, pts, index.around_all(None, homogeneous=pts))


def diagnose_all(table, index=None, pool=None, chosen=None, only=None):
    """:func:`diagnose` for every stratum of ``table`` (a list in table order), the points of
    all strata located at once (:meth:`ClosureIndex.around_all`).  A full-dimensional stratum
    is the only one whose closure holds its witness (the strata are disjoint and open).
    ``chosen``: ``{stratum index: pool indices}`` already chosen (by verification)."""
    n = table.n
    if only is not None and only.dim == n:
        w = None if all(type(f) is tuple for f in only.forms) else only.record.witness
        return _diagnose_at(table, only, [only], w)
    pool = PointPool(table) if pool is None else pool
    index = ClosureIndex(table, pool.planes) if index is None else index
    out = [None] * len(table.strata)
    asks = []
    for s in table.strata:
        if s.dim == n:
            w = None if all(type(f) is tuple for f in s.forms) else s.record.witness
            out[s.index] = _diagnose_at(table, s, [s], w)
        else:
            asks.append((s, _probes(s, pool, chosen)))
    around = iter(index.around_all(None, homogeneous=[p for _, pts in asks for p in pts]))
    cache = {}
    for s, pts in asks:
        out[s.index] = _verdict(table, s, pts, [next(around) for _ in pts], cache)
    return out


def _gradient(table, forms, w, cache):
    """``(gradient_at, rational)``: kept per forms object when they are affine (the same at
    every point); ``rational``: every entry is an int or Fraction."""
    if cache is not None:
        g = cache.get(id(forms))  # only affine forms are kept
        if g is not None:
            return g[0], g[1]
        if all(type(f) is tuple for f in forms):
            g = gradient_at(table, forms, w)
            g = cache[id(forms)] = (g, all(isinstance(v, (int, Fraction)) for v in g), forms)  # forms: id kept
            return g[0], g[1]
    g = gradient_at(table, forms, w)
    return g, all(isinstance(v, (int, Fraction)) for v in g)


def _diagnose_at(table, stratum, around, w, cache=None):
    target, exact = _gradient(table, stratum.forms, w, cache)
    grads = [_gradient(table, s.forms, w, cache) for s in around]
    pts = _distinct(g for g, _ in grads)
    if not pts:
        return ClarkeResult(None, None, message="no full-dimensional stratum around the point")
    if not all(r for _, r in grads):
        return ClarkeResult(None, pts, message="limiting gradients hold convention parameters; not decided")
    if exact:
        lam = in_hull(pts, target)
        if lam is not None:
            return ClarkeResult(True, pts, weights=lam)
        return ClarkeResult(False, pts, message=f"{_fmt(target)} is not in the convex hull of "
                            + "{" + ", ".join(_fmt(p) for p in pts) + "}")
    ok, when, msg = _parametric(target, pts)
    return ClarkeResult(ok, pts, when=when, message=msg)


def spurious(table):
    """The strata whose associated gradient lies outside the Clarke gradient at some point tested
    (an exact point of each, and points along every direction: see :func:`diagnose`).

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
    return [s for s, r in zip(table.strata, diagnose_all(table)) if s.dim < table.n and r.spurious]
