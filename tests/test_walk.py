"""The fast enumeration (mtsym.walk) against the general search and against the order mtsym had before.

The order of a serial table (strata and their numbering) is a contract: the
walk must give the strata the general depth-first search gives, in the same
order, with the same exact data.  Two independent references:

* the general search of :mod:`mtsym.partition` (forms in Python, one node at a
  time, every test on the current stratum), run on the same programs;
* digests of ``(path, constraints)`` of every stratum, in table order, recorded
  with mtsym 705201a (before the walk existed) for a few programs, two of them
  with Python branches (those go through the re-run search, which the walk
  leaves alone) and one written out in full.

Plus the limits of issue 15: a k-ary max on one stratum costs O(k) tests, and
``max_strata`` stops a max over many inputs at once.
"""
import hashlib
import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym import partition
from mtsym.conventions import Convention
from mtsym.examples import max1
from mtsym.polyhedra import Polyhedron
from mtsym.records import gc_paused
from mtsym.trace import Program
from mtsym.walk import Plan, _masked_plan, _out_limb_plan


def _norm(x):
    if isinstance(x, (tuple, list)):
        return "(" + ",".join(_norm(y) for y in x) + ")"
    if isinstance(x, (int, Fraction)) and not isinstance(x, bool):
        return str(Fraction(x))
    return str(x)


def order_digest(table):
    h = hashlib.sha256()
    for s in table.strata:
        h.update(_norm((s.path, s.constraints)).encode())
        h.update(b";")
    return h.hexdigest()[:20]


W1 = np.array([[1, -1], [2, 1], [-1, 3], [1, 1]])
B1 = np.array([0, -1, 1, 2])
W2 = np.array([[1, -2, 1, 1], [-1, 1, 2, -1]])
LINES = [(3, -1, 2), (1, 4, -3), (-2, 1, 1), (5, 2, -4), (1, -3, 0)]

#: name -> (function, inputs, convention, strata, digest recorded with mtsym 705201a)
RECORDED = {
    "max minus relu": (lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 3, "torch", 21, "a00be298a4cebddff5b5"),
    "max of 4, mean": (lambda x: mt.max(x), 4, "mean", 15, "efc7436ae07e2b087da2"),
    "relu lines": (lambda x: sum(mt.relu(a * x[0] + b * x[1] + c) for a, b, c in LINES), 2, "torch", 51,
                   "e5652bbbaed3ef339102"),
    "2-4-2-1 net": (lambda x: mt.relu(W2 @ mt.relu(W1 @ x + B1)).sum(), 2, "torch", 61, "8b80b0ae105523961176"),
    "kinks": (lambda x: mt.clamp(x[0] - x[1], -1, 1) + mt.abs(x[0] + 2 * x[1])
              + mt.leaky_relu(x[1] - 1, Fraction(1, 4)) + mt.maximum(mt.maximum(x[0], x[1]), 0), 2, "jax", 51,
              "8ced531646f5c174ee9f"),
    "pool": (lambda x: mt.maxpool1d([x[0], x[1], x[0] + x[1], -x[1], x[2]], 2, stride=1).sum(), 3, "torch", 39,
             "cfd87d7a1ab2353819ad"),
    "min and relu": (lambda x: mt.min(x[0], 0, x[1]) + mt.relu(mt.relu(x[0] + 1) - x[1]), 2, "last", 23,
                     "1a8632d12269ad36aa2e"),
    "max1 loop": (max1, 4, "torch", 27, "c6b762b4bd9da7ae25c3"),
    "if on relu": (lambda x: mt.relu(x[0]) if x[0] + x[1] > 1 else mt.maximum(x[1], x[0] - 1), 2, "mean", 9,
                   "e68a42ccb70caa92bd4d"),
}

#: the first strata of "max minus relu" as mtsym 705201a numbered them: (path, constraints)
FIRST_STRATA = [
    "(((3,(0)),(6,-1)),(((0,-1,1,0),-1),((0,-1,0,1),-1),((0,1,-2,0),-1)))",
    "(((3,(0)),(6,0)),(((0,-1,1,0),-1),((0,-1,0,1),-1),((0,1,-2,0),0)))",
    "(((3,(0)),(6,1)),(((0,-1,1,0),-1),((0,-1,0,1),-1),((0,1,-2,0),1)))",
    "(((3,(1)),(6,-1)),(((0,1,-1,0),-1),((0,0,-1,1),-1),((0,1,-2,0),-1)))",
]


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_serial_order_is_the_one_recorded_before_the_walk(name):
    fn, n, conv, count, digest = RECORDED[name]
    table = mt.derive(fn, n, convention=conv)
    assert len(table.strata) == count
    assert order_digest(table) == digest


def test_first_strata_written_out():
    fn, n, conv, _, _ = RECORDED["max minus relu"]
    table = mt.derive(fn, n, convention=conv)
    assert [_norm((s.path, s.constraints)) for s in table.strata[:4]] == FIRST_STRATA


# --------------------------------------------------------------------------- walk vs general search
def random_program(seed):
    """A random branch-free program over 1-3 inputs (every primitive; the property test's mix)."""
    rng = random.Random(seed)
    n = rng.randint(1, 3)
    ops = []
    nvals = n
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["affine", "relu", "abs", "leaky", "max", "min", "maximum", "minimum", "clamp",
                           "pool", "sort"])
        pick = lambda: rng.randint(0, nvals - 1)  # noqa: E731
        if kind == "affine":
            k = rng.randint(1, min(3, nvals))
            ops.append((kind, [pick() for _ in range(k)], [rng.randint(-2, 2) for _ in range(k)],
                        Fraction(rng.randint(-4, 4), rng.choice([1, 2, 3]))))
        elif kind in ("relu", "abs", "leaky"):
            ops.append((kind, pick()))
        elif kind in ("max", "min", "pool"):
            ops.append((kind, [pick() for _ in range(rng.randint(2, 4))]))
        elif kind == "sort":
            k = rng.randint(2, 4)
            ops.append((kind, [pick() for _ in range(k)], rng.randint(0, k - 1)))
        elif kind in ("maximum", "minimum"):
            ops.append((kind, pick(), pick()))
        else:
            lo = Fraction(rng.randint(-4, 2), 2)
            ops.append((kind, pick(), lo, lo + rng.randint(0, 2)))
        nvals += 1
    out = [rng.randint(-2, 2) for _ in range(nvals)]

    def fn(x):
        vals = [x[i] for i in range(n)]
        for op in ops:
            kind = op[0]
            if kind == "affine":
                vals.append(sum((c * vals[i] for c, i in zip(op[2], op[1])), op[3]))
            elif kind == "relu":
                vals.append(mt.relu(vals[op[1]]))
            elif kind == "abs":
                vals.append(mt.abs(vals[op[1]]))
            elif kind == "leaky":
                vals.append(mt.leaky_relu(vals[op[1]], Fraction(1, 3)))
            elif kind in ("max", "min"):
                vals.append(getattr(mt, kind)([vals[i] for i in op[1]]))
            elif kind == "pool":
                vals.append(mt.maxpool1d([vals[i] for i in op[1]], len(op[1]))[0])
            elif kind == "sort":
                vals.append(mt.sort([vals[i] for i in op[1]])[op[2]])
            elif kind in ("maximum", "minimum"):
                vals.append(getattr(mt, kind)(vals[op[1]], vals[op[2]]))
            else:
                vals.append(mt.clamp(vals[op[1]], op[2], op[3]))
        return [sum((c * v for c, v in zip(out, vals)), 0), vals[-1]]
    return fn, n


def both(fn, n, conv="torch"):
    """The records of the walk and of the general search, for one program."""
    with gc_paused():
        program = Program(fn, n, conv)
        walked = partition.explore(program)
        assert partition.graph_plan(program) is not None
        general = []
        partition._explore_graph(program, Polyhedron.space(program.n), None, 10**6, general.append)
    return walked, general


def same(a, b):
    assert len(a) == len(b)
    for r, s in zip(a, b):
        assert r.path == s.path
        assert r.constraints == s.constraints
        assert r.forms == s.forms and r.vals == s.vals
        assert r.dim == s.dim and r.witness == s.witness


@pytest.mark.parametrize("seed", range(40))
def test_walk_gives_the_general_search_strata_in_order(seed):
    fn, n = random_program(seed)
    for conv in ("torch", "mean", "last"):
        same(*both(fn, n, conv))


def test_walk_with_a_parametric_convention():
    z = sp.Symbol("z")
    fn = lambda x: mt.relu(x[0] - x[1]) + 2 * mt.relu(mt.relu(x[0]) - 1) + mt.max(x[0], x[1], 0)  # noqa: E731
    walked, general = both(fn, 2, Convention("torch", relu0=z))
    same(walked, general)
    assert any(f.free_symbols for r in walked for form in r.forms for f in form if isinstance(f, sp.Basic))


@pytest.mark.parametrize("conv", ["torch", "mean", "last", Convention("torch", relu0=sp.Symbol("z"))])
def test_outputs_that_are_switching_nodes_themselves(conv):
    # every output is a max, a relu of a max or a min: the walk reads their forms from the units'
    # rows (the relu's under a symbolic convention, the max's tie weights 1/|T|)
    def fn(x):
        return [mt.max(x[0], x[1], x[2] - 1), mt.relu(mt.max(x[0] - x[2], 2 * x[1])), mt.min(x[0], 0, x[1] + x[2])]
    walked, general = both(fn, 3, conv)
    same(walked, general)
    assert any(r.forms != r.vals for r in walked)


def test_long_sums_are_cut_into_units_of_their_own():
    # a Python sum of 600 relus: chains longer than MATERIALIZE are computed as units
    rng = random.Random(3)
    L = [(rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(-9, 9)) for _ in range(600)]
    fn = lambda x: sum(mt.relu(a * x[0] + b + c * 0) for a, b, c in L)  # noqa: E731
    program = Program(fn, 1)
    partition.locate_path(program, (0,))
    plan = Plan(program)
    assert any(u.prim is None for u in plan.units)
    same(*both(fn, 1))


def test_huge_coefficients_stay_exact():
    # numerators beyond int64: Python integers (the plan's bound says so)
    big = 10 ** 30
    fn = lambda x: mt.relu(big * x[0] - x[1]) * big + mt.max(x[0] * big, x[1] + big, 0)  # noqa: E731
    program = Program(fn, 2)
    partition.locate_path(program, (0, 0))
    assert Plan(program).dtype is object
    same(*both(fn, 2))


def test_float_weight_net_products_in_float64_limbs_stay_exact():
    # float32 weights: numerators past int64, the big products computed by exact float64 limbs
    rng = np.random.default_rng(4)
    W1, b1 = rng.normal(size=(20, 2)).astype(np.float32), rng.normal(size=20).astype(np.float32)
    W2, b2 = rng.normal(size=(20, 20)).astype(np.float32) / 4, rng.normal(size=20).astype(np.float32)
    W3 = rng.normal(size=(5, 20)).astype(np.float32)
    fn = lambda x: W3 @ mt.relu(W2 @ mt.relu(W1 @ x + b1) + b2)  # noqa: E731
    program = Program(fn, 2)
    partition.locate_path(program, (0, 0))
    plan = Plan(program)
    assert plan.dtype is object and plan.outmat is not None
    assert any(g.fast is not None for g in plan.groups)
    assert _out_limb_plan(plan) is not None     # the outputs from the last layer's memoized rows' limbs
    assert any(g.fast is not None and _masked_plan(plan, g.uidx) for g in plan.groups)   # the 2nd layer too
    walked, general = both(fn, 2)
    assert len(walked) > 100
    same(walked, general)


def test_products_take_the_general_search():
    program = Program(lambda x: x[0] * mt.relu(x[1]) + mt.abs(x[0]), 2)
    partition.locate_path(program, (0, 0))
    assert partition.graph_plan(program) is None
    table = mt.derive(lambda x: x[0] * mt.relu(x[1]) + mt.abs(x[0]), 2)
    assert len(table.strata) == 9


# --------------------------------------------------------------------------- records
def test_compact_paths_decode_and_locate():
    table = mt.derive(RECORDED["pool"][0], 3)
    rec = table.strata[5].record
    assert isinstance(rec.key, bytes) and rec.codec is not None
    assert rec.path == tuple((v, c) for v, c in rec.path)
    for s in table.strata:
        assert table.stratum_at(s.witness) is s


def test_closure_is_rebuilt_from_the_constraints():
    table = mt.derive(RECORDED["relu lines"][0], 2)
    for s in table.strata:
        P = s.record.poly
        assert P.dim == s.dim
        # the witness is a point of the closure
        w = (1,) + tuple(s.witness)
        for row in P.rows:
            assert sum(a * b for a, b in zip(row, w)) >= 0


def test_start_polyhedron_and_stratum_callback():
    fn = RECORDED["relu lines"][0]
    program = Program(fn, 2)
    seen = []
    box = partition.start_region(2, [((1, 1, 0), 1), ((1, -1, 0), 1), ((1, 0, 1), 1), ((1, 0, -1), 1)])  # |x| < 1
    records = partition.explore(program, start=box, on_stratum=lambda r, count: seen.append((r, count)))
    assert seen == [(r, k + 1) for k, r in enumerate(records)]
    everywhere = mt.derive(fn, 2)
    inside = {r.path for r in records}
    # exactly the strata whose relative interior meets the open box
    expect = [s for s in everywhere.strata if s.record.path in inside]
    assert len(expect) == len(records) < len(everywhere.strata)


# --------------------------------------------------------------------------- limits (issue 15)
def count_cuts(monkeypatch):
    calls = [0]
    cut = Polyhedron.cut

    def counted(self, h):
        calls[0] += 1
        return cut(self, h)
    monkeypatch.setattr(Polyhedron, "cut", counted)
    return calls


def test_max_over_k_arguments_on_one_stratum_is_linear(monkeypatch):
    calls = count_cuts(monkeypatch)
    for k in (100, 400):
        calls[0] = 0
        table = mt.derive(lambda x: mt.max([x[0] + i for i in range(k)]), 1)
        assert len(table.strata) == 1 and table.value_at((0,)) == k - 1
        assert calls[0] < 2 * k    # one test per argument (it was k^2 / 2 tests, each replaying the others)
        calls[0] = 0
        table = mt.derive(lambda x: mt.max([x[0] * (-1) ** i + i for i in range(k)]), 1)
        assert len(table.strata) == 3
        assert calls[0] < 4 * k


def test_max_strata_stops_a_max_over_many_inputs(monkeypatch):
    calls = count_cuts(monkeypatch)
    with pytest.raises(mt.LimitError, match="max_strata=3"):
        mt.derive(lambda x: mt.max(x), 300, max_strata=3)
    assert calls[0] < 5 * 300      # the node's 2^300 - 1 cases are not listed first


def test_too_many_inputs_is_a_clear_limit():
    with pytest.raises(mt.LimitError, match="at most 4096 inputs"):
        mt.derive(lambda x: mt.relu(x[0]), 100_000)


def test_a_long_branching_loop_stops_at_a_bound_on_all_runs():
    # each stratum re-runs the loop: 300 comparisons per run over ~600 strata; all runs together may
    # take 250 x max_events decisions, so it stops after about 250 strata with a clear error
    def steps(x):
        s = 0
        for i in range(300):
            if x[0] > i:
                s = s + 1
        return s
    with pytest.raises(mt.LimitError, match="ran once per stratum") as info:
        mt.derive(steps, 1, max_events=300)
    assert 200 < len(info.value.partial_records) < 300
    assert len(mt.derive(steps, 1, max_events=1000).strata) == 601   # x < 0, x = i, i < x < i + 1, x > 299


@pytest.mark.parametrize("name", ["max", "min", "maximum", "maxpool"])
def test_max_tests_resume_where_a_replay_would(name):
    # a forked branch of a k-ary max starts its tests generator past its answers (no replay):
    # the same next question, or the same case, as the generator driven through every answer
    from mtsym.primitives import PRIMITIVES, Choice
    prim = PRIMITIVES[name]

    def state(start):
        try:
            gen, q = start()
        except StopIteration as stop:
            return ("case", stop.value)
        return (type(q).__name__, q.m if isinstance(q, Choice) else (q.form, q.signs))

    def driven(vals, k, answers):
        gen = prim.tests(vals, (k,))
        q = next(gen)
        for a in answers:
            q = gen.send(a)
        return gen, q

    for k in range(1, 6):
        vals = [(i, 2 * i + 1, -i) for i in range(k)]
        todo, cases = [()], []
        while todo:
            answers = todo.pop()
            want = state(lambda: driven(vals, k, answers))
            assert state(lambda: prim.tests.resume(vals, (k,), answers)) == want
            if want[0] == "Choice":
                todo.extend(answers + (t,) for t in range(k))
            elif want[0] == "Restrict":
                todo.extend(answers + (s,) for s in want[1][1])
            else:
                cases.append(want[1])
        # every branch was compared: one case per nonempty tie set
        assert sorted(cases) == sorted(c for r in range(1, k + 1) for c in itertools.combinations(range(k), r))


def test_objects_made_with_the_collector_paused_skip_its_young_generations():
    # derive pauses the collector; what it made is moved to the oldest generation when the
    # collector is back on, so the next young collection does not visit the whole table
    import gc
    if gc.get_freeze_count() or not gc.isenabled():
        pytest.skip("the process froze objects or turned the collector off itself")
    with gc_paused():
        assert not gc.isenabled()
        made = [[k] for k in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    young = {id(o) for g in (0, 1) for o in gc.get_objects(generation=g)}
    assert not any(id(m) in young for m in made)
    assert any(m is made[7] for m in gc.get_objects(generation=2))


def test_few_row_sign_tests_agree_with_the_polyhedron():
    # the walk's plain-integer sign tests of a few Python-integer rows against Polyhedron.sign_sets,
    # on cells with and without lineality, rows through vertices (exact zeros) and near-cancellations
    from mtsym.walk import _SMALL_SIGNS, _sign_sets
    rng = random.Random(7)
    small, seen = 0, set()
    for _ in range(60):
        cell = Polyhedron.space(2)
        for _ in range(rng.randint(0, 4)):
            h = (rng.randint(-9, 9) << 70, rng.randint(-9, 9) << 69, rng.randint(-9, 9))
            kids = cell.split(h)
            cell = kids[rng.choice(sorted(kids))]
        rows = []
        for _ in range(rng.randint(1, 4)):
            g = rng.choice(cell.gens)
            pick = rng.random()
            if pick < 0.3:      # through a generator: an exact zero there
                row = (-(g[1] + g[2]) * (1 << 80), g[0] * (1 << 80), g[0] * (1 << 80))
            elif pick < 0.5:    # the same, off by one unit: a sign the floats could not see
                row = (-(g[1] + g[2]) * (1 << 80) + 1, g[0] * (1 << 80), g[0] * (1 << 80))
            else:
                row = tuple(rng.randint(-(1 << 90), 1 << 90) for _ in range(3))
            rows.append(row)
        H = np.array(rows, dtype=object).reshape(len(rows), 3)
        small += len(H) * (len(cell.gens) + len(cell.lin)) <= _SMALL_SIGNS
        codes = _sign_sets(cell, H, 1 << 95).tolist()
        assert codes == cell.sign_sets(H, 1 << 95).tolist()
        seen.update(codes)
    assert small >= 40 and seen == {-1, 0, 1, 2}


def test_affine_flattening_in_integers_is_the_rational_sum():
    # the plan composes affine nodes over common denominators; term by term in Fractions as the oracle,
    # with float32 weights (large power-of-two denominators), constants that cancel and zero weights
    from mtsym.walk import _flatten
    rng = random.Random(11)
    for _ in range(200):
        k = rng.randint(1, 6)
        coefs = [rng.choice([0, rng.randint(-5, 5), Fraction(float(np.float32(rng.gauss(0, 1)))),
                             Fraction(rng.randint(-9, 9), rng.randint(1, 12))]) for _ in range(k)]
        ins = [{s: rng.choice([rng.randint(-4, 4) or 1, Fraction(rng.randint(-9, 9) or 1, rng.randint(1, 16))])
                for s in rng.sample(range(6), rng.randint(0, 4))} for _ in range(k)]
        c0 = rng.choice([0, Fraction(rng.randint(-9, 9), rng.randint(1, 7))])
        if rng.random() < 0.3 and ins[0].get(0) is not None and coefs[0]:
            c0 = -coefs[0] * ins[0][0] - sum(c * e.get(0, 0) for c, e in zip(coefs[1:], ins[1:]))  # cancels
        want = {}
        for c, e in zip(coefs, ins):
            for s, a in e.items():
                want[s] = want.get(s, 0) + c * a
        want[0] = want.get(0, 0) + c0
        want = {s: a for s, a in want.items() if a}
        got = _flatten(coefs, c0, ins)
        assert got == want and all(type(a) in (int, Fraction) and a for a in got.values())
    x = sp.Symbol("x")                      # a symbolic weight: term by term
    assert _flatten([x, 2], 1, [{1: 3}, {1: 1, 2: Fraction(1, 2)}]) == {0: 1, 1: 3 * x + 2, 2: 1}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_packed_forms_give_the_order_of_the_plain_forms(seed):
    """Records keep their forms as integers (``PackedForms``) until read; the table grouped and
    ordered on those integers equals the table built from the same records with plain
    Fraction forms (the general path, which scales every coefficient to one denominator)."""
    from mtsym.records import PackedForms, StratumRecord
    from mtsym.table import PieceTable
    rng = np.random.default_rng(seed)
    W1 = rng.integers(-4, 5, size=(5, 2))
    B1 = rng.integers(-3, 4, size=5)
    W2 = [[Fraction(int(rng.integers(-5, 6)), int(rng.integers(1, 7))) for _ in range(5)] for _ in range(2)]
    table = mt.derive(lambda x: mt.relu(W2 @ mt.relu(W1 @ x + B1)), 2, convention="torch")
    recs = [s.record for s in sorted(table.strata, key=lambda s: s.discovery)]
    assert any(type(r._forms) is PackedForms for r in recs)
    assert any(type(c) is Fraction for r in recs for f in r.forms for c in f)
    plain = [StratumRecord(r.path, r.constraints, tuple(r.forms), tuple(r.vals), r.output_nodes, r.shape,
                           dim=r.dim, witness=r.witness) for r in recs]
    other = PieceTable(plain, table.symbols, table.convention, table.graph, table.program)
    assert [s.path for s in other.strata] == [s.path for s in table.strata]
    assert [p.forms for p in other.pieces] == [p.forms for p in table.pieces]
    assert [[s.path for s in p.strata] for p in other.pieces] == [[s.path for s in p.strata] for p in table.pieces]


def test_the_collector_is_off_until_the_last_concurrent_enumeration_ends():
    # gc_paused is counted across threads: the collector comes back on when the last enumeration
    # ends, not when the first does, and as it was before (a process that had it off keeps it off)
    import gc

    from mtsym.records import gc_paused
    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
