"""Exact bases of rational vectors, with a prime modulus as the fast test of independence.

A set of integer vectors independent modulo a prime is independent over the rationals (a
rational dependence, scaled to coprime integers, stays a dependence modulo the prime and is not
zero there), so :class:`ModP` proves independence cheaply with numpy; exact elimination runs
only for the vectors it cannot place (:class:`Basis`).

Examples
--------
>>> b = Basis(3)
>>> b.add((1, 0, 2)), b.add((0, 1, 0)), b.add((2, 3, 4))
({0: 1}, {1: 1}, {0: Fraction(2, 1), 1: Fraction(3, 1)})
"""

__all__ = ["Basis", "ModP"]

from fractions import Fraction

import numpy as np

from ..exact import int_row
from .sweep import Row

_PRIME = 2_147_483_647


class Basis:
    """An exact basis of a growing set of rational vectors, with coordinates of each vector.

    A vector independent of the basis modulo a large prime is independent over the rationals and
    costs no exact arithmetic; exact elimination runs only for the others.
    """

    def __init__(self, n):
        self.n = n
        self.vectors = []      # the basis b_i (the first independent vectors met)
        self._ech = []         # (pivot, row, combination over the basis), built on demand
        self._done = 0         # basis vectors already in the exact echelon form
        self._modp = ModP(n)

    def add(self, g):
        """Coordinates of ``g`` on the basis (extended by ``g`` when it is independent)."""
        if not (bool(g) if isinstance(g, Row) else any(g)):
            return {}
        ints = g.int_row() if isinstance(g, Row) else int_row((0,) + tuple(g))[1:]
        row = np.array([c % _PRIME for c in ints], dtype=np.int64)[None, :]
        if self._modp.add(row):
            self.vectors.append(g if isinstance(g, Row) else tuple(g))
            return {len(self.vectors) - 1: 1}
        while self._done < len(self.vectors):          # bring the exact echelon form up to date
            self._exact(self.vectors[self._done], self._done)
            self._done += 1
        coords = self._exact(g, None)
        if coords is None:                               # dependent modulo the prime only
            self.vectors.append(tuple(g))
            self._done += 1
            return {len(self.vectors) - 1: 1}
        return coords

    def _exact(self, g, k):
        """Reduce ``g`` exactly; store it as basis vector ``k`` (or, ``k`` None, return its
        coordinates, or ``None`` and store it when it is independent)."""
        row = list(g)
        comb = [Fraction(0)] * self._done
        for piv, e, t in self._ech:
            c = row[piv]
            if c:
                c = Fraction(c) / e[piv]
                row = [a - c * b if b else a for a, b in zip(row, e)]
                for j, tj in enumerate(t):
                    comb[j] += c * tj
        piv = next((i for i, a in enumerate(row) if a), None)
        if piv is None:
            return {j: c for j, c in enumerate(comb) if c}
        t = [-c for c in comb] + [Fraction(1)]
        for _, _, t2 in self._ech:
            t2.append(Fraction(0))
        self._ech.append((piv, row, t))
        return None

    def right_inverse(self):
        """``Z`` with ``B^T B Z = I`` (so ``x = x0 + B Z y`` has ``B^T (x - x0) = y``)."""
        B = self.vectors
        r = len(B)
        G = [[sum(Fraction(a) * b for a, b in zip(B[i], B[j]) if a and b) for j in range(r)]
             + [int(i == k) for k in range(r)] for i in range(r)]
        from ..linalg import rref
        R, _ = rref(G, r)
        return [row[r:] for row in R]


class ModP:
    """Rows reduced modulo the prime ``_PRIME``: independence there implies it over the rationals."""

    def __init__(self, n):
        self.rows = np.zeros((0, n), dtype=np.int64)
        self.pivots = []

    def add(self, new):
        """Add the rows of ``new`` if they stay independent of the rows kept (all or none)."""
        A = new % _PRIME
        rows, pivots = [], []
        basis = list(zip(self.pivots, self.rows))
        for r in A:
            for p, b in basis + list(zip(pivots, rows)):
                if r[p]:
                    r = (r - int(r[p]) * b) % _PRIME
            nz = np.nonzero(r)[0]
            if len(nz) == 0:
                return False
            p = int(nz[0])
            r = (r * pow(int(r[p]), _PRIME - 2, _PRIME)) % _PRIME
            rows.append(r)
            pivots.append(p)
        self.rows = np.vstack([self.rows] + [r[None, :] for r in rows])
        self.pivots += pivots
        return True
