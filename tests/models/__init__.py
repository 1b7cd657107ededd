"""A gallery of real models, written here after published architectures, in the idioms real code uses.

Each module names its architecture's source in its header and exposes ``MODELS``:
``{name: Spec}``.  A :class:`Spec` builds the model twice -- with random float
weights (compared with the framework on real data: scikit-learn's bundled 8x8
digits) and with dyadic weights (multiples of 1/8, so every float64 operation
is exact and ties happen in the framework exactly where mtsym puts them: the
all-zero and constant images, where every pooling window ties) -- and says how a
64-pixel digit becomes the model's input.
"""

import numpy as np


class Spec:
    """``build(dyadic, reference=False) -> fn``: ``fn`` maps a vector of 64 pixels (a traced vector, or a
    framework tensor) to the model's output vector; ``reference=True`` builds the same model in float64 for
    the framework's own run (float32 weights converted: the same exact values).  ``framework`` is
    ``"torch"``, ``"jax"`` or ``"python"`` (plain Python, run by torch as the reference)."""

    def __init__(self, build, framework="torch", inputs=64, tol=1e-9):
        self.build, self.framework, self.inputs, self.tol = build, framework, inputs, tol


def dyadic(shape, rng, scale=8):
    """Random multiples of ``1/scale`` in ``[-1, 1]`` (exact in binary floating point)."""
    return rng.integers(-scale, scale + 1, size=shape) / scale


def dyadic_torch_(module, seed=0):
    """Overwrite every parameter (and batch-norm statistics) of a torch module with dyadic values.

    Batch norm gets ``eps = 2**-10`` and ``running_var = 1 - eps``: ``1 / sqrt(var + eps)`` is then 1
    exactly, so the normalised values stay dyadic too.
    """
    import torch
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(dyadic(tuple(p.shape), rng)))
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eps = 2.0 ** -10
                m.running_var.fill_(1 - m.eps)
                m.running_mean.copy_(torch.from_numpy(dyadic(tuple(m.running_mean.shape), rng)))
    return module


def torch_spec(make, seed, run):
    """A :class:`Spec` for a torch module: ``make()`` builds it (seeded), ``run(net, x)`` applies it to a
    digit's 64 pixels; dyadic weights on request, float64 for the reference run."""
    import torch

    def build(dyadic, reference=False):
        torch.manual_seed(seed)
        net = make().eval()
        if dyadic:
            dyadic_torch_(net, seed)
        if reference:
            net.double()
        return lambda x: run(net, x)
    return Spec(build)


def digits(n=None):
    """scikit-learn's bundled 8x8 digits as float64 rows of 64 pixels (integers 0..16), no download."""
    from sklearn.datasets import load_digits
    X = load_digits().data.astype(np.float64)
    return X if n is None else X[:n]


def tie_images():
    """All-zero and constant images: every pooling window ties, every unit of a layer sees the same input."""
    return np.array([np.zeros(64), np.full(64, 16.0), np.full(64, 1.0), np.tile([0.0, 16.0], 32)])
