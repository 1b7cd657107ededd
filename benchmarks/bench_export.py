"""Cost of the exports against the derivation that made the table, in the same process.

Baseline: ``mt.derive`` (trace + exact enumeration).  Measured: ``to_latex`` (its compact
conditions run an exact exactness test per piece of several strata), ``to_latex`` with the
compact search off (``compact_limit=0``: unions of strata), ``to_json`` and ``from_json``.
Workloads: the paper's max1 loop (n = 4, 6), a 6-way max, sum v_i relu(a_i . x + b_i) in R^2
with m = 8, 16, 24 random integer lines.

Run: python benchmarks/bench_export.py
"""
import random
import time

import mtsym as mt
from mtsym.examples import max1
from mtsym.export.json import from_json, to_json
from mtsym.export.latex import to_latex


def timed(fn, repeat=3):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return out, best


def relu_net(m, seed):
    rng = random.Random(seed)
    rows = [(rng.randint(-3, 3), rng.randint(-3, 3), rng.randint(-3, 3), rng.randint(-2, 2)) for _ in range(m)]

    def f(x):
        return sum(v * mt.relu(a * x[0] + b * x[1] + c) for a, b, c, v in rows)
    return f


def main():
    work = [("max1 loop, n=4", max1, 4), ("max1 loop, n=6", max1, 6), ("max of 6", lambda x: mt.max(x), 6),
            ("relu lines m=8", relu_net(8, 0), 2), ("relu lines m=16", relu_net(16, 1), 2),
            ("relu lines m=24", relu_net(24, 2), 2)]
    print(f"{'workload':18s} {'pieces':>6s} {'strata':>6s} {'derive s':>9s} {'latex s':>8s} {'x':>6s} "
          f"{'latex/union s':>13s} {'to_json s':>9s} {'from_json s':>11s} {'x':>6s}")
    for name, fn, n in work:
        t, d = timed(lambda: mt.derive(fn, n))
        # fresh tables: the compact conditions are cached per table
        fresh = [mt.derive(fn, n) for _ in range(3)]
        _, lat = timed(lambda: to_latex(fresh.pop()))
        fresh = [mt.derive(fn, n) for _ in range(3)]
        _, union = timed(lambda: to_latex(fresh.pop(), compact_limit=0))
        s, tj = timed(lambda: to_json(t))
        _, fj = timed(lambda: from_json(s))
        print(f"{name:18s} {len(t.pieces):6d} {len(t.strata):6d} {d:9.3f} {lat:8.3f} {lat / d:6.1f} "
              f"{union:13.3f} {tj:9.3f} {fj:11.3f} {(tj + fj) / d:6.1f}")


if __name__ == "__main__":
    main()
