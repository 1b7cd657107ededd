"""ReLU with a chosen derivative at 0, as research code on the numerical influence of ReLU'(0) writes it
(Bertoin, Bolte, Gerchinovitz, Pauwels 2021, "Numerical influence of ReLU'(0) on backpropagation"): a custom
``torch.autograd.Function`` whose backward gives ``alpha`` at 0, used inside a small MLP.

mtsym refuses to trace such a Function until it is declared: ``mt.declare(ReLUAlpha, lambda x, alpha:
mt.relu(x, convention=mt.Convention(relu0=alpha)))`` says it is a relu whose derivative at 0 is ``alpha``
(see ``tests/test_declare.py``).
"""

import torch
import torch.nn as nn

import mtsym as mt

from . import torch_spec


class ReLUAlpha(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, alpha):
        ctx.save_for_backward(input)
        ctx.alpha = alpha
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad = (input > 0).to(grad_output.dtype)
        grad[input == 0] = ctx.alpha
        return grad_output * grad, None


def declare():
    mt.declare(ReLUAlpha, lambda x, alpha: mt.relu(x, convention=mt.Convention(relu0=alpha)))


class MLP(nn.Module):
    def __init__(self, alpha=0.5):
        super().__init__()
        self.alpha = alpha
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 16), nn.Linear(16, 16), nn.Linear(16, 10)

    def forward(self, x):
        x = ReLUAlpha.apply(self.fc1(x), self.alpha)
        x = ReLUAlpha.apply(self.fc2(x), self.alpha)
        return self.fc3(x)


def _make():
    declare()
    return MLP()


MODELS = {"ReLU'(0) = alpha Function": torch_spec(_make, 8, lambda net, x: net(x[None])[0])}
