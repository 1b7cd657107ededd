"""Small exact linear algebra over the rationals (Fraction), for tangent spaces and ranks.

Examples
--------
>>> rank([[1, 2], [2, 4]])
1
>>> nullspace([[1, -1, 0]])
[[1, 1, 0], [0, 0, 1]]
"""

__all__ = ["rref", "rank", "nullspace"]

import math
from fractions import Fraction


def rref(rows, ncols=None):
    """Reduced row echelon form: ``(rows, pivot_columns)`` with Fraction entries."""
    m = [[Fraction(v) for v in r] for r in rows]
    if ncols is None:
        ncols = len(m[0]) if m else 0
    pivots = []
    r = 0
    for c in range(ncols):
        piv = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if piv is None:
            continue
        m[r], m[piv] = m[piv], m[r]
        p = m[r][c]
        if p != 1:
            m[r] = [v / p if v else v for v in m[r]]
        row = m[r]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                m[i] = [a - f * b if b else a for a, b in zip(m[i], row)]
        pivots.append(c)
        r += 1
        if r == len(m):
            break
    return m[:r], pivots


def rank(rows):
    """Rank of a list of rows."""
    if not rows:
        return 0
    return len(rref(rows)[1])


def nullspace(rows, ncols=None):
    """A basis of ``{v : rows @ v = 0}`` (integer vectors when possible)."""
    if ncols is None:
        ncols = len(rows[0])
    if rows and all(type(v) is int for r in rows for v in r):
        return _int_nullspace(rows, ncols)
    red, piv = rref(rows, ncols) if rows else ([], [])
    free = [c for c in range(ncols) if c not in piv]
    basis = []
    for f in free:
        v = [Fraction(0)] * ncols
        v[f] = Fraction(1)
        for r, pc in zip(red, piv):
            v[pc] = -r[f]
        den = 1
        for x in v:
            den = den * x.denominator // math.gcd(den, x.denominator)
        basis.append([int(x * den) for x in v])
    return basis


def _int_nullspace(rows, ncols):
    """:func:`nullspace` for integer rows by fraction-free elimination (same basis, faster)."""
    m = [list(r) for r in rows]
    piv = []
    r = 0
    for c in range(ncols):
        k = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if k is None:
            continue
        m[r], m[k] = m[k], m[r]
        prow = m[r]
        p = prow[c]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                new = [p * a - f * b for a, b in zip(m[i], prow)]
                g = 0
                for v in new:
                    if v:
                        g = math.gcd(g, v)
                m[i] = [v // g for v in new] if g > 1 else new
        piv.append(c)
        r += 1
        if r == len(m):
            break
    red = m[:r]
    pset = set(piv)
    basis = []
    for f in range(ncols):
        if f in pset:
            continue
        lcm = 1
        for row, pc in zip(red, piv):
            if row[f]:
                d = abs(row[pc]) // math.gcd(abs(row[pc]), abs(row[f]))
                lcm = lcm * d // math.gcd(lcm, d)
        v = [0] * ncols
        v[f] = lcm
        for row, pc in zip(red, piv):
            if row[f]:
                v[pc] = -row[f] * lcm // row[pc]
        basis.append(v)
    return basis
