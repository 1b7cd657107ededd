"""Verification cost next to enumeration cost, on the enumeration benchmark's workloads.

Workloads (those of ``bench_enumerate.py``, imported from it): one k-ary max ``mt.max(x)``
for k = 4..14, ``sum_i relu(a_i . x + b_i)`` in R^2 for m lines in general position,
m = 8..128 (written as a Python sum, and once with ``@``), and ReLU nets with integer weights
(2-8-8-1, 2-16-16-1, 2-32-32-1).  For each, ``derive`` and ``table.verify()`` are timed in the
same process, one after the other, ``--repeat`` times (CPU time; the machine is shared): the
medians of the derive and verify times are printed, and the median of the ratios verify/derive
of each pair (a pair runs under the same load; each verify checks a fresh table, so nothing the
table computes lazily, such as the witnesses, is left from an earlier run).  The script uses
the public API only: run it with an older mtsym on ``PYTHONPATH`` for that version's numbers.

Run: ``PYTHONPATH=. python benchmarks/bench_verify.py [--repeat 3] [--quick] [--only max]``
"""

import argparse
import os
import statistics
import sys
import time

import mtsym as mt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_enumerate import SETUP  # noqa: E402  (the same workloads)

_W = {}
exec(SETUP, _W)
kmax, relu_lines, relu_matmul, net = _W["kmax"], _W["relu_sum"], _W["relu_matmul"], _W["net"]


def timed(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def pairs(fn, n, repeat):
    """``repeat`` pairs (derive, verify) timed one after the other: median times, median ratio."""
    td, tv, ratio = [], [], []
    for _ in range(repeat):
        d, table = timed(lambda: mt.derive(fn, n, max_strata=10 ** 6))
        v, report = timed(table.verify)
        td.append(d)
        tv.append(v)
        ratio.append(v / d)
    return statistics.median(td), statistics.median(tv), statistics.median(ratio), table, report


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--only", default="", help="the workloads whose name holds this text")
    args = ap.parse_args(argv)
    work = [(f"max k={k}", kmax(k)) for k in ((4, 6, 8) if args.quick else (4, 6, 8, 10, 12, 14))]
    work += [(f"relu lines m={m}", relu_lines(m)) for m in ((8, 16) if args.quick else (8, 16, 32, 64, 128))]
    if not args.quick:
        work += [("relu lines m=128 (@)", relu_matmul(128))]
    work += [(f"{'-'.join(map(str, w))} net", net(w)) for w in ([(2, 8, 8, 1)] if args.quick else
                                                              [(2, 8, 8, 1), (2, 16, 16, 1), (2, 32, 32, 1)])]
    print(f"{'workload':<22} {'strata':>7} {'derive s':>9} {'verify s':>9} {'verify/derive':>14}  ok  spurious",
          flush=True)
    for name, (fn, n) in work:
        if args.only and args.only not in name:
            continue
        td, tv, ratio, table, report = pairs(fn, n, args.repeat)
        print(f"{name:<22} {len(table.strata):>7} {td:>9.4f} {tv:>9.4f} {ratio:>14.2f}  "
              f"{'yes' if report.ok else 'NO':<3} {len(report.spurious)}", flush=True)


if __name__ == "__main__":
    main()
