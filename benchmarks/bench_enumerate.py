"""Enumeration speed of mt.derive, the current code beside an older mtsym, run alternately.

Workloads (issue 14): one k-ary max ``mt.max(x)``; ``sum_i relu(a_i . x + b_i)`` in R^2 for m lines
in general position (written as a Python sum, and once with ``@``); a 2-32-32-1 ReLU net with
integer weights.  Each run is one ``mt.derive`` in a fresh subprocess (the import is not timed),
the two versions alternate, and the median of ``--repeat`` runs is printed with the ratio, so
load on a shared machine moves both columns alike.  Times are CPU seconds of the child (on a
loaded machine, wall-clock time also counts the other processes' turns); the last column is
the new version's median wall-clock time.

The older version is read from git (``git archive REF mtsym``) into a temporary folder; pass
``--old PATH`` for a folder that holds an ``mtsym`` package instead, or ``--old none`` to time
the current code alone.

Run: ``python benchmarks/bench_enumerate.py [--repeat 3] [--quick] [--old 705201a]``
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: the workloads, as code run in the child process (``derive`` is timed)
SETUP = r'''
import itertools, random, sys, time, gc
import numpy as np
import mtsym as mt


def general_lines(m, seed=0):
    rng = random.Random(seed)
    while True:
        L = [(rng.randint(-1000, 1000), rng.randint(-1000, 1000), rng.randint(-1000, 1000)) for _ in range(m)]
        if any(a * d == b * c for (a, b, _), (c, d, _) in itertools.combinations(L, 2)):
            continue
        return L


def relu_sum(m):
    L = general_lines(m, seed=m)
    return (lambda x: sum(mt.relu(a * x[0] + b * x[1] + d) for a, b, d in L)), 2


def relu_matmul(m):
    L = np.array(general_lines(m, seed=m))
    A, b = L[:, :2], L[:, 2]
    return (lambda x: np.ones(m, dtype=int) @ mt.relu(A @ x + b)), 2


def kmax(k):
    return (lambda x: mt.max(x)), k


def net(widths, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.integers(-5, 6, (b, a)) for a, b in zip(widths, widths[1:])]
    bs = [rng.integers(-5, 6, b) for b in widths[1:]]

    def f(x):
        h = x
        for W, c in zip(Ws[:-1], bs[:-1]):
            h = mt.relu(W @ h + c)
        return (Ws[-1] @ h + bs[-1])[0]
    return f, widths[0]


def workload(spec):
    """``"kmax(12)"`` -> the workload: a name from this file and literal arguments (never evaluated as code)."""
    import ast, re
    m = re.fullmatch(r"(kmax|relu_sum|relu_matmul|net)\((.*)\)", spec)
    if m is None:
        raise SystemExit(f"unknown workload {spec!r}")
    args = ast.literal_eval("(" + m.group(2) + ",)")
    return {"kmax": kmax, "relu_sum": relu_sum, "relu_matmul": relu_matmul, "net": net}[m.group(1)](*args)
'''

CHILD = SETUP + r'''
fn, n = workload(sys.argv[1])
w, c = time.perf_counter(), time.process_time()
table = mt.derive(fn, n, max_strata=10**7)
w, c = time.perf_counter() - w, time.process_time() - c
print("RESULT", len(table.strata), c, w)
'''

WORKLOADS = [
    ("max of 12", "kmax(12)"),
    ("max of 14", "kmax(14)"),
    ("16 relu lines (sum)", "relu_sum(16)"),
    ("32 relu lines (sum)", "relu_sum(32)"),
    ("64 relu lines (sum)", "relu_sum(64)"),
    ("128 relu lines (sum)", "relu_sum(128)"),
    ("128 relu lines (@)", "relu_matmul(128)"),
    ("2-32-32-1 net", "net((2, 32, 32, 1))"),
]
QUICK = [w for w in WORKLOADS if w[1] in ("kmax(12)", "relu_sum(16)", "relu_sum(64)", "net((2, 32, 32, 1))")]


def old_tree(ref):
    """A folder holding the ``mtsym`` package of git ``ref`` (or a given folder)."""
    if ref.lower() == "none":
        return None
    if os.path.isdir(ref):
        return os.path.abspath(ref)
    tmp = tempfile.mkdtemp(prefix="mtsym-old-")
    data = subprocess.run(["git", "-C", ROOT, "archive", "--format=tar", ref, "mtsym"], check=True,
                          capture_output=True).stdout
    path = os.path.join(tmp, "src.tar")
    with open(path, "wb") as f:
        f.write(data)
    with tarfile.open(path) as tar:
        tar.extractall(tmp, filter="data")
    return tmp


def run(tree, expr, timeout):
    env = dict(os.environ, PYTHONPATH=tree)
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, expr], env=env, capture_output=True, text=True,
                             timeout=timeout, cwd=tree)
    except subprocess.TimeoutExpired:
        return None, (None, None)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, strata, cpu, wall = line.split()
            return int(strata), (float(cpu), float(wall))
    raise RuntimeError(f"{expr} failed in {tree}:\n{out.stderr[-2000:]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="four small workloads")
    ap.add_argument("--old", default="705201a", help="git ref or folder of the older mtsym ('none': skip)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds allowed to one run")
    ap.add_argument("--json", help="also write the medians to this file")
    ap.add_argument("--only", nargs="*", help="the workloads whose name contains one of these words")
    args = ap.parse_args(argv)
    old = old_tree(args.old)
    work = QUICK if args.quick else WORKLOADS
    if args.only:
        work = [w for w in work if any(word in w[0] for word in args.only)]
    print("| workload | strata | old (CPU s) | new (CPU s) | speed-up | new strata/s | new us/stratum | new wall s |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for name, expr in work:
        t_new, w_new, t_old, strata = [], [], [], None
        for _ in range(args.repeat):
            s, (t, w) = run(ROOT, expr, args.timeout)
            strata = s
            t_new.append(t)
            w_new.append(w)
            if old is not None:
                s_old, t = run(old, expr, args.timeout)
                if s_old is not None and s_old != s:
                    raise RuntimeError(f"{name}: {s_old} strata before, {s} now")
                t_old.append(t[0])
        tn, wn = statistics.median(t_new), statistics.median(w_new)
        to = None if not t_old or None in t_old else statistics.median(t_old)
        results[name] = {"strata": strata, "new": tn, "old": to, "new_wall": wn}
        old_cell = "-" if old is None else (f"> {args.timeout:.0f}" if to is None else f"{to:.3f}")
        ratio = "-" if to is None else f"{to / tn:.1f}x"
        print(f"| {name} | {strata:,} | {old_cell} | {tn:.3f} | {ratio} | {strata / tn:,.0f} | "
              f"{1e6 * tn / strata:.0f} | {wn:.3f} |", flush=True)
    if "16 relu lines (sum)" in results and "128 relu lines (sum)" in results:
        a, b = results["16 relu lines (sum)"], results["128 relu lines (sum)"]
        print(f"\ntime per stratum, 128 lines / 16 lines: new {(b['new'] / b['strata']) / (a['new'] / a['strata']):.2f}"
              + ("" if a["old"] is None or b["old"] is None else
                 f", old {(b['old'] / b['strata']) / (a['old'] / a['strata']):.2f}"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
