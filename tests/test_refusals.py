"""Every unsupported call, module or mode is refused: an MtsymError naming the operation, why (not piecewise
linear, depends on the batch, data-dependent, random, ...), and the user's line -- one case per refusal."""
import pytest

import mtsym as mt

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional
np = pytest.importorskip("numpy")


class ReLUHalf(torch.autograd.Function):       # a custom Function nobody declared
    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        return g * 0.5


def _bn_train(x):
    bn = nn.BatchNorm1d(2)            # a fresh module is in training mode
    return bn(x.view(1, 2)).sum()


def _dropout_train(x):
    return nn.Dropout(0.5)(x).sum()   # training mode: a random mask


def _traced_kernel(x):
    return F.conv1d(x.view(1, 1, 2), x.view(1, 1, 2)).sum()


def _inplace_real(x):
    return torch.zeros(2, dtype=torch.float64).add_(x).sum()


# label: (function of x, inputs, words in the op name, words in the reason)
TORCH = {
    "batch norm in training mode": (_bn_train, 2, "batch_norm", "depends on the batch"),
    "dropout in training mode": (_dropout_train, 2, "dropout", "random mask"),
    "layer_norm": (lambda x: F.layer_norm(x, (2,)).sum(), 2, "layer_norm", "not piecewise linear"),
    "group_norm": (lambda x: F.group_norm(x.view(1, 2, 1), 1).sum(), 2, "group_norm", "not piecewise linear"),
    "instance_norm": (lambda x: nn.InstanceNorm1d(1)(x.view(1, 1, 2)).sum(), 2, "instance_norm",
                      "not piecewise linear"),
    "max pooling indices": (lambda x: nn.MaxPool1d(2, return_indices=True)(x.view(1, 2))[0].sum(), 2,
                            "max_pool1d", "return_indices"),
    "adaptive max pooling indices": (lambda x: F.adaptive_max_pool1d(x.view(1, 2), 1, return_indices=True)[0].sum(),
                                     2, "max_pool1d", "return_indices"),
    "topk unsorted": (lambda x: torch.topk(x, 1, sorted=False).values.sum(), 2, "torch.topk",
                      "implementation-defined"),
    "exp": (lambda x: torch.exp(x).sum(), 2, "torch.exp", "not piecewise linear"),
    "sigmoid": (lambda x: torch.sigmoid(x).sum(), 2, "sigmoid", "not piecewise linear"),
    "softmax": (lambda x: F.softmax(x, 0).sum(), 2, "softmax", "not piecewise linear"),
    "log_softmax": (lambda x: F.log_softmax(x, 0).sum(), 2, "log_softmax", "not piecewise linear"),
    "gelu": (lambda x: F.gelu(x).sum(), 2, "gelu", "not piecewise linear"),
    "rand_like": (lambda x: torch.rand_like(x).sum(), 2, "rand_like", "random"),
    "argmax": (lambda x: torch.argmax(x), 2, "argmax", "depends on the input"),
    "equal": (lambda x: torch.equal(x, x), 2, "equal", "one Python bool"),
    "item": (lambda x: x.sum().item(), 2, "item", "drop the trace"),
    "bilinear interpolation": (lambda x: F.interpolate(x.view(1, 1, 2), size=3, mode="linear").sum(), 2,
                               "interpolate", "only 'nearest'"),
    "division with rounding": (lambda x: torch.div(x, 2, rounding_mode="floor").sum(), 2, "div", "rounds"),
    "out=": (lambda x: torch.clamp(x, min=0, out=torch.empty(2)).sum(), 2, "clamp", "out="),
    "in place into a real tensor": (_inplace_real, 2, "add_", "traced arrays only"),
    "a kernel that depends on the input": (_traced_kernel, 2, "conv1d", "depend on the input"),
    "padding='same' with a stride": (lambda x: F.conv1d(x.view(1, 1, 2), torch.ones(1, 1, 1), stride=2,
                                                        padding="same").sum(), 2, "conv1d", "stride 1"),
    "an unknown padding mode": (lambda x: F.pad(x.view(1, 1, 2), (1, 1), mode="mirror").sum(), 2, "pad",
                                "mode='mirror'"),
    "where with one argument": (lambda x: torch.where(x > 0)[0], 2, "torch.where", "depends on the input"),
    "an undeclared custom autograd Function": (lambda x: ReLUHalf.apply(x).sum(), 2, "ReLUHalf.apply",
                                               "mt.declare(ReLUHalf"),
    "a traced exponent": (lambda x: torch.pow(2, x).sum(), 2, "torch.pow", "not piecewise affine"),
    "a fractional power": (lambda x: torch.pow(x, 0.5).sum(), 2, "torch.pow", "not piecewise affine"),
}


@pytest.mark.parametrize("label", sorted(TORCH))
def test_torch_refusal(label):
    fn, n, op, why = TORCH[label]
    with pytest.raises(mt.MtsymError) as e:
        mt.derive(fn, n)
    assert op in e.value.op and why in str(e.value), str(e.value)
    assert "test_refusals.py" in e.value.line


# --------------------------------------------------------------------------- numpy
NUMPY = {
    "numpy.exp": (lambda x: np.exp(x).sum(), "numpy.exp", "not piecewise linear"),
    "numpy.argmax": (lambda x: np.argmax(x), "numpy.argmax", "depends on the input"),
    "numpy.floor": (lambda x: np.floor(x).sum(), "numpy.floor", "discontinuous"),
    "numpy.linalg.norm": (lambda x: np.linalg.norm(x), "numpy.norm", "not piecewise linear"),
    "numpy.cumprod": (lambda x: np.cumprod(x)[1], "numpy.cumprod", "not piecewise linear"),
}


# --------------------------------------------------------------------------- infinities
INFINITE = {
    "inf - inf": (lambda x: (x[0] + float("inf")) - float("inf"), "inf - inf", "nan"),
    "inf times a traced value": (lambda x: float("-inf") * x[0], "*", "sign depends on the value"),
    "nan from 0 * inf": (lambda x: mt.max(x[0], 0 * float("inf")), "max", "nan"),
    "an infinite result": (lambda x: mt.maximum(x[0], float("inf")), "return", "not finite"),
    "inf into an affine map": (lambda x: mt.lincomb([1, 1], [x[0], float("-inf")]), "affine", "not finite"),
    "nan in a comparison": (lambda x: x[0] if x[0] > float("nan") else x[1], ">", "nan"),
}


@pytest.mark.parametrize("label", sorted(NUMPY) + sorted(INFINITE))
def test_numpy_and_infinity_refusal(label):
    fn, op, why = NUMPY.get(label) or INFINITE[label]
    with pytest.raises(mt.MtsymError) as e:
        mt.derive(fn, 2)
    assert e.value.op == op and why in str(e.value), str(e.value)
    assert label in INFINITE or "test_refusals.py" in e.value.line


# --------------------------------------------------------------------------- jax
def _jax():
    return pytest.importorskip("jax")


def _custom_jvp():
    jax = _jax()

    @jax.custom_jvp
    def soft_relu(x):
        return jax.numpy.maximum(x, 0.0)

    @soft_relu.defjvp
    def _jvp(primals, tangents):
        return soft_relu(primals[0]), 0.5 * tangents[0]
    return lambda x: soft_relu(x[0])


def _custom_vjp():
    jax = _jax()

    @jax.custom_vjp
    def clip_grad(x):
        return jax.numpy.maximum(x, 0.0)

    clip_grad.defvjp(lambda x: (clip_grad(x), None), lambda res, g: (g * 0.5,))
    return lambda x: clip_grad(x[0])


JAX = {
    "log_softmax": (lambda: (lambda x: _jax().nn.log_softmax(x)[0]), "log_softmax", "gradient"),
    "jnp.exp": (lambda: (lambda x: _jax().numpy.exp(x)[0]), "jax primitive exp", "not piecewise linear"),
    "an undeclared custom_jvp": (_custom_jvp, "custom_jvp_call of soft_relu", "mt.declare(soft_relu"),
    "an undeclared custom_vjp": (_custom_vjp, "custom_vjp_call of clip_grad", "mt.declare(clip_grad"),
    "argmax": (lambda: (lambda x: x[_jax().numpy.argmax(x)]), "argmax", "depends on the input"),
    "a while loop": (lambda: (lambda x: _jax().lax.while_loop(lambda c: c[0] < 0, lambda c: c + 1, x)[0]),
                     "while", "loops"),
}


@pytest.mark.parametrize("label", sorted(JAX))
def test_jax_refusal(label):
    make, op, why = JAX[label]
    with pytest.raises(mt.MtsymError) as e:
        mt.derive(make(), 2, framework="jax")
    assert op in e.value.op and why in str(e.value), str(e.value)
    assert "test_refusals.py" in e.value.line
