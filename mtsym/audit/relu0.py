"""The relu'(0) question on the parameter gradient of a loss (Bertoin et al., NeurIPS 2021).

Training uses the gradient of a loss with respect to the parameters.  For a sample whose forward
pass puts a ReLU exactly at 0, the framework's choice relu'(0) = 0 (PyTorch, JAX) or 1 may change
that gradient.  Here both are computed **exactly** along the cases the framework's float forward
pass took: one reverse sweep per choice (every node keeps its framework's tie rules, only relu'(0)
changes), then for each affine map ``y = c0 + sum(c_i * a_i)`` of the model the gradient with
respect to its coefficients is ``dL/dy * a_i`` and with respect to its constant ``dL/dy``.  The
parameters are those affine maps' coefficients and constants: for ``nn.Linear`` layers exactly
their ``weight`` and ``bias`` entries (for a torch model, only maps made inside modules that own
parameters are counted; for plain code, every affine map).

Losses: ``"sum"`` (the sum of the outputs: everything exact) and ``"cross_entropy"`` (labels
``y``; ``dL/dz = softmax(z) - onehot(y)`` at the exact logits, in float64, so the gap is a float
while whether the two Jacobians differ is decided exactly).
"""

__all__ = ["relu0_difference", "LOSSES"]

import math

import numpy as np

from ..errors import InputError

LOSSES = ("sum", "cross_entropy")


def _loss_weights(loss, z, label):
    """``dL/dz`` at the outputs ``z`` (exact for ``sum``, float64 for ``cross_entropy``)."""
    if loss == "sum":
        return [1] * len(z)
    if loss == "cross_entropy":
        if label is None:
            raise InputError("audit: loss='cross_entropy' needs the labels y=")
        zf = np.array([float(v) for v in z])
        p = np.exp(zf - zf.max())
        p /= p.sum()
        p[int(label)] -= 1.0
        return p.tolist()
    raise InputError(f"audit: loss={loss!r}; choose one of {LOSSES}")


def relu0_difference(job, es, outs, cases_f, label):
    """Do relu'(0) = 0 and 1 give different parameter gradients at this sample, and by how much?

    Returns ``(differs, gap, parts)``: ``differs`` (exact: some parameter's Jacobian row differs),
    ``gap`` the 2-norm of the difference of the loss's parameter gradients, ``parts`` the difference
    per affine map as a float vector ``[d/dc0, d/dc1, ...]`` (summed over a batch by the caller).
    """
    a0 = es.adjoints(outs, cases_f, job.conv, {"relu0": 0})
    a1 = es.adjoints(outs, cases_f, job.conv, {"relu0": 1})
    m = len(outs)
    zero = [0] * m
    w = _loss_weights(job.loss, [es.value(v) for v in outs], label)
    differs = False
    sq = 0.0
    parts = {}
    for v in job.slots:
        d = [x1 - x0 for x1, x0 in zip(a1.get(v, zero), a0.get(v, zero))]
        if not any(d):
            continue
        differs = True
        D = sum(wo * do for wo, do in zip(w, d))
        if D == 0:
            continue
        a = np.array([1.0] + [float(x) for x in es.inputs_of(v)])
        vec = float(D) * a
        sq += float(np.dot(vec, vec))
        parts[v] = vec
    return differs, math.sqrt(sq), parts
