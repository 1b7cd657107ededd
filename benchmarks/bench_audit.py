"""The tie audit at scale: mt.audit against the framework's own per-sample gradients, and on Dask.

Run:  PYTHONPATH=. python benchmarks/bench_audit.py [--quick] [--no-dask]

1. Speed.  scikit-learn's 8x8 digits tiled 100 times (179,700 samples; pixels / 16 plus N(0, 1e-3)
   noise, so rows differ), the 64-32-10 MLP of examples/audit_digits.py (trained there, seed 0), float32.
   Side by side in this process: PyTorch's per-sample gradients ``torch.func.vmap(torch.func.grad(...))``
   of the cross entropy (and the per-sample Jacobians ``vmap(jacrev(net))``), and ``mt.audit(net, X)``,
   tracing included.  The audit's own phases are printed apart.
2. The exact analysis of samples with events, timed apart: the CNN of examples/audit_digits.py on the
   digits (its max-pool windows tie on the blank border), per sample (exact forward, gradients, verdict).
3. Dask.  The same audit (and mt.evaluate on 30,000 samples) in process, on a LocalCluster with 1 worker
   and with 2 workers (one thread each), and through a Client pointed at the address of a scheduler and
   2 workers started here on 127.0.0.1 (stopped at the end).  Cluster start-up is not timed.

Everything runs on one thread per process (BLAS and PyTorch alike): on this shared 2-core machine a
two-thread BLAS call waits for a busy core and takes 16-45 ms instead of 0.2 ms, at random.  The
Dask workers inherit the setting, so two workers use the two cores.
"""

import argparse
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

import mtsym as mt  # noqa: E402

torch.set_num_threads(1)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
import audit_digits as ad  # noqa: E402
from bench_eval import best  # noqa: E402  (the timing helper of the evaluation benchmark)


def timed(fn, repeat=1):
    return best(fn, repeat)


def tiled(X, times, seed=0):
    T = np.tile(X, (times, 1))
    return (T + np.random.default_rng(seed).normal(0, 1e-3, T.shape)).astype(np.float32)


def speed(net, X, y, repeat):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def loss(x, label):
        return torch.nn.functional.cross_entropy(net(x[None]), label[None])

    vg = torch.func.vmap(torch.func.grad(loss))
    vj = torch.func.vmap(torch.func.jacrev(net))
    t_grad, _ = timed(lambda: vg(Xt, yt), repeat)
    t_jac, _ = timed(lambda: vj(Xt), repeat)
    t_audit, r = timed(lambda: mt.audit(net, X, dtype="float32", progress=False), repeat)
    N = X.shape[0]
    print(f"\n1. speed: {N:,} samples, 64-32-10 MLP, float32 (best of {repeat})")
    print(f"   torch.func.vmap(grad(cross entropy))   {t_grad:7.2f} s   1.00x")
    print(f"   torch.func.vmap(jacrev(net))           {t_jac:7.2f} s   {t_jac / t_grad:.2f}x")
    print(f"   mt.audit(net, X), tracing included     {t_audit:7.2f} s   {t_audit / t_grad:.2f}x")
    s = r.meta["seconds"]
    print("   audit phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in s.items()))
    print(f"   events: exact ties {len(r.exact_ties)}, rounding ties {len(r.rounding_ties)}, flips {len(r.flips)}")
    return r


def last_bits(net, X, n=300):
    """How often float32 values agree bit for bit: mtsym's float32 pass, PyTorch batched, PyTorch one
    sample at a time (the first layer's pre-activations of the MLP)."""
    from mtsym.audit.layers import trace_model
    from mtsym.audit.passes import Passes
    t = trace_model(net, 64, mt.Convention("torch"))
    P = Passes(t.graph, mt.Convention("torch"), t.outputs)
    V, _ = P.framework(X[:n], np.float32)
    relus = [v for v in sorted(t.graph.nodes) if t.graph.nodes[v]["op"] == "relu"]
    ours = P.sched.values(V, [t.graph.nodes[v]["inputs"][0] for v in relus]).T
    with torch.no_grad():
        batched = net[0](torch.from_numpy(X[:n])).numpy()
        alone = np.stack([net[0](torch.from_numpy(x)).numpy() for x in X[:n]])
    print(f"\n   float32 first-layer pre-activations of {n} digits, equal bit for bit: mtsym's pass vs PyTorch "
          f"batched {np.mean(ours == batched):.1%}, PyTorch batched vs one sample at a time "
          f"{np.mean(batched == alone):.1%}")


def tied_samples(cnn, X, n):
    f = cnn
    t, r = timed(lambda: mt.audit(f, X[:n], dtype="float32", progress=False))
    k = len(r.samples)
    per = r.meta["seconds_per_event_sample"]
    c = r.counts()
    print(f"\n2. exact analysis of samples with events: the digits CNN on {n} digits")
    print(f"   {k} samples with events ({len(r.exact_ties)} exact ties); verdicts yes {c['yes']}, no {c['no']}, "
          f"undecided {c['undecided']}")
    print(f"   {per * 1000:.1f} ms per sample with an event (exact forward, gradients, verdict); audit {t:.2f} s")
    return r


def dask(net, cnn, X, X0, quick):
    import distributed
    from mtsym.backends.distributed import local_scheduler
    Xe = X[:30_000].astype(np.float64)
    Xc = X0[:200 if quick else 600]
    f = cnn
    rows = []

    def run(label, client):
        # best of two: the first call on a fresh cluster also imports mtsym and builds the schedules there
        ta, ra = timed(lambda: mt.audit(net, X, dtype="float32", client=client, progress=False), 2)
        te, re = timed(lambda: mt.evaluate(net, Xe, client=client, progress=False), 2)
        tc, rc = timed(lambda: mt.audit(f, Xc, dtype="float32", client=client, progress=False), 1)
        rows.append((label, ta, te, tc))
        return ra, re, rc

    ref = run("in process", None)

    def same(got):
        assert got[0].tied == ref[0].tied and np.array_equal(got[1].grad, ref[1].grad)
        assert got[2].verdicts == ref[2].verdicts and got[2].by_node == ref[2].by_node

    for n_workers in (1, 2):
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as c:
            same(run(f"LocalCluster, {n_workers} worker{'s' * (n_workers > 1)}", c))
    if not quick:
        with local_scheduler(workers=2) as address, distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=120)
            same(run(f"Client('{address}'), 2 workers", c))
    print("\n3. Dask (2-core machine; one thread per worker; the same results checked)")
    print(f"   {'where':<42} {'MLP audit ' + format(X.shape[0], ','):>17} {'MLP evaluate 30,000':>19} "
          f"{'CNN audit ' + str(Xc.shape[0]) + ' (all tied)':>24}")
    base = rows[0][1:]
    for label, *ts in rows:
        cells = [f"{t:7.2f} s {b / t:5.2f}x" for t, b in zip(ts, base)]
        print(f"   {label:<42} {cells[0]:>17} {cells[1]:>19} {cells[2]:>24}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples, no scheduler by address")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    X0, y0 = ad.digits()
    t, (net, cnn) = timed(lambda: (ad.train(ad.mlp(), X0, y0), ad.train(ad.CNN(), X0, y0)))
    print(f"trained the MLP and the CNN in {t:.1f} s (seed {ad.SEED})")
    times = 10 if args.quick else 100
    X, y = tiled(X0, times), np.tile(y0, times)
    speed(net, X, y, args.repeat)
    last_bits(net, X0)
    tied_samples(cnn, X0, 100 if args.quick else 300)
    if not args.no_dask:
        dask(net, cnn, X, X0, args.quick)


if __name__ == "__main__":
    main()
