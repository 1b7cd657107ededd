"""The relu'(0) question on a loss's parameter gradient (Bertoin et al. 2021), against PyTorch.

Oracle: torch's parameter gradients with its own relu (relu'(0) = 0) and with a ReLU written as an
autograd Function whose derivative at 0 is 1, in float64.
"""
import math

import numpy as np
import pytest

import mtsym as mt

torch = pytest.importorskip("torch")


class _Relu1(torch.autograd.Function):
    """relu with relu'(0) = 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x >= 0).to(g.dtype)


class _Net(torch.nn.Module):
    """Linear - ReLU - Linear; ``relu1`` switches relu'(0) to 1 (for the oracle only)."""

    def __init__(self, relu1=False):
        super().__init__()
        self.fc1, self.fc2, self.relu1 = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), relu1
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, -1.0], [1.0, 1.0]]))
            self.fc1.bias.zero_()
            self.fc2.weight.copy_(torch.tensor([[2.0, 3.0], [-1.0, 0.5]]))
            self.fc2.bias.copy_(torch.tensor([0.5, 0.0]))

    def forward(self, x):
        h = self.fc1(x)
        h = _Relu1.apply(h) if self.relu1 else torch.relu(h)
        return self.fc2(h)


def _torch_param_grads(net, x, y, loss):
    net = net.double()
    out = net(torch.tensor(x, dtype=torch.float64))
    L = out.sum() if loss == "sum" else torch.nn.functional.cross_entropy(out[None], torch.tensor([y]))
    grads = torch.autograd.grad(L, list(net.parameters()))
    return torch.cat([g.reshape(-1) for g in grads]).numpy()


X = np.array([[1.0, 1.0], [2.0, 1.0], [0.5, 0.5]])    # samples 0 and 2 put neuron 0 exactly at 0
Y = np.array([1, 0, 0])


@pytest.mark.parametrize("loss", ["sum", "cross_entropy"])
def test_which_samples_differ_and_by_how_much(loss):
    r = mt.audit(_Net(), X, y=Y, loss=loss, dtype="float64", verdicts=False)
    rel = r.relu0
    assert rel.differs == [0, 2] and rel.tied == 2 and rel.n == 3
    want = {}
    for i in range(3):
        d = _torch_param_grads(_Net(relu1=True), X[i], Y[i], loss) - _torch_param_grads(_Net(), X[i], Y[i], loss)
        want[i] = float(np.linalg.norm(d))
    assert want[1] == 0.0
    for i in (0, 2):
        assert math.isclose(rel.gap[i], want[i], rel_tol=1e-12)
    if loss == "sum":
        # d/dW1[0] and d/db1[0] change by (2 - 1) * x and (2 - 1): |(1, 1, 1)| at x = (1, 1)
        assert rel.gap[0] == math.sqrt(3.0)
    batch = sum(_torch_param_grads(_Net(relu1=True), X[i], Y[i], loss) - _torch_param_grads(_Net(), X[i], Y[i], loss)
                for i in range(3)) / 3
    assert math.isclose(rel.batch_gap, float(np.linalg.norm(batch)), rel_tol=1e-12)


class _Scaled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = _Net()

    def forward(self, x):
        return self.net(x * 16 / 16)


def test_only_the_model_parameters_count():
    # the scaling made outside the parameter modules is no parameter: the same answer as without it
    scaled = mt.audit(_Scaled(), X, loss="sum", dtype="float64", verdicts=False).relu0
    plain = mt.audit(_Net(), X, loss="sum", dtype="float64", verdicts=False).relu0
    assert scaled.differs == plain.differs == [0, 2] and scaled.gap == plain.gap
    # a plain function has no modules: every affine map counts, the scaling too (a larger gap)
    net = _Net()
    every = mt.audit(lambda x: net(x * 16 / 16), X, loss="sum", dtype="float64", verdicts=False).relu0
    assert every.differs == [0, 2] and every.gap[0] > plain.gap[0]
    assert str(plain).startswith("relu'(0) = 0 vs 1 (sum loss")


def test_cross_entropy_needs_labels():
    with pytest.raises(mt.InputError, match="labels"):
        mt.audit(_Net(), X, loss="cross_entropy", dtype="float64")
