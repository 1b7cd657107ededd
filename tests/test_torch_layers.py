"""PyTorch layers traced as written: convolutions, batch norm and dropout in eval mode, the pooling family,
padding, PReLU, ``torch.where``, routine tensor methods.

Each is checked two ways against torch itself, in float64: ``table.check`` on a small program (torch's
autograd at a float-exact point of every stratum, ties and kinks included: tie tests), and ``mt.evaluate``
against torch's value and Jacobian at random points and at tie points.  Weights are dyadic (multiples of
1/4), so every float64 operation is exact and ties happen in torch where they happen exactly.
"""
import numpy as np
import pytest

import mtsym as mt

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


@pytest.fixture(autouse=True, scope="module")
def float64_and_one_thread():
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


def dyadic_(module, seed=0):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.integers(-4, 5, size=tuple(p.shape)) / 4))
    return module.eval()


def torch_jacobian(fn, X):
    vals, jacs = [], []
    for x in X:
        xt = torch.tensor(x, requires_grad=True)
        out = fn(xt).reshape(-1)
        vals.append(out.detach().numpy())
        jacs.append([torch.autograd.grad(out[k], xt, retain_graph=True, allow_unused=True)[0] for k in
                     range(out.numel())])
    jacs = [[np.zeros(X.shape[1]) if g is None else g.numpy() for g in row] for row in jacs]
    return np.array(vals), np.array(jacs)


def agrees_with_torch(fn, n, points=None, exact=True):
    """mt.evaluate and torch on random points (and ``points``): equal values and Jacobians."""
    rng = np.random.default_rng(1)
    X = rng.integers(-8, 9, size=(6, n)) / 4
    if points is not None:
        X = np.concatenate([X, np.array(points, dtype=float)])
    r = mt.evaluate(fn, X, inputs=n)
    want_v, want_g = torch_jacobian(fn, X)
    value, grad = r.value.reshape(want_v.shape), r.grad.reshape(want_g.shape)
    tol = 0 if exact else 1e-12
    assert np.allclose(value, want_v, rtol=tol, atol=tol) and np.allclose(grad, want_g, rtol=tol, atol=tol)
    return True


def check_complete(fn, n):
    """derive + table.check: torch agrees on every stratum it can be held to (a stratum with no float point,
    such as ``3*x1 = 1``, is the only excuse), tie and kink strata among them."""
    table = mt.derive(fn, n, convention="mean")        # a torch op keeps torch's rule under any convention
    report = table.check(fn)
    assert report.ok, str(report)
    assert all("no dyadic point" in e.reason for e in report.skipped), str(report)
    assert any(e.dim < n for e in report.agreeing), str(report)
    return table


# --------------------------------------------------------------------------- convolutions
def test_conv1d_relu_maxpool_every_stratum():
    conv = nn.Conv1d(1, 1, 2, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[1.0, -1.0]]]))
        conv.bias.fill_(0.5)
    fn = lambda x: F.max_pool1d(F.relu(conv(x.view(1, 1, 3))), 2).sum()  # noqa: E731
    table = check_complete(fn, 3)
    assert len(table.strata) > 10
    assert agrees_with_torch(fn, 3, points=[(0, 0, 0), (1, 1, 1), (0.5, 1, 0.5)])


@pytest.mark.parametrize("kw", [dict(stride=2, dilation=2), dict(padding="same"), dict(padding="valid", groups=2),
                                dict(padding=2, stride=3, bias=False)])
def test_conv1d_geometry(kw):
    conv = dyadic_(nn.Conv1d(2, 4, 3, **kw), 2)
    fn = lambda x: conv(x.view(1, 2, 9)).flatten()  # noqa: E731
    assert agrees_with_torch(fn, 18)


def test_conv2d_same_padding_and_groups():
    conv = dyadic_(nn.Conv2d(2, 4, (3, 2), padding="same", groups=2, dilation=(1, 2)), 3)
    assert agrees_with_torch(lambda x: conv(x.view(2, 4, 4)).flatten(), 32)


def test_conv3d_and_functional_conv2d_unbatched():
    conv = dyadic_(nn.Conv3d(1, 2, 2, stride=(1, 2, 1)), 4)
    assert agrees_with_torch(lambda x: conv(x.view(1, 1, 3, 4, 2)).flatten(), 24)
    w = torch.tensor([[[[0.5, -1.0], [0.25, 2.0]]]])
    assert agrees_with_torch(lambda x: F.conv2d(x.view(1, 3, 3), w, stride=2, padding=1).flatten(), 9)


@pytest.mark.parametrize("kw", [dict(stride=2), dict(stride=2, padding=1, output_padding=1), dict(dilation=2)])
def test_conv_transpose(kw):
    conv = dyadic_(nn.ConvTranspose1d(2, 3, 3, **kw), 5)
    assert agrees_with_torch(lambda x: conv(x.view(1, 2, 4)).flatten(), 8)
    conv2 = dyadic_(nn.ConvTranspose2d(2, 2, 2, groups=2, **{k: v for k, v in kw.items() if k != "dilation"}), 6)
    assert agrees_with_torch(lambda x: conv2(x.view(1, 2, 2, 2)).flatten(), 8)


# --------------------------------------------------------------------------- normalisation, dropout
def test_batchnorm_eval_is_the_affine_map_of_its_running_statistics():
    bn = nn.BatchNorm1d(2)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.3, -1.7]))
        bn.running_var.copy_(torch.tensor([2.5, 0.1]))
        bn.weight.copy_(torch.tensor([1.5, -0.7]))
        bn.bias.copy_(torch.tensor([0.1, 0.2]))
    bn.eval()
    assert agrees_with_torch(lambda x: bn(x.view(2, 2)).flatten(), 4, exact=False)


def test_batchnorm_then_relu_ties_with_dyadic_statistics():
    bn = nn.BatchNorm2d(2, eps=2.0 ** -10)
    with torch.no_grad():
        bn.running_var.fill_(1 - bn.eps)         # 1/sqrt(var + eps) = 1 exactly
        bn.running_mean.copy_(torch.tensor([0.5, -0.25]))
        bn.weight.copy_(torch.tensor([2.0, 0.5]))
    bn.eval()
    fn = lambda x: F.relu(bn(x.view(1, 2, 1, 2))).sum()  # noqa: E731
    table = check_complete(fn, 4)
    assert list(table.grad_at((0.5, 0.5, -0.25, -0.25))) == [0, 0, 0, 0]   # relu'(0) = 0 at every unit


def test_dropout_in_eval_mode_is_the_identity():
    net = nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3), nn.Identity(), nn.AlphaDropout(0.2)).eval()
    fn = lambda x: F.dropout(net(x.view(1, 2, 2)), 0.9, training=False).flatten()  # noqa: E731
    table = mt.derive(fn, 4)
    assert len(table) == 1 and table.grad_at((1, 2, 3, 4)) == mt.derive(lambda x: x, 4).grad_at((0, 0, 0, 0))


# --------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("kw", [dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=2, stride=1, dilation=2),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_max_pool_ceil_mode_and_dilation_every_stratum(kw):
    fn = lambda x: F.max_pool1d(x.view(1, 5), **kw).sum()  # noqa: E731
    check_complete(fn, 5)


def test_max_pool2d_dilation_at_ties():
    fn = lambda x: nn.MaxPool2d(2, stride=1, dilation=2, ceil_mode=True)(x.view(1, 4, 4)).flatten()  # noqa: E731
    assert agrees_with_torch(fn, 16, points=[(0,) * 16, (1, 1, 0, 0) * 4])


@pytest.mark.parametrize("kw", [dict(count_include_pad=True), dict(count_include_pad=False),
                                dict(ceil_mode=True, count_include_pad=True), dict(divisor_override=3)])
def test_avg_pool2d(kw):
    fn = lambda x: F.avg_pool2d(x.view(1, 1, 5, 5), 2, stride=2, padding=1, **kw).flatten()  # noqa: E731
    assert agrees_with_torch(fn, 25, exact=False)


def test_avg_pool1d_and_adaptive_average_pooling():
    assert agrees_with_torch(lambda x: F.avg_pool1d(x.view(1, 7), 3, stride=2, ceil_mode=True).flatten(), 7,
                             exact=False)
    assert agrees_with_torch(lambda x: nn.AdaptiveAvgPool1d(3)(x.view(1, 7)).flatten(), 7, exact=False)
    assert agrees_with_torch(lambda x: nn.AdaptiveAvgPool2d((2, None))(x.view(1, 5, 3)).flatten(), 15,
                             exact=False)


def test_adaptive_max_pooling_every_stratum():
    check_complete(lambda x: nn.AdaptiveMaxPool1d(2)(x.view(1, 5)).sum(), 5)
    fn = lambda x: nn.AdaptiveMaxPool2d((2, 3))(x.view(1, 3, 4)).flatten()  # noqa: E731
    assert agrees_with_torch(fn, 12, points=[(0,) * 12, (2,) * 12])


# --------------------------------------------------------------------------- padding
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes(mode):
    fn = lambda x: F.pad(x.view(1, 1, 3, 3), (1, 2, 2, 1), mode=mode).flatten()  # noqa: E731
    assert agrees_with_torch(fn, 9)


def test_pad_with_minus_infinity_then_max_pool():
    """Padding with -inf for a max pool (the padding never wins; a window's max is over its real entries)."""
    fn = lambda x: F.max_pool1d(F.pad(x.view(1, 4), (1, 1), value=float("-inf")), 2).sum()  # noqa: E731
    check_complete(fn, 4)
    assert F.pad(torch.zeros(1, 2), (1, 1), value=-1.5, mode="constant")[0, 0] == -1.5
    assert agrees_with_torch(lambda x: F.pad(x.view(2, 2), (-1, 1), value=0.5).flatten(), 4)   # cropping


# --------------------------------------------------------------------------- activations, branches
def test_prelu_weight_is_the_slope_at_zero():
    prelu = nn.PReLU(2, init=0.25)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([0.25, -0.5]))
    fn = lambda x: prelu(x.view(1, 2, 2)).sum()  # noqa: E731
    table = check_complete(fn, 4)
    assert [float(v) for v in table.grad_at((0, 0, 0, 0))] == [0.25, 0.25, -0.5, -0.5]


def test_where_on_a_comparison_is_a_branch():
    fn = lambda x: torch.where(x > 0, x, 0.25 * x).sum() + torch.where(x[:1] >= x[1:], x[:1], x[1:]).sum()  # noqa
    table = check_complete(fn, 2)
    assert [float(v) for v in table.grad_at((0, 0))] == [1.25, 0.25]   # x > 0 false at 0; >= true at a tie


def test_elementwise_comparisons_as_masks():
    fn = lambda x: (x * (x > 1).double()).sum() + (x < 0).sum() + ((x >= 0) & (x <= 1)).double() @ x  # noqa: E731
    check_complete(fn, 2)


# --------------------------------------------------------------------------- routine methods and modules
def test_routine_tensor_methods_and_modules():
    flatten = nn.Sequential(nn.Identity(), nn.Flatten())

    def fn(x):
        a = x.view(2, 3).contiguous().clone().float().double().to(torch.float64)
        b = a.view(a.size(0), -1) + torch.zeros_like(a) + torch.ones_like(a) * a.numel()
        c = b[:, :1].expand(2, 3) + b.repeat(1, 2)[:, 3:] + a.view_as(b)
        d = flatten(c[None]).cpu()
        return torch.cat([d.flatten(), torch.full_like(x, 2.0), torch.relu(a).sum(0)])
    assert agrees_with_torch(fn, 6)
    check_complete(lambda x: torch.relu(x.view(1, -1).flatten()).sum(), 2)


def test_integer_powers_are_products_and_array_powers_are_refused():
    def fn(x):
        return torch.pow(x - 1, 2).sum() + torch.square(x[0])
    table = mt.derive(fn, 2)
    assert list(table.grad_at((3, 0))) == [10, -2] == torch_jacobian(fn, np.array([[3.0, 0.0]]))[1][0, 0].tolist()
    with pytest.raises(mt.NonAffineError) as e:
        mt.derive(lambda x: torch.relu(torch.pow(x, 2)).sum(), 2)
    assert "test_torch_layers.py" in e.value.line
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: (x ** 2).sum(), 2)
    assert e.value.op == "**"


def test_if_not_x_on_the_input_vector():
    def fn(x):
        if not x:
            return 0
        return torch.max(x)
    assert [float(v) for v in mt.derive(fn, 2).grad_at((1, 1))] == [0.5, 0.5]
