"""mt.audit on models whose answer is known: counts, kinds, gaps and verdicts, exactly.

Oracles: the full piece table and its Clarke hull (small models), PyTorch's own float32 forward
and backward passes, exact difference quotients of the program.  Tie tests first, then samples
away from ties (compared with torch's gradients).
"""
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.examples import boustany

torch = pytest.importorskip("torch")


def _zero_bias_net(n=2, hidden=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(n, hidden, bias=False), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 1, bias=False))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return net


def _clarke_oracle(fn, inputs, point, gradient):
    """Is ``gradient`` in the Clarke hull at ``point``?  From the full piece table (independent of audit)."""
    table = mt.derive(fn, inputs)
    return table.clarke_at(point).contains([v for row in gradient for v in row])


# ----------------------------------------------------------------------------- ties with known answers
def test_a_zero_bias_relu_net_at_zero_ties_every_neuron():
    net = _zero_bias_net(hidden=3)
    X = np.array([[0.0, 0.0], [0.5, -0.25]], dtype=np.float32)
    r = mt.audit(net, X, dtype="float32")
    assert r.exact_ties == [0] and r.rounding_ties == [] and r.tied == [0]
    ties = r.samples[0].ties
    assert [t.op for t in ties] == ["relu"] * 3 and {t.kind for t in ties} == {"exact"}
    assert all(t.entries == 1 and t.exact_entries == 1 and t.gap == 0 for t in ties)
    row = r.by_node[("relu", "1 (ReLU)")]
    assert row["exact"] == 1 and row["exact_entries"] == 3 and row["rounding"] == 0
    # the framework's gradient at 0: relu'(0) = 0 everywhere, so 0
    assert r.samples[0].gradient == ((0, 0),)
    want = _clarke_oracle(lambda x: net(x), 2, (0, 0), r.samples[0].gradient)
    assert r.verdicts[0] == ("yes" if want else "no")


def test_a_max_pool_of_a_constant_image_ties_every_window():
    def f(x):
        return mt.maxpool2d(x.reshape(4, 4), 2).sum()
    X = np.array([np.full(16, 3.0), np.arange(16.0)])
    r = mt.audit(f, X, framework=None, dtype="float64")
    assert r.exact_ties == [0] and r.rounding_ties == []
    ties = r.samples[0].ties
    assert len(ties) == 4 and all(t.op == "maxpool" and t.entries == 4 and t.kind == "exact" for t in ties)
    # torch's rule: the first element of each window (row-major) gets the gradient
    g = np.array(r.samples[0].gradient[0], dtype=float).reshape(4, 4)
    assert g.tolist() == [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    x = torch.full((1, 1, 4, 4), 3.0, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(x, 2).sum().backward()
    assert x.grad.reshape(4, 4).tolist() == g.tolist()
    assert r.verdicts[0] == "yes"   # a vertex of each window's simplex: a limiting gradient


def test_boustany_at_zero_is_spurious():
    X = np.array([[0.0], [1.0], [-2.0]])
    r = mt.audit(boustany, X, inputs="t", framework="torch")
    assert r.exact_ties == [0]
    s = r.samples[0]
    assert s.gradient == ((Fraction(-3, 2),),)
    assert r.verdicts == {0: "no"} and r.spurious == [0]
    assert s.distance == Fraction(3, 2)         # f is 0 near 0: the Clarke gradient is {0}
    assert not _clarke_oracle(boustany, "t", (0,), s.gradient)


# ----------------------------------------------------------------------------- rounding
def _sum3(x):
    return mt.relu(x[0] + x[1] - x[2])


def test_a_rounding_tie_in_float32_with_its_exact_gap():
    X = np.array([[1.0, 1e-8, 1.0], [2.0, 1.0, 0.0]])
    r = mt.audit(_sum3, X, dtype="float32")
    assert r.rounding_ties == [0] and r.exact_ties == [] and r.tied == [0]
    t, = r.samples[0].ties
    assert t.kind == "rounding" and t.entries == 1 and t.exact_entries == 0
    assert t.gap == Fraction(float(np.float32(1e-8)))       # 1 + eps - 1 at the exact float32 inputs
    # what torch computes in float32: relu sees 0 and relu'(0) = 0
    x = torch.tensor(X[0], dtype=torch.float32, requires_grad=True)
    y = torch.relu(x[0] + x[1] - x[2])
    y.backward()
    assert y.item() == 0.0 and x.grad.tolist() == [float(v) for v in r.samples[0].gradient[0]]
    # f is differentiable there with gradient (1, 1, -1): torch's 0 is not a Clarke gradient
    assert r.verdicts == {0: "no"} and r.samples[0].clarke == ((1, 1, -1),) and r.samples[0].distance == 1
    # in float64 the same samples meet no tie
    assert mt.audit(_sum3, X, dtype="float64").tied == []


def _two_products(w, v, u):
    """relu(v * (w * x) - u * x): two roundings on one side, one on the other (float32 constants)."""
    return lambda x: mt.relu(v * (w * x[0]) - u * x[0])


def _torch_two_products(w, v, u, x):
    t = torch.tensor([x], dtype=torch.float32, requires_grad=True)
    pre = v * (w * t[0]) - u * t[0]
    torch.relu(pre).backward()
    return pre.item(), t.grad.item()


def test_an_exact_tie_the_float_pass_misses_is_a_rounding_tie():
    # u = v * w exactly (all float32), so the pre-activation is exactly 0; float32 rounds w * x
    w, v, u, x = 1.82275390625, 0.52587890625, 0.958547830581665, 1.2492287158966064
    assert Fraction(u) == Fraction(v) * Fraction(w)
    r = mt.audit(_two_products(w, v, u), np.array([[x]]), dtype="float32", verdicts=False)
    t, = r.samples[0].ties
    assert t.kind == "rounding" and t.entries == 0 and t.exact_entries == 1 and t.gap == 0
    pre, _ = _torch_two_products(w, v, u, x)       # torch's float32 forward misses the tie too
    assert pre < 0 and t.float_gap == Fraction(-pre)
    assert r.exact_ties == [0] and r.rounding_ties == [0]


def test_rounding_across_a_kink_is_a_flip():
    # exact pre-activation -7.6e-11 < 0, float32 computes a positive number: relu takes the other side
    w, v, u, x = 1.0000368356704712, 0.9999979734420776, 1.0000348091125488, 1.0219084024429321
    r = mt.audit(_two_products(w, v, u), np.array([[x]]), dtype="float32")
    t, = r.samples[0].ties
    exact = Fraction(v) * Fraction(w) * Fraction(x) - Fraction(u) * Fraction(x)
    assert t.kind == "flip" and r.flips == [0] and r.tied == [] and t.gap == -exact > 0
    pre, grad = _torch_two_products(w, v, u, x)
    assert pre > 0                                 # torch: relu active
    s = r.samples[0]
    assert s.gradient == ((Fraction(v) * Fraction(w) - Fraction(u),),) and s.clarke == ((0,),)
    assert abs(float(s.gradient[0][0]) - grad) < 1e-6   # torch's float32 backward rounds v * w - u to 0
    assert r.verdicts == {0: "no"} and s.distance == abs(s.gradient[0][0])


# ----------------------------------------------------------------------------- away from ties
def test_random_data_and_float_weights_meet_no_tie_and_torch_agrees():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 1))
    X = np.random.default_rng(4).normal(size=(400, 5)).astype(np.float32)
    r = mt.audit(net, X, dtype="float32")
    assert r.tied == [] and r.flips == [] and r.verdicts == {}
    # no event: the framework's gradient is f's gradient; check it against exact arithmetic at a few samples
    from mtsym.audit.exact import ExactSample
    from mtsym.audit.layers import trace_model
    t = trace_model(net, 5, mt.Convention("torch"))
    xt = torch.tensor(X[:20], dtype=torch.float64, requires_grad=True)
    net64 = net.double()
    net64(xt).sum().backward()
    for i in range(20):
        es = ExactSample(t.graph, [Fraction(float(v)) for v in X[i]])
        g = es.gradient(t.outputs, {}, mt.Convention("torch"))
        np.testing.assert_allclose(np.array(g[0], dtype=float), xt.grad[i].numpy(), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- report
def test_report_json_text_and_plot(tmp_path):
    import json
    X = np.array([[1.0, 1e-8, 1.0], [0.5, 0.25, 0.75], [2.0, 1.0, 0.0]])
    r = mt.audit(_sum3, X, dtype="float32", verdicts=False)
    d = json.loads(r.to_json(tmp_path / "r.json"))
    assert d["n"] == 3 and d["tied"] == [0, 1] and d["rounding_ties"] == [0] and d["exact_ties"] == [1]
    assert d["samples"][0]["ties"][0]["gap"] == str(Fraction(float(np.float32(1e-8))))
    text = str(r)
    assert "3 samples" in text and "rounding ties" in text and len(text.splitlines()) < 25
    pytest.importorskip("matplotlib")
    r.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_bad_input_is_refused_by_name():
    with pytest.raises(mt.InputError, match="dtype"):
        mt.audit(_sum3, np.zeros((2, 3)), dtype="float16")
    with pytest.raises(mt.InputError, match="entries"):
        mt.audit(_sum3, np.zeros((2, 4)), inputs=3)
    with pytest.raises(mt.InputError, match="not finite"):
        mt.audit(_sum3, np.array([[1e300, 0, 0]]), dtype="float32")
    with pytest.raises(mt.InputError, match="framework"):
        mt.audit(_sum3, np.zeros((2, 3)), framework="tf")
    with pytest.raises(mt.InputError, match="loss"):
        mt.audit(_sum3, np.zeros((2, 3)), loss="mse")


def test_each_sample_is_analysed_on_its_own():
    # a 9-entry window tied everywhere, then tied at entries 4 and 6 only: the second sample's
    # Clarke gradients are e4, e6 and their hull, whatever was computed at the first
    def pool9(x):
        return mt.maxpool2d(x.reshape(3, 3), 3).sum()
    B = np.zeros(9)
    B[[3, 5]] = 1.0
    r = mt.audit(pool9, np.array([np.zeros(9), B]), framework=None, dtype="float64")
    assert r.exact_ties == [0, 1] and r.verdicts == {0: "yes", 1: "yes"}
    e = np.eye(9, dtype=int)
    assert r.samples[1].gradient == (tuple(e[3]),)           # torch: the first tied entry of the window
    assert r.samples[1].clarke in ((tuple(e[3]),), (tuple(e[5]),))
    assert r.samples[0].clarke in {(tuple(row),) for row in e}


def test_a_tie_that_holds_near_the_sample_is_no_kink():
    # max(relu(x0 - 1), relu(x1 - 1)) + x0: at (0, 0) both relus are 0 on a neighbourhood, so the max
    # ties there without a kink; at (1, 1) the relus themselves sit at their kinks
    def f(x):
        return mt.max([mt.relu(x[0] - 1), mt.relu(x[1] - 1)]) + x[0]
    r = mt.audit(f, np.array([[0.0, 0.0], [1.0, 1.0]]), framework=None, dtype="float64")
    assert r.exact_ties == [0, 1]
    s0, s1 = r.samples[0], r.samples[1]
    assert s0.method == "differentiable" and s0.verdict == "yes" and s0.gradient == ((1, 0),)
    assert s1.method != "differentiable"
    for s, pt in ((s0, (0, 0)), (s1, (1, 1))):
        want = _clarke_oracle(f, 2, pt, s.gradient)
        assert s.verdict == ("yes" if want else "no")


def test_json_holds_the_evidence_of_a_no():
    import json
    d = json.loads(mt.audit(boustany, np.array([[0.0], [1.0]]), inputs="t").to_json())
    s, = d["samples"]
    assert s["verdict"] == "no" and s["gradient"] == [["-3/2"]] and s["clarke"] == [["0"]]
    X = np.array([[1.0, 1.0], [0.5, 0.25]])
    quiet = json.loads(mt.audit(lambda x: mt.relu(x[0] - x[1]), X, dtype="float64").to_json())
    full = json.loads(mt.audit(lambda x: mt.relu(x[0] - x[1]), X, dtype="float64").to_json(gradients=True))
    assert quiet["verdicts"] == {"0": "yes"} and "gradient" not in quiet["samples"][0]
    assert full["samples"][0]["gradient"] == [["0", "0"]]


def test_a_convolution_runs_in_float32_in_the_float32_pass():
    # a 1-D convolution (shared kernel (1, 1, -1) over 20 windows) of 1, 1e-8, 1, 1e-8, ...:
    # 1 + 1e-8 - 1 is 0 in float32, 1e-8 exactly; 1e-8 + 1 - 1e-8 is 1 either way
    K = np.array([1.0, 1.0, -1.0])
    M = np.zeros((20, 22))
    for i in range(20):
        M[i, i:i + 3] = K

    def conv(x):
        return mt.relu(M @ x).sum()
    x = np.tile([1.0, 1e-8], 11)
    r32 = mt.audit(conv, x[None], framework=None, dtype="float32", verdicts=False)
    r64 = mt.audit(conv, x[None], framework=None, dtype="float64", verdicts=False)
    ties = r32.samples[0].ties
    assert len(ties) == 10 and {t.kind for t in ties} == {"rounding"}
    assert {t.gap for t in ties} == {Fraction(float(np.float32(1e-8)))}
    assert r64.tied == []
