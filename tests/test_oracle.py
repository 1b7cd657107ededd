"""The batched exact oracle (mtsym.oracle): one run of the user's code for many points.

Oracle: the same code run point by point on exact numbers (mt.call_exact, itself pinned to
Python's Fraction arithmetic in test_exact_number.py).  The points are tie points and random
rationals; the programs are the zoo's, the paper's and the enumeration benchmarks' (with float
weights, integer weights and Python-level constants).
"""
import random
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.oracle import ExactBatch, Unbatchable, _batched, run_points
from mtsym.primitives import PRIMITIVES
from mtsym.trace import InputSpec
from zoo import ZOO, n_inputs


def rational_points(n, count, seed):
    rng = random.Random(seed)
    pts = [tuple(rng.randint(-3, 3) for _ in range(n)) for _ in range(count // 2)]   # ties and kinks
    pts += [tuple(Fraction(rng.randint(-10 ** 6, 10 ** 6), rng.randint(1, 10 ** 4)) for _ in range(n))
            for _ in range(count - len(pts))]
    return pts


def homogeneous(points):
    out = []
    for p in points:
        q = 1
        for v in p:
            q = q * Fraction(v).denominator // np.gcd(q, Fraction(v).denominator)
        out.append((int(q), tuple(int(Fraction(v) * q) for v in p)))
    return out


def one_by_one(fn, inputs, points):
    out = []
    for p in points:
        v = mt.call_exact(fn, inputs, p)
        v = v.tolist() if hasattr(v, "tolist") else v
        flat = list(np.ravel(np.array(v, dtype=object))) if isinstance(v, (list, tuple)) else [v]
        out.append(tuple(Fraction(x) for x in flat))
    return out


LINES = [(3, -1, 2), (1, 4, -5), (-2, 1, 1), (7, 3, 0)]
W = np.array([[1, -2], [3, 1], [-1, -1]])


@pytest.mark.parametrize("name", [k for k in ZOO if k not in ("product", "boustany")])  # no branch, no product
def test_batched_run_equals_the_runs_point_by_point(name):
    fn, inputs = ZOO[name][:2]
    pts = rational_points(n_inputs(inputs), 60, seed=len(name))
    batched = _batched(fn, InputSpec(inputs), homogeneous(pts))
    assert batched is not None, name            # these programs run on batches
    assert batched == one_by_one(fn, inputs, pts)


@pytest.mark.parametrize("fn, n", [
    (lambda x: sum(mt.relu(a * x[0] + b * x[1] + d) for a, b, d in LINES), 2),           # a Python sum
    (lambda x: np.ones(3, dtype=int) @ mt.relu(W @ x + np.array([1, 0, -2])), 2),        # written with @
    (lambda x: 0.1 * mt.relu(0.3 * x[0] - x[1] / 3) - mt.leaky_relu(x[1], 0.2), 2),      # float constants
    (lambda x: mt.max(x) - mt.min(x[0], 2 * x[1], Fraction(1, 3)) + mt.sort(x)[1], 3),  # max-like, order
    (lambda x: mt.clamp(x[0] - x[1], -1, Fraction(1, 2)) + mt.maximum(x[0], 0.25), 2),   # not homogeneous
])
def test_batched_programs(fn, n):
    pts = rational_points(n, 80, seed=n)
    batched = _batched(fn, InputSpec(n), homogeneous(pts))
    assert batched is not None and batched == one_by_one(fn, n, pts)


def test_int64_overflow_switches_to_python_integers():
    big = 2 ** 40
    fn = lambda x: mt.relu(big * x[0] - big * big * x[1]) * 3 + big ** 3 * x[1]   # noqa: E731
    pts = [(Fraction(2 ** 35 + 1, 3), Fraction(-5, 7)), (1, 1), (-(2 ** 30), Fraction(1, 2 ** 33))]
    assert _batched(fn, InputSpec(2), homogeneous(pts)) == one_by_one(fn, 2, pts)


def test_what_a_batch_cannot_do_runs_point_by_point():
    def branchy(x):
        return x[0] - x[1] if x[0] > x[1] else 2 * x[1]
    pts = [(1, 2), (3, -1), (Fraction(1, 2), Fraction(1, 2))]
    assert _batched(branchy, InputSpec(2), homogeneous(pts)) is None                # a comparison
    assert run_points(branchy, 2, pts) == [(4,), (4,), (1,)]
    boustany = ZOO["boustany"][0]                                                   # the paper's max1 loop
    assert _batched(boustany, InputSpec("t"), homogeneous([(1,), (-2,)])) is None
    product = ZOO["product"][0]
    assert _batched(product, InputSpec(2), homogeneous(pts)) is None                # x * relu(y)
    assert run_points(product, 2, pts) == one_by_one(product, 2, pts)


def test_batches_refuse_what_would_choose_a_branch():
    b = ExactBatch(np.array([1, -1]), None, 1, 1)
    for op in (lambda: b > 0, lambda: bool(b), lambda: b == 1, lambda: float(b), lambda: b * b, lambda: 1 / b):
        with pytest.raises(Unbatchable):
            op()


@pytest.mark.parametrize("name", [n for n, p in PRIMITIVES.items() if p.homogeneous])
def test_declared_homogeneous_primitives_are(name):
    prim = PRIMITIVES[name]
    rng = random.Random(name)
    params = {"leaky_relu": (Fraction(1, 7),), "order": (4, 2)}.get(name, (4,) if prim.arity != 1 else ())
    k = prim.n_inputs(params)
    for _ in range(50):
        xs = [Fraction(rng.randint(-5, 5), rng.randint(1, 3)) for _ in range(k)]
        s = Fraction(rng.randint(1, 50), rng.randint(1, 50))
        assert prim.numeric([s * v for v in xs], params) == s * prim.numeric(xs, params)
