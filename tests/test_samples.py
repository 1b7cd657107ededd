"""mtsym.samples: the exact signs behind verification's shared points, against plain integer arithmetic.

``sign_masks`` takes three routes by the size of the numbers (float64 products when every
integer sum stays below 2^53, int64 below 2^62, float64 with an exact fallback near zero
beyond; the points on a hyperplane multiply its coefficients into theirs, so ``bits`` = 14 and
19 land in the first two): each is compared with the sign of the exact integer ``c0 q + c . P`` computed here
in Python, on points placed exactly on the hyperplanes as well as off them.
"""

import random
from fractions import Fraction

import pytest

import mtsym as mt
from mtsym.linalg import rank
from mtsym.samples import PointPool, sign_masks


def _exact_masks(rows, points):
    out = []
    for r in rows:
        z = p = m = 0
        for j, (q, P) in enumerate(points):
            v = r[0] * q + sum(c * x for c, x in zip(r[1:], P))
            if v == 0:
                z |= 1 << j
            elif v > 0:
                p |= 1 << j
            else:
                m |= 1 << j
        out.append((z, p, m))
    return out


def _on_plane(rng, row, scale):
    """A point ``P / q`` exactly on ``row`` (row[1] != 0), other coordinates random."""
    n = len(row) - 1
    rest = [rng.randint(-scale, scale) for _ in range(n - 1)]
    q = rng.randint(1, scale)
    # row[0] q + row[1] x + sum(row[k] rest) = 0, x = P0 / q scaled by row[1]
    num = -(row[0] * q + sum(c * x for c, x in zip(row[2:], rest)))
    return (q * row[1], (num,) + tuple(x * row[1] for x in rest)) if row[1] > 0 else \
        (-q * row[1], (-num,) + tuple(-x * row[1] for x in rest))


@pytest.mark.parametrize("bits", [3, 14, 19, 25, 40, 200, 950])
@pytest.mark.parametrize("n, sparse", [(2, False), (3, False), (12, False), (12, True)])
def test_sign_masks_match_exact_integers(bits, n, sparse):
    scale = 2 ** bits
    rng = random.Random(100 * bits + n + sparse)
    rows = [tuple(rng.randint(-scale, scale) for _ in range(n + 1)) for _ in range(9)]
    if sparse:  # comparisons of two coordinates, as a k-ary max has (computed row by row)
        rows = [tuple(r[k] if k in (0, 1, 2 + i % (n - 1)) else 0 for k in range(n + 1)) for i, r in enumerate(rows)]
    rows = [r if r[1] else (r[0], 1) + r[2:] for r in rows]
    points = [(rng.randint(1, scale), tuple(rng.randint(-scale, scale) for _ in range(n))) for _ in range(40)]
    points += [_on_plane(rng, rows[k % len(rows)], scale) for k in range(30)]
    points.append((1, (0,) * n))
    exact = _exact_masks(rows, points)
    assert sign_masks(rows, points) == exact
    # the points placed on a hyperplane are found there (the test would not notice a missing zero otherwise)
    assert all(exact[k % len(rows)][0] >> (40 + k) & 1 for k in range(30))


def test_pool_chooses_independent_points_of_each_closure():
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) + mt.relu(x[0] + 2 * x[1] - 1) + mt.relu(3 * x[0] - 2), 2)
    pool = PointPool(t)
    for s in t.strata:
        idx = pool.choose(s)
        assert len(idx) == s.dim + 1
        pts = [tuple(Fraction(x, q) for x in P) for q, P in (pool.points[i] for i in idx)]
        for p in pts:  # in the closure: every constraint holds with its sign or as an equality
            for form, sign in s.constraints:
                v = form[0] + sum(c * x for c, x in zip(form[1:], p))
                assert v == 0 or (v > 0) == (sign > 0)
        assert rank([[a - b for a, b in zip(p, pts[0])] for p in pts[1:]]) == s.dim
