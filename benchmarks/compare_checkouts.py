"""The same workloads on two checkouts of mtsym, side by side in one run: did a change slow anything?

Each workload is timed in a fresh subprocess per checkout, the two checkouts alternating, and the
medians are compared (a ratio new/old; this machine is shared, so only ratios of runs made side by
side mean anything).  The workloads are those of ``bench_enumerate.py`` (derive) and
``bench_eval.py`` (``compile().grad`` and ``mt.evaluate`` on 10^5 points), through the public API
only, so any two versions can be compared.

Run: python benchmarks/compare_checkouts.py OLD_REVISION [--repeat 5] [--quick]
(the old revision is checked out into a temporary git worktree and removed afterwards).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SETUP = r'''
import itertools, random, time
import numpy as np
import mtsym as mt

def general_lines(m, seed=0):
    rng = random.Random(seed)
    while True:
        L = [(rng.randint(-1000, 1000), rng.randint(-1000, 1000), rng.randint(-1000, 1000)) for _ in range(m)]
        if not any(a * d == b * c for (a, b, _), (c, d, _) in itertools.combinations(L, 2)):
            return L

def mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.integers(-3, 4, size=(b, a)) for a, b in zip(sizes, sizes[1:])]
    bs = [rng.integers(-2, 3, size=b) for b in sizes[1:]]
    def f(x):
        h = x
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = W @ h + b
            if k < len(Ws) - 1:
                h = mt.relu(h)
        return h[0]
    return f

def poolnet(x):
    h = mt.relu(np.array([[1, -1, 0], [0, 1, -1], [1, 1, 1], [-1, 0, 2]]) @ x)
    return sum(mt.maxpool1d(h, 2, stride=1))

def boustany(t):
    X = (1, 2, 3, 4)
    vals = [t * v for v in X]
    res = vals[0]
    for v in vals[1:]:
        if v > res:
            res = v
    return res - mt.max(vals)

def clock(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
'''

#: name -> the statement timed (the setup above is not timed)
WORKLOADS = {
    "derive max k=10": "mt.derive(lambda x: mt.max(x), 10)",
    "derive max k=12": "mt.derive(lambda x: mt.max(x), 12)",
    "derive relu lines m=32": "L = general_lines(32); mt.derive(lambda x: sum(mt.relu(a*x[0] + b*x[1] + d) "
                              "for a, b, d in L), 2)",
    "derive relu lines m=64": "L = general_lines(64); mt.derive(lambda x: sum(mt.relu(a*x[0] + b*x[1] + d) "
                              "for a, b, d in L), 2)",
    "derive 2-8-8-1 MLP": "mt.derive(mlp([2, 8, 8, 1]), 2)",
    "derive Boustany (Python ifs)": "mt.derive(boustany, 't')",
    "compile().grad 2-8-8-1, 1e5 pts": "X = np.random.default_rng(1).normal(size=(100000, 2)); "
                                       "t = mt.derive(mlp([2, 8, 8, 1]), 2); ev = t.compile(); "
                                       "s = time.perf_counter(); ev.grad(X); T = time.perf_counter() - s",
    "compile().grad poolnet, 1e5 pts": "X = np.random.default_rng(1).normal(size=(100000, 3)); "
                                       "t = mt.derive(poolnet, 3); ev = t.compile(); "
                                       "s = time.perf_counter(); ev.grad(X); T = time.perf_counter() - s",
    "evaluate 2-64-64-1, 1e5 pts": "X = np.random.default_rng(1).normal(size=(100000, 2)); "
                                   "f = mlp([2, 64, 64, 1]); mt.evaluate(f, X[:10]); "
                                   "s = time.perf_counter(); mt.evaluate(f, X); T = time.perf_counter() - s",
    "evaluate Boustany, 1e5 pts": "X = np.random.default_rng(1).normal(size=(100000, 1)); "
                                  "s = time.perf_counter(); mt.evaluate(boustany, X, inputs='t'); "
                                  "T = time.perf_counter() - s",
}
QUICK = ["derive max k=10", "derive relu lines m=32", "derive 2-8-8-1 MLP", "derive Boustany (Python ifs)",
         "compile().grad 2-8-8-1, 1e5 pts", "evaluate Boustany, 1e5 pts"]


def run_once(tree, stmt):
    """Seconds the statement takes with mtsym imported from ``tree`` (``T`` if it sets one)."""
    code = SETUP + f"\nT = None\n_s = time.perf_counter()\n{stmt}\n_e = time.perf_counter() - _s\n" \
                   "print(T if T is not None else _e)\n"
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old", help="the revision to compare against (e.g. main~3 or a commit)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", help="workload names (substrings) to run")
    args = ap.parse_args()
    names = QUICK if args.quick else list(WORKLOADS)
    if args.only:
        names = [n for n in WORKLOADS if any(o in n for o in args.only)]
    with tempfile.TemporaryDirectory() as tmp:
        old = os.path.join(tmp, "old")
        subprocess.run(["git", "worktree", "add", "-q", "--detach", old, args.old], cwd=HERE, check=True)
        try:
            print(f"old = {args.old}, new = working tree; medians of {args.repeat} alternating runs, seconds\n")
            print(f"| {'workload':34} | {'old':>8} | {'new':>8} | new/old |")
            print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|---------|")
            for name in names:
                t_old, t_new = [], []
                for _ in range(args.repeat):
                    t_old.append(run_once(old, WORKLOADS[name]))
                    t_new.append(run_once(HERE, WORKLOADS[name]))
                a, b = statistics.median(t_old), statistics.median(t_new)
                print(f"| {name:34} | {a:8.3f} | {b:8.3f} | {b / a:7.2f} |", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", old], cwd=HERE, check=False)


if __name__ == "__main__":
    main()
