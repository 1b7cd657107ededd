"""Exact planar geometry of a piece table: what a picture of the partition shows.

A plane through a point ``p`` along two directions ``d1, d2`` meets each stratum
in a relatively open convex polygon, segment or point.  Intersected with a view
box it is computed *exactly* (Fractions) by clipping the box with the stratum's
constraint rows, pulled back to plane coordinates ``(u, v)``::

    form(p + u*d1 + v*d2) = (c0 + c.p) + u*(c.d1) + v*(c.d2)

Strict inequalities clip by their closed half-plane and an equality by both
half-planes; a relative-interior point of the result is then tested against the
stratum itself, so a stratum whose closure merely touches the plane is dropped.
One input is the same computation with ``d2 = 0`` and a box of height 0.

No matplotlib here: :mod:`mtsym.export.plot` draws what this module computes.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.maximum(x[0], x[1]), 2)
>>> feats = slice_strata(t, box=((-1, 1), (-1, 1)))
>>> [(f.stratum.index, f.dim, f.vertices) for f in feats if f.dim < 2]
[(2, 1, ((-1, -1), (1, 1)))]
>>> sorted(f.dim for f in feats)
[1, 2, 2]
"""

__all__ = ["Feature", "plane", "slice_strata", "default_box", "clip"]

from fractions import Fraction
from typing import NamedTuple

from ..errors import InputError
from ..exact import to_exact

_FAR = 10 ** 6          # half-width of the box used to find where the features are


class Feature(NamedTuple):
    """A stratum seen in the plane: its polygon (dim 2), segment (1) or point (0).

    ``vertices`` are exact ``(u, v)`` pairs (a segment: its two ends); ``anchor``
    is an exact point of the stratum in the plane (a relative-interior point),
    where arrows and labels go.
    """
    stratum: object
    dim: int
    vertices: tuple
    anchor: tuple


def plane(table, slice=None):
    """``(point, d1, d2)`` as exact tuples, checked against the table's inputs.

    ``slice=None`` means the whole input space for one or two inputs (``d2 = 0``
    for one input).

    Examples
    --------
    >>> import mtsym as mt
    >>> plane(mt.derive(lambda t: mt.relu(t), "t"))
    ((0,), (1,), (0,))
    """
    n = table.n
    if slice is None:
        if n > 2:
            raise InputError(f"plot: a table with {n} inputs needs slice=(point, d1, d2), "
                             f"a 2-D plane through a point of R^{n} along two directions")
        eye = [tuple(int(i == j) for j in range(n)) for i in range(n)]
        return (0,) * n, eye[0], eye[1] if n == 2 else (0,) * n
    try:
        point, d1, d2 = slice
    except (TypeError, ValueError):
        raise InputError("plot: slice must be (point, d1, d2)") from None
    out = []
    for name, vec in (("point", point), ("d1", d1), ("d2", d2)):
        vec = tuple(to_exact(c, what=f"plot slice {name}") for c in vec)
        if len(vec) != n:
            raise InputError(f"plot: slice {name} has {len(vec)} coordinates; the table has {n} inputs")
        out.append(vec)
    if n > 1 and not _independent(out[1], out[2]):
        raise InputError("plot: the slice directions d1 and d2 must be linearly independent")
    if not any(out[1]):
        raise InputError("plot: the slice direction d1 is zero")
    return tuple(out)


def _independent(a, b):
    return any(a[i] * b[j] != a[j] * b[i] for i in range(len(a)) for j in range(i + 1, len(a)))


def _dot(c, x):
    return sum(ci * xi for ci, xi in zip(c, x))


def _pull(form, point, d1, d2):
    c = form[1:]
    return (form[0] + _dot(c, point), _dot(c, d1), _dot(c, d2))


def clip(poly, g, side):
    """Sutherland-Hodgman: the part of a convex polygon where ``side * g(u, v) >= 0``.

    ``poly`` is a list of exact ``(u, v)``; ``g = (a0, a1, a2)`` means
    ``a0 + a1*u + a2*v``.  Degenerate polygons (segments, points) are fine.

    Examples
    --------
    >>> [(str(u), str(v)) for u, v in clip([(0, 0), (2, 0), (2, 2), (0, 2)], (-1, 1, 0), 1)]
    [('1', '0'), ('2', '0'), ('2', '2'), ('1', '2')]
    """
    a0, a1, a2 = g
    vals = [side * (a0 + a1 * q[0] + a2 * q[1]) for q in poly]
    if all(v >= 0 for v in vals):
        return poly
    out = []
    m = len(poly)
    for i in range(m):
        a, b = poly[i], poly[(i + 1) % m]
        va, vb = vals[i], vals[(i + 1) % m]
        if va >= 0:
            out.append(a)
        if (va > 0 and vb < 0) or (va < 0 and vb > 0):
            t = Fraction(va) / (va - vb)
            out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    return _dedupe(out)


def _dedupe(pts):
    out = []
    for q in pts:
        if not out or q != out[-1]:
            out.append(q)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def _box_poly(box):
    (u0, u1), (v0, v1) = box
    return [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]


def _feature(stratum, poly, point, d1, d2):
    pts = list(dict.fromkeys(poly))
    k = len(pts)
    anchor = (sum(q[0] for q in pts) / Fraction(k), sum(q[1] for q in pts) / Fraction(k))
    x = tuple(p + anchor[0] * a + anchor[1] * b for p, a, b in zip(point, d1, d2))
    if not stratum.contains(x):
        return None
    o = pts[0]
    diffs = [(q[0] - o[0], q[1] - o[1]) for q in pts[1:]]
    if not any(d != (0, 0) for d in diffs):
        return Feature(stratum, 0, (o,), _simplify(anchor))
    area2 = any(a[0] * b[1] - a[1] * b[0] != 0 for a in diffs for b in diffs)
    if area2:
        return Feature(stratum, 2, tuple(_simplify(q) for q in pts), _simplify(anchor))
    d = next(d for d in diffs if d != (0, 0))
    ends = (min(pts, key=lambda q: _dot(d, q)), max(pts, key=lambda q: _dot(d, q)))
    mid = ((ends[0][0] + ends[1][0]) / 2, (ends[0][1] + ends[1][1]) / 2)
    return Feature(stratum, 1, tuple(_simplify(q) for q in ends), _simplify(mid))


def _simplify(q):
    return tuple(int(c) if isinstance(c, Fraction) and c.denominator == 1 else c for c in q)


def slice_strata(table, slice=None, box=None):
    """The strata of ``table`` in a plane, clipped to a box, exactly.

    Parameters
    ----------
    table : PieceTable
    slice : (point, d1, d2), optional
        The plane ``point + u*d1 + v*d2``; required beyond two inputs.
    box : ((u0, u1), (v0, v1)), optional
        The view box in plane coordinates (default: :func:`default_box`).
        For one input the ``v`` range is ignored.

    Returns
    -------
    list of Feature
        One per stratum that meets the box, in table order.
    """
    point, d1, d2 = plane(table, slice)
    if box is None:
        box = default_box(table, slice)
    (u0, u1), (v0, v1) = [tuple(to_exact(c, what="plot box") for c in r) for r in box]
    if table.n == 1:
        v0 = v1 = 0
    if not (u0 < u1 and v0 <= v1):
        raise InputError(f"plot: empty view box {box!r}")
    return _features(table, point, d1, d2, ((u0, u1), (v0, v1)))


def _features(table, point, d1, d2, box):
    start = _dedupe(_box_poly(box))
    out = []
    for s in table.strata:
        poly = start
        for form, sign in s.constraints:
            g = _pull(form, point, d1, d2)
            if g[1] == 0 and g[2] == 0:
                if (g[0] > 0) - (g[0] < 0) != sign:
                    poly = []
                    break
                continue
            if sign == 0:
                poly = clip(clip(poly, g, 1), g, -1)
            else:
                poly = clip(poly, g, sign)
            if not poly:
                break
        if poly:
            f = _feature(s, poly, point, d1, d2)
            if f is not None:
                out.append(f)
    return out


def default_box(table, slice=None):
    """A view box showing every vertex of the partition in the plane, and the origin.

    The features are first found in a very large box; the vertices not on its
    border, the points of the segments nearest to the origin and the origin
    itself are framed with a margin.

    Examples
    --------
    >>> import mtsym as mt
    >>> default_box(mt.derive(lambda t: mt.relu(t - 3), "t"))
    ((Fraction(-9, 10), Fraction(39, 10)), (0, 0))
    """
    point, d1, d2 = plane(table, slice)
    one = table.n == 1
    far = ((-_FAR, _FAR), (0, 0) if one else (-_FAR, _FAR))
    pts = [(0, 0)]
    for f in _features(table, point, d1, d2, far):
        if f.dim == 0:
            pts.append(f.vertices[0])
        inner = [q for q in f.vertices if max(abs(q[0]), abs(q[1])) < _FAR]
        pts.extend(inner)
        if f.dim == 1:
            pts.append(_nearest_origin(*f.vertices))
    us = [q[0] for q in pts]
    vs = [q[1] for q in pts]
    cu, cv = (min(us) + max(us)) / Fraction(2), (min(vs) + max(vs)) / Fraction(2)
    half = max(max(us) - min(us), 0 if one else max(vs) - min(vs)) / Fraction(2)
    half = Fraction(8, 5) * half if half else Fraction(1)
    return ((cu - half, cu + half), (0, 0) if one else (cv - half, cv + half))


def _nearest_origin(a, b):
    d = (b[0] - a[0], b[1] - a[1])
    t = -Fraction(_dot(a, d)) / _dot(d, d)
    t = min(max(t, Fraction(0)), Fraction(1))
    return (a[0] + t * d[0], a[1] + t * d[1])
