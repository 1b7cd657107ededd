"""Sort and top-k values (``order`` nodes) traced from torch and JAX code, held to the frameworks by
``table.check`` at every stratum (tie tests: exact points, no finite differences).

``torch.sort``/``msort``/``median`` and ``jnp.sort``/``median``/``lax.top_k`` follow declared rules, so
the checks are complete.  ``torch.topk`` and ``torch.kthvalue`` pick among tied entries in an order that
depends on their selection algorithm, not on the tie alone: their nodes carry the stable rule, and
``table.check`` reports the tie strata where torch chose otherwise instead of claiming agreement.
"""
import numpy as np
import pytest

import mtsym as mt

torch = pytest.importorskip("torch")


def _check(fn, n, framework="torch"):
    table = mt.derive(fn, n, convention="mean", framework=None if framework == "torch" else framework)
    return table, table.check(fn, framework=framework)


def test_torch_sort_rows_ascending_and_descending_every_stratum():
    def f(x):
        s = torch.sort(x.view(1, 3), dim=1).values[0]
        d = torch.sort(x, descending=True).values
        return s[1] + 2 * s[2] + 4 * d[0] - d[2]
    table, report = _check(f, 3)
    assert report.complete and len(report.agreeing) == len(table.strata) == 13


def test_torch_median_and_msort_every_stratum():
    table, report = _check(lambda x: torch.median(x) + 2 * torch.msort(x.view(4, 1))[1, 0], 4)
    assert report.complete
    assert list(table.grad_at((0, 0, 0, 0))) == [sp_q(1, 4) + (i == 1) * 2 for i in range(4)]


def sp_q(p, q):
    import sympy
    return sympy.Rational(p, q)


@pytest.mark.parametrize("fn", [lambda x: torch.topk(x, 2).values.sum() + torch.topk(x, 1).values[0],
                                lambda x: torch.kthvalue(x, 2).values])
def test_topk_and_kthvalue_ties_are_implementation_defined_and_check_says_so(fn):
    table, report = _check(fn, 4)
    assert report.differ, "torch's selection order at ties happened to follow the stable rule everywhere"
    assert all(e.dim < 4 for e in report.differ)                  # only tie strata differ
    assert all(e.status == "agree" for e in report.entries if e.dim == 4)
    assert not report.ok


def test_topk_smallest_and_its_values_off_ties():
    fn = lambda x: torch.topk(x, 2, largest=False).values @ torch.tensor([1.0, 3.0], dtype=x.dtype)  # noqa: E731
    table = mt.derive(fn, 3)
    x = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    assert [float(v) for v in table.grad_at((2, -1, 0.5))] == x.grad.tolist() == [0, 1, 3]


def test_sort_indices_are_refused_on_use():
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: x[torch.sort(x).indices[0]], 2)
    assert "indices" in e.value.op and "depends on the input" in str(e.value)


# --------------------------------------------------------------------------- JAX
def test_jax_sort_median_top_k_every_stratum():
    jax = pytest.importorskip("jax")
    jnp, lax = jax.numpy, jax.lax

    def f(x):
        return jnp.median(x) + 2 * jnp.sort(x)[0] - lax.top_k(x, 2)[0][1] + jnp.sort(x, descending=True)[1]
    table, report = _check(f, 4, "jax")
    assert report.complete
    with jax.enable_x64(True):
        g = jax.grad(f)(jnp.zeros(4))
    assert [float(v) for v in table.grad_at((0, 0, 0, 0))] == [float(v) for v in g]


def test_jax_argsort_is_refused():
    jax = pytest.importorskip("jax")
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: x[jax.numpy.argsort(x)[0]], 3, framework="jax")
    assert "sort" in e.value.op and "permutation" in str(e.value)


def test_evaluate_sorts_at_ties_like_torch():
    X = np.array([[0.0, 0, 0, 0], [1, 3, 3, 2], [2, 2, 1, 2]])
    fn = lambda x: torch.sort(x, descending=True).values  # noqa: E731
    r = mt.evaluate(fn, X)
    for x, g in zip(X, r.grad):
        xt = torch.tensor(x, requires_grad=True)
        out = fn(xt)
        want = np.array([torch.autograd.grad(out[k], xt, retain_graph=True)[0].numpy() for k in range(4)])
        assert np.array_equal(g, want)
