"""Draw the pictures of the documentation into docs/img/ (or the folder given).

Run:  python docs/make_figures.py [OUTDIR]

Every picture is drawn by the public API (``table.plot``, ``graph.plot``) from the
paper's own examples; .ci/run calls this before ``mkdocs build --strict`` so the
pictures always show what the code computes.
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")

import mtsym as mt  # noqa: E402

from mtsym.examples import boustany, max1  # noqa: E402  (the paper's functions, one definition)
from mtsym.examples import boustany_maxpool as maxpool_example  # noqa: E402


def two_inputs(x):
    """The 30-second example of the home page."""
    return mt.max(x) - mt.relu(x[0] - 2 * x[1])


def slice_net():
    """A 2-D slice through a 6-12-12-1 ReLU network with fixed random weights (local.md)."""
    import numpy as np
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(12, 6)).round(2), rng.normal(size=12).round(2)
    W2, b2 = rng.normal(size=(12, 12)).round(2), rng.normal(size=12).round(2)
    w3 = rng.normal(size=12).round(2)

    def net(x):
        return w3 @ mt.relu(W2 @ mt.relu(W1 @ x + b1) + b2)
    x0, u, v = (0,) * 6, (1, 0, 0, 1, 0, 0), (0, 1, 0, 0, -1, 0)
    return mt.derive(net, 6, on=mt.plane(x0, u, v, box=((-2, 2), (-2, 2)))).plot(arrows=False, legend=False)


def audit_cnn(n=60):
    """The tie audit of the digits CNN of examples/audit_digits.py (trained there, seed 0), first n digits."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
    import audit_digits as ad
    X, y, _, cnn = ad.trained()
    return mt.audit(cnn, X[:n], progress=False).plot(images=X[:n], shape=(8, 8))


FIGURES = {
    "boustany.png": lambda: mt.derive(boustany, "t").plot(box=(-1, 1)),
    "maxpool.png": lambda: mt.derive(maxpool_example, "t").plot(box=(-1, 1)),
    "relu_z.png": lambda: mt.derive(mt.relu, "x", convention=mt.Convention("torch", relu0="1/2")).plot(),
    "two_inputs.png": lambda: mt.derive(two_inputs, 2).plot(box=((-2, 2), (-2, 2))),
    "max1_slice.png": lambda: mt.derive(max1, 4).plot(slice=((0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0))),
    "max4_slice.png": lambda: mt.derive(lambda x: mt.max(x), 4).plot(
        slice=((0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0))),
    "graph_max1.png": lambda: mt.trace(max1, 4).plot(),
    "graph_maxpool.png": lambda: mt.trace(maxpool_example, "t").plot(),
    "slice_net.png": slice_net,
    "audit_cnn.png": audit_cnn,
}


def main(outdir=None):
    outdir = outdir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "img")
    os.makedirs(outdir, exist_ok=True)
    written = []
    for name, draw in FIGURES.items():
        path = os.path.join(outdir, name)
        draw().savefig(path, dpi=90)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(sys.argv[1] if len(sys.argv) > 1 else None):
        print(p)
