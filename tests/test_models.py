"""The gallery of real models (``tests/models/``), traced as written, against the framework in float64.

For every model: ``mt.evaluate`` on scikit-learn's bundled 8x8 digits, with the model's random float
weights, against the framework's own value and Jacobian (PyTorch autograd, ``jax.jacrev``); then, with
dyadic weights (every float64 operation exact, so the framework ties exactly where the exact program does),
on all-zero and constant images, where pooling windows, maxima and sorts tie: the associated gradient must
be the framework's, entry for entry -- also when the table's convention is "mean", since each framework
call pins its own tie rule.  Tie tests, not finite differences.
"""
import numpy as np
import pytest

import mtsym as mt

from models import digits, tie_images

torch = pytest.importorskip("torch")

from models import (cnn1d, lenet, losses, maxout, mnist_example, pointnet, relu_alpha, resnet, robust,  # noqa: E402
                    textbook, vgg)

MODULES = [lenet, mnist_example, cnn1d, pointnet, maxout, vgg, resnet, textbook, relu_alpha, robust, losses]
try:
    import jax  # noqa: F401
    from models import stax_models
    MODULES.append(stax_models)
except ImportError:  # pragma: no cover - jax is a test dependency in CI
    pass

SPECS = {name: spec for m in MODULES for name, spec in m.MODELS.items()}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """torch's reference runs are tiny: on a shared 2-core machine its second thread only waits (30x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_gallery_has_at_least_twelve_models_each_naming_its_source():
    assert len(SPECS) >= 12
    for m in MODULES:
        doc = m.__doc__ or ""
        assert any(c.isdigit() for c in doc) and ("(" in doc), m.__name__   # an author-year or a repository


def _flat(out):
    return torch.stack(list(out)).reshape(-1) if isinstance(out, (list, tuple)) else out.reshape(-1)


def torch_reference(fn, X):
    """Values (N, m) and Jacobians (N, m, n) by torch autograd, float64."""
    vals, jacs = [], []
    for x in X:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out = _flat(fn(xt))
        rows = [torch.autograd.grad(out[k], xt, retain_graph=True, allow_unused=True)[0] for k in range(len(out))]
        vals.append(out.detach().numpy())
        jacs.append(np.array([np.zeros(len(x)) if g is None else g.numpy() for g in rows]))
    return np.array(vals), np.array(jacs)


def jax_reference(fn, X):
    import jax
    import jax.numpy as jnp
    with jax.enable_x64(True):
        flat = lambda v: jnp.ravel(fn(v))  # noqa: E731
        Xj = jnp.asarray(X, dtype=jnp.float64)
        vals = jax.jit(jax.vmap(flat))(Xj)
        jacs = jax.jit(jax.vmap(jax.jacrev(flat)))(Xj)
    return np.asarray(vals, dtype=float), np.asarray(jacs, dtype=float)


def reference(spec, dyadic, X):
    fn = spec.build(dyadic, reference=True)
    if spec.framework == "jax":
        return jax_reference(fn, X)
    return torch_reference(fn, X)


def mtsym_eval(spec, fn, X, convention="torch"):
    r = mt.evaluate(fn, X, inputs=spec.inputs, convention=convention,
                    framework="jax" if spec.framework == "jax" else None)
    m = r.value.reshape(len(X), -1).shape[1]
    return r.value.reshape(len(X), m), r.grad.reshape(len(X), m, spec.inputs)


def _inputs(spec, X):
    return X if spec.inputs == 64 else np.concatenate([X[:, 8 * k:8 * k + 8] for k in range(2)])


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name", sorted(SPECS))
def test_real_digits_against_the_framework(name):
    spec = SPECS[name]
    X = _inputs(spec, digits(8))
    value, grad = mtsym_eval(spec, spec.build(False), X)
    want_value, want_grad = reference(spec, False, X)
    assert np.allclose(value, want_value, rtol=spec.tol, atol=spec.tol)
    assert np.allclose(grad, want_grad, rtol=spec.tol, atol=spec.tol)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name", sorted(SPECS))
def test_ties_on_constant_images_with_dyadic_weights(name):
    spec = SPECS[name]
    X = _inputs(spec, np.concatenate([tie_images(), digits(2)]))
    want_value, want_grad = reference(spec, True, X)
    fn = spec.build(True)
    for convention in ("torch", "mean") if spec.framework != "python" else ("torch",):
        value, grad = mtsym_eval(spec, fn, X, convention)
        assert np.array_equal(value, want_value), convention
        assert np.array_equal(grad, want_grad), convention


def test_the_tie_images_do_tie():
    """On the all-zero image every window of LeNet's first pooling sees one value (its channel's bias)."""
    net = lenet.Net().double().eval()
    c1 = torch.relu(net.conv1(torch.nn.functional.interpolate(torch.zeros(1, 1, 8, 8, dtype=torch.float64),
                                                              scale_factor=4)))
    assert all(len(torch.unique(c1[0, c])) == 1 for c in range(6))
