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

__all__ = ["Polyhedron"]

import math
from fractions import Fraction
from functools import reduce


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _normalize(v):
    g = reduce(math.gcd, v, 0)
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

    __slots__ = ("n", "dim", "gens", "lin", "rows", "zmask", "_witness")

    def __init__(self, n, dim, gens, lin, rows, zmask):
        self.n, self.dim = n, dim
        self.gens, self.lin, self.rows, self.zmask = gens, lin, rows, zmask
        self._witness = None

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
        lin = self.lin
        for k, line in enumerate(lin):
            d = _dot(h, line)
            if d != 0:
                return self._split_lineality(h, k, d)
        s = [_dot(h, g) for g in self.gens]
        has_pos = any(v > 0 for v in s)
        has_neg = any(v < 0 for v in s)
        if not has_pos and not has_neg:
            return {0: self}
        if not has_neg:
            return {1: self}
        if not has_pos:
            return {-1: self}
        return self._split_mixed(h, s)

    def _split_lineality(self, h, k, d):
        ls = self.lin[k]
        if d < 0:
            ls, d = tuple(-x for x in ls), -d
        newlin = []
        for j, line in enumerate(self.lin):
            if j == k:
                continue
            e = _dot(h, line)
            newlin.append(_normalize([d * a - e * b for a, b in zip(line, ls)]) if e else line)
        newgens = []
        for g in self.gens:
            e = _dot(h, g)
            newgens.append(_normalize([d * a - e * b for a, b in zip(g, ls)]) if e else g)
        newlin = tuple(newlin)
        nrow = len(self.rows)
        bit = 1 << nrow
        full = (1 << nrow) - 1  # a lineality direction is tight at every old row
        zero = Polyhedron(self.n, self.dim - 1, tuple(newgens), newlin, self.rows, self.zmask)
        zm = tuple(z | bit for z in self.zmask) + (full,)
        plus = Polyhedron(self.n, self.dim, tuple(newgens) + (ls,), newlin,
                          self.rows + (tuple(h),), zm)
        neg_ls = tuple(-x for x in ls)
        minus = Polyhedron(self.n, self.dim, tuple(newgens) + (neg_ls,), newlin,
                           self.rows + (tuple(-x for x in h),), zm)
        return {1: plus, 0: zero, -1: minus}

    def _split_mixed(self, h, s):
        gens, zmask = self.gens, self.zmask
        pos = [j for j, v in enumerate(s) if v > 0]
        neg = [j for j, v in enumerate(s) if v < 0]
        zer = [j for j, v in enumerate(s) if v == 0]
        # rank of the cone modulo lineality; adjacent rays share >= cdim - 2 tight rows
        cdim = self.dim + 1 - len(self.lin)
        need = cdim - 2
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
        nrow = len(self.rows)
        bit = 1 << nrow
        newt = tuple(new)
        zero = Polyhedron(self.n, self.dim - 1, tuple(gens[j] for j in zer) + newt, self.lin,
                          self.rows, tuple(zmask[j] for j in zer) + tuple(newz))
        zsh = tuple(zmask[j] | bit for j in zer) + tuple(z | bit for z in newz)
        plus = Polyhedron(self.n, self.dim, tuple(gens[j] for j in pos) + tuple(gens[j] for j in zer) + newt,
                          self.lin, self.rows + (tuple(h),),
                          tuple(zmask[j] for j in pos) + zsh)
        minus = Polyhedron(self.n, self.dim, tuple(gens[j] for j in neg) + tuple(gens[j] for j in zer) + newt,
                           self.lin, self.rows + (tuple(-x for x in h),),
                           tuple(zmask[j] for j in neg) + zsh)
        return {1: plus, 0: zero, -1: minus}

    def meet(self, h):
        """The closed polyhedron ``closure & {h . (1, x) >= 0}``, or ``None`` when it is empty.

        Unlike :meth:`split` (which speaks of the relatively open stratum), this
        keeps a face where ``h`` only touches the closure.
        """
        for k, line in enumerate(self.lin):
            d = _dot(h, line)
            if d != 0:
                return self._split_lineality(h, k, d)[1]
        s = [_dot(h, g) for g in self.gens]
        if all(v >= 0 for v in s):
            return self
        if any(v > 0 for v in s):
            return self._split_mixed(h, s)[1]
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

    def __repr__(self):
        return (f"Polyhedron(n={self.n}, dim={self.dim}, {len(self.gens)} generators, "
                f"lineality {len(self.lin)}, {len(self.rows)} rows)")
