"""Candidates for the exact feasibility oracle, measured on the questions mtsym actually asks.

Question: given a stratum (equalities + strict inequalities over the rationals) and an affine g,
which of {g > 0}, {g = 0}, {g < 0} meet the stratum?  Questions are taken from a real
enumeration (each full-dimensional stratum of 16 relu lines in R^2, and of a 6-ary max in R^6,
against new random affine forms).  Candidates, all run here in one process:

* mtsym's double description (``Polyhedron.split``), integer arithmetic, no LP;
* scipy HiGHS: two float LPs (max margin for g > 0 and for g < 0); a float answer would still
  need an exact check (witness verified in rationals, Farkas certificate for empty), not timed;
* pplpy (exact GMP, NNC polyhedra), when installed: build the stratum, add g > 0 / g < 0, is_empty.

Run: python benchmarks/bench_oracle.py
"""
import random
import time
from fractions import Fraction

import numpy as np

import mtsym as mt
from mtsym.exact import int_row

try:
    from scipy.optimize import linprog
except ImportError:  # pragma: no cover
    linprog = None
try:
    import ppl
except ImportError:
    ppl = None


def questions(table, n, rng, per=3):
    out = []
    for s in table.strata:
        rec = s.record
        for _ in range(per):
            g = tuple(rng.randint(-20, 20) for _ in range(n + 1))
            out.append((rec.poly, list(s.constraints), g))
    return out


def by_dd(qs):
    for poly, _, g in qs:
        poly.split(int_row(g))


def by_highs(qs, n):
    for _, cons, g in qs:
        for sign in (1, -1):
            # variables (x, t): maximise t s.t. s*(c0 + c.x) >= t for strict rows, equality rows exact
            A_ub, b_ub, A_eq, b_eq = [], [], [], []
            for f, s in cons + [(g, sign)]:
                row = [float(c) for c in f[1:]]
                if s == 0:
                    A_eq.append(row + [0.0])
                    b_eq.append(-float(f[0]))
                else:
                    A_ub.append([-s * c for c in row] + [1.0])
                    b_ub.append(s * float(f[0]))
            linprog(c=[0.0] * n + [-1.0], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq or None, b_eq=b_eq or None,
                    bounds=[(None, None)] * n + [(None, 1.0)], method="highs")


def by_ppl(qs, n):
    xs = [ppl.Variable(i) for i in range(n)]
    for _, cons, g in qs:
        for sign in (1, -1):
            P = ppl.NNC_Polyhedron(n, "universe")
            for f, s in cons + [(g, sign)]:
                den = 1
                for c in f:
                    if isinstance(c, Fraction):
                        den = den * c.denominator
                e = sum((int(c * den) * x for c, x in zip(f[1:], xs)), ppl.Linear_Expression(int(f[0] * den)))
                P.add_constraint(e == 0 if s == 0 else (e > 0 if s > 0 else e < 0))
            P.is_empty()


def _seconds(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def run(label, table, n, rng):
    qs = questions(table, n, rng)
    dd = _seconds(by_dd, qs)
    cols = [f"{dd / len(qs) * 1e6:8.1f} us"]
    for available, solver in ((linprog is not None, by_highs), (ppl is not None, by_ppl)):
        if not available:
            cols.append("not installed")
            continue
        t = _seconds(solver, qs, n)
        cols.append(f"{t / len(qs) * 1e6:8.1f} us ({t / dd:5.1f}x)")
    print(f"| {label:22s} | {len(qs):5d} | " + " | ".join(cols) + " |")


def main():
    rng = random.Random(0)
    print("| questions from         | count | mtsym DD    | scipy HiGHS (2 LPs)   | pplpy NNC (exact)     |")
    print("|------------------------|-------|-------------|-----------------------|-----------------------|")
    L = [(rng.randint(-50, 50), rng.randint(-50, 50), rng.randint(-50, 50)) for _ in range(16)]
    t16 = mt.derive(lambda x: sum(mt.relu(a * x[0] + b * x[1] + c) for a, b, c in L), 2)
    run("16 relu lines, R^2", t16, 2, rng)
    t6 = mt.derive(lambda x: mt.max(x), 6)
    run("max of 6, R^6", t6, 6, rng)
    W = np.array([[rng.randint(-3, 3) for _ in range(5)] for _ in range(4)])
    t4 = mt.derive(lambda x: mt.relu(x @ W).sum(), 4)
    run("relu layer 4->5, R^4", t4, 4, rng)


if __name__ == "__main__":
    main()
