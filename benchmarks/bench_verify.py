"""Verification cost next to enumeration cost, on the enumeration benchmark's workloads.

Workloads (those of ``bench_enumerate.py``, imported from it): one k-ary max ``mt.max(x)``
for k = 4..8, and ``sum_i relu(a_i . x + b_i)`` in R^2 for m lines in general position,
m = 8, 16, 32.  For each, ``derive`` and ``table.verify()`` are timed
in the same process (CPU time, best of ``--repeat`` runs; the machine is shared) and the ratio verify/derive printed.

Run: ``PYTHONPATH=. python benchmarks/bench_verify.py [--repeat 3] [--quick]``
"""

import argparse
import os
import sys
import time

import mtsym as mt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_enumerate import SETUP  # noqa: E402  (the same workloads)

_W = {}
exec(SETUP, _W)
kmax, relu_lines = _W["kmax"], _W["relu_sum"]


def oracle_floor(table, fn, n):
    """The program runs alone: dim + 1 exact calls per stratum (what checks 1, 2, 4 cannot avoid)."""
    for s in table.strata:
        w = s.witness
        for _ in range(s.dim + 1):
            mt.call_exact(fn, n, w)


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args(argv)
    work = [(f"max k={k}", kmax(k)) for k in (range(4, 7) if args.quick else range(4, 9))]
    work += [(f"relu lines m={m}", relu_lines(m)) for m in ((8,) if args.quick else (8, 16, 32))]
    print(f"{'workload':<18} {'strata':>7} {'derive s':>9} {'verify s':>9} {'verify/derive':>14} "
          f"{'oracle s':>9} {'oracle/derive':>14}  ok  spurious")
    for name, (fn, n) in work:
        td, table = best(lambda: mt.derive(fn, n), args.repeat)
        tv, report = best(table.verify, args.repeat)
        to, _ = best(lambda: oracle_floor(table, fn, n), args.repeat)
        print(f"{name:<18} {len(table.strata):>7} {td:>9.4f} {tv:>9.4f} {tv / td:>14.2f} "
              f"{to:>9.4f} {to / td:>14.2f}  {'yes' if report.ok else 'NO':<3} {len(report.spurious)}")


if __name__ == "__main__":
    main()
