"""mt.evaluate and mt.audit on Dask (the optional extra): the same numbers as in process, in order.

A ``LocalCluster`` of two worker processes on 127.0.0.1; a ``dask.array`` input (lazy, one task per
block); and, marked slow, a scheduler and a worker started as separate processes and reached by
address (stopped by the test).
"""
import numpy as np
import pytest

import mtsym as mt
from mtsym.examples import boustany

distributed = pytest.importorskip("distributed", reason="needs the optional extra dask[distributed]")
da = pytest.importorskip("dask.array", reason="needs the optional extra dask[distributed]")


def f(x):
    return mt.max(x) - mt.relu(x[0] - 2 * x[1])


def sum3(x):
    return mt.relu(x[0] + x[1] - x[2])


X = np.random.default_rng(0).normal(size=(3000, 2))
T = np.linspace(-2, 2, 401)
A = np.concatenate([np.random.default_rng(1).normal(size=(400, 3)), [[1.0, 1e-8, 1.0], [2.0, 1.0, 0.0]]])


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_evaluate_on_a_cluster_equals_in_process(client):
    ref = mt.evaluate(f, X)
    got = mt.evaluate(f, X, client=client, chunk_size=500)
    assert np.array_equal(got.value, ref.value) and np.array_equal(got.grad, ref.grad) and got.paths == 1
    # code with Python branches: each worker follows the paths of its chunks
    refb = mt.evaluate(boustany, T, inputs="t")
    gotb = mt.evaluate(boustany, T, inputs="t", client=client, chunk_size=150)
    assert np.array_equal(gotb.grad, refb.grad) and gotb.paths == refb.paths == 2
    assert gotb.grad[200, 0] == -1.5


def test_a_dask_array_gives_lazy_results():
    ref = mt.evaluate(f, X)
    lazy = mt.evaluate(f, da.from_array(X, chunks=(700, 2)))
    assert isinstance(lazy.value, da.Array) and lazy.value.numblocks[0] == 5
    value, grad = da.compute(lazy.value, lazy.grad)
    assert np.array_equal(value, ref.value) and np.array_equal(grad, ref.grad)
    lazyb = mt.evaluate(boustany, da.from_array(T, chunks=200), inputs="t")
    assert np.array_equal(lazyb.grad.compute(), mt.evaluate(boustany, T, inputs="t").grad)


def test_audit_on_a_cluster_equals_in_process(client):
    ref = mt.audit(sum3, A, dtype="float32")
    got = mt.audit(sum3, A, dtype="float32", client=client, chunk_size=50)
    assert got.tied == ref.tied == [400] and got.verdicts == ref.verdicts == {400: "no"}
    assert got.by_node == ref.by_node
    assert got.samples[400].ties[0].gap == ref.samples[400].ties[0].gap


def test_client_must_be_a_client():
    with pytest.raises(mt.InputError, match="Client"):
        mt.evaluate(f, X, client="tcp://127.0.0.1:1")


@pytest.mark.slow
def test_the_same_code_against_a_scheduler_address():
    from mtsym.backends.distributed import local_scheduler
    with local_scheduler(workers=1, timeout=60) as address:
        assert address.startswith("tcp://127.0.0.1:")
        with distributed.Client(address, timeout=30) as c:
            c.wait_for_workers(1, timeout=60)
            got = mt.audit(sum3, A, dtype="float32", client=c, chunk_size=100)
            assert got.tied == [400] and got.verdicts == {400: "no"}
            ev = mt.evaluate(f, X, client=c)
            assert np.array_equal(ev.grad, mt.evaluate(f, X).grad)
