"""Test functions written twice: once for mtsym, once in PyTorch (batched, float64).

Coefficients are dyadic, so at integer points every float64 operation is exact:
ties happen in both implementations at the same points.
"""

import itertools

import numpy as np

import mtsym as mt

from mtsym.examples import boustany  # noqa: F401  (the paper's Table 2 function, one definition)

X4 = (1, 2, 3, 4)


def max4(x):
    return mt.max(x)


W1 = np.array([[1, -1], [0.5, 1], [-1, 0.5], [1, 1]])
B1 = np.array([0, -1, 0.5, 1])
W2 = np.array([[1, -0.5, 1, 0.5], [-1, 1, 0.5, 1]])
B2 = np.array([0.5, -1])


def mlp(x):
    h = mt.relu(W1 @ x + B1)
    h = mt.relu(W2 @ h + B2)
    return h[0] - 2 * h[1]


KERNEL = np.array([1, -2, 1.0])


def poolnet(x):
    h = mt.relu([KERNEL @ x[i:i + 3] for i in range(len(x) - 2)])
    return mt.maxpool1d(h, 2, stride=1).sum()


def kinks(x):
    return (mt.clamp(x[0] - x[1], -1, 1) + mt.abs(x[0] + 2 * x[1])
            + mt.leaky_relu(x[1] - 1, 0.25) + mt.maximum(mt.maximum(x[0], x[1]), 0))


def vector(x):
    return [mt.relu(x[0] - x[1]), mt.max(x[0], x[1], 0) + mt.min(x[0], -x[1])]


def product(x):
    return x[0] * mt.relu(x[1]) + mt.abs(x[0])


# ----------------------------------------------------------------------------- torch twins
def _torch():
    import torch
    import torch.nn.functional as F
    return torch, F


def t_boustany(X):
    torch, _ = _torch()
    xs = X[:, :1] * torch.tensor(X4, dtype=X.dtype)
    res = xs[:, 0]
    for i in range(1, 4):
        res = torch.where(xs[:, i] > res, xs[:, i], res)
    return res - torch.amax(xs, dim=1)


def t_max4(X):
    torch, _ = _torch()
    return torch.amax(X, dim=1)


def t_mlp(X):
    torch, F = _torch()
    h = F.relu(X @ torch.tensor(W1).T + torch.tensor(B1))
    h = F.relu(h @ torch.tensor(W2).T + torch.tensor(B2))
    return h[:, 0] - 2 * h[:, 1]


def t_poolnet(X):
    torch, F = _torch()
    h = F.relu(F.conv1d(X[:, None, :], torch.tensor(KERNEL)[None, None, :]))
    return F.max_pool1d(h, 2, stride=1)[:, 0, :].sum(1)


def t_kinks(X):
    torch, F = _torch()
    a, b = X[:, 0], X[:, 1]
    return (torch.clamp(a - b, -1, 1) + torch.abs(a + 2 * b) + F.leaky_relu(b - 1, 0.25)
            + torch.maximum(torch.maximum(a, b), torch.zeros_like(a)))


def t_vector(X):
    torch, F = _torch()
    a, b = X[:, 0], X[:, 1]
    z = torch.zeros_like(a)
    return torch.stack([F.relu(a - b), torch.amax(torch.stack([a, b, z], 1), 1)
                        + torch.amin(torch.stack([a, -b], 1), 1)], 1)


def t_product(X):
    torch, F = _torch()
    return X[:, 0] * F.relu(X[:, 1]) + torch.abs(X[:, 0])


#: name -> (mt function, inputs, torch twin, integer grid radius)
ZOO = {
    "boustany": (boustany, "t", t_boustany, 3),
    "max4": (max4, 4, t_max4, 1),
    "mlp": (mlp, 2, t_mlp, 3),
    "poolnet": (poolnet, 5, t_poolnet, 1),
    "kinks": (kinks, 2, t_kinks, 3),
    "vector": (vector, 2, t_vector, 2),
    "product": (product, 2, t_product, 2),
}


def n_inputs(inputs):
    return inputs if isinstance(inputs, int) else len(inputs.split())


def tie_grid(inputs, radius):
    """Every integer point of [-radius, radius]^n: full of ties and kinks."""
    n = n_inputs(inputs)
    return np.array(list(itertools.product(range(-radius, radius + 1), repeat=n)), dtype=np.float64)


def random_points(inputs, N=500, seed=0):
    return np.random.default_rng(seed).standard_normal((N, n_inputs(inputs))) * 2


def torch_value_grad(tfn, X):
    """Values and (N, n) or (N, m, n) autograd gradients of a batched torch function, float64."""
    torch, _ = _torch()
    Xt = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    y = tfn(Xt)
    if y.ndim == 1:
        (g,) = torch.autograd.grad(y.sum(), Xt)
        return y.detach().numpy(), g.numpy()
    rows = [torch.autograd.grad(y[:, j].sum(), Xt, retain_graph=True)[0].numpy() for j in range(y.shape[1])]
    return y.detach().numpy(), np.stack(rows, 1)
