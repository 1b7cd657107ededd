"""Where verification runs the program: exact points shared between strata.

For a program without Python branches, ``f`` is continuous; ``f^alpha`` is affine on a
stratum ``S`` and equal to ``f`` there exactly when it is on the closure of ``S``.  Both
affine on ``S`` (the premise of every check of :mod:`mtsym.verify`), they agree on ``S``
exactly when they agree at ``d + 1`` affinely independent points of its closure.  Those
points are taken from one **pool**: an exact point of every stratum of the table, lowest
dimension first, so a vertex of an arrangement serves every stratum meeting there and one
run of the program (see :mod:`mtsym.oracle`) serves them all.

Which pool points lie in a stratum's closure is read from bit masks: for every distinct
hyperplane of the table's constraints, the points where it is zero, positive, negative
(:func:`sign_masks`: a float64 product for every sign that rounding cannot change, exact
integers for the others); a stratum's closure is the intersection of its constraints'
masks.  A stratum whose closure holds too few independent pool points (the line of a k-ary
max's full tie, a strip) takes points of its own, ``w + h v`` along its tangent vectors,
added to the pool for the strata above it.

Examples
--------
>>> sign_masks([(0, 1, -1), (1, 0, 0)], [(1, (2, 2)), (2, (1, 3)), (1, (-1, 0))])
[(1, 0, 6), (0, 7, 0)]
"""

__all__ = ["PointPool", "Hyperplanes", "sign_masks", "set_bits"]

import math
from fractions import Fraction

import numpy as np

from .exact import int_row
from .table import steps_inside

_TOL = 2.0 ** -30   # a float64 dot product of length <= 2^20 is within this of its exact value, relatively
_MEMO = 1 << 18      # bases kept by PointPool.choose before it starts afresh
_BLOCK = 1 << 18     # entries of one block of signs (a few MB: the elementwise passes stay in cache)


def _as_floats(vectors):
    """Integer vectors as float64 rows, each scaled by a power of two to stay finite."""
    try:  # one conversion when no entry is near float64's range
        out = np.array(vectors, dtype=np.float64).reshape(len(vectors), -1)
        if not out.size or np.abs(out).max() < 2.0 ** 900:
            return out
    except OverflowError:
        pass
    out = np.empty((len(vectors), len(vectors[0]) if vectors else 0))
    for i, v in enumerate(vectors):
        m = max((abs(x).bit_length() for x in v), default=0)
        if m > 900:  # float(x) overflows past 2^1024; the sign of a product does not see the scale
            s = m - 900
            v = [x >> s if x >= 0 else -((-x) >> s) for x in v]
        out[i] = v
    return out


def _dot(row, q, P):
    v = row[0] * q
    for c, x in zip(row[1:], P):
        if c and x:
            v += c * x
    return v


def sign_masks(rows, points):
    """For integer rows ``(c0, c1..cn)`` and points ``(q, P)`` (the point ``P / q``, ``q > 0``):
    per row the bit masks over the points (bit ``j`` for point ``j``) where ``c0 q + c . P`` is
    zero, positive, negative, exactly."""
    K, N = len(rows), len(points)
    if not K:
        return []
    if not N:
        return [(0, 0, 0)] * K
    rmax = max(abs(c) for r in rows for c in r)
    flat = [(q, *P) for q, P in points]
    try:  # the points as one int64 array when they fit, their largest entry read from it
        Xi = np.array(flat, dtype=np.int64).reshape(N, -1)
        pmax = max(int(Xi.max()), -int(Xi.min()))
    except OverflowError:
        Xi, pmax = None, max(max(map(abs, p)) for p in flat)
    bound = rmax * pmax * (len(rows[0]) + 1)
    if bound < 1 << 62:  # exact in int64; in float64 below 2^53: every partial sum is an
        # integer of at most 53 bits, so each product and sum is exact in any order
        dtype = np.float64 if bound < 1 << 53 else np.int64
        return _int_masks(np.array(rows, dtype=dtype), Xi.astype(dtype, copy=False))
    A = _as_floats(rows)
    X = _as_floats(flat) if Xi is None else Xi.astype(np.float64)
    bound = _TOL * np.abs(A).max(1)[:, None]
    l1 = np.abs(X).sum(1)
    zero, pos, neg = [0] * K, [0] * K, [0] * K
    step = max(8, (_BLOCK // K) // 8 * 8)
    Aobj = Xobj = None
    for start in range(0, N, step):
        stop = min(N, start + step)
        with np.errstate(over="ignore", invalid="ignore"):  # inf or nan: neither side, decided exactly below
            S = _products(A, X[start:stop])
            B = bound * l1[None, start:stop]
            P, Q = S > B, S < -B
        Z = np.zeros_like(P)
        ii, jj = np.nonzero(~(P | Q))
        if len(ii):  # too close to zero for float64: exact integer products
            if Aobj is None:
                Aobj = np.array(rows, dtype=object).reshape(K, -1)
                Xobj = np.array(flat, dtype=object).reshape(N, -1)
            v = (Aobj[ii] * Xobj[start + jj]).sum(axis=1)
            P[ii, jj] = v > 0
            Q[ii, jj] = v < 0
            Z[ii, jj] = v == 0
        for out, M in ((zero, Z), (pos, P), (neg, Q)):
            _pack(out, M, start)
    return list(zip(zero, pos, neg))


def _products(A, X):
    """``A @ X.T``, on this thread when the rows are short (points in low dimension: a sum of
    outer products) or sparse (a comparison ``x_i - x_j``: each row from its nonzero entries).
    A BLAS call on such thin matrices gains nothing and, with its threads competing for shared
    cores, was measured up to ten times slower."""
    K, m = A.shape
    if m <= 8:
        S = np.multiply.outer(A[:, 0], X[:, 0])
        for k in range(1, m):
            S += np.multiply.outer(A[:, k], X[:, k])
        return S
    if np.count_nonzero(A) > 4 * K:
        return A @ X.T
    Xt = np.ascontiguousarray(X.T)
    S = np.zeros((K, len(X)), dtype=np.result_type(A, X))
    for r in range(K):
        row = S[r]
        for k in np.flatnonzero(A[r]).tolist():
            row += A[r, k] * Xt[k]
    return S


def _pack(masks, block, start):
    """OR each row of a boolean block into ``masks`` as bits from ``start`` on."""
    packed = np.packbits(block, axis=1, bitorder="little")
    for i in range(len(masks)):
        masks[i] |= int.from_bytes(packed[i].tobytes(), "little") << start


def _int_masks(A, X):
    """:func:`sign_masks` when every product is exact in the arrays' dtype (int64, or float64
    with integer entries and sums below 2^53)."""
    K, N = len(A), len(X)
    zero, pos, neg = [0] * K, [0] * K, [0] * K
    step = max(8, (_BLOCK // K) // 8 * 8)
    for start in range(0, N, step):
        S = _products(A, X[start:start + step])
        for out, M in ((zero, S == 0), (pos, S > 0), (neg, S < 0)):
            _pack(out, M, start)
    return list(zip(zero, pos, neg))


def set_bits(m):
    """The positions of the set bits of a non-negative integer, in increasing order.

    >>> set_bits(0b101001)
    [0, 3, 5]
    """
    if m.bit_count() <= 16:
        out = []
        while m:
            low = m & -m
            out.append(low.bit_length() - 1)
            m ^= low
        return out
    b = np.frombuffer(m.to_bytes((m.bit_length() + 7) // 8, "little"), np.uint8)
    nz = np.flatnonzero(b)
    bits = np.unpackbits(b[nz][:, None], axis=1, bitorder="little").astype(bool)
    return (nz[:, None] * 8 + np.arange(8))[bits].tolist()


def _reduce(v, basis):
    """``v`` reduced against an echelon basis of integer vectors: None if it depends on them,
    else ``(pivot, v)`` (coprime entries)."""
    for piv, b in basis:
        c = v[piv]
        if c:
            a = b[piv]
            v = [a * x - c * y for x, y in zip(v, b)]
    g = 0
    for x in v:
        g = math.gcd(g, x)
    if g == 0:
        return None
    if g > 1:
        v = [x // g for x in v]
    return next(i for i, x in enumerate(v) if x), v


class Hyperplanes:
    """The distinct hyperplanes of some strata's constraints, each once.

    ``rows[k]`` is a hyperplane as coprime integers with a positive leading coefficient;
    ``of[id(form)]`` is ``(k, flip)`` for a constraint form: ``form`` is a positive multiple of
    ``flip * rows[k]`` (enumeration shares one form object between the strata of a subtree).
    """

    def __init__(self, strata):
        self.of = {}
        rows = {}
        for s in strata:
            for form, _ in s.constraints:
                if id(form) not in self.of:
                    row = int_row(form)
                    lead = next((c for c in row[1:] if c), 0)
                    flip = -1 if lead < 0 else 1
                    key = tuple(flip * c for c in row)
                    self.of[id(form)] = (rows.setdefault(key, len(rows)), flip)
        self.rows = list(rows)


class PointPool:
    """The exact points verification runs the program at, and which strata's closures hold them.

    Parameters
    ----------
    table : PieceTable
        Its strata give the pool (one point each, lowest dimension first) and the hyperplanes.

    Attributes
    ----------
    points : list of (q, P)
        The pool, the point ``P / q`` (integers); :meth:`choose` may add points.
    """

    def __init__(self, table):
        self.n = table.n
        # the strata of lower dimension: their points lie on the boundaries of the others
        # (a full-dimensional stratum's own point is added when its closure needs it)
        order = sorted((s for s in table.strata if s.dim < table.n), key=lambda s: s.dim)
        self.points = [s.record.point for s in order]
        self._own = {s.index: i for i, s in enumerate(order)}
        self.planes = Hyperplanes(table.strata)
        self._keys = self.planes.of
        self.rows = self.planes.rows
        self._extra = 0     # the points added by choose(), tried first: each serves the strata above
        # chosen indices (a tuple) + a candidate -> the echelon basis with it, or None (dependent):
        # strata with the same points in their closures try the same sequences (a k-ary max's ties)
        self._bases = {}
        masks = sign_masks(self.rows, self.points)
        # per hyperplane: the points on it, on it or above, on it or below
        self._sides = [[z, z | p, z | m] for z, p, m in masks]
        self._all = (1 << len(self.points)) - 1

    def closure(self, stratum):
        """The bit mask of the pool points in the closure of ``stratum``."""
        out = self._all
        keys, sides = self._keys, self._sides
        for form, sign in stratum.constraints:
            k, flip = keys[id(form)]
            s = sign * flip
            out &= sides[k][0 if s == 0 else 1 if s > 0 else 2]
        return out

    def add(self, q, P):
        """Add the point ``P / q`` to the pool; its index."""
        j = len(self.points)
        self.points.append((q, tuple(P)))
        bit = 1 << j
        for row, side in zip(self.rows, self._sides):
            v = _dot(row, q, P)
            if v == 0:
                side[0] |= bit
                side[1] |= bit
                side[2] |= bit
            else:
                side[1 if v > 0 else 2] |= bit
        self._all |= bit
        self._extra |= bit
        return j

    def choose(self, stratum, scan=64):
        """``dim + 1`` affinely independent pool points in the closure of ``stratum`` (indices),
        lowest dimension first; points ``w + h v`` of the stratum itself are added when its
        closure holds too few (``scan``: how many dependent candidates to pass before that)."""
        d = stratum.dim
        chosen, basis, key = [], (), ()
        points, bases = self.points, self._bases
        if len(bases) > _MEMO:
            bases.clear()
        m = self.closure(stratum)
        extra = m & self._extra
        m ^= extra
        passed = 0
        while (m or extra) and len(chosen) <= d and passed < scan:
            if extra:  # the added points first
                low = extra & -extra
                extra ^= low
            else:
                low = m & -m
                m ^= low
            i = low.bit_length() - 1
            if not chosen:
                chosen.append(i)
                key = (i,)
                q0, P0 = points[i]
                continue
            k2 = key + (i,)
            nb = bases.get(k2, False)
            if nb is False:
                q, P = points[i]
                r = _reduce([q0 * x - q * x0 for x, x0 in zip(P, P0)], basis)
                nb = bases[k2] = None if r is None else basis + (r,)
            if nb is None:
                passed += 1
                continue
            basis, key = nb, k2
            chosen.append(i)
        if len(chosen) <= d:
            self._complete(stratum, chosen, list(basis))
        return chosen

    def _complete(self, stratum, chosen, basis):
        """Points of the stratum itself (its point, then ``w + h v`` along tangent vectors) until
        ``dim + 1`` chosen points are affinely independent."""
        own = self._own.get(stratum.index)
        q, P = stratum.record.point if own is None else self.points[own]
        w = tuple(Fraction(x, q) for x in P)
        tangent = stratum.tangent
        cands = [(own, q, P)]
        for v, h in zip(tangent, steps_inside(stratum.constraints, w, tangent, 1)):
            p = [x + h * c for x, c in zip(w, v)]
            qq = math.lcm(*(Fraction(x).denominator for x in p))
            cands.append((None, qq, tuple(int(x * qq) for x in p)))
        for i, qq, PP in cands:
            if len(chosen) > stratum.dim:
                return
            if chosen:
                q0, P0 = self.points[chosen[0]]
                r = _reduce([q0 * x - qq * x0 for x, x0 in zip(PP, P0)], basis)
                if r is None:
                    continue
                basis.append(r)
            chosen.append(self.add(qq, PP) if i is None else i)
        if len(chosen) <= stratum.dim:  # pragma: no cover - w and w + h v_j span the stratum
            raise AssertionError(f"stratum {stratum.label}: no {stratum.dim + 1} independent points")
