"""Parallel enumeration: 2 local worker processes against 1, a dask LocalCluster, and a table of about
a million strata streamed to disk on dask with bounded memory.

Every run is one ``mt.derive`` in a fresh subprocess; serial and parallel runs alternate and the
medians of ``--repeat`` runs are printed with their ratio (wall-clock seconds: parallel work is
about elapsed time), then the fastest run of each and their ratio (a slower run is the machine's
doing, never the code's: on this shared virtual machine even a loop of integer additions takes up to
1.65x its own time from one run to the next), and the machine's load average after them. What the machine can give two
processes at that moment is measured too: two serial runs started together ("2 serial at once"); ``2
x serial / that`` is the speed-up two perfectly independent processes got (2.0 on two free cores),
the ceiling for ``workers=2`` under the same load. The CPU seconds of the serial run, and of the
2-worker run (coordinating process + workers), are printed too: on a machine whose cores other work
is using, the wall-clock ratio says how much of them it got, the CPU ratio what parallel work costs;
"on 2 free cores" estimates the wall time there: (coordinator + workers) / 2 CPU seconds (three
processes on two cores). Each parallel table is checked against the serial one (same strata, same
order). ``--million`` adds the streamed run: 707 relu lines in R^2 (about a million strata) written
to a file on a 2-worker ``LocalCluster``; the peak resident memory of the coordinating process and
of each worker is printed beside the strata count.

After the table, one line per workload puts side by side what a quiet machine shows at once:
serial and ``workers=2`` seconds, their ratio, and the ceiling measured at that moment (the pool's
start is inside the ``workers=2`` time). The defaults (two workloads, ``--repeat 2``) take about
a minute and a half on two free cores.

Run: ``python benchmarks/bench_parallel.py [--repeat 2] [--million] [--no-dask]``
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_enumerate import SETUP  # noqa: E402  (the same workloads)

CHILD = SETUP + r'''
import hashlib, json, resource
mode, expr = sys.argv[1], sys.argv[2]
fn, n = workload(expr)
kw = {}
client = cluster = None
if mode == "workers":
    kw["workers"] = 2
elif mode in ("dask", "million"):
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    kw["client"] = client
if mode == "million":
    kw["out"] = sys.argv[3]
t, c = time.perf_counter(), time.process_time()
table = mt.derive(fn, n, max_strata=10**7, **kw)
t, c = time.perf_counter() - t, time.process_time() - c
import multiprocessing
while mode == "workers" and multiprocessing.active_children():   # derive does not wait for its workers
    time.sleep(0.005)         # to exit: reap them after the timing, so that their CPU is counted below
ch = resource.getrusage(resource.RUSAGE_CHILDREN)   # the local workers, once reaped
h = hashlib.sha256()
if mode != "million":
    for s in table.strata:
        h.update(repr((s.path, s.constraints)).encode())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers_peak = []
if client is not None:
    workers_peak = sorted(client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024).values())
    client.close()
    cluster.close()
print("RESULT", json.dumps({"strata": len(table.strata), "seconds": t, "cpu": c,
                            "children_cpu": ch.ru_utime + ch.ru_stime, "digest": h.hexdigest(), "peak_mib": peak,
                            "workers_peak_mib": workers_peak}))
'''


def run(mode, expr, *extra, timeout=3600):
    out = subprocess.run([sys.executable, "-c", CHILD, mode, expr, *extra], env=dict(os.environ, PYTHONPATH=ROOT),
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            return json.loads(line[len("RESULT"):])
    raise RuntimeError(f"{mode} {expr} failed:\n{out.stderr[-3000:]}")


def run_pair(expr, timeout=3600):
    """Two serial runs started together: the longer one's seconds."""
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, "serial", expr], env=dict(os.environ, PYTHONPATH=ROOT),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)]
    secs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        line = [ln for ln in out.splitlines() if ln.startswith("RESULT")]
        if not line:
            raise RuntimeError(f"serial {expr} failed:\n{err[-3000:]}")
        secs.append(json.loads(line[0][len("RESULT"):])["seconds"])
    return max(secs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true", help="skip the dask LocalCluster run")
    ap.add_argument("--million", action="store_true", help="also stream 707 lines (999,699 strata) on dask")
    ap.add_argument("--workloads", nargs="*", default=["relu_sum(128)", "kmax(14)"])
    args = ap.parse_args(argv)
    start = time.perf_counter()
    summary = []
    print("| workload | strata | 1 process (s) | 2 workers (s) | speed-up | best of each (s) | "
          "2 serial at once (s) (ceiling) | dask LocalCluster, 2 workers (s) | "
          "CPU s: serial / coordinator + workers | on 2 free cores (s) | load average (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for expr in args.workloads:
        one, two, cpu1, cpu2, pair = [], [], [], [], []
        for _ in range(args.repeat):
            a, b = run("serial", expr), run("workers", expr)
            pair.append(run_pair(expr))
            if a["digest"] != b["digest"]:
                raise RuntimeError(f"{expr}: the 2-worker table differs from the serial one")
            one.append(a["seconds"])
            two.append(b["seconds"])
            cpu1.append(a["cpu"])
            cpu2.append((b["cpu"], b["children_cpu"]))
        d = None if args.no_dask else run("dask", expr)
        if d is not None and d["digest"] != a["digest"]:
            raise RuntimeError(f"{expr}: the dask table differs from the serial one")
        t1, t2 = statistics.median(one), statistics.median(two)
        c1 = statistics.median(cpu1)
        cc, cw = statistics.median(x[0] for x in cpu2), statistics.median(x[1] for x in cpu2)
        free = (cc + cw) / 2
        load = os.getloadavg()[0]
        tp = statistics.median(pair)
        b1, b2 = min(one), min(two)
        print(f"| {expr} | {a['strata']:,} | {t1:.2f} | {t2:.2f} | {t1 / t2:.2f}x | {b1:.2f} / {b2:.2f} "
              f"({b1 / b2:.2f}x) | {tp:.2f} ({2 * t1 / tp:.2f}x) | "
              f"{'-' if d is None else format(d['seconds'], '.2f')} | {c1:.2f} / {cc:.2f} + {cw:.2f} | "
              f"{free:.2f} ({c1 / free:.2f}x) | {load:.1f} |", flush=True)
        summary.append(f"{expr}: serial {t1:.2f} s, workers=2 {t2:.2f} s: {t1 / t2:.2f}x (best of each "
                       f"{b1 / b2:.2f}x; ceiling now "
                       f"{2 * t1 / tp:.2f}x, target 1.7x); CPU {(cc + cw) / c1:.2f}x serial's "
                       f"({c1:.2f} s -> {cc:.2f} + {cw:.2f} s), {c1 / free:.2f}x estimated on 2 free cores; "
                       f"load {load:.1f}")
    print()
    for line in summary:
        print(line)
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.million:
        path = os.path.join(tempfile.mkdtemp(), "lines707.jsonl")
        r = run("million", "relu_sum(707)", path)
        size = os.path.getsize(path)
        print(f"\n707 relu lines in R^2 streamed on a 2-worker LocalCluster: {r['strata']:,} strata in "
              f"{r['seconds']:.0f} s; file {size / 2**20:.0f} MiB; peak RSS: coordinator {r['peak_mib']:.0f} MiB, "
              f"workers {', '.join(f'{m:.0f}' for m in r['workers_peak_mib'])} MiB")
        os.remove(path)


if __name__ == "__main__":
    main()
