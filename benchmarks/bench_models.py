"""Real CNNs: tracing LeNet-5, and its 10 x 784 associated Jacobians with mt.evaluate against PyTorch.

Run:  PYTHONPATH=. python benchmarks/bench_models.py [--n 1000] [--repeat 3] [--threads 1]

LeNet-5 as the classic MNIST variant writes it (1x28x28 input, Conv2d(1, 6, 5, padding=2) + ReLU +
max_pool2d(2), Conv2d(6, 16, 5) + ReLU + max_pool2d(2), view(x.size(0), -1), Linear 400-120-84-10),
random float weights, N images with pixels in [0, 1] (about a fifth of them exactly 0, as in MNIST, so some
pooling windows tie).  In one process, best of --repeat:

* the graph-only trace mtsym.evaluate makes (``mt.evaluate(f, X[:1]).graph``), target < 5 s;
* ``mt.evaluate(graph, X)``: values and the 10 x 784 Jacobians at N images (the schedule built included),
  and ``mt.evaluate(f, X)`` (the trace included);
* ``torch.func.vmap(torch.func.jacrev(f))`` on the same model converted to float64 (the same exact
  weights), the baseline; the Jacobians must agree to 1e-9.

``--threads 1`` runs both libraries on one thread (torch.set_num_threads, and threadpoolctl for numpy's
BLAS when it is installed): on a shared machine the second thread of each pool mostly waits.
"""

import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import jacrev, vmap

import mtsym as mt
from bench_eval import best


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def images(n, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784))
    X[rng.random((n, 784)) < 0.2] = 0.0
    return X


def run(n, repeat):
    torch.manual_seed(0)
    net = LeNet5().eval()
    f = lambda x: net(x.reshape(1, 1, 28, 28))[0]  # noqa: E731
    net64 = LeNet5()
    net64.load_state_dict(net.state_dict())
    net64 = net64.double().eval()
    f64 = lambda x: net64(x.reshape(1, 1, 28, 28))[0]  # noqa: E731
    X = images(n)
    Xt = torch.from_numpy(X)
    t_trace, graph = best(lambda: mt.evaluate(f, X[:1]).graph, repeat)
    # the machine is shared: alternate the two, best of each
    t_eval = t_torch = t_eval_fn = float("inf")
    for _ in range(repeat):
        t, r = best(lambda: mt.evaluate(graph, X), 1)
        t_eval = min(t_eval, t)
        t, J = best(lambda: vmap(jacrev(f64))(Xt).detach().numpy(), 1)
        t_torch = min(t_torch, t)
        t, _ = best(lambda: mt.evaluate(f, X), 1)
        t_eval_fn = min(t_eval_fn, t)
    assert np.allclose(r.grad, J, rtol=1e-9, atol=1e-12), "evaluate differs from torch"
    assert np.allclose(r.value, net64(Xt.reshape(-1, 1, 28, 28)).detach().numpy(), rtol=1e-9, atol=1e-12)
    return dict(nodes=graph.number_of_nodes(), trace=t_trace, evaluate=t_eval, evaluate_fn=t_eval_fn, torch=t_torch)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="threads for torch and numpy's BLAS")
    a = ap.parse_args()
    limits = None
    if a.threads:
        torch.set_num_threads(a.threads)
        try:
            from threadpoolctl import threadpool_limits
            limits = threadpool_limits(a.threads)
        except ImportError:
            print("threadpoolctl is not installed: numpy's BLAS keeps its threads")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), N={a.n}, "
          f"best of {a.repeat}")
    s = run(a.n, a.repeat)
    print(f"LeNet-5 (1x28x28): graph-only trace {s['trace']:.2f} s ({s['nodes']} nodes; target < 5 s)")
    print(f"10 x 784 Jacobians at N={a.n}: mt.evaluate(graph) {s['evaluate']:.2f} s, mt.evaluate(f) "
          f"{s['evaluate_fn']:.2f} s (trace included), torch vmap(jacrev) float64 {s['torch']:.2f} s; "
          f"torch / evaluate(graph) = {s['torch'] / s['evaluate']:.2f}x, torch / evaluate(f) = "
          f"{s['torch'] / s['evaluate_fn']:.2f}x (target >= 1)")
    if limits is not None:
        limits.unregister()


if __name__ == "__main__":
    main()
