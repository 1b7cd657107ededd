"""A small exact linear-programming solver over the rationals (two-phase simplex, Bland's rule).

Used for convex-hull membership (the Clarke diagnostic), the range of a
convention parameter for which a gradient lies in a hull, and whether a
polyhedron meets a box.  Every number is an ``int`` or a
:class:`fractions.Fraction`; no floating point enters.  The problems mtsym asks
are tiny (tens of variables), so a dense tableau is the simplest exact tool.

Examples
--------
>>> r = linprog([-1, -1], A_ub=[[1, 2], [3, 1]], b_ub=[4, 6])   # max x + y
>>> r.status, r.value, r.x
('optimal', Fraction(-14, 5), (Fraction(8, 5), Fraction(6, 5)))
>>> in_hull([(0, 0), (2, 0), (0, 2)], (1, 1))
(Fraction(0, 1), Fraction(1, 2), Fraction(1, 2))
>>> in_hull([(0, 0), (2, 0), (0, 2)], (2, 2)) is None
True
"""

__all__ = ["LPResult", "linprog", "in_hull", "hull_parameter_range"]

from fractions import Fraction

from .linalg import rref


class LPResult:
    """The outcome of :func:`linprog`.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"`` or ``"unbounded"``.
    x : tuple of Fraction or None
        An optimal point (``None`` unless optimal).
    value : Fraction or None
        The optimal objective value (as asked: a maximum when ``maximize``).
    """

    __slots__ = ("status", "x", "value")

    def __init__(self, status, x=None, value=None):
        self.status, self.x, self.value = status, x, value

    def __repr__(self):
        return f"LPResult({self.status}, value={self.value}, x={self.x})"


def _pivot(T, obj, i, j):
    row = T[i]
    p = row[j]
    if p != 1:
        row = [v / p for v in row]
        T[i] = row
    for k, other in enumerate(T):
        if k != i:
            f = other[j]
            if f != 0:
                T[k] = [a - f * b for a, b in zip(other, row)]
    f = obj[j]
    if f != 0:
        obj[:] = [a - f * b for a, b in zip(obj, row)]


def _run(T, obj, basis, allowed):
    """Minimise: ``obj`` holds reduced costs (last entry: minus the value).  Bland's rule."""
    while True:
        j = next((c for c in allowed if obj[c] < 0), None)
        if j is None:
            return True
        best = None
        for i, row in enumerate(T):
            a = row[j]
            if a > 0:
                ratio = row[-1] / a
                if best is None or ratio < best[0] or (ratio == best[0] and basis[i] < basis[best[1]]):
                    best = (ratio, i)
        if best is None:
            return False
        _pivot(T, obj, best[1], j)
        basis[best[1]] = j


def linprog(c, A_ub=(), b_ub=(), A_eq=(), b_eq=(), free=(), maximize=False):
    """Minimise (or maximise) ``c . x`` subject to ``A_ub x <= b_ub``, ``A_eq x = b_eq``, ``x >= 0``.

    Variables listed in ``free`` have no sign constraint.  Exact on
    ints/Fractions.

    Returns
    -------
    LPResult
    """
    n = len(c)
    free = sorted(set(free))
    ncol = n + len(free) + len(A_ub)
    rows = []
    for k, (a, b) in enumerate(zip(A_ub, b_ub)):
        r = list(a) + [-a[j] for j in free] + [0] * len(A_ub)
        r[n + len(free) + k] = 1
        rows.append((r, b))
    for a, b in zip(A_eq, b_eq):
        rows.append((list(a) + [-a[j] for j in free] + [0] * len(A_ub), b))
    m = len(rows)
    T = []
    for i, (r, b) in enumerate(rows):
        if b < 0:
            r, b = [-v for v in r], -b
        art = [0] * m
        art[i] = 1
        T.append([Fraction(v) for v in r] + art + [Fraction(b)])
    basis = [ncol + i for i in range(m)]
    # phase 1: minimise the sum of the artificial variables
    obj = [-sum(T[i][j] for i in range(m)) for j in range(ncol)] + [0] * m + [-sum(r[-1] for r in T)]
    _run(T, obj, basis, range(ncol))
    if obj[-1] != 0:
        return LPResult("infeasible")
    # drive artificials out of the basis (drop redundant rows)
    for i in reversed(range(m)):
        if basis[i] >= ncol:
            j = next((j for j in range(ncol) if T[i][j] != 0), None)
            if j is None:
                del T[i], basis[i]
            else:
                _pivot(T, obj, i, j)
                basis[i] = j
    T = [r[:ncol] + [r[-1]] for r in T]
    cc = [Fraction(-v if maximize else v) for v in c]
    obj = cc + [-cc[j] for j in free] + [Fraction(0)] * (len(A_ub) + 1)
    for i, bj in enumerate(basis):
        f = obj[bj]
        if f != 0:
            obj = [a - f * b for a, b in zip(obj, T[i])]
    if not _run(T, obj, basis, range(ncol)):
        return LPResult("unbounded")
    z = [Fraction(0)] * ncol
    for i, bj in enumerate(basis):
        z[bj] = T[i][-1]
    x = z[:n]
    for k, j in enumerate(free):
        x[j] -= z[n + k]
    value = -obj[-1]
    return LPResult("optimal", tuple(x), -value if maximize else value)


def in_hull(points, target):
    """Convex weights ``lam`` with ``sum(lam_i * points[i]) == target``, or ``None``.

    Exact; ``points`` and ``target`` are equal-length tuples of ints/Fractions.
    """
    points = [tuple(p) for p in points]
    target = tuple(target)
    for i, p in enumerate(points):
        if p == target:
            return tuple(Fraction(int(k == i)) for k in range(len(points)))
    if len(points) < 2:
        return None
    k = len(points)
    if all(sum(col) * t.denominator == k * t.numerator  # the centroid (a k-way tie's mean)
           for col, t in zip(zip(*points), target)):
        return tuple(Fraction(1, k) for _ in points)
    # coordinates where every point agrees say nothing about the weights
    A, b = [], []
    for c in range(len(target)):
        col = [p[c] for p in points]
        if all(v == col[0] for v in col):
            if target[c] != col[0]:
                return None
            continue
        A.append(col)
        b.append(target[c])
    A.append([1] * len(points))
    b.append(1)
    lam = _unique_solution(A, b, len(points))
    if lam is not None:
        return lam if lam != () and all(v >= 0 for v in lam) else None
    r = linprog([0] * len(points), A_eq=A, b_eq=b)
    return r.x if r.status == "optimal" else None


def _unique_solution(A, b, k):
    """The solution of ``A x = b`` when it is unique; ``()`` when there is none; ``None`` when many."""
    red, piv = rref([list(r) + [v] for r, v in zip(A, b)], k + 1)
    if k in piv:
        return ()
    if len(piv) < k:
        return None
    return tuple(r[-1] for r in red)


def hull_parameter_range(points, base, slope):
    """The interval of ``z`` with ``base + z * slope`` in the convex hull of ``points``.

    Returns ``None`` when no ``z`` works, else ``(lo, hi)`` where ``None``
    stands for an unbounded end.

    Examples
    --------
    >>> hull_parameter_range([(0,)], (-1,), (2,))      # 2z - 1 in {0}
    (Fraction(1, 2), Fraction(1, 2))
    >>> hull_parameter_range([(0,), (1,)], (0,), (1,))  # z in [0, 1]
    (Fraction(0, 1), Fraction(1, 1))
    """
    k = len(points)
    A = [[p[c] for p in points] + [-slope[c]] for c in range(len(base))] + [[1] * k + [0]]
    b = list(base) + [1]
    ends = []
    for maximize in (False, True):
        r = linprog([0] * k + [1], A_eq=A, b_eq=b, free=(k,), maximize=maximize)
        if r.status == "infeasible":
            return None
        ends.append(r.value if r.status == "optimal" else None)
    return tuple(ends)
