"""Reading untrusted JSON: bounded sizes, a validated graph, strata replayed on it, and a fuzz test.

Every bad document gives a FormatError naming the field, in bounded time and memory; a
document with its graph that the reader accepts is a correct table (the same answers as the
table it came from); one without its graph is checked within itself only.
"""
import copy
import itertools
import json
import random
import signal
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.errors import FormatError, MtsymError
from mtsym.examples import max1
from mtsym.export.json import MAX_DEGREE, MAX_DEPTH, MAX_DIGITS
from mtsym.linalg import exact_rank, rank

Z = sp.Symbol("z")


def _doc(table):
    return json.loads(table.to_json())


def _read(d):
    return mt.PieceTable.from_json(json.dumps(d))


def _parametric():
    """A parametric table stored without its graph (so its convention may be edited freely)."""
    d = _doc(mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=Z)))
    d["graph"] = None
    return d


def _with_relu0(expr):
    d = _parametric()
    d["convention"]["params"]["relu0"] = {"expr": expr}
    return d


def _nested_text(depth):
    """A document whose relu0 is 1 + z + z + ... nested ``depth`` levels (as text: too deep for json.dumps)."""
    z = '{"symbol": {"name": "z", "assumptions": {}}}'
    expr = '{"op": "Add", "args": [' * depth + '"1"' + (", " + z + "]}") * depth
    d = _parametric()
    d["convention"]["params"]["relu0"] = {"expr": "HOLE"}
    return json.dumps(d).replace('"HOLE"', expr)


# --------------------------------------------------------------------------- 5. sizes
def test_a_huge_power_is_refused_before_it_is_computed():
    # 2**(10**12) would exhaust memory; a power of a number never occurs in a table
    for expr in ({"op": "Pow", "args": ["2", "1000000000000"]}, {"op": "Pow", "args": ["0", "-1"]}):
        with pytest.raises(FormatError, match=r"convention\.params\.relu0\.expr: a power is an expression"):
            _read(_with_relu0(expr))
    z = {"symbol": {"name": "z", "assumptions": {}}}
    big = {"op": "Pow", "args": [{"op": "Add", "args": [z, "1"]}, str(10 ** 12)]}
    with pytest.raises(FormatError, match=f"degree more than MAX_DEGREE={MAX_DEGREE}"):
        _read(_with_relu0(big))
    # within the bounds a parametric relu'(0) = (z + 1)**2 is read, and used
    ok = _read(_with_relu0({"op": "Pow", "args": [{"op": "Add", "args": [z, "1"]}, "2"]}))
    assert ok.convention.relu0 == (Z + 1) ** 2


def test_long_numbers_and_deep_nesting_are_format_errors():
    d = _parametric()
    d["convention"]["params"]["relu0"] = {"rational": "1/" + "7" * 5000}   # was int()'s ValueError
    with pytest.raises(FormatError, match=f"more than MAX_DIGITS={MAX_DIGITS} digits"):
        _read(d)
    with pytest.raises(FormatError, match=f"nested deeper than MAX_DEPTH={MAX_DEPTH}"):
        mt.PieceTable.from_json(_nested_text(200))
    with pytest.raises(FormatError, match="not valid JSON"):                 # was a RecursionError
        mt.PieceTable.from_json(_nested_text(1000))
    assert mt.PieceTable.from_json(_nested_text(10)).convention.relu0 == 1 + 10 * Z
    text = json.dumps(_parametric()).replace('"strata": [', '"strata": ' + "[" * 100000, 1)
    with pytest.raises(FormatError, match="not valid JSON"):
        mt.PieceTable.from_json(text)
    with pytest.raises(FormatError, match="not valid JSON"):
        mt.PieceTable.from_json(json.dumps(_parametric()).replace('"version": 1', '"version": NaN'))


def test_rank_of_long_integers_is_exact_and_polynomial():
    # the dimension check of a stratum with 19 equalities of 1000-digit coefficients took 41 s
    rng = random.Random(1)
    rows = [[rng.randrange(10 ** 999, 10 ** 1000) for _ in range(20)] for _ in range(19)]
    assert exact_rank(rows) == 19
    rows.append([a - 3 * b for a, b in zip(rows[0], rows[1])])   # dependent: the upper bound is proved
    assert exact_rank(rows[:2] + rows[-1:]) == 2
    for _ in range(200):  # against the fraction-based rank on small matrices with large entries
        m, n = rng.randint(1, 5), rng.randint(1, 5)
        base = [[rng.randint(-3, 3) * 10 ** rng.choice([0, 40, 200]) for _ in range(n)] for _ in range(2)]
        M = [[Fraction(sum(rng.randint(-2, 2) * b[j] for b in base), rng.choice([1, 3, 2 ** 70]))
              for j in range(n)] for _ in range(m)]
        assert exact_rank(M) == rank(M)


def test_a_stratum_with_many_long_equalities_is_read_in_bounded_time():
    d = _doc(mt.derive(lambda x: x[0], 20))
    d["graph"] = None
    rng = random.Random(2)
    s = d["strata"][0]
    s["constraints"] = [[["0"] + [str(rng.randrange(10 ** 999, 10 ** 1000)) for _ in range(20)], 0]
                        for _ in range(19)]
    s["dim"] = 1
    s["forms"] = s["vals"] = [["0"] * 21]
    t = _read(d)            # 0.4 MB; a fraction-based rank took 41 s, this is a fraction of a second
    assert t.strata[0].dim == 1
    s["dim"] = 2
    with pytest.raises(FormatError, match=r"strata\[0\]\.dim: 2 is not the dimension"):
        _read(d)


# --------------------------------------------------------------------------- 6. the graph and the strata
def _max3():
    return _doc(mt.derive(lambda x: mt.max(x), 3))


def test_malformed_expressions_name_their_field():
    z = {"symbol": {"name": "z", "assumptions": {}}}
    cases = {
        "Pow takes 2 argument": {"op": "Pow", "args": []},                 # was a TypeError
        "Abs takes 1 argument": {"op": "Abs", "args": [z, z]},
        "unknown expression": {"op": "__import__", "args": []},
        "Max takes 1 or more argument": {"op": "Max", "args": []},
        "StrictLessThan takes 2 argument": {"op": "StrictLessThan", "args": [z]},
        "not a valid StrictLessThan": {"op": "StrictLessThan", "args": [{"op": "true", "args": []}, z]},
        "not a valid Mul": {"op": "Mul", "args": [{"op": "StrictLessThan", "args": [z, "1"]}, "2"]},
    }
    for match, expr in cases.items():
        with pytest.raises(FormatError, match=match):
            _read(_with_relu0(expr))


def test_version_must_be_the_integer_one():
    for v in (True, 1.0, "1", None):
        d = _max3()
        d["version"] = v
        with pytest.raises(FormatError, match="version"):
            _read(d)


def test_a_rewired_max_node_is_refused():
    # inputs [0, 0, 0]: compile() then gave (1, 0, 0) at the origin where grad_at gave 1/3 each
    d = _max3()
    d["graph"]["nodes"][3]["inputs"] = [0, 0, 0]
    with pytest.raises(FormatError, match=r"strata\[\d+\]: disagrees with the graph"):
        _read(d)
    d["graph"]["nodes"][3]["inputs"] = [0]
    with pytest.raises(FormatError, match=r"graph\.nodes\[3\]\.inputs: max takes 3 input\(s\), got 1"):
        _read(d)


GRAPH = r"disagrees with the graph: "
S0 = r"strata\[0\]: " + GRAPH
TREE = r"strata: the paths are not one decision tree"


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["graph"]["nodes"][3].__setitem__("inputs", [3, 0, 1]), r"graph\.nodes\[3\]\.inputs: expected earlier"),
    (lambda d: d["graph"]["nodes"][3].__setitem__("inputs", [0, 1, 7]), r"graph\.nodes\[3\]\.inputs: expected earlier"),
    (lambda d: d["graph"]["nodes"][1].__setitem__("id", 5), r"graph\.nodes\[1\]\.id"),
    (lambda d: d["graph"]["nodes"][0].__setitem__("params", [7, "x1"]), r"graph\.nodes\[0\]\.params"),
    (lambda d: d["graph"]["nodes"][1].__setitem__("params", [0, "x1"]), r"graph\.nodes\[1\]\.params"),
    (lambda d: d["graph"]["nodes"][0].__setitem__("eval", "1"), r"graph\.nodes\[0\]: unknown field"),
    (lambda d: d["graph"].__setitem__("outputs", [[3, 3]]), r"graph\.outputs\[0\]: the table has 1 output"),
    (lambda d: d["strata"][0].__setitem__("path", [[3, [2, 1, 0]]]), S0 + r"node 3 \(max\) has case"),
    (lambda d: d["strata"][0].__setitem__("path", [[0, 1]]), TREE),
    (lambda d: d["strata"][1].__setitem__("path", d["strata"][0]["path"]), TREE),
    (lambda d: d["strata"][0]["forms"][0].__setitem__(1, "1/2"), S0 + r"forms\[0\]"),
    (lambda d: d["strata"][0]["vals"][0].__setitem__(0, "1"), S0 + r"vals\[0\]"),
    (lambda d: d["strata"][0]["constraints"].pop(), r"strata\[0\]"),
    (lambda d: d["strata"][0]["constraints"][0][0].__setitem__(0, "1"), r"strata\[0\]"),
    (lambda d: d["strata"][0].__setitem__("output_nodes", [2]), S0 + r"output_nodes"),
    (lambda d: d["convention"]["params"].__setitem__("reduce", "first"), r"strata\[\d+\]: " + GRAPH + "forms"),
])
def test_strata_are_replayed_on_the_graph(edit, match):
    d = _max3()
    edit(d)
    with pytest.raises(FormatError, match=match):
        _read(d)


def test_a_table_without_its_graph_is_checked_within_itself():
    d = _max3()
    d["graph"] = None
    assert _read(d).grad_at((1, 1, 1)) == sp.Matrix([[Fraction(1, 3)] * 3])
    tie = next(k for k, s in enumerate(d["strata"]) if s["dim"] == 2)
    d["strata"][tie]["vals"][0][0] = "5"                  # the value forms no longer give f^alpha there
    with pytest.raises(FormatError, match=rf"strata\[{tie}\]: forms\[0\] and vals\[0\] differ on the stratum"):
        _read(d)


def test_a_table_read_back_locates_points_by_its_graph():
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) + mt.max(x), 2)
    u = mt.PieceTable.from_json(t.to_json())
    for p in itertools.product([Fraction(k, 2) for k in range(-2, 3)], repeat=2):
        assert u.stratum_at(p).path == t.stratum_at(p).path and u.grad_at(p) == t.grad_at(p)


# --------------------------------------------------------------------------- the fuzz test
class _Slow(Exception):
    pass


def _alarm(signum, frame):
    raise _Slow


def _bases():
    """Valid documents: branch-free and branching, parametric, vector output, products, no graph."""
    tables = {
        "max3": mt.derive(lambda x: mt.max(x), 3),
        "max1 loop": mt.derive(max1, 3),
        "relu net": mt.derive(lambda x: mt.relu(x[0] - 2 * x[1] + 1) - mt.relu(x[1]) + mt.abs(x[0]), 2,
                              convention="jax"),
        "parametric": mt.derive(lambda x: mt.relu(x[0]) + mt.leaky_relu(x[0] - x[1], Fraction(1, 10)), 2,
                                convention=mt.Convention("torch", relu0=Z)),
        "vector clamp": mt.derive(lambda a, b: [mt.clamp(a + b, -1, 1), mt.maximum(a, b)], "a b"),
        "product": mt.derive(lambda x: x[0] * mt.relu(x[1]) + mt.min(x[0], x[1]), 2),
    }
    docs = {k: _doc(t) for k, t in tables.items()}
    graphless = copy.deepcopy(docs["max3"])
    graphless["graph"] = None
    docs["max3 without graph"] = graphless
    tables["max3 without graph"] = tables["max3"]
    return tables, docs


_VALUES = [None, True, False, 0, 1, -1, 2, 10 ** 30, 0.5, float("inf"), "", "1/0", "x1", "z", "9" * 1200,
           "__import__('os').system('touch PWNED')", [], [0], {}, {"op": "Pow", "args": ["2", "99999999"]},
           {"expr": "1"}, {"list": [1]}, {"rational": "1/3"}, {"symbol": {"name": "x1", "assumptions": {}}}]


def _slots(obj, path=()):
    """Every (container, key) in a JSON tree, with its path."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield obj, k, path + (k,)
            yield from _slots(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield obj, i, path + (i,)
            yield from _slots(v, path + (i,))


def _mutate(doc, rng):
    d = copy.deepcopy(doc)
    slots = list(_slots(d))
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        box, key, _ = rng.choice(slots)
        v = box[key]
        kind = rng.randrange(7)
        if kind == 0:
            box[key] = copy.deepcopy(rng.choice(_VALUES))
        elif kind == 1 and isinstance(v, int) and not isinstance(v, bool):
            box[key] = v + rng.choice([-1, 1, 2])
        elif kind == 2 and isinstance(v, str):      # a nearby number, or another word
            box[key] = rng.choice([v + "1", "-" + v, v[:-1], v + "/2", str(rng.randint(-3, 3)), "first", "mean"])
        elif kind == 3 and isinstance(box, dict):
            del box[key]
            return d
        elif kind == 4 and isinstance(box, list):
            box.insert(key, copy.deepcopy(v))
            return d
        elif kind == 5 and isinstance(box, list) and len(box) > 1:
            j = rng.randrange(len(box))
            box[key], box[j] = box[j], box[key]
        else:
            box[key] = copy.deepcopy(rng.choice([x for x in (v,) + tuple(b[k] for b, k, _ in rng.sample(slots, 2))]))
    return d


def _points(table):
    pts = [s.witness for s in table.strata]
    grid = [Fraction(k, 2) for k in range(-3, 4)]
    pts += list(itertools.product(grid, repeat=table.n))[:: max(1, 7 ** table.n // 60)]
    return [tuple(Fraction(int(c.p), int(c.q)) if hasattr(c, "q") else c for c in p) for p in pts]


def _answers(table, pts):
    return [(table.value_at(p), table.grad_at(p)) for p in pts]


def test_mutated_documents_give_a_format_error_or_a_correct_table():
    tables, docs = _bases()
    rng = random.Random(20240615)
    signal.signal(signal.SIGALRM, _alarm)
    seen = {"FormatError": 0, "read": 0}
    for name, doc in docs.items():
        t = tables[name]
        pts = _points(t)
        want = _answers(t, pts)
        X = np.array([[float(c) for c in p] for p in pts])
        for _ in range(60):
            d = _mutate(doc, rng)
            text = json.dumps(d)
            signal.setitimer(signal.ITIMER_REAL, 20)   # a hang detector, not a speed test
            try:
                u = mt.PieceTable.from_json(text)
            except FormatError:
                seen["FormatError"] += 1
                continue
            except _Slow:
                pytest.fail(f"{name}: reading took over 20 s: {text[:300]}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            seen["read"] += 1
            if u.graph is None:
                # without its graph a table is only checked within itself (docs/security.md): its
                # answers are numbers or mtsym errors (a point no stratum holds), never a crash
                for p in pts:
                    try:
                        u.grad_at(p)
                    except MtsymError:
                        pass
                continue
            # accepted: the table answers as the one it came from, everywhere we look
            assert _answers(u, pts) == want, f"{name}: a mutated document reads as another table: {text[:300]}"
            if u.graph is not None and not u.convention.symbols():
                assert np.array_equal(u.compile().grad(X), t.compile().grad(X)), name
            assert mt.PieceTable.from_json(u.to_json()).to_json() == u.to_json()
    # the fuzz reached both outcomes (most mutations are refused; some are harmless: a name, a line,
    # a witness moved inside its stratum)
    assert seen["FormatError"] > 200 and seen["read"] > 10, seen
