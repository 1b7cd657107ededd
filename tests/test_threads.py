"""No state leaks between threads: derive, compile, evaluate and check from 8 threads give the
serial results; an error names its own thread's line; torch's process-wide default dtype is never
changed."""
import threading
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest

import mtsym as mt
from mtsym.errors import source_line, user_line

torch = pytest.importorskip("torch")

W = torch.tensor([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0], [0.0, 0.0, 0.0]])


def net(x):
    h = torch.relu(W @ x)
    return torch.max(h) + torch.abs(x[0] - x[2])


def _work(k):
    """Everything a thread does, with points of its own (new keys for a shared evaluator too)."""
    table = mt.derive(net, 3)
    rng = np.random.default_rng(k)
    # points on ties: integer grids hit x1 = x2, relu(0), |0| exactly
    X = rng.integers(-2, 3, size=(400, 3)).astype(float)
    ev = table.compile()
    return {
        "strata": [(s.path, s.dim) for s in table.strata],
        "grad_at": [table.grad_at(tuple(Fraction(v) for v in x)) for x in X[:20]],
        "compile": ev.grad(X),
        "evaluate": mt.evaluate(net, X).grad,
        "check": [(e.index, e.status, e.point) for e in table.check(net)],
    }


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


def test_derive_compile_evaluate_check_from_8_threads_equal_serial():
    serial = [_work(k) for k in range(8)]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(_work, range(8)))
    for a, b in zip(serial, threaded):
        _same(a, b)
    assert all(r["check"] and all(status == "agree" for _, status, _ in r["check"]) for r in serial)


def test_one_compiled_table_shared_by_8_threads():
    # the evaluator learns each new decision path once; threads learning at the same time must not
    # see a half-updated table (keys of one update with the strata of another)
    table = mt.derive(lambda x: mt.max(x[:4]) - mt.relu(x[4] - x[0]) + mt.abs(x[1] - x[5]), 6)
    Xs = [np.random.default_rng(k).integers(-1, 2, size=(3000, 6)).astype(float) for k in range(16)]
    want = [table.compile().grad(X) for X in Xs]
    for _ in range(3):
        shared = table.compile()
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(shared.grad, Xs))
        for a, b in zip(want, got):
            assert np.array_equal(a, b)


def test_an_error_names_its_own_threads_line():
    # a replayed program (a jaxpr) sets its own line for errors; another thread must not see it
    inside, done = threading.Event(), threading.Event()

    def replaying():
        with source_line("model.py:7: jnp.maximum(a * b, 0)"):
            inside.set()
            done.wait(30)

    t = threading.Thread(target=replaying)
    t.start()
    try:
        assert inside.wait(30)
        assert user_line().startswith(__file__)   # this thread: its own line, not the replayed one
        with pytest.raises(mt.NonAffineError) as e:
            mt.derive(lambda x: mt.relu(x[0] * x[1]), 2)
        assert e.value.line.startswith(__file__) and "model.py" not in str(e.value)
    finally:
        done.set()
        t.join()


def test_check_leaves_torchs_default_dtype_alone():
    seen = []

    def f(x):
        seen.append(torch.get_default_dtype())
        return torch.relu(x[0])
    table = mt.derive(f, 1)
    assert table.check(f).ok and table.check(f).dtype == "float64"
    assert set(seen) == {torch.float32}     # the process default, also while the check runs f


def test_another_thread_never_sees_float64_as_the_default():
    # thread A is inside table.check (in fn); thread B creates a tensor meanwhile
    a_inside, b_done = threading.Event(), threading.Event()
    dtypes = []

    def f(x):
        if not a_inside.is_set():
            a_inside.set()
            b_done.wait(30)
        return torch.relu(x[0])

    def other():
        a_inside.wait(30)
        dtypes.append(torch.tensor([1.0]).dtype)
        b_done.set()

    table = mt.derive(lambda x: torch.relu(x[0]), 1)
    b = threading.Thread(target=other)
    b.start()
    table.check(f)
    b.join()
    assert dtypes == [torch.float32]
