"""Memory a table holds per stratum, the current code beside an older mtsym (issue 14, item 6).

Each version derives the same table in a fresh subprocess; the resident memory after derive minus
before (the table and everything it keeps alive, after a garbage collection), divided by the
number of strata, is printed with the CPU seconds of derive.  Default workload: a 3-64-1 ReLU net
with integer weights (about 300,000 strata).  The older version is read from git as in
``bench_enumerate.py`` (``--old none`` to skip it).

Run: ``python benchmarks/bench_memory.py [--old 705201a] [--workload "net((3, 64, 1))"]``
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_enumerate import SETUP, old_tree  # noqa: E402  (the same workloads and old checkout)

CHILD = SETUP + r'''
import json, os, resource


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


fn, n = workload(sys.argv[1])
gc.collect()
before = rss()
c = time.process_time()
table = mt.derive(fn, n, max_strata=10**7)
c = time.process_time() - c
gc.collect()
held = rss() - before
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("RESULT", json.dumps({"strata": len(table.strata), "cpu": c, "held": held, "peak": peak}))
'''


def run(tree, expr):
    out = subprocess.run([sys.executable, "-c", CHILD, expr], env=dict(os.environ, PYTHONPATH=tree),
                         capture_output=True, text=True, cwd=tree, timeout=7200)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"{expr} failed in {tree}:\n{out.stderr[-2000:]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="705201a", help="git ref or folder of the older mtsym ('none': skip)")
    ap.add_argument("--workload", default="net((3, 64, 1))")
    args = ap.parse_args(argv)
    print("| version | strata | derive (CPU s) | held after derive | per stratum | peak RSS |")
    print("|---|---|---|---|---|---|")
    trees = [("new", ROOT)]
    old = old_tree(args.old)
    if old is not None:
        trees.append((f"old ({args.old})", old))
    for label, tree in trees:
        r = run(tree, args.workload)
        print(f"| {label} | {r['strata']:,} | {r['cpu']:.1f} | {r['held'] / 2**20:.0f} MiB | "
              f"{r['held'] / r['strata']:,.0f} B | {r['peak'] / 2**20:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
