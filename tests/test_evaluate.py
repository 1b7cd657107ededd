"""mt.evaluate: graph sweeps without enumerating pieces; equal to table.compile() and to PyTorch."""

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from zoo import ZOO, boustany, max4, random_points, tie_grid, torch_value_grad

torch = pytest.importorskip("torch")


def _points(name):
    _, inputs, _, radius = ZOO[name]
    return np.concatenate([tie_grid(inputs, radius), random_points(inputs, 300, seed=7)])


@pytest.mark.parametrize("name", sorted(ZOO))
def test_evaluate_equals_compile(name):
    fn, inputs, _, _ = ZOO[name]
    X = _points(name)
    want = mt.derive(fn, inputs).compile().batch(X)
    got = mt.evaluate(fn, X, inputs=inputs)
    assert got.value.shape == want.value.shape and got.grad.shape == want.grad.shape
    np.testing.assert_allclose(got.value, want.value, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(got.grad, want.grad, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_evaluate_equals_torch_autograd(name):
    fn, inputs, tfn, _ = ZOO[name]
    X = _points(name)
    got = mt.evaluate(fn, X, inputs=inputs, convention="torch")
    tv, tg = torch_value_grad(tfn, X)
    np.testing.assert_allclose(got.value, tv, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.grad, tg, rtol=1e-12, atol=1e-12)


def test_branching_code_runs_once_per_path_group():
    X = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    r = mt.evaluate(boustany, X, inputs="t")
    assert r.grad[:, 0].tolist() == [0.0, 0.0, -1.5, 0.0, 0.0]
    assert r.paths == 2  # t > 0 keeps the last product, t <= 0 the first
    small = mt.evaluate(boustany, X, inputs="t", chunk_size=2)
    assert np.array_equal(small.grad, r.grad) and np.array_equal(small.value, r.value)


def test_conventions_change_only_ties():
    X = np.array([[1.0, 1.0, 0.0, 1.0], [3.0, 1.0, 2.0, 0.0]])
    assert mt.evaluate(max4, X, convention="first").grad.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    assert mt.evaluate(max4, X, convention="last").grad.tolist() == [[0, 0, 0, 1], [1, 0, 0, 0]]
    third = 1 / 3
    assert mt.evaluate(max4, X, convention="torch").grad.tolist() == [[third, third, 0, third],
                                                                      [1, 0, 0, 0]]


def test_a_traced_graph_is_accepted_for_branch_free_code():
    X = _points("poolnet")
    fn = ZOO["poolnet"][0]
    from_graph = mt.evaluate(mt.trace(fn, 5), X)
    from_fn = mt.evaluate(fn, X)
    assert np.array_equal(from_graph.value, from_fn.value)
    assert np.array_equal(from_graph.grad, from_fn.grad)
    with pytest.raises(mt.InputError, match="Python branches"):
        mt.evaluate(mt.trace(boustany, "t"), X[:, :1])


def test_parametric_convention_takes_params():
    z = sp.Symbol("z")
    conv = mt.Convention("torch", relu0=z)
    X = np.array([-1.0, 0.0, 1.0])
    with pytest.raises(mt.ConventionError, match="params="):
        mt.evaluate(lambda x: mt.relu(x), X, inputs="x", convention=conv)
    r = mt.evaluate(lambda x: mt.relu(x), X, inputs="x", convention=conv, params={z: 0.5})
    assert r.grad[:, 0].tolist() == [0.0, 0.5, 1.0]


def test_atol():
    X = np.array([[1.0 + 2.0 ** -40, 1.0]])
    f = lambda x: mt.maximum(x[0], x[1])  # noqa: E731
    assert mt.evaluate(f, X).grad.tolist() == [[1.0, 0.0]]
    assert mt.evaluate(f, X, atol=1e-9).grad.tolist() == [[0.5, 0.5]]


def test_matmul_fast_path_builds_the_same_graph():
    W = np.array([[0.5, -1.0, 0.0], [0.1, 2.0, 3.0]])
    fast = mt.trace(lambda x: mt.relu(W @ x), 3)
    slow = mt.trace(lambda x: mt.relu(W.astype(object) @ x), 3)
    assert str(fast) == str(slow)
    assert [fast.nodes[v]["params"] for v in fast] == [slow.nodes[v]["params"] for v in slow]
    fr = mt.trace(lambda x: mt.relu(x @ W.T), 3)
    assert str(fr) == str(fast)


def test_mlp_with_max_pooling_equals_torch_per_sample_jacobians():
    rng = np.random.default_rng(1)
    sizes = (12, 16, 16, 5)
    Ws = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.standard_normal(b) * 0.1 for b in sizes[1:]]

    def net(x):
        h = mt.relu(Ws[0] @ x + bs[0])
        h = mt.maxpool1d(h, 2, stride=1)
        h = mt.relu(Ws[1][:, :15] @ h + bs[1])
        return Ws[2] @ h + bs[2]

    X = rng.standard_normal((40, 12))
    X[:5] = 0.0  # at x = 0 the hidden units are relu(bias): neighbours both 0 tie in the pooling
    h0 = np.maximum(bs[0], 0)
    assert ((h0[:-1] == 0) & (h0[1:] == 0)).any()
    r = mt.evaluate(net, X)
    import torch.nn.functional as F
    from torch.func import jacrev, vmap
    T = [torch.tensor(w) for w in Ws]
    B = [torch.tensor(b) for b in bs]

    def tnet(x):
        h = F.relu(T[0] @ x + B[0])
        h = F.max_pool1d(h[None, None], 2, stride=1)[0, 0]
        h = F.relu(T[1][:, :15] @ h + B[1])
        return T[2] @ h + B[2]
    Xt = torch.tensor(X)
    J = vmap(jacrev(tnet))(Xt).numpy()
    assert r.grad.shape == (40, 5, 12)
    np.testing.assert_allclose(r.value, vmap(tnet)(Xt).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.grad, J, rtol=1e-10, atol=1e-12)


def test_one_sided_clamps_evaluate_like_the_table():
    f = lambda x: mt.clamp(x[0], min=0) + mt.clamp(x[1], max=1)  # noqa: E731
    X = np.array([[3.0, 1.0], [0.0, 2.0], [-1.0, 0.0]])
    res = mt.evaluate(f, X, inputs=2)
    assert res.grad.tolist() == [[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]          # torch: clamp' = 1 at a bound
    assert res.grad.tolist() == mt.derive(f, 2).compile().grad(X).tolist()


def test_a_loop_that_never_ends_stops_at_max_events():
    # derive stops with a LimitError; evaluate ran until memory was exhausted
    def f(x):
        y = x[0]
        while x[0] > 0:    # never changes
            y = y + 1
        return y
    with pytest.raises(mt.LimitError, match="max_events=40"):
        mt.evaluate(f, np.array([[1.0], [-1.0]]), max_events=40)
    assert mt.evaluate(f, np.array([[-1.0]]), max_events=40).grad.tolist() == [[1.0]]


def test_bad_tolerances_and_params_are_refused():
    z = sp.Symbol("z")
    X = np.array([[0.0]])
    with pytest.raises(mt.InputError, match="atol"):
        mt.evaluate(lambda x: mt.relu(x[0]), X, atol=-1)
    conv = mt.Convention("torch", relu0=z)
    for params in ({z: float("nan")}, {"z": "oo"}, {"w": 1}):
        with pytest.raises(mt.ConventionError):
            mt.evaluate(lambda x: mt.relu(x[0]), X, convention=conv, params=params)
    with pytest.raises(mt.InputError, match="complex"):
        mt.evaluate(lambda x: mt.relu(x[0]), X + 1j)


def test_relu_adjoints_written_in_place_match_torch_with_reused_chunk_buffers():
    """A relu that alone reads its input rows writes their adjoints directly (the rows are not
    cleared first): small chunks reuse those buffers, so a stale row would show.  Beside it, an
    affine layer read by a relu *and* by the output, and a vector output that is a pre-activation
    (a seeded row), which must take the ordinary add path.  Integer weights, points on the kinks."""
    from mtsym.backends.sweep import Schedule, needed_nodes

    W1 = np.array([[1, -1], [2, 1], [0, 1]])
    b1 = np.array([0, -1, 1])
    W2 = np.array([[1, -2, 1], [-1, 1, 2]])
    w3 = np.array([2, -3])

    def f(x):
        h = W1 @ x + b1
        return w3 @ mt.relu(W2 @ mt.relu(h) + 1) + h[0] + mt.relu(x[1])

    def vec(x):
        h = W1 @ x + b1
        return [w3 @ mt.relu(W2 @ mt.relu(h)), h[1]]

    def tf(X):
        h = X @ torch.tensor(W1.T, dtype=X.dtype) + torch.tensor(b1, dtype=X.dtype)
        u = torch.relu(torch.relu(h) @ torch.tensor(W2.T, dtype=X.dtype) + 1)
        return u @ torch.tensor(w3, dtype=X.dtype) + h[:, 0] + torch.relu(X[:, 1])

    def tvec(X):
        h = X @ torch.tensor(W1.T, dtype=X.dtype) + torch.tensor(b1, dtype=X.dtype)
        u = torch.relu(torch.relu(h) @ torch.tensor(W2.T, dtype=X.dtype))
        return torch.stack([u @ torch.tensor(w3, dtype=X.dtype), h[:, 1]], 1)

    X = np.concatenate([tie_grid(2, 2), random_points(2, 200, seed=3)])
    for fn, tfn in ((f, tf), (vec, tvec)):
        got = mt.evaluate(fn, X, inputs=2, convention="torch", chunk_size=7)
        tv, tg = torch_value_grad(tfn, X)
        np.testing.assert_allclose(got.value, tv, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got.grad, tg, rtol=1e-12, atol=1e-12)
    g = mt.evaluate(f, X[:1], inputs=2).graph
    sched = Schedule(g, mt.Convention.get("torch"), needed_nodes(g, g.outputs[0]))
    assert sched.owned, "the second relu layer and relu(x[1]) own their input rows"


def test_chunks_on_several_threads_give_the_one_thread_results(monkeypatch):
    # the chunks of evaluate and compile().grad run on the cores this process may use; each chunk
    # is the same computation whatever thread runs it, so the arrays are equal bit for bit
    import os

    from mtsym.backends.chunks import chunk_threads
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: the chunks run in one thread")
    rng = np.random.default_rng(3)
    W1, W2 = rng.integers(-3, 4, (6, 2)), rng.integers(-3, 4, (1, 6))

    def f(x):
        return (W2 @ mt.relu(W1 @ x + 1))[0] + mt.max(x)
    X = rng.integers(-3, 4, (5000, 2)).astype(float)   # ties and kinks on the grid
    ev = mt.derive(f, 2).compile(chunk_size=256)
    runs = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("MTSYM_THREADS", threads)
        assert chunk_threads(20) == min(int(threads), len(os.sched_getaffinity(0)))
        e = mt.evaluate(f, X, inputs=2, chunk_size=256)
        runs[threads] = (e.value, e.grad, ev.grad(X), ev.piece(X))
    for a, b in zip(runs["1"], runs["3"]):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_run_chunks_raises_a_chunks_error_and_stops():
    from mtsym.backends.chunks import run_chunks
    done, inits = [], []

    def work(lo, hi):
        if lo == 40:
            raise ValueError("chunk at 40")
        done.append(lo)

    with pytest.raises(ValueError, match="chunk at 40"):
        run_chunks(1000, 10, work, progress=False, threads=2, thread_init=lambda: inits.append(1))
    assert len(inits) == 2 and 40 not in done and len(done) < 100
