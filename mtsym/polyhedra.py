"""Exact rational polyhedra by the double description method, in integer arithmetic.

A *stratum* is a relatively open polyhedron ``S = {E x = f, A x > b}``.  mtsym keeps
the closure of ``S`` as a homogenised cone in ``R^(n+1)`` (coordinates
``(x0, x1..xn)``) in both descriptions at once:

* H: integer rows ``h`` with ``h . X >= 0`` (row 0 is ``x0 >= 0``);
* V: primitive integer generators (vertices have ``x0 > 0``, rays ``x0 = 0``), a
  lineality basis, and for each generator the bitmask of the H rows tight at it.

Splitting by an affine quantity ``g`` (:meth:`Polyhedron.split`) answers exactly
which of ``S & {g > 0}``, ``S & {g = 0}``, ``S & {g < 0}`` are non-empty, and
builds their closures, **without any linear program**: the sign of ``g`` on the
generators decides feasibility (``S`` is the relative interior of its closure),
and new generators come from adjacent pairs of opposite signs (combinatorial
adjacency test).  No floating point is involved anywhere.

This is the exact feasibility oracle behind :mod:`mtsym.partition`; the oracle
interface is the single method ``split`` plus ``witness``/``dim``.

Examples
--------
>>> P = Polyhedron.space(2)
>>> kids = P.split((0, 1, -1))          # x1 - x2
>>> sorted(kids)
[-1, 0, 1]
>>> kids[0].dim, kids[1].dim
(1, 2)
>>> Q = kids[1].split((-1, 0, 0))       # the constant -1 on {x1 > x2}
>>> sorted(Q)
[-1]
"""

__all__ = ["Polyhedron", "Cut"]

import math
from fractions import Fraction
from operator import itemgetter, mul

import numpy as np


#: integers below this in absolute value make int64 products and sums safe
_INT64_SAFE = 1 << 62


def _support(h):
    """A dot product with ``h`` that reads only its nonzero entries: ``dot(g) == h . g``."""
    idx = [i for i, c in enumerate(h) if c]
    cs = [h[i] for i in idx]
    if not idx:
        return lambda g: 0
    if len(idx) == 1:
        i, c = idx[0], cs[0]
        return lambda g: c * g[i]
    if len(idx) == 2:  # a difference of two coordinates (a max's tests): no map, no sum
        i, j = idx
        c, e = cs
        return lambda g: c * g[i] + e * g[j]
    get = itemgetter(*idx)
    return lambda g: sum(map(mul, cs, get(g)))


def _combine(d, a, e, b):
    """``d * a - e * b`` divided by the gcd of its entries (``b`` nonzero only where needed)."""
    if d == 1:
        v = [x - e * y if y else x for x, y in zip(a, b)]
    else:
        v = [d * x - e * y if y else d * x for x, y in zip(a, b)]
    g = math.gcd(*v)
    return tuple(x // g for x in v) if g > 1 else tuple(v)


def _normalize(v):
    g = math.gcd(*v)
    if g > 1:
        return tuple(x // g for x in v)
    return tuple(v)


class Polyhedron:
    """The closure of a non-empty stratum, in double description (immutable).

    Attributes
    ----------
    n : int
        Number of inputs.
    dim : int
        Dimension of the stratum.
    gens : tuple of tuple of int
        Homogeneous generators (vertices ``x0 > 0`` and rays ``x0 = 0``).
    lin : tuple of tuple of int
        A basis of the lineality space (``x0 = 0``).
    rows : tuple of tuple of int
        The inequalities ``h . (x0, x) >= 0`` that cut the cone (equalities from
        zero splits are not rows: they hold on every generator).
    zmask : tuple of int
        Bit ``k`` of ``zmask[j]`` is set when ``rows[k]`` is tight at ``gens[j]``.
    """

    __slots__ = ("n", "dim", "gens", "lin", "rows", "zmask", "_witness", "_arrays")

    def __init__(self, n, dim, gens, lin, rows, zmask):
        self.n, self.dim = n, dim
        self.gens, self.lin, self.rows, self.zmask = gens, lin, rows, zmask
        self._witness = None
        self._arrays = None

    @classmethod
    def space(cls, n):
        """All of ``R^n``."""
        vertex = (1,) + (0,) * n
        lin = tuple(tuple(1 if j == i + 1 else 0 for j in range(n + 1)) for i in range(n))
        return cls(n, n, (vertex,), lin, ((1,) + (0,) * n,), (0,))

    # ------------------------------------------------------------------ split
    def split(self, h):
        """Split by the integer affine row ``h = (c0, c1..cn)`` (the quantity ``c0 + c.x``).

        Returns
        -------
        dict
            ``{sign: Polyhedron}`` for each sign in ``(1, 0, -1)`` such that the
            stratum meets ``{sign(g) = sign}``.  A child that equals ``self``
            (the split was trivial) is ``self`` itself.
        """
        cut = Cut(self, h)
        return {s: cut.child(s) for s in cut.signs}

    def cut(self, h):
        """The split by ``h`` before any child is built: a :class:`Cut`.

        ``cut.signs`` are the signs ``h`` takes on the stratum (in the order
        ``1, 0, -1``), ``cut.proper`` whether there are several, and
        ``cut.child(sign)`` builds one child: only the children a caller explores
        are ever built.
        """
        return Cut(self, h)

    def meet(self, h):
        """The closed polyhedron ``closure & {h . (1, x) >= 0}``, or ``None`` when it is empty.

        Unlike :meth:`split` (which speaks of the relatively open stratum), this
        keeps a face where ``h`` only touches the closure.
        """
        cut = Cut(self, h)
        if cut.k is not None:
            return cut.child(1)
        s = cut.s
        if all(v >= 0 for v in s):
            return self
        if any(v > 0 for v in s):
            return cut.child(1)
        zer = [j for j, v in enumerate(s) if v == 0]
        if not zer:
            return None
        from .linalg import rank
        gens = tuple(self.gens[j] for j in zer)
        bit = 1 << len(self.rows)
        return Polyhedron(self.n, rank(list(gens) + list(self.lin)) - 1, gens, self.lin,
                          self.rows + (tuple(h),), tuple(self.zmask[j] | bit for j in zer))

    # ------------------------------------------------------------- queries
    def witness(self):
        """An exact rational point of the stratum (relative interior of the closure).

        The normalised sum of all generators: a strictly positive combination of
        every generator lies in the relative interior.  Small vertices are
        preferred: when the stratum is a single vertex, that vertex.
        """
        if self._witness is None:
            n = self.n
            verts = [g for g in self.gens if g[0] > 0]
            rays = [g for g in self.gens if g[0] == 0]
            k = len(verts)
            pt = [Fraction(0)] * n
            for v in verts:
                for i in range(n):
                    pt[i] += Fraction(v[i + 1], v[0] * k)
            for r in rays:
                for i in range(n):
                    pt[i] += r[i + 1]
            self._witness = tuple(int(c) if c.denominator == 1 else c for c in pt)
        return self._witness

    def gens_array(self):
        """The generators and the lineality basis as two numpy arrays (int64 when every entry
        fits, else Python ints), and the largest absolute entry: for batched sign tests."""
        a = self._arrays
        if a is None:
            shape = (len(self.gens), self.n + 1), (len(self.lin), self.n + 1)
            try:
                G = np.array(self.gens, dtype=np.int64).reshape(shape[0])
                L = np.array(self.lin, dtype=np.int64).reshape(shape[1])
                big = max(int(G.max()), -int(G.min()))
                if len(self.lin):
                    big = max(big, int(L.max()), -int(L.min()))
            except OverflowError:
                big = _INT64_SAFE
            if big >= _INT64_SAFE:  # products could overflow: exact Python integers
                G = np.array(self.gens, dtype=object).reshape(shape[0])
                L = np.array(self.lin, dtype=object).reshape(shape[1])
                big = max((abs(x) for g in self.gens + self.lin for x in g), default=0)
            a = self._arrays = (G, L, big)
        return a

    def products(self, H, hmax):
        """``(H @ gens.T, H @ lin.T)`` for integer rows ``H`` (a 2-D array, entries at most ``hmax``
        in absolute value), exactly: int64 only when no product or sum can overflow."""
        G, L, big = self.gens_array()
        if H.dtype != object and big * hmax * (self.n + 1) >= _INT64_SAFE:
            H = H.astype(object)
        if H.dtype == object and G.dtype != object:
            G, L = G.astype(object), L.astype(object)
        elif H.dtype != object and G.dtype == object:
            H = H.astype(object)
        return H @ G.T, H @ L.T

    def sign_sets(self, H, hmax):
        """The signs each row of ``H`` (integer rows, see :meth:`products`) takes on the stratum:
        ``1``, ``0`` or ``-1`` when it has one sign, ``2`` when it has several (then all three)."""
        V, W = self.products(H, hmax)
        pos = (V > 0).any(axis=1)
        neg = (V < 0).any(axis=1)
        code = pos.astype(np.int8) - neg
        code[pos & neg] = 2
        if W.shape[1]:
            code[(W != 0).any(axis=1)] = 2
        return code

    def __repr__(self):
        return (f"Polyhedron(n={self.n}, dim={self.dim}, {len(self.gens)} generators, "
                f"lineality {len(self.lin)}, {len(self.rows)} rows)")


class Cut:
    """A polyhedron split by one integer row ``h``, children built on demand.

    Attributes
    ----------
    signs : tuple of int
        The signs ``h`` takes on the stratum, in the order ``1, 0, -1``.
    proper : bool
        Whether ``h`` takes several signs (then each child is a new stratum and
        ``h`` one of its constraints; otherwise the only child is the polyhedron itself).
    """

    __slots__ = ("P", "h", "signs", "proper", "k", "d", "s", "_shared", "_dot")

    def __init__(self, P, h):
        self.P, self.h, self._shared = P, h, None
        self.k = self.d = self.s = None
        dot = self._dot = _support(h)
        for k, line in enumerate(P.lin):
            d = dot(line)
            if d != 0:
                self.k, self.d = k, d
                self.signs, self.proper = (1, 0, -1), True
                return
        s = self.s = [dot(g) for g in P.gens]
        has_pos = any(v > 0 for v in s)
        has_neg = any(v < 0 for v in s)
        if has_pos and has_neg:
            self.signs, self.proper = (1, 0, -1), True
        else:
            self.signs, self.proper = ((1,) if has_pos else (-1,) if has_neg else (0,)), False

    def __getstate__(self):  # the dot product is a closure: made again after unpickling
        return self.P, self.h, self.signs, self.proper, self.k, self.d, self.s, self._shared

    def __setstate__(self, state):
        self.P, self.h, self.signs, self.proper, self.k, self.d, self.s, self._shared = state
        self._dot = _support(self.h)

    def child(self, sign):
        """The closure of ``stratum & {sign(h) = sign}`` (``sign`` must be in :attr:`signs`)."""
        if not self.proper:
            return self.P
        if self.k is not None:
            return self._child_lineality(sign)
        return self._child_mixed(sign)

    def _child_lineality(self, sign):
        P, h = self.P, self.h
        if self._shared is None:
            ls, d = P.lin[self.k], self.d
            if d < 0:
                ls, d = tuple(-x for x in ls), -d
            dot, k = self._dot, self.k
            lin = P.lin  # the lines before k have a zero dot product (the first nonzero is k)
            newlin = lin[:k] + tuple([_combine(d, line, e, ls) if e else line
                                      for line, e in zip(lin[k + 1:], map(dot, lin[k + 1:]))])
            newgens = tuple([_combine(d, g, e, ls) if e else g for g, e in zip(P.gens, map(dot, P.gens))])
            self._shared = (ls, newgens, newlin)
        ls, newgens, newlin = self._shared
        if sign == 0:
            return Polyhedron(P.n, P.dim - 1, newgens, newlin, P.rows, P.zmask)
        nrow = len(P.rows)
        bit = 1 << nrow
        full = bit - 1  # a lineality direction is tight at every old row
        zm = tuple(z | bit for z in P.zmask) + (full,)
        if sign > 0:
            return Polyhedron(P.n, P.dim, newgens + (ls,), newlin, P.rows + (tuple(h),), zm)
        return Polyhedron(P.n, P.dim, newgens + (tuple(-x for x in ls),), newlin,
                          P.rows + (tuple(-x for x in h),), zm)

    def _child_mixed(self, sign):
        P, h, s = self.P, self.h, self.s
        gens, zmask = P.gens, P.zmask
        if self._shared is None:
            pos = [j for j, v in enumerate(s) if v > 0]
            neg = [j for j, v in enumerate(s) if v < 0]
            zer = [j for j, v in enumerate(s) if v == 0]
            # rank of the cone modulo lineality; adjacent rays share >= cdim - 2 tight rows
            need = P.dim + 1 - len(P.lin) - 2
            ng = len(gens)
            new, newz = [], []
            for p in pos:
                zp = zmask[p]
                for q in neg:
                    common = zp & zmask[q]
                    if need > 0 and bin(common).count("1") < need:
                        continue
                    adjacent = True
                    for r in range(ng):
                        if r != p and r != q and common & ~zmask[r] == 0:
                            adjacent = False
                            break
                    if adjacent:
                        sp_, sq = s[p], s[q]
                        new.append(_normalize([sp_ * b - sq * a for a, b in zip(gens[p], gens[q])]))
                        newz.append(common)
            self._shared = (pos, neg, tuple(gens[j] for j in zer) + tuple(new),
                            tuple(zmask[j] for j in zer) + tuple(newz))
        pos, neg, zgens, zz = self._shared
        if sign == 0:
            return Polyhedron(P.n, P.dim - 1, zgens, P.lin, P.rows, zz)
        bit = 1 << len(P.rows)
        side = pos if sign > 0 else neg
        row = tuple(h) if sign > 0 else tuple(-x for x in h)
        return Polyhedron(P.n, P.dim, tuple(gens[j] for j in side) + zgens, P.lin, P.rows + (row,),
                          tuple(zmask[j] for j in side) + tuple(z | bit for z in zz))
