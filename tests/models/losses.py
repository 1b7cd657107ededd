"""Piecewise-linear losses as written in PyTorch: the multiclass hinge loss of Weston and Watkins (1999)
(``nn.MultiMarginLoss``'s formula, written out with ``torch.clamp``) on a linear classifier, and the
anisotropic total variation of an image (Rudin, Osher, Fatemi 1992; the ``tv_loss`` of style-transfer code:
absolute differences of neighbouring pixels).
"""

import torch
import torch.nn as nn

from . import torch_spec


def multiclass_hinge(scores, target, margin=1.0):
    correct = scores[target]
    return torch.clamp(margin - correct + scores, min=0).sum() - margin


def tv_loss(img):
    dh = torch.abs(img[:, 1:, :] - img[:, :-1, :]).sum()
    dw = torch.abs(img[:, :, 1:] - img[:, :, :-1]).sum()
    return dh + dw


def _run(clf, x):
    return torch.stack([multiclass_hinge(clf(x), 3), tv_loss(x.view(1, 8, 8) / 16)])


MODELS = {"hinge and TV losses": torch_spec(lambda: nn.Linear(64, 10), 9, _run)}
