"""What the hardening against untrusted input costs, and what it saves, in the same process.

1. ``compile()`` of a chain of relus: one ancestor walk (now) against one ``networkx.ancestors``
   search per switching node (before; put back here by monkeypatching), depth 500 to 4000, and
   the walk alone at 10^4 (the issue measured 101 s there).
2. ``from_json`` with every stratum replayed on the graph (now) against the same read without the
   replay, and against ``mt.derive`` of the same function.
3. The rank behind a stratum's dimension check: modular ``exact_rank`` (now) against fraction
   elimination ``rank`` (before), on k x (k+1) integer rows of d digits.

Run: PYTHONPATH=. python benchmarks/bench_untrusted.py [--quick]
"""
import argparse
import random

import networkx as nx
import numpy as np

import mtsym as mt
from mtsym.examples import max1
import mtsym.backends.numpy as compiled
from mtsym.export import validate
from mtsym.linalg import exact_rank, rank

from bench_export import timed  # best of `repeat` runs, as the export benchmark times


def chain(n):
    def f(x):
        v = x[0]
        for _ in range(n):
            v = mt.relu(v)
        return v
    return f


def _old_needed_nodes(graph, targets):
    out = set()
    for t in targets:
        if t not in out:
            out |= nx.ancestors(graph, t)
            out.add(t)
    return out


def bench_compile(depths, big):
    print("compile() of a chain of n relus, seconds")
    print(f"{'n':>6} {'derive':>8} {'one walk':>9} {'per node':>9} {'x':>6}")
    new = compiled.needed_nodes
    for n in depths:
        table = mt.derive(chain(n), 1)
        _, d = timed(lambda: mt.derive(chain(n), 1), repeat=1)
        _, a = timed(table.compile, repeat=1)
        compiled.needed_nodes = _old_needed_nodes
        try:
            _, b = timed(table.compile, repeat=1)
        finally:
            compiled.needed_nodes = new
        print(f"{n:>6} {d:>8.2f} {a:>9.2f} {b:>9.2f} {b / a:>6.0f}")
    table, d = timed(lambda: mt.derive(chain(big), 1), repeat=1)
    _, a = timed(table.compile, repeat=1)
    print(f"{big:>6} {d:>8.2f} {a:>9.2f} {'(not run)':>9}")


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    W1, W2, w3 = rng.standard_normal((8, 3)), rng.standard_normal((6, 8)), rng.standard_normal(6)

    def f(x):
        h = [mt.relu(v) for v in (W1 @ x)]
        h = [mt.relu(v) for v in (W2 @ np.array(h, dtype=object))]
        return sum(a * b for a, b in zip(w3, h))
    return f


def relu_lines(m, seed=1):
    rng = random.Random(seed)
    lines = [(rng.randint(-5, 5), rng.randint(-5, 5), rng.randint(-5, 5), rng.choice([-1, 1])) for _ in range(m)]
    return lambda x: sum(v * mt.relu(a * x[0] + b * x[1] + c) for a, b, c, v in lines)


def bench_read(workloads):
    print("\nfrom_json, seconds (best of 3): the replay of every stratum on the graph against the same read without it")
    print(f"{'workload':24s} {'strata':>6} {'kB':>6} {'derive':>7} {'no replay':>9} {'replay':>7} {'x':>5}")
    for name, fn, n in workloads:
        table, d = timed(lambda: mt.derive(fn, n), repeat=3)
        text = table.to_json()
        _, a = timed(lambda: mt.PieceTable.from_json(text), repeat=3)
        check = validate.Replay.check
        validate.Replay.check = lambda self, record: None
        try:
            _, b = timed(lambda: mt.PieceTable.from_json(text), repeat=3)
        finally:
            validate.Replay.check = check
        print(f"{name:24s} {len(table.strata):>6} {len(text) // 1000:>6} {d:>7.3f} {b:>9.3f} {a:>7.3f} {a / b:>5.1f}")


def bench_rank(cases):
    print("\nrank of k rows (k + 1 columns, one row dependent) of d-digit integers, seconds")
    print(f"{'k':>4} {'d':>5} {'exact_rank':>10} {'fractions':>10} {'x':>6}")
    rng = random.Random(3)
    for k, d in cases:
        rows = [[rng.randrange(10 ** (d - 1), 10 ** d) for _ in range(k + 1)] for _ in range(k - 1)]
        rows.append([a + b for a, b in zip(rows[0], rows[1])])
        r1, a = timed(lambda: exact_rank(rows), repeat=1)
        r2, b = timed(lambda: rank(rows), repeat=1)
        assert r1 == r2 == k - 1
        print(f"{k:>4} {d:>5} {a:>10.3f} {b:>10.3f} {b / a:>6.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        bench_compile([250, 500], 2000)
        bench_read([("relu lines m=8", relu_lines(8), 2)])
        bench_rank([(5, 100)])
        return
    bench_compile([500, 1000, 2000, 4000], 10_000)
    bench_read([("relu lines m=16", relu_lines(16), 2), ("relu lines m=24", relu_lines(24), 2),
                ("max1 loop, n=6", max1, 6), ("3-8-6-1 MLP (floats)", mlp(), 3)])
    bench_rank([(5, 1000), (10, 1000), (20, 300), (20, 1000)])


if __name__ == "__main__":
    main()
