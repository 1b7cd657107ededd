"""The tie audit on scikit-learn's 8x8 digits: an MLP and a small CNN, trained here with a fixed seed.

Run:  PYTHONPATH=. python examples/audit_digits.py [--n 1797] [--figures FOLDER]

Prints the tables of the documentation's results page (docs/audit.md): per model and float type,
the samples with exact ties and rounding ties, the verdicts on the framework's gradient, relu'(0)
= 0 vs 1 on the cross-entropy parameter gradient (as in Bertoin et al., 2021), and PyTorch's
rules against JAX's.  Trains both models first (a few seconds, ``torch.manual_seed(0)``).

The models:

* **MLP** 64-32-10 (``nn.Sequential(Linear, ReLU, Linear)``), audited as the torch module itself;
* **CNN** after LeNet-5's conv - ReLU - max-pool - dense pattern (LeCun et al., 1998), sized for
  8x8: ``Conv2d(1, 4, 3)``, ``ReLU``, ``MaxPool2d(2)``, ``Linear(36, 10)``, audited as the torch
  module itself (mtsym traces ``nn.Conv2d`` as written).  The same computation written with a numpy
  convolution matrix, ``mt.relu`` and ``mt.maxpool2d`` (:func:`cnn_function`) is the JAX version's
  basis and an independent check (a test runs both).
"""

import argparse
import collections
import os

import numpy as np
import torch

import mtsym as mt

SEED = 0


# ----------------------------------------------------------------------------- data and models
def digits():
    """The 1,797 digits, pixels scaled to [0, 1] (float32), and their labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.data / 16).astype(np.float32), d.target


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


class CNN(torch.nn.Module):
    """conv 3x3 (4 channels) - ReLU - max-pool 2x2 - dense, for 8x8 images given as 64 pixels."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(36, 10)

    def forward(self, x):
        h = self.pool(torch.relu(self.conv(x.reshape(-1, 1, 8, 8))))
        return self.fc(h.flatten(1))


def train(model, X, y, steps=200, lr=0.03):
    """Full-batch Adam on the cross entropy, seeded: the same weights on every run (one thread: a few
    seconds, and the same sums in the same order every time)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(model, X, y, steps, lr)
    finally:
        torch.set_num_threads(threads)


def _train(model, X, y, steps, lr):
    torch.manual_seed(SEED)
    for p in model.parameters():       # a seeded initialisation independent of construction order
        torch.nn.init.normal_(p, 0.0, 0.3)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss.backward()
        opt.step()
    return model.eval()


def conv_matrix(conv, size=8):
    """The convolution as a matrix on the flattened image: rows (channel, i, j), columns pixels."""
    w = conv.weight.detach().numpy().astype(np.float64)        # (C, 1, k, k), float32 values exactly
    C, _, k, _ = w.shape
    out = size - k + 1
    M = np.zeros((C * out * out, size * size))
    for c in range(C):
        for i in range(out):
            for j in range(out):
                for a in range(k):
                    for b in range(k):
                        M[(c * out + i) * out + j, (i + a) * size + (j + b)] = w[c, 0, a, b]
    bias = np.repeat(conv.bias.detach().numpy().astype(np.float64), out * out)
    return M, bias


def cnn_function(cnn):
    """The CNN as mtsym code: the same weights, torch's tie rules (relu'(0) = 0, a pool window's first)."""
    M, b = conv_matrix(cnn.conv)
    W = cnn.fc.weight.detach().numpy().astype(np.float64)
    c = cnn.fc.bias.detach().numpy().astype(np.float64)

    def cnn_net(x):
        h = mt.relu(M @ x + b).reshape(4, 6, 6)
        pooled = [mt.maxpool2d(h[ch], 2).reshape(-1) for ch in range(4)]
        return mt.matmul(W, np.concatenate(pooled)) + c     # one affine node per output

    return cnn_net


def jax_functions(net, cnn):
    """The same two models in JAX (``jax.nn.relu``, ``lax.reduce_window`` max pooling), and the MLP
    with relu written ``jnp.maximum(h, 0)``, a common JAX idiom (derivative 1/2 at 0)."""
    import jax
    import jax.numpy as jnp
    W1, b1 = (net[0].weight.detach().numpy().astype(np.float64), net[0].bias.detach().numpy().astype(np.float64))
    W2, b2 = (net[2].weight.detach().numpy().astype(np.float64), net[2].bias.detach().numpy().astype(np.float64))
    M, b = conv_matrix(cnn.conv)
    W, c = cnn.fc.weight.detach().numpy().astype(np.float64), cnn.fc.bias.detach().numpy().astype(np.float64)

    def jax_mlp(x):
        return W2 @ jax.nn.relu(W1 @ x + b1) + b2

    def jax_mlp_maximum(x):
        return W2 @ jnp.maximum(W1 @ x + b1, 0.0) + b2

    def jax_cnn(x):
        h = jax.nn.relu(M @ x + b).reshape(4, 6, 6)           # the convolution as a matrix
        p = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2), (1, 2, 2), "VALID")
        return W @ p.reshape(-1) + c

    return jax_mlp, jax_mlp_maximum, jax_cnn


def trained():
    X, y = digits()
    torch.manual_seed(SEED)
    net = train(mlp(), X, y)
    cnn = train(CNN(), X, y)
    return X, y, net, cnn


# ----------------------------------------------------------------------------- the audit
def _pct(k, n):
    return f"{k} ({100 * k / n:.1f}%)"


def audits(X, y, net, cnn, jax=True):
    """Every audit of the results page: ``{(model, rules, dtype): AuditReport}``."""
    runs = {}
    for dtype in ("float32", "float64"):
        runs["MLP", "torch", dtype] = mt.audit(net, X, framework="torch", dtype=dtype, loss="cross_entropy", y=y,
                                               progress=False)
        runs["CNN", "torch", dtype] = mt.audit(cnn, X, framework="torch", dtype=dtype, loss="cross_entropy", y=y,
                                               progress=False)
    if jax:
        jax_mlp, jax_mlp_maximum, jax_cnn = jax_functions(net, cnn)
        runs["MLP", "jax", "float32"] = mt.audit(jax_mlp, X, framework="jax", dtype="float32", progress=False)
        runs["MLP", "jax, relu as maximum", "float32"] = mt.audit(jax_mlp_maximum, X, framework="jax",
                                                                  dtype="float32", progress=False)
        runs["CNN", "jax", "float32"] = mt.audit(jax_cnn, X, framework="jax", dtype="float32", progress=False)
    return runs


def table(runs):
    """The results as a markdown table (the one on docs/audit.md)."""
    lines = ["| model | rules | dtype | exact ties | rounding ties | flips | not a Clarke gradient | undecided |"
             " relu'(0) 0 vs 1 differ |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (model, rules, dtype), r in runs.items():
        c = r.counts()
        rel = "-" if r.relu0 is None else _pct(len(r.relu0.differs), r.n)
        lines.append(f"| {model} | {rules} | {dtype} | {_pct(len(r.exact_ties), r.n)} | "
                     f"{_pct(len(r.rounding_ties), r.n)} | {_pct(len(r.flips), r.n)} | {_pct(c['no'], r.n)} | "
                     f"{c['undecided']} | {rel} |")
    return "\n".join(lines)


def by_layer(r):
    rows = [f"| {op} | {layer} | {c['exact']} | {c['exact_entries']} | {c['rounding']} |"
            for (op, layer), c in sorted(r.by_node.items(), key=lambda kv: str(kv[0]))]
    return "\n".join(["| op | layer | samples with an exact tie | tied nodes | samples with a rounding tie |",
                      "| --- | --- | --- | --- | --- |"] + rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="audit the first N digits (default: all 1,797)")
    ap.add_argument("--figures", default=None, help="write the pictures into this folder")
    ap.add_argument("--no-jax", action="store_true", help="skip the JAX audits")
    args = ap.parse_args(argv)
    X, y, net, cnn = trained()
    with torch.no_grad():
        acc = [float((m(torch.from_numpy(X)).argmax(1).numpy() == y).mean()) for m in (net, cnn)]
    print(f"trained (seed {SEED}): MLP accuracy {acc[0]:.3f}, CNN accuracy {acc[1]:.3f} (training set)")
    if args.n is not None:
        X, y = X[:args.n], y[:args.n]
    runs = audits(X, y, net, cnn, jax=not args.no_jax)
    print(table(runs))
    print()
    print("CNN, float32, by layer:")
    print(by_layer(runs["CNN", "torch", "float32"]))
    print()
    r = runs["CNN", "torch", "float32"]
    methods = collections.Counter(smp.method for smp in r.samples.values())
    print("CNN, float32, how the verdicts were reached: " + ", ".join(f"{k} {v}" for k, v in sorted(methods.items())))
    windows = sum(c["exact_entries"] for c in r.by_node.values())
    print(f"CNN, float32, tied max-pool windows per digit: {windows / r.n:.1f}")
    for key in (("MLP", "torch", "float32"), ("CNN", "torch", "float32")):
        r = runs[key]
        print(f"{key[0]}: relu'(0) 0 vs 1 batch-mean gradient gap {r.relu0.batch_gap:.3g}; "
              f"exact analysis {r.meta['seconds_per_event_sample'] * 1000:.1f} ms per sample with an event")
    if args.figures:
        os.makedirs(args.figures, exist_ok=True)
        import matplotlib
        matplotlib.use("Agg")
        r = runs["CNN", "torch", "float32"]
        r.plot(os.path.join(args.figures, "audit_cnn.png"), images=X, shape=(8, 8))
    return runs


if __name__ == "__main__":
    main()
