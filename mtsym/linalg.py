"""Small exact linear algebra over the rationals (Fraction), for tangent spaces and ranks.

Examples
--------
>>> rank([[1, 2], [2, 4]])
1
>>> nullspace([[1, -1, 0]])
[[1, 1, 0], [0, 0, 1]]
"""

__all__ = ["rref", "rank", "nullspace", "exact_rank"]

import math
import threading
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


# --------------------------------------------------------------------------- rank in bounded time
#: Hadamard bounds (bits) up to which :func:`exact_rank` eliminates in integers directly
_DIRECT_BITS = 512


def exact_rank(rows):
    """Rank over the rationals of rational rows, in time polynomial in their size.

    :func:`rank` eliminates in fractions, whose sizes can grow fast (twenty rows of
    1000-digit integers take a minute).  Here the rows are scaled to integers; small
    ones are eliminated fraction-free (Bareiss: every intermediate is a minor, bounded
    by Hadamard's bound ``H``).  Larger ones take the largest rank modulo primes
    ``p < 2^31``: each is at most the rank over Q, and once the product of the primes
    tried exceeds ``H`` of the next larger minor, no such minor can be nonzero (it
    would be divisible by all of them), so the answer is exact, not probabilistic.

    Examples
    --------
    >>> exact_rank([[Fraction(1, 2), 1], [1, 2], [0, 3]]), exact_rank([[10**400, 1], [10**400 + 1, 1]])
    (2, 2)
    """
    ints = []
    for r in rows:
        den = 1
        for c in r:
            if isinstance(c, Fraction):
                den = den * c.denominator // math.gcd(den, c.denominator)
        row = [int(c * den) for c in r]
        if any(row):
            ints.append(row)
    if not ints:
        return 0
    ncols = len(ints[0])
    bits = sorted((max(1, math.isqrt(sum(c * c for c in r))).bit_length() for r in ints), reverse=True)
    top = min(len(ints), ncols)
    if sum(bits[:top]) <= _DIRECT_BITS:
        return _bareiss_rank(ints)
    best, product = 0, 1
    for p in _primes():
        best = max(best, _rank_mod(ints, p))
        if best == top:
            return best
        product *= p
        if product.bit_length() > sum(bits[:best + 1]) + 1:
            return best
    raise AssertionError("unreachable: there are enough primes")  # pragma: no cover


def _bareiss_rank(m):
    m = [list(r) for r in m]
    ncols = len(m[0])
    r, prev = 0, 1
    for c in range(ncols):
        k = next((i for i in range(r, len(m)) if m[i][c]), None)
        if k is None:
            continue
        m[r], m[k] = m[k], m[r]
        p, prow = m[r][c], m[r]
        for i in range(r + 1, len(m)):
            a = m[i][c]
            m[i] = [(p * x - a * y) // prev for x, y in zip(m[i], prow)]
        prev = p
        r += 1
        if r == len(m):
            break
    return r


def _rank_mod(rows, p):
    import numpy as np
    M = np.array([[c % p for c in r] for r in rows], dtype=np.int64)
    m, ncols = M.shape
    r = 0
    for c in range(ncols):
        nz = np.flatnonzero(M[r:, c])
        if len(nz) == 0:
            continue
        k = r + int(nz[0])
        if k != r:
            M[[r, k]] = M[[k, r]]
        inv = pow(int(M[r, c]), -1, p)
        M[r] = M[r] * inv % p
        if r + 1 < m:
            M[r + 1:] = (M[r + 1:] - np.outer(M[r + 1:, c], M[r]) % p) % p
        r += 1
        if r == m:
            break
    return r


_PRIMES = []
_PRIMES_LOCK = threading.Lock()


def _primes():
    """Primes below 2^31, largest first (Miller-Rabin with the bases 2, 7, 61: exact below 2^32)."""
    k = 0
    while True:
        if k == len(_PRIMES):
            with _PRIMES_LOCK:  # one thread extends the shared list at a time (no prime twice)
                if k == len(_PRIMES):
                    q = (_PRIMES[-1] if _PRIMES else 2 ** 31 + 1) - 2
                    while not _is_prime(q):
                        q -= 2
                    _PRIMES.append(q)
        yield _PRIMES[k]
        k += 1


def _is_prime(q):
    d, s = q - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in (2, 7, 61):
        x = pow(a, d, q)
        if x in (1, q - 1):
            continue
        for _ in range(s - 1):
            x = x * x % q
            if x == q - 1:
                break
        else:
            return False
    return True
