"""The results page (docs/audit.md): its numbers re-run by the script on the first 40 digits, and checked.

Oracles independent of the audit of the torch CNN: an exact rational computation of its max-pool
windows (numpy object arrays of Fractions), the same CNN written with a numpy convolution matrix
(checked against PyTorch's forward pass), and that version's exact gradients at random nearby
points (a sample where every nearby gradient is the framework's has that gradient as its only
Clarke gradient).
"""
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import mtsym as mt

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn", reason="the digits come with scikit-learn")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import audit_digits as ad  # noqa: E402

N = 40


@pytest.fixture(scope="module")
def trained():
    X, y, net, cnn = ad.trained()
    return X[:N], y[:N], net, cnn, ad.audits(X[:N], y[:N], net, cnn, jax=False)


def _exact_pool_ties(cnn, X):
    """Samples where some 2x2 window of relu(conv) has its maximum twice, in exact arithmetic."""
    M, b = ad.conv_matrix(cnn.conv)
    Mq = np.vectorize(Fraction, otypes=[object])(M)
    bq = np.vectorize(Fraction, otypes=[object])(b)
    out = []
    for s, x in enumerate(X):
        h = Mq.dot(np.vectorize(Fraction, otypes=[object])(x.astype(np.float64))) + bq
        h = np.array([max(v, 0) for v in h], dtype=object).reshape(4, 6, 6)
        tied = any(sorted(h[c, i:i + 2, j:j + 2].ravel())[-1] == sorted(h[c, i:i + 2, j:j + 2].ravel())[-2]
                   for c in range(4) for i in (0, 2, 4) for j in (0, 2, 4))
        if tied:
            out.append(s)
    return out


@pytest.mark.slow
def test_the_page_shows_what_the_script_computes(trained):
    X, y, net, cnn, runs = trained
    page = (ROOT / "docs" / "audit.md").read_text()
    assert ad.table(runs) in page


@pytest.mark.slow
def test_the_numbers_against_independent_oracles(trained):
    X, y, net, cnn, runs = trained
    f = ad.cnn_function(cnn)
    ev = mt.evaluate(f, X.astype(np.float64))
    with torch.no_grad():
        ref = cnn.double()(torch.from_numpy(X.astype(np.float64))).numpy()
    cnn.float()
    np.testing.assert_allclose(ev.value, ref, rtol=1e-12, atol=1e-12)
    ties = _exact_pool_ties(cnn, X)
    for dtype in ("float32", "float64"):   # the same exact points (float32 data)
        assert runs["CNN", "torch", dtype].exact_ties == ties
    # the MLP: torch's float32 forward never puts a hidden unit at exactly 0 here, so relu'(0) changes nothing
    with torch.no_grad():
        pre = net[0](torch.from_numpy(X))
    assert not (pre == 0).any() and runs["MLP", "torch", "float32"].relu0.differs == []
    # verdicts: where every nearby exact gradient (of the numpy-matrix CNN) is the framework's gradient
    # (from the audit of the torch module), it is the Clarke gradient
    from mtsym.audit.exact import ExactSample
    from mtsym.audit.layers import trace_model
    t = trace_model(f, 64, mt.Convention("torch"))
    r = runs["CNN", "torch", "float32"]
    rng = np.random.default_rng(0)
    checked = 0
    for i in r.exact_ties[:8]:
        x0 = [Fraction(float(v)) for v in X[i]]
        near = set()
        for _ in range(4):
            d = rng.integers(-1000, 1000, 64)
            es = ExactSample(t.graph, [a + Fraction(int(b), 2 ** 40) for a, b in zip(x0, d)])
            near.add(es.gradient(t.outputs, {}, mt.Convention("torch")))
        if near == {r.samples[i].gradient}:
            assert r.verdicts[i] == "yes", i
            checked += 1
    assert checked > 0
