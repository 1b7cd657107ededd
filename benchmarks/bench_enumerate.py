"""Enumeration speed of mt.derive against sympy's Piecewise route, in the same process.

Workloads (issue: core): one k-ary max, k = 4..12; sum c_i relu(a_i . x + b_i) in R^2 for m
lines in general position, m = 8, 16, 32, 64.  Baseline: what a user would otherwise reach
for, ``Max(...).rewrite(Piecewise)`` then ``piecewise_fold`` (it gives pieces, not strata,
and no tie gradients), stopped after a time budget.

Run: python benchmarks/bench_enumerate.py [--quick]
"""
import argparse
import itertools
import random
import signal
import time

import sympy as sp

import mtsym as mt


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


def timed(fn, budget=None):
    if budget:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, budget)
    t = time.perf_counter()
    try:
        out = fn()
    except Timeout:
        return None, None
    finally:
        if budget:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return time.perf_counter() - t, out


def general_lines(m, seed=0):
    rng = random.Random(seed)
    while True:
        L = [(rng.randint(-1000, 1000), rng.randint(-1000, 1000), rng.randint(-1000, 1000)) for _ in range(m)]
        if any(a * d == b * c for (a, b, _), (c, d, _) in itertools.combinations(L, 2)):
            continue
        return L  # three concurrent lines are measure-zero; the strata count below checks


def relu_sum(L):
    return lambda x: sum(mt.relu(a * x[0] + b * x[1] + d) for a, b, d in L)


def sympy_max(k):
    xs = sp.symbols(f"x1:{k + 1}", real=True)
    pw = sp.piecewise_fold(sp.Max(*xs).rewrite(sp.Piecewise))
    return len(pw.args) if isinstance(pw, sp.Piecewise) else 1


def sympy_relu(L):
    x, y = sp.symbols("x y", real=True)
    expr = sum(sp.Max(0, a * x + b * y + d).rewrite(sp.Piecewise) for a, b, d in L)
    pw = sp.piecewise_fold(expr)
    return len(pw.args) if isinstance(pw, sp.Piecewise) else 1


def row(name, strata, t, tb, pieces_b, budget):
    base = f"{tb:8.2f} s ({pieces_b} pieces)" if tb is not None else f"  > {budget:.0f} s (stopped)"
    ratio = f"{tb / t:8.1f}x" if tb is not None else f" > {budget / t:.0f}x"
    print(f"| {name:24s} | {strata:6d} | {t:8.3f} s | {strata / t:10.0f} | {base:28s} | {ratio:9s} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds allowed to the sympy baseline")
    args = ap.parse_args()
    ks = [4, 6, 8] if args.quick else [4, 6, 8, 10, 12]
    ms = [8, 16] if args.quick else [8, 16, 32, 64]
    print("| workload                 | strata |  mtsym     | strata / s "
          "| sympy Piecewise + fold       | sympy/mtsym |")
    print("|--------------------------|--------|------------|------------|------------------------------|-----------|")
    skip = False
    for k in ks:
        t, table = timed(lambda: mt.derive(lambda x: mt.max(x), k))
        assert len(table.strata) == 2 ** k - 1
        tb, pb = (None, None) if skip else timed(lambda: sympy_max(k), args.budget)
        skip = skip or tb is None
        row(f"max of {k}", len(table.strata), t, tb, pb, args.budget)
    skip = False
    for m in ms:
        L = general_lines(m, seed=m)
        t, table = timed(lambda: mt.derive(relu_sum(L), 2))
        tb, pb = (None, None) if skip else timed(lambda: sympy_relu(L), args.budget)
        skip = skip or tb is None
        row(f"{m} relu lines in R^2", len(table.strata), t, tb, pb, args.budget)
        assert len(table.strata) <= 1 + 2 * m * m


if __name__ == "__main__":
    main()
