"""Batched evaluation: table.compile() and mt.evaluate against PyTorch, JAX and plain numpy, same process.

Run:  PYTHONPATH=. python benchmarks/bench_eval.py [--n 1000000] [--quick] [--threads 1]

For each function, N points in float64:
  * mtsym ``compile().grad`` (the piece table's associated gradient, stratum by stratum);
  * mtsym ``evaluate(...).grad`` (forward + reverse graph sweep, no enumeration);
  * PyTorch CPU autograd: one batched forward + backward;
  * ``jax.jit(jax.vmap(jax.grad(f)))`` (float64; its compile time is the first call, reported apart,
    as are mtsym's derive and compile);
  * a numpy forward pass of the same function alone (the floor: no piece is known without it).
``--threads 1`` runs everything on one thread (BLAS, torch, XLA); run it in a fresh process.
Then mt.evaluate on a 784-256-256-10 MLP with max pooling against torch.func per-sample
Jacobians, the three ways of finding a point's piece (sympy lambdify of the piece conditions,
generated straight-line numpy code, the staged graph sweep), and peak memory with and without
chunking.  Times are the best of ``--repeat`` runs.
"""

import argparse
import os
import sys
import time
import tracemalloc

if "--threads" in sys.argv:  # before numpy, torch and jax load their thread pools
    _t = sys.argv[sys.argv.index("--threads") + 1]
    for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_k] = _t
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={_t}"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import mtsym as mt  # noqa: E402
from mtsym.backends.sweep import needed_nodes  # noqa: E402

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(max(1, torch.get_num_threads()))


def best(fn, repeat):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


# ----------------------------------------------------------------------------- the functions
X4 = (1, 2, 3, 4)


def boustany():
    from mtsym.examples import boustany as f
    a = np.array(X4, dtype=float)

    def np_forward(X):
        T = X[:, :1] * a
        res = T[:, 0]
        for i in range(1, 4):
            res = np.where(T[:, i] > res, T[:, i], res)
        return res - T.max(1)

    def torch_fb(X):
        xs = X[:, :1] * torch.tensor(a)
        res = xs[:, 0]
        for i in range(1, 4):
            res = torch.where(xs[:, i] > res, xs[:, i], res)
        return res - torch.amax(xs, dim=1)

    def jax_f(t):
        xs = t * jnp.array(a)
        res = xs[0]
        for i in range(1, 4):
            res = jnp.where(xs[i] > res, xs[i], res)
        return res - jnp.max(xs)
    return "Boustany f(t) = max1(t*(1,2,3,4)) - max(t*(1,2,3,4))", f, "t", np_forward, torch_fb, jax_f


def max_of(k):
    def np_forward(X):
        return X.max(1)

    def torch_fb(X):
        return torch.amax(X, dim=1)
    return f"max of {k} (torch.amax, ties 1/k)", (lambda x: mt.max(x)), k, np_forward, torch_fb, jnp.max


def mlp(h, seed=0):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.standard_normal((h, 2)), rng.standard_normal(h) * 0.5
    W2, b2 = rng.standard_normal((h, h)) / np.sqrt(h), rng.standard_normal(h) * 0.5
    w3 = rng.standard_normal(h)
    f = lambda x: w3 @ mt.relu(W2 @ mt.relu(W1 @ x + b1) + b2)  # noqa: E731

    def np_forward(X):
        return np.maximum(np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, 0) @ w3
    T = [torch.tensor(v) for v in (W1, b1, W2, b2, w3)]

    def torch_fb(X):
        return F.relu(F.relu(X @ T[0].T + T[1]) @ T[2].T + T[3]) @ T[4]
    J = [jnp.array(v) for v in (W1, b1, W2, b2, w3)]

    def jax_f(x):
        return J[4] @ jax.nn.relu(J[2] @ jax.nn.relu(J[0] @ x + J[1]) + J[3])
    return f"2-{h}-{h}-1 ReLU MLP", f, 2, np_forward, torch_fb, jax_f


def convnet(L=8, seed=0):
    rng = np.random.default_rng(seed)
    K, bk = rng.standard_normal(3), float(rng.standard_normal() * 0.3)
    v = rng.standard_normal((L - 2) // 2)

    def f(x):
        h = mt.relu([K @ x[i:i + 3] + bk for i in range(L - 2)])
        return v @ mt.maxpool1d(h, 2, stride=2)

    def np_forward(X):
        H = np.maximum(np.lib.stride_tricks.sliding_window_view(X, 3, axis=1) @ K + bk, 0)
        return H.reshape(len(X), -1, 2).max(2) @ v
    Kt, vt = torch.tensor(K)[None, None, :], torch.tensor(v)

    def torch_fb(X):
        H = F.relu(F.conv1d(X[:, None, :], Kt) + bk)
        return F.max_pool1d(H, 2, stride=2)[:, 0, :] @ vt
    Kj, vj = jnp.array(K), jnp.array(v)

    def jax_f(x):
        h = jax.nn.relu(jnp.stack([Kj @ x[i:i + 3] for i in range(L - 2)]) + bk)
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (2,), (2,), "VALID") @ vj
    return f"1-D conv (k=3, length {L}) + relu + maxpool1d(2)", f, L, np_forward, torch_fb, jax_f


def torch_grad(tfn, X):
    Xt = torch.from_numpy(X).requires_grad_(True)
    tfn(Xt).sum().backward()
    return Xt.grad.numpy()


# ----------------------------------------------------------------------------- sections
def compare(spec, N, repeat, compile_it=True, rows=None):
    name, f, inputs, np_forward, torch_fb, jax_f = spec
    n = inputs if isinstance(inputs, int) else 1
    X = np.random.default_rng(1).standard_normal((N, n)) * 2
    t_np, _ = best(lambda: np_forward(X), repeat)
    t_torch, g_torch = best(lambda: torch_grad(torch_fb, X), repeat)
    t_eval, r = best(lambda: mt.evaluate(f, X, inputs=inputs), repeat)
    assert np.allclose(r.grad, g_torch, rtol=1e-9, atol=1e-12), "evaluate differs from torch"
    jg = jax.jit(jax.vmap(jax.grad(jax_f if n > 1 else lambda t: jax_f(t))))
    Xj = jnp.asarray(X if n > 1 else X[:, 0])
    t0 = time.perf_counter()
    jg(Xj).block_until_ready()
    t_jax_first = time.perf_counter() - t0
    t_jax, g_jax = best(lambda: jg(Xj).block_until_ready(), repeat)
    assert np.allclose(np.asarray(g_jax).reshape(g_torch.shape), g_torch, rtol=1e-9, atol=1e-12), "jax differs"
    line = {"function": name, "N": N, "numpy forward": t_np, "torch fwd+bwd": t_torch, "jax jit(vmap(grad))": t_jax,
            "jax compile": max(0.0, t_jax_first - t_jax), "evaluate": t_eval}
    if compile_it:
        t0 = time.perf_counter()
        table = mt.derive(f, inputs)
        line["derive"] = time.perf_counter() - t0
        line["strata"] = len(table.strata)
        t0 = time.perf_counter()
        ev = table.compile()
        ev.grad(X[:1000])  # learns the keys of the common strata once
        line["compile"] = time.perf_counter() - t0
        t_comp, g = best(lambda: ev.grad(X), repeat)
        assert np.allclose(g, g_torch, rtol=1e-9, atol=1e-12), "compile differs from torch"
        line["compile().grad"] = t_comp
    rows.append(line)
    fmt = {k: (f"{v:.3f}s" if isinstance(v, float) else v) for k, v in line.items()}
    print("  ".join(f"{k}={v}" for k, v in fmt.items()), flush=True)
    if compile_it:
        print(f"    compile().grad: torch/compile = {t_torch / line['compile().grad']:.2f}x, jax/compile = "
              f"{t_jax / line['compile().grad']:.2f}x (targets >= 1)")
    print(f"    evaluate: torch/evaluate = {t_torch / t_eval:.2f}x, jax/evaluate = {t_jax / t_eval:.2f}x, "
          f"evaluate/numpy-forward = {t_eval / t_np:.2f}x", flush=True)


def _ratio(a, b):
    return "—" if b is None else f"{a / b:.2f}x"


def table_rows(rows):
    """The results as markdown rows (times in seconds; ratios > 1: mtsym faster)."""
    print("\n| function (N = %d) | strata | numpy fwd | torch fwd+bwd | jax jit(vmap(grad)) (compile) | "
          "`compile().grad` (derive + compile) | `evaluate` | torch / compile | jax / compile | torch / evaluate | "
          "jax / evaluate |" % rows[0]["N"])
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        comp = r.get("compile().grad")
        c = "—" if comp is None else f"{comp:.3f} ({r['derive']:.2f} + {r['compile']:.2f})"
        print(f"| {r['function']} | {r.get('strata', '—')} | {r['numpy forward']:.3f} | {r['torch fwd+bwd']:.3f} | "
              f"{r['jax jit(vmap(grad))']:.3f} ({r['jax compile']:.2f}) | {c} | {r['evaluate']:.3f} | "
              f"{_ratio(r['torch fwd+bwd'], comp)} | {_ratio(r['jax jit(vmap(grad))'], comp)} | "
              f"{_ratio(r['torch fwd+bwd'], r['evaluate'])} | {_ratio(r['jax jit(vmap(grad))'], r['evaluate'])} |")


def big_mlp(N, repeat):
    """784-256-256-10 with max pooling over pairs of the first hidden layer."""
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((256, 784)) / 28, rng.standard_normal(256) * 0.1
    W2, b2 = rng.standard_normal((256, 128)) / np.sqrt(128), rng.standard_normal(256) * 0.1
    W3, b3 = rng.standard_normal((10, 256)) / 16, rng.standard_normal(10) * 0.1

    def f(x):
        h = mt.maxpool1d(mt.relu(W1 @ x + b1), 2, stride=2)
        return W3 @ mt.relu(W2 @ h + b2) + b3
    T = [torch.tensor(v) for v in (W1, b1, W2, b2, W3, b3)]

    def tf(x):
        h = F.max_pool1d(F.relu(T[0] @ x + T[1])[None, None], 2, stride=2)[0, 0]
        return T[4] @ F.relu(T[2] @ h + T[3]) + T[5]
    X = np.abs(rng.standard_normal((N, 784)))
    t0 = time.perf_counter()
    graph = mt.evaluate(f, X[:1]).graph  # graph-only trace (mt.trace would enumerate every path)
    t_trace = time.perf_counter() - t0
    t_eval, r = best(lambda: mt.evaluate(graph, X), repeat)
    from torch.func import jacrev, vmap
    t_torch, J = best(lambda: vmap(jacrev(tf))(torch.from_numpy(X)).numpy(), repeat)
    assert np.allclose(r.grad, J, rtol=1e-9, atol=1e-12)
    ties = float(np.mean(np.diff(np.maximum(X @ W1.T + b1, 0).reshape(N, 128, 2), axis=2) == 0))
    print(f"784-256-256-10 + maxpool: N={N} trace={t_trace:.2f}s ({graph.number_of_nodes()} nodes) "
          f"evaluate={t_eval:.3f}s torch jacrev+vmap={t_torch:.3f}s torch/evaluate="
          f"{t_torch / t_eval:.2f}x; pooling windows tied: {ties:.1%}", flush=True)
    return dict(N=N, trace=t_trace, evaluate=t_eval, torch=t_torch, ties=ties, nodes=graph.number_of_nodes())


def piece_finding(spec, N, repeat):
    """Three ways to find each point's piece: lambdify of conditions, generated code, graph sweep."""
    name, f, inputs = spec[:3]
    table = mt.derive(f, inputs)
    n = table.n
    X = np.random.default_rng(2).standard_normal((N, n)) * 2
    syms = table.symbols
    pw = sp.Piecewise(*[(s.piece, s.condition) for s in table.strata], (-1, True))
    lam = sp.lambdify(syms, pw, "numpy")
    t_lam, p_lam = best(lambda: lam(*X.T), repeat)
    gen = generated_locator(table)
    t_gen, p_gen = best(lambda: gen(X), repeat)
    ev = table.compile()
    ev.piece(X[:1000])
    t_sweep, p_sweep = best(lambda: ev.piece(X), repeat)
    agree = float(np.mean(np.asarray(p_lam) == p_sweep)), float(np.mean(p_gen == p_sweep))
    print(f"piece of {N} points, {name} ({len(table.strata)} strata): lambdify={t_lam:.3f}s "
          f"generated={t_gen:.3f}s sweep={t_sweep:.3f}s (agreement {agree[0]:.4f}, {agree[1]:.4f})", flush=True)
    return dict(name=name, strata=len(table.strata), N=N, lambdify=t_lam, generated=t_gen, sweep=t_sweep)


def generated_locator(table):
    """Straight-line numpy code, one statement per node, then the compiled table's key lookup."""
    ev = table.compile()
    sched = ev.sched
    lines = ["def run(X, C):"]
    graph = table.graph
    order = sorted(needed_nodes(graph, ev._switch))
    for v in order:
        d = graph.nodes[v]
        ins = [f"v{u}" for u in d["inputs"]]
        op = d["op"]
        if op == "input":
            lines.append(f"    v{v} = X[:, {d['params'][0]}]")
        elif op == "const":
            lines.append(f"    v{v} = {float(d['params'][0])!r}")
        elif op == "affine":
            terms = " + ".join(f"{float(c)!r} * {u}" for c, u in zip(d["params"][0], ins))
            lines.append(f"    v{v} = {terms} + {float(d['params'][1])!r}")
        elif op == "relu":
            lines.append(f"    v{v} = np.maximum({ins[0]}, 0.0)")
        elif op == "branch":
            pass
        else:  # max-like: value only; cases below
            lines.append(f"    v{v} = np.maximum.reduce([{', '.join(ins)}])")
        if v in sched.code_row:
            if op in ("relu", "branch"):
                d0 = ins[0] if op == "relu" else f"({ins[0]} - {ins[1]})"
                lines.append(f"    C[{sched.code_row[v]}] = np.sign({d0})")
            else:
                lines.append(f"    M = np.stack([{', '.join(ins)}]); T = M == M.max(0)")
                lines.append(f"    c = T.argmax(0); c[T.sum(0) > 1] = -1; C[{sched.code_row[v]}] = c")
    ns = {"np": np}
    exec(compile("\n".join(lines), "<generated>", "exec"), ns)
    run = ns["run"]

    def locate(X):
        C = np.zeros((sched.n_codes, len(X)), dtype=np.int32)
        run(X, C)
        return ev._piece_of[ev._strata(C, X)]
    return locate


def memory(spec, N):
    name, f, inputs = spec[:3]
    table = mt.derive(f, inputs)
    X = np.random.default_rng(3).standard_normal((N, table.n))
    out = {}
    for label, chunk in (("default chunks", None), ("one chunk", N)):
        ev = table.compile(chunk_size=chunk)
        ev.grad(X[:1000])
        tracemalloc.start()
        g = ev.grad(X)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[label] = (peak - g.nbytes, ev.chunk_size)
        tracemalloc.start()
        r = mt.evaluate(f, X, inputs=inputs, chunk_size=chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[label + " (evaluate)"] = (peak - r.grad.nbytes - r.value.nbytes, chunk)
    for k, (b, c) in out.items():
        print(f"peak working memory beyond the result, {name}, N={N}, {k} (chunk {c}): {b / 2**20:.1f} MiB")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10 ** 6)
    ap.add_argument("--big-n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="run on this many threads (set before import)")
    ap.add_argument("--quick", action="store_true", help="small N, one repeat")
    ap.add_argument("--only-compare", action="store_true", help="the comparison table alone")
    a = ap.parse_args()
    if a.quick:
        a.n, a.big_n, a.repeat = 20000, 200, 1
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), jax "
          f"{jax.__version__}, N={a.n}, threads={'default' if a.threads is None else a.threads}")
    rows = []
    compare(max_of(8), a.n, a.repeat, rows=rows)
    compare(mlp(8), a.n, a.repeat, rows=rows)
    compare(mlp(64), a.n, a.repeat, compile_it=False, rows=rows)
    compare(convnet(), a.n, a.repeat, rows=rows)
    compare(boustany(), a.n, a.repeat, rows=rows)
    table_rows(rows)
    if a.only_compare:
        return
    big_mlp(a.big_n, a.repeat)
    for spec in (boustany(), mlp(4)):  # lambdify of larger tables takes minutes to build
        piece_finding(spec, max(1000, a.n // 10), a.repeat)
    memory(mlp(8), a.n)


if __name__ == "__main__":
    main()
