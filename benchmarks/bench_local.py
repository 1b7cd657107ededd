"""Local analysis at real size: stars, lexicographic derivatives, Clarke verdicts, 2-D slices.

Run:  PYTHONPATH=. python benchmarks/bench_local.py [--images 20] [--grid 1000] [--quick]
      PYTHONPATH=. python benchmarks/bench_local.py --slice-only --repeat 5     (the 2-D slice alone)

Data: scikit-learn's bundled 8x8 digits (no download).  Models are PyTorch, trained in this
script for a few seconds with a fixed seed (float32):

* ``mlp``: a 784-256-256-10 ReLU MLP on the digits upsampled to 28x28 (each pixel repeated 3x3,
  2 pixels of zero border, as MNIST's framing);
* ``maxpool``: the same images through MaxPool2d(2) (14x14), then a 196-128-10 ReLU MLP;
* ``mlp0``: ``mlp`` with every bias set to zero, at the all-zero image (every neuron ties).

* ``lenet``: LeNet-5 (LeCun et al. 1998, as in the PyTorch tutorials: two 5x5 convolutions, each
  followed by ReLU and 2x2 max pooling, then three linear layers) on the same 28x28 images.

Per image: the graph is traced once per model (reported apart), then ``mt.lex_grad`` (one exact
sweep), the star ``mt.derive(graph, 784, around=x)`` where it is enumerable, and
``mt.is_clarke`` of torch's gradient; each timed, with the kind of ties found.  Baseline in the
same process: torch's own forward + backward of the same image (float32).

Then the 2-D slice through a trained 64-128-128-10 MLP on the 8x8 digits between two data points:
the exact strata against a ``--grid`` x ``--grid`` grid of torch activation patterns (a lower
bound on the regions), same process, alternating, medians of wall and CPU times, ratio of times.
The grid is batched torch (no Python loop per point), ``--grid-chunk`` points per pass, in two
variants: the model's own layers, and the first layer computed on the plane.
"""

import argparse
import os
import statistics
import time
from collections import Counter
from fractions import Fraction

import numpy as np
import torch
import torch.nn as nn

import mtsym as mt
from bench_eval import best      # the best of a few timed runs (benchmarks/ is the script's folder)

torch.set_num_threads(1)


def digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target


def upsample(X):
    """8x8 -> 28x28: each pixel 3x3, two zero pixels of border (values k/16: exact in float32)."""
    imgs = X.reshape(-1, 8, 8)
    big = np.kron(imgs, np.ones((1, 3, 3), dtype=np.float32))
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(X), -1)


def train(model, X, y, epochs, seed=0, lr=1e-3):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(epochs):
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = (model(Xt).argmax(1) == yt).float().mean().item()
    return model.eval(), acc


class PoolMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2 = nn.Linear(196, 128), nn.Linear(128, 10)

    def forward(self, x):
        single = len(x.shape) == 1
        h = self.pool(x.reshape(-1, 1, 28, 28)).flatten(1)
        out = self.fc2(torch.relu(self.fc1(h)))
        return out[0] if single else out


def build_mlp(X, y, epochs):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return train(m, X, y, epochs)


def build_pool(X, y, epochs):
    torch.manual_seed(1)
    return train(PoolMLP(), X, y, epochs)


class LeNetFlat(nn.Module):
    """LeNet-5 (``bench_models.LeNet5``) taking the flat 784-vector the other models take."""

    def __init__(self):
        super().__init__()
        from bench_models import LeNet5
        self.net = LeNet5()

    def forward(self, x):
        single = len(x.shape) == 1
        out = self.net(x.reshape(-1, 1, 28, 28))
        return out[0] if single else out


def build_lenet(X, y, epochs):
    torch.manual_seed(3)
    return train(LeNetFlat(), X, y, epochs)


MODELS = {"mlp": build_mlp, "maxpool": build_pool, "lenet": build_lenet}


def torch_grad(model, x, k):
    xt = torch.tensor(x, requires_grad=True)
    model(xt)[k].backward()
    return xt.grad


def tie_kinds(star):
    """The ops of the tied nodes of a Star (mtsym.local.star.Star); flat ties (every tied quantity 0
    near the point: no kink, mtsym.flat) are not among them and are counted apart."""
    return Counter(star.sweep.nodes[v][0].name for v in star.tied)


def flat_kinds(star):
    return Counter(star.sweep.nodes[v][0].name for v in star.sweep.flat)


# ----------------------------------------------------------------------------- per image
def per_image(name, model, images, max_star):
    from mtsym.local.star import Star
    from mtsym.conventions import Convention
    t_trace, graph = best(lambda: mt.trace(model, 784), 1)
    head = lambda m: (lambda x: m(x)[0])                     # noqa: E731  (one output: the class-0 logit)
    t_trace1, graph1 = best(lambda: mt.trace(head(model), 784), 1)
    # the first sweep of a graph keeps its integer weights and node rows with it: once per model
    t_prep, _ = best(lambda: mt.lex_grad(graph1, images[0]), 1)
    print(f"\n[{name}] trace (once per model): {t_trace:.2f} s ({graph.number_of_nodes()} nodes); "
          f"scalar head {t_trace1:.2f} s; first sweep of the graph (integer weights, once) {t_prep:.2f} s")
    print(f"{'img':>4} {'ties':>22} {'torch f+b':>10} {'lex_grad':>9} {'star':>18} {'is_clarke':>22}")
    rows = []
    conv = Convention.get("torch")
    for i, x in enumerate(images):
        t_torch, gt = best(lambda: torch_grad(model, x, 0), 3)
        t_lex, lg = best(lambda: mt.lex_grad(graph1, x), 1)
        st = Star(graph1, 784, tuple(Fraction(float(v)) for v in x), conv)
        kinds, flat = tie_kinds(st), flat_kinds(st)
        try:
            t_star, star = best(lambda: mt.derive(graph1, 784, around=x, max_strata=max_star), 1)
            star_txt = f"{len(star.strata)} strata {t_star:.2f} s"
        except mt.LimitError:
            t_star, star = None, None
            t_limit, _ = best(lambda: _limit(graph1, x, max_star), 1)
            star_txt = f"too large ({len(st.tied)} tied; refused in {t_limit:.2f} s)"
        t_cl, verdict = best(lambda: mt.is_clarke(graph1, x, max_strata=max_star), 1)
        # torch's gradient agrees with mtsym's associated gradient here? (float32 forward)
        ties = (", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "none") + \
            (f" (+{sum(flat.values())} flat)" if flat else "")
        print(f"{i:>4} {ties:>22} {t_torch * 1e3:>8.2f}ms {t_lex:>8.2f}s {star_txt:>18} "
              f"{verdict.verdict + ' (' + str(verdict.method) + ')':>14} {t_cl:.2f}s")
        rows.append((kinds, t_lex, t_star, t_cl, verdict.verdict, verdict.method, t_torch, flat,
                     t_star if t_star is not None else t_limit))
    tied = sum(1 for r in rows if r[0])
    flats = sum((r[7] for r in rows), Counter())
    star_or_limit = [r[8] for r in rows]
    print(f"[{name}] flat ties (no kink, not counted): {dict(flats) or 'none'} over the {len(rows)} images; "
          f"per image lex_grad {min(r[1] for r in rows):.2f}-{max(r[1] for r in rows):.2f} s, "
          f"is_clarke {min(r[3] for r in rows):.2f}-{max(r[3] for r in rows):.2f} s, "
          f"star or its LimitError {min(star_or_limit, default=float('nan')):.2f}-"
          f"{max(star_or_limit, default=float('nan')):.2f} s, torch f+b {min(r[6] for r in rows) * 1e3:.2f}-"
          f"{max(r[6] for r in rows) * 1e3:.2f} ms")
    print(f"[{name}] {len(rows)} images, {tied} with exact ties "
          f"({', '.join(f'{k}: {v}' for k, v in sum((r[0] for r in rows), Counter()).items()) or 'none'}); "
          f"max lex_grad {max(r[1] for r in rows):.2f} s, max is_clarke {max(r[3] for r in rows):.2f} s, "
          f"max star {max((r[2] for r in rows if r[2] is not None), default=float('nan')):.2f} s; "
          f"verdicts {dict(Counter((r[4], r[5]) for r in rows))}")
    return rows


def zero_image(model):
    """The all-zero image through the zero-bias copy of the MLP: every neuron ties."""
    import copy
    m0 = copy.deepcopy(model)
    with torch.no_grad():
        for mod in m0.modules():
            if isinstance(mod, nn.Linear):
                mod.bias.zero_()
    head = lambda x: m0(x)[0]                                 # noqa: E731
    graph = mt.trace(head, 784)
    x = np.zeros(784, dtype=np.float32)
    t, err = best(lambda: _limit(graph, x), 1)
    print(f"\n[mlp0] all-zero image, zero biases: derive(around=0) stops in {t:.2f} s with\n  LimitError: {err}")
    t_lex, g = best(lambda: mt.lex_grad(graph, x), 1)
    t_cl, v = best(lambda: mt.is_clarke(graph, x), 1)
    print(f"  lex_grad {t_lex:.2f} s (|g|_1 = {float(sum(abs(c) for c in g)):.4f}); "
          f"is_clarke of torch's gradient (relu'(0) = 0: the zero vector): {v.verdict} ({v.method}) {t_cl:.2f} s")


def _limit(graph, x, max_strata=None):
    try:
        mt.derive(graph, 784, around=x, max_strata=max_strata)
    except mt.LimitError as e:
        return str(e)
    return "no error"


# ----------------------------------------------------------------------------- the 2-D slice
def grid_patterns(m, a, u, v, box, grid, plane_first=True, chunk=8192):
    """The distinct activation patterns (both hidden layers, ``z > 0``) of a ``grid`` x ``grid`` grid
    of points ``a + s u + t v`` strictly inside ``box``, in torch (float32, batched: no Python loop
    per point), as packed bytes.  ``plane_first``: the first layer on the plane is computed as
    ``(W1 a + b1) + s (W1 u) + t (W1 v)`` (3 multiply-adds per neuron instead of 64), else as the
    model's own ``Linear`` on the 64-pixel points."""
    W1, b1 = m[0].weight.detach(), m[0].bias.detach()
    s = torch.linspace(box[0][0], box[0][1], grid + 2)[1:-1]
    t = torch.linspace(box[1][0], box[1][1], grid + 2)[1:-1]
    S, T = torch.meshgrid(s, t, indexing="ij")
    ST = torch.stack([S.reshape(-1), T.reshape(-1)], 1)
    a, u, v = torch.tensor(a), torch.tensor(u), torch.tensor(v)
    with torch.no_grad():
        c0, UV = W1 @ a + b1, torch.stack([W1 @ u, W1 @ v])
        out = []
        for k in range(0, len(ST), chunk):
            if plane_first:
                z1 = c0 + ST[k:k + chunk] @ UV
            else:
                z1 = m[0](a + ST[k:k + chunk] @ torch.stack([u, v]))
            z2 = m[2](torch.relu(z1))
            out.append(np.packbits(torch.cat([z1 > 0, z2 > 0], 1).numpy(), axis=1))
    bits = np.concatenate(out)
    rows = np.unique(bits.view(np.dtype((np.void, bits.shape[1]))).ravel())
    return {bytes(r) for r in rows.tolist()}


def timed(fn):
    """``(wall seconds, CPU seconds of this process, result)``: on a shared machine the CPU time is
    the steadier of the two (every computation here runs on one thread)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def slice_vs_grid(X, y, grid, epochs, box=((-0.25, 1.25), (-0.25, 1.25)), repeat=3, chunk=8192):
    torch.manual_seed(2)
    m = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    m, acc = train(m, X, y, epochs)
    a, b, c = X[0], X[1], X[2]
    u, v = b - a, c - a
    print(f"\n[slice] 64-128-128-10 MLP (train accuracy {acc:.3f}); plane x0 + s u + t v through digits 0, 1, 2 "
          f"(x0 = digit 0, u = digit 1 - x0, v = digit 2 - x0), box {box}; load average "
          f"{os.getloadavg()[0]:.2f}")
    # grid and exact alternate, `repeat` times each; medians of wall and CPU times
    runs = {"grid": [], "grid0": [], "exact": []}
    for _ in range(repeat):
        *t, pats = timed(lambda: grid_patterns(m, a, u, v, box, grid, chunk=chunk))
        runs["grid"].append(t)
        *t, pats0 = timed(lambda: grid_patterns(m, a, u, v, box, grid, plane_first=False, chunk=chunk))
        runs["grid0"].append(t)
        *t, table = timed(lambda: mt.derive(m, 64, on=mt.plane(a, u, v, box=box)))
        runs["exact"].append(t)
    med = {k: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for k, r in runs.items()}
    (t_grid, c_grid), (t_grid0, c_grid0), (t_exact, c_exact) = med["grid"], med["grid0"], med["exact"]
    cells = [s for s in table.strata if s.dim == 2]
    relus = [n for n in table.graph.nodes if table.graph.nodes[n]["op"] == "relu"]
    exact = set()
    for s in cells:
        cs = s.cases
        exact.add(bytes(np.packbits(np.array([cs[n] > 0 for n in relus]))))
    assert len(exact) == len(cells)              # one pattern per cell: the regions are counted alike
    missing = pats - exact
    print(f"  grid {grid}x{grid} in chunks of {chunk} points (torch float32 activation patterns, first layer on the "
          f"plane): {len(pats)} regions, "
          f"median {t_grid:.2f} s wall, {c_grid:.2f} s CPU")
    print(f"  grid {grid}x{grid} (the model's own first Linear on the 64-pixel points): {len(pats0)} regions, "
          f"median {t_grid0:.2f} s wall, {c_grid0:.2f} s CPU")
    print(f"  exact (mt.derive on=mt.plane): {len(cells)} regions, {len(table.strata)} strata "
          f"({sum(1 for s in table.strata if s.dim == 1)} edges, {sum(1 for s in table.strata if s.dim == 0)} "
          f"vertices), median {t_exact:.2f} s wall, {c_exact:.2f} s CPU")
    print(f"  every grid region found exactly: {not missing and not (pats0 - exact)} ({len(missing)} missing, "
          f"{len(pats0 - exact)} for the other grid); regions the grid misses: {len(exact - pats)}; "
          f"time exact / grid = {t_exact / t_grid:.2f}x wall, {c_exact / c_grid:.2f}x CPU "
          f"({t_exact / t_grid0:.2f}x, {c_exact / c_grid0:.2f}x against the model-forward grid); "
          f"load average {os.getloadavg()[0]:.2f}")
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--grid", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-star", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="3 images, a 200 x 200 grid on a small box")
    ap.add_argument("--plot", default=None, help="write the slice picture there")
    ap.add_argument("--slice-only", action="store_true", help="the 2-D slice alone (no per-image analysis)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of the grid and the exact slice (median)")
    ap.add_argument("--grid-chunk", type=int, default=8192, help="grid points per batched torch pass")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS))
    ap.add_argument("--no-slice", action="store_true", help="skip the zero image and the 2-D slice")
    args = ap.parse_args()
    if args.quick:
        args.images, args.grid, args.epochs = 3, 200, 1
    X, y = digits()
    Xb = upsample(X)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(X), args.images, replace=False)
    models = {}
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    for name in ([] if args.slice_only else args.models.split(",")):
        build = MODELS[name]
        t, (model, acc) = best(lambda: build(Xb, y, args.epochs), 1)
        models[name] = model
        print(f"[{name}] trained in {t:.1f} s, train accuracy {acc:.3f}")
        per_image(name, model, Xb[pick], args.max_star)
    if args.no_slice:
        return
    if not args.slice_only:
        zero_image(models["mlp"] if "mlp" in models else MODELS["mlp"](Xb, y, args.epochs)[0])
    box = ((0.4, 0.6), (0.4, 0.6)) if args.quick else ((-0.25, 1.25), (-0.25, 1.25))
    table = slice_vs_grid(X, y, args.grid, max(args.epochs, 5) * 4, box, args.repeat, args.grid_chunk)
    if args.plot:
        table.plot(args.plot, arrows=False, spurious=False, legend=False, dpi=150)


if __name__ == "__main__":
    main()
