"""Custom derivative rules: refused until declared with ``mt.declare``, then held to the hand-written backward.

A custom ``torch.autograd.Function`` (or ``jax.custom_jvp``) has a derivative its author wrote; tracing its
forward would attach the forward operations' tie rules instead -- wrong at ties, silently, and
``verify()`` would not see it (it checks the table against itself).  So mtsym refuses it; declared in
mtsym's terms, the table agrees with the author's backward at every stratum ``table.check`` can reach.
Tie tests at exact points.
"""
import pytest
import sympy as sp

import mtsym as mt

torch = pytest.importorskip("torch")
nn = torch.nn

from models.relu_alpha import ReLUAlpha  # noqa: E402  (research code on ReLU'(0): relu'(0) = alpha, hand-written)


class MaxBeta(torch.autograd.Function):
    """max(a, b) whose gradient at a tie is (beta, 1 - beta) (a max-pooling tie rule, hand-written)."""

    @staticmethod
    def forward(ctx, a, b, beta):
        ctx.save_for_backward(a, b)
        ctx.beta = beta
        return torch.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        wa = (a > b).to(g.dtype) + ctx.beta * (a == b).to(g.dtype)
        return g * wa, g * (1 - wa), None


def relu_alpha_net(x):
    h = ReLUAlpha.apply(x @ torch.tensor([[1.0, -1.0], [0.5, 1.0]], dtype=x.dtype) - 0.75, 0.25)
    return MaxBeta.apply(h[0], h[1], 0.75) + ReLUAlpha.apply(x[0] - x[1], 0.25)


def _declare_all():
    mt.declare(ReLUAlpha, lambda x, alpha: mt.relu(x, convention=mt.Convention(relu0=alpha)))
    mt.declare(MaxBeta, lambda a, b, beta: mt.maximum(a, b, convention=mt.Convention(maximum=beta)))


def test_undeclared_function_is_refused_naming_it_and_the_line():
    class Fresh(ReLUAlpha):
        pass
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: Fresh.apply(x[0], 0.5), 1)
    assert "Fresh.apply" in e.value.op and "mt.declare(" in str(e.value)
    assert "test_declare.py" in e.value.line and "Fresh.apply" in e.value.line


def test_declared_functions_agree_with_their_backward_at_every_stratum():
    _declare_all()
    table = mt.derive(relu_alpha_net, 2, convention="mean")
    report = table.check(relu_alpha_net)
    assert report.ok and len(report.agreeing) == len(table.strata) > 10, str(report)
    assert any(e.dim == 0 for e in report.agreeing)
    # the forward's own rules would have said otherwise at the ties: clamp'(0) = 1, maximum at a tie 1/2
    forward_only = lambda x: torch.maximum(*torch.clamp(  # noqa: E731
        x @ torch.tensor([[1.0, -1.0], [0.5, 1.0]], dtype=x.dtype) - 0.75, min=0)) + torch.clamp(x[0] - x[1], min=0)
    wrong = mt.derive(forward_only, 2)
    tie = (sp.Rational(1, 2), sp.Rational(1, 2))
    assert wrong.value_at(tie) == table.value_at(tie) and wrong.grad_at(tie) != table.grad_at(tie)


def test_real_tensors_still_run_the_function_itself():
    _declare_all()
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    ReLUAlpha.apply(x, 0.25).sum().backward()
    assert x.grad.tolist() == [0.25]


def test_a_parametric_declaration():
    a = sp.Symbol("a")
    mt.declare(ReLUAlpha, lambda x, alpha: mt.relu(x, convention=mt.Convention(relu0=a)))
    table = mt.derive(lambda x: ReLUAlpha.apply(x[0], 0.25) + ReLUAlpha.apply(x[1], 0.25), 2)
    assert list(table.grad_at((0, 1))) == [a, 1]
    _declare_all()   # later declarations replace earlier ones
    assert list(mt.derive(lambda x: ReLUAlpha.apply(x[0], 0.25), 1).grad_at((0,))) == [sp.Rational(1, 4)]


def test_declare_refuses_other_objects():
    with pytest.raises(mt.InputError):
        mt.declare(len, lambda x: x)
    with pytest.raises(mt.InputError):
        mt.declare(ReLUAlpha, "relu")


def _relu_half_jax(kind):
    """relu whose derivative at 0 is 1/2, written with jax.custom_jvp or jax.custom_vjp."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def deriv(x):
        return jnp.where(x > 0, 1.0, jnp.where(x == 0, 0.5, 0.0))
    if kind == "jvp":
        @jax.custom_jvp
        def relu_half(x):
            return jnp.maximum(x, 0.0)

        relu_half.defjvp(lambda primals, tangents: (relu_half(primals[0]), tangents[0] * deriv(primals[0])))
        return relu_half

    @jax.custom_vjp
    def relu_half(x):
        return jnp.maximum(x, 0.0)

    relu_half.defvjp(lambda x: (relu_half(x), x), lambda x, g: (g * deriv(x),))
    return relu_half


@pytest.mark.parametrize("kind", ["jvp", "vjp"])
def test_jax_custom_derivatives_declared(kind):
    relu_half = _relu_half_jax(kind)
    f = lambda x: relu_half(x[0] - x[1]) + 2 * relu_half(x[1])  # noqa: E731
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(f, 2, framework="jax")
    assert f"custom_{kind}_call of relu_half" in e.value.op
    mt.declare(relu_half, lambda x: mt.relu(x, convention=mt.Convention(relu0="1/2")))
    table = mt.derive(f, 2, framework="jax")
    assert table.check(f, framework="jax").complete
    assert list(table.grad_at((0, 0))) == [sp.Rational(1, 2), sp.Rational(1, 2)]   # 1/2 - 1/2 + 2 * 1/2
