"""Parallel and distributed enumeration give the serial table, stratum for stratum.

The depth-first tree is shared out by subtrees (mtsym.parallel); the strata
come back in serial order.  Each test compares a table made with ``workers=``
(or a dask client) with the serial one: same strata, same numbering, same
exact data.  A tiny task budget forces subtrees to be handed back and shared
again many times.
"""
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.examples import max1
from mtsym.parallel import explore_parallel
from mtsym.trace import Program


def lines(m, seed):
    rng = random.Random(seed)
    L = [(rng.randint(-20, 20), rng.randint(-20, 20), rng.randint(-20, 20)) for _ in range(m)]
    return lambda x: sum(mt.relu(a * x[0] + b * x[1] + c) for a, b, c in L)


RNG = np.random.default_rng(5)
W1, B1 = RNG.integers(-4, 5, (8, 2)), RNG.integers(-4, 5, 8)
W2 = RNG.integers(-4, 5, (3, 8))

PROGRAMS = {
    "relu lines": (lines(12, 1), 2, "torch"),
    "2-8-3 net, two outputs": (lambda x: (W2 @ mt.relu(W1 @ x + B1))[:2], 2, "torch"),
    "max of 6, mean": (lambda x: mt.max(x), 6, "mean"),
    "pool and clamp": (lambda x: mt.maxpool1d([x[0], x[1] - x[0], x[2], x[0] + x[2]], 2, stride=1).sum()
                       + mt.clamp(x[1], Fraction(-1, 2), 1), 3, "jax"),
}


def rows(table):
    return [(s.index, s.piece, s.path, s.constraints, s.forms, s.record.vals, s.dim, s.witness)
            for s in table.strata]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_two_workers_give_the_serial_table(name):
    fn, n, conv = PROGRAMS[name]
    serial = mt.derive(fn, n, convention=conv)
    parallel = mt.derive(fn, n, convention=conv, workers=2)
    assert rows(parallel) == rows(serial)
    assert [p.forms for p in parallel.pieces] == [p.forms for p in serial.pieces]


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("name", ["relu lines", "max of 6, mean"])
def test_subtrees_handed_back_again_and_again(name, workers):
    # this process walks tasks too, beside workers - 1 others: every task, its own included,
    # hands its rest back after 3 strata (or 1, when few wait)
    fn, n, conv = PROGRAMS[name]
    serial = mt.derive(fn, n, convention=conv)
    program = Program(fn, n, conv)
    found = []
    count = explore_parallel(program, found.append, workers=workers, budget=3)
    assert count == len(found) == len(serial.strata)
    ordered = sorted(serial.strata, key=lambda s: s.discovery)
    assert [r.path for r in found] == [s.path for s in ordered]
    assert [r.constraints for r in found] == [s.constraints for s in ordered]


@pytest.mark.parametrize("inflight", [1, 3])
def test_strata_emitted_a_few_at_a_time_keep_their_order(monkeypatch, inflight):
    # the coordinator emits a bounded share of the strata whose turn has come between two looks at
    # what the workers sent (a slot may be emitted in several parts); the order stays the serial one
    import mtsym.parallel as par
    monkeypatch.setattr(par, "EMIT_STEP", 3)
    monkeypatch.setattr(par, "INFLIGHT", inflight)
    fn, n, conv = PROGRAMS["relu lines"]
    serial = mt.derive(fn, n, convention=conv)
    program = Program(fn, n, conv)
    found = []
    count = explore_parallel(program, found.append, workers=2, budget=40)
    assert count == len(found) == len(serial.strata)
    ordered = sorted(serial.strata, key=lambda s: s.discovery)
    assert [r.path for r in found] == [s.path for s in ordered]
    assert [r.constraints for r in found] == [s.constraints for s in ordered]


BLOCKS = {
    # pieces of one gradient and dimension told apart by their constant alone: their order is
    # their first strata's discovery
    "clipped ramps": (lambda x: mt.relu(x[0]) - mt.relu(x[0] - 1) + mt.relu(x[1]) - mt.relu(x[1] - 1), 2, "torch"),
    # forms with a convention symbol: not packed, grouped when the table is finished
    "symbolic relu0": (lambda x: mt.relu(x[0] - x[1]) - mt.relu(x[1]) + mt.relu(x[0] + x[1] - 1), 2,
                       mt.Convention("torch", relu0=sp.Symbol("z"))),
}


@pytest.mark.parametrize("name", ["relu lines", "max of 6, mean", "2-8-3 net, two outputs", *BLOCKS])
def test_blocks_added_in_any_order_give_the_table(name):
    # a parallel run adds each task's strata to the table when the task ends, in any order, and
    # places them in serial order: the table is the one built stratum by stratum (here blocks of
    # 5 added last first, so that pieces and their strata are met in reverse)
    from mtsym.table import TableBuilder
    fn, n, conv = PROGRAMS[name] if name in PROGRAMS else BLOCKS[name]
    serial = mt.derive(fn, n, convention=conv)
    records = [s.record for s in sorted(serial.strata, key=lambda s: s.discovery)]
    chunks = [records[i:i + 5] for i in range(3, len(records), 5)]
    builder = TableBuilder()
    for r in records[:3]:
        builder.add(r)
    added = [builder.add_block(c) for c in reversed(chunks)][::-1]
    placed = [builder.place(a) for a in added]
    assert [s.record for block in placed for s in block] == records[3:]
    with pytest.raises(RuntimeError, match="add after add_block"):   # its number would be wrong
        builder.add(records[0])
    table = builder.finish(serial.symbols, serial.convention)
    assert rows(table) == rows(serial)
    assert [s.discovery for s in table.strata] == [s.discovery for s in serial.strata]
    assert [p.forms for p in table.pieces] == [p.forms for p in serial.pieces]


def test_progress_hook_sees_the_serial_order_with_workers():
    # strata added out of order are reported when placed: counts 1, 2, ... in the serial order
    fn, n, conv = PROGRAMS["relu lines"]
    serial = mt.derive(fn, n, convention=conv)
    seen = []
    mt.derive(fn, n, convention=conv, workers=2, progress=lambda rec, k: seen.append((k, rec.path)))
    assert seen == [(k + 1, s.path) for k, s in enumerate(sorted(serial.strata, key=lambda s: s.discovery))]


def test_integers_past_int64_travel_exactly():
    # coefficients near 10^20: the cut rows and interior points do not fit int64, so the strata
    # come back as Python integers (not as int64 blocks); the table must still be the serial one
    big = 10 ** 20
    rng = random.Random(3)
    L = [(rng.randint(-big, big), rng.randint(-big, big), rng.randint(-big, big)) for _ in range(6)]

    def fn(x):
        return sum(mt.relu(a * x[0] + b * x[1] + c) for a, b, c in L)
    serial = mt.derive(fn, 2)
    assert max(abs(v) for s in serial.strata for row, _ in s.constraints for v in row) > 2 ** 63
    program = Program(fn, 2, "torch")
    found = []
    explore_parallel(program, found.append, workers=2, budget=2)
    ordered = sorted(serial.strata, key=lambda s: s.discovery)
    assert [(r.path, r.constraints, r.dim, r.witness) for r in found] == \
        [(s.path, s.constraints, s.dim, s.witness) for s in ordered]


def test_max_strata_holds_in_parallel():
    with pytest.raises(mt.LimitError, match="max_strata=100"):
        mt.derive(PROGRAMS["relu lines"][0], 2, workers=2, max_strata=100)


def test_a_stopped_walk_leaves_no_worker_running():
    """On an error the pool is not waited for, but a task still running is asked to hand back at its
    next step: with a budget of a million strata it would otherwise walk on after derive raised."""
    import multiprocessing
    import time

    before = set(multiprocessing.active_children())
    program = Program(lines(200, 3), 2, mt.Convention.get("torch"))   # 80,000 strata: seconds of walk
    with pytest.raises(mt.LimitError):
        explore_parallel(program, lambda r: None, max_strata=300, workers=2, budget=10 ** 6)
    deadline = time.monotonic() + 2.0
    while set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not set(multiprocessing.active_children()) - before


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="no fork here")
def test_a_run_right_after_another_forks_its_workers():
    # a run does not wait for its workers to exit; the next run must not take that pool's thread,
    # still ending, for a thread of the user's (a fork server would start: seconds, not ms)
    import sys
    import threading

    import mtsym.parallel as par
    if threading.active_count() > 1 or "jax" in sys.modules:
        pytest.skip("another thread runs, or JAX is loaded, in this test process: workers start otherwise")
    methods = []
    choose = par._start_method

    def spied():
        methods.append(choose())
        return methods[-1]
    fn, n, conv = PROGRAMS["relu lines"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(par, "_start_method", spied)
        first = mt.derive(fn, n, convention=conv, workers=2)
        again = mt.derive(fn, n, convention=conv, workers=2)
    assert methods == ["fork", "fork"]
    assert rows(again) == rows(first)


def test_programs_with_branches_are_enumerated_serially():
    assert rows(mt.derive(max1, 4, workers=2)) == rows(mt.derive(max1, 4))


def test_workers_must_be_a_count():
    with pytest.raises(mt.InputError, match="workers=0"):
        mt.derive(PROGRAMS["relu lines"][0], 2, workers=0)


def test_dask_cluster_gives_the_serial_table():
    distributed = pytest.importorskip("distributed", reason="the dask extra (.[dask]) is not installed")
    fn, n, conv = PROGRAMS["relu lines"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        table = mt.derive(fn, n, convention=conv, client=client)
    assert rows(table) == rows(mt.derive(fn, n, convention=conv))


def test_dask_tasks_emitted_a_few_at_a_time_keep_their_order(monkeypatch):
    # small tasks and a small emitting share: the coordinator looks at the cluster's finished tasks
    # without waiting while strata are left to emit
    distributed = pytest.importorskip("distributed", reason="the dask extra (.[dask]) is not installed")
    import mtsym.parallel as par
    monkeypatch.setattr(par, "EMIT_STEP", 3)
    fn, n, conv = PROGRAMS["relu lines"]
    serial = sorted(mt.derive(fn, n, convention=conv).strata, key=lambda s: s.discovery)
    found = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        count = explore_parallel(Program(fn, n, conv), found.append, client=client, budget=20)
    assert count == len(found) == len(serial)
    assert [(r.path, r.constraints) for r in found] == [(s.path, s.constraints) for s in serial]



def task_sizes(monkeypatch, flag):
    """Strata per task (counted in the coordinator) of ``mt.derive(..., workers=2)``, with the
    "a worker waits" flag forced to ``flag``."""
    import mtsym.parallel as par
    sizes = []
    unpack = par._unpack_records

    def counted(*args):
        out = unpack(*args)
        sizes.append(len(out))
        return out
    monkeypatch.setattr(par, "_unpack_records", counted)
    monkeypatch.setattr(par._Local, "wanted", lambda self, _: setattr(self.hungry, "value", int(flag)))
    return sizes


def test_running_tasks_hand_their_rest_back_when_a_worker_waits(monkeypatch):
    # the "a worker waits" flag raised all the time: every task stops after STEAL_STEP strata and
    # hands its remaining subtrees back (without the flag, the first tasks hold hundreds of strata
    # each); the table must still be the serial one, stratum for stratum
    from mtsym.parallel import STEAL_STEP
    sizes = task_sizes(monkeypatch, True)
    fn = lines(20, 4)
    serial = mt.derive(fn, 2)
    assert len(serial.strata) > 10 * STEAL_STEP
    assert rows(mt.derive(fn, 2, workers=2)) == rows(serial)
    assert max(sizes) <= STEAL_STEP


def lines_plan():
    """The walk plan of 20 relu lines (as derive makes it), and a task walker from its root:
    ``walk(budget, flag, sink=None) -> (raw strata, rest)``."""
    import mtsym.parallel as par
    from mtsym.partition import DEFAULT_MAX_EVENTS, drive_tests, graph_plan, locate_path
    from mtsym.polyhedra import Polyhedron
    from mtsym.walk import _Walk, root_entry

    program = Program(lines(20, 4), 2, mt.Convention("torch"))
    locate_path(program, (0, 0), DEFAULT_MAX_EVENTS)   # traces the program, as derive does
    plan = graph_plan(program)

    def walk(budget, flag, sink=None):
        return par._walk_task(_Walk(plan, drive_tests, lambda u: None, None), plan,
                              [root_entry(plan, Polyhedron.space(2), None)], budget, 10**6, flag, sink=sink)
    return plan, walk


def test_without_the_flag_tasks_run_to_their_budget():
    # the counterpart, on one task walked directly (how much of a subtree the worker gets in a
    # whole run depends on how fast the coordinating process walks its own): with the flag down a
    # task walks exactly its budget and hands the rest back; raised, it stops at STEAL_STEP strata
    from multiprocessing import Value

    import mtsym.parallel as par
    _, walk = lines_plan()
    flag = Value("b", 0, lock=False)
    sizes = {}
    for raised in (0, 1):
        flag.value = raised
        raws, rest = walk(300, flag)
        assert rest, "the walk must stop before the end of the tree"
        sizes[raised] = len(raws)
    assert sizes[0] == 300
    assert sizes[1] <= par.STEAL_STEP
    raws, rest = walk(10**6, None)
    assert rest == [] and len(raws) == len(mt.derive(lines(20, 4), 2).strata)


def test_strata_packed_step_by_step_as_at_once():
    # a worker packs its strata after each step of its walk (a task asked for its rest answers
    # within a step): fed in steps, the blocks are those of one feed, the constraint links shared
    # across steps sent once, and they unpack to the serial walk's strata
    from multiprocessing import Value

    import mtsym.parallel as par
    plan, walk = lines_plan()
    raws, rest = walk(10**6, None)
    assert rest == [] and len(raws) > 200
    whole = par._Packer()
    whole.feed(raws)
    steps = par._Packer()   # as a worker feeds it: each step's strata dropped after it
    walk(10**6, Value("b", 0, lock=False), sink=steps.feed)
    assert steps.blocks() == whole.blocks()
    assert whole.blocks()[0] == len(raws)
    links = set()
    for r in raws:
        c = r[1]
        while c is not None:
            links.add(id(c))
            c = c[2]
    assert len(whole.blocks()[3]) == len(links)    # one sign per distinct link
    back = par._unpack_records(plan, whole.blocks(), {}, True)
    serial = mt.derive(lines(20, 4), 2)
    assert [r.key for r in back] == [s.record.key for s in sorted(serial.strata, key=lambda s: s.discovery)]
    # through a sink, step by step, with the flag raised: the task stops within a step and the
    # sink saw every stratum it walked, the returned list none
    flag = Value("b", 1, lock=False)
    seen = []
    left, rest = walk(300, flag, sink=lambda r: seen.append(list(r)))
    assert left == [] and rest
    assert 0 < sum(map(len, seen)) <= par.STEAL_STEP


def test_forms_travel_as_integer_blocks():
    # the distinct (forms, vals) pairs of a task travel as one integer block when all are packed:
    # equal forms back, one object where forms is vals, Python ints past int64 kept exactly
    from mtsym.parallel import _pack_pairs, _unpack_pairs
    from mtsym.records import PackedForms
    a = PackedForms((((1, -2, 3), 4),))
    b = PackedForms((((5, 0, -7), 1),))
    big = PackedForms((((2 ** 70, 1, -(3 ** 50)), 3 ** 41),))
    pairs = [(a, a), (b, a), (big, big)]
    block = _pack_pairs(pairs)
    assert type(block) is tuple
    back = _unpack_pairs(block)
    assert back == pairs
    assert back[0][0] is back[0][1] and back[2][0] is back[2][1] and back[1][0] is not back[1][1]
    two = [(PackedForms((((1, 2), 3), ((4, 5), 1))), PackedForms((((0, 1), 1), ((-1, 2), 5))))]
    assert _unpack_pairs(_pack_pairs(two)) == two
    # forms that are not all packed (convention symbols, sympy) travel as the objects themselves
    mixed = [(a, a), (((1, 2, 3),), ((1, 2, 3),))]
    assert _pack_pairs(mixed) is mixed and _unpack_pairs(mixed) is mixed


@pytest.mark.parametrize("size", [1, 3, 4, 7, 256])
def test_path_keys_travel_four_to_a_byte(size):
    from mtsym.parallel import _pack_keys, _unpack_keys
    rng = random.Random(size)
    keys = [bytes(rng.randrange(3) for _ in range(size)) for _ in range(50)]
    packed = _pack_keys(keys)
    assert packed[1] and len(packed[2]) == 50 * -(-size // 4)
    assert _unpack_keys(packed) == keys
    wide = [bytes(rng.randrange(256) for _ in range(size)) for _ in range(20)] + [bytes([200] * size)]
    packed = _pack_keys(wide)   # codes past 3 (a wide codec's int32 bytes): sent as they are
    assert not packed[1] and _unpack_keys(packed) == wide


def test_switch_interval_is_restored():
    # while this process walks beside workers the interpreter switches threads more often (the
    # pool's reader thread gets the results sooner); after, the user's interval is back
    import sys
    import threading

    import mtsym.parallel as par
    before = sys.getswitchinterval()
    seen = []
    walk = par._walk_task

    def watched(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        return walk(*args, **kwargs)
    try:
        par._walk_task = watched
        fn = lines(12, 2)
        threads = [threading.Thread(target=mt.derive, args=(fn, 2), kwargs={"workers": 2}) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mt.derive(fn, 2, workers=2)
    finally:
        par._walk_task = walk
    assert seen and max(seen) <= par.SWITCH_INTERVAL
    assert sys.getswitchinterval() == before
