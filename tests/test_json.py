"""JSON export: exact round trips (every field, every answer) and clear errors on bad documents."""

import itertools
import json
import pathlib
import re
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mtsym as mt
from mtsym.errors import FormatError, MtsymError
from mtsym.examples import EXAMPLES, max1
from mtsym.export.json import from_json, portable_line, to_data, to_json

Z = sp.Symbol("z")
DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "json-schema.md"


def _tables():
    out = {name: EXAMPLES[name].derive() for name in EXAMPLES}
    out["jax leaky product"] = mt.derive(
        lambda x: mt.relu(x[0]) * x[1] + mt.leaky_relu(x[1] - x[0] / 3, 0.1), 2,
        convention=mt.Convention("jax", relu0=Z / 2 + 1))
    out["vector clamp"] = mt.derive(lambda a, b: [mt.relu(a - b), mt.clamp(a + b, -1, Fraction(1, 2))], "a b")
    out["maxpool2d"] = mt.derive(lambda x: mt.maxpool2d(x.reshape(2, 2), (2, 1), stride=1).sum(), 4,
                                 convention="mean")
    out["min/abs/maximum"] = mt.derive(lambda x: mt.min(x[0], x[1] + 1) - mt.abs(x[0]) + mt.maximum(x[0], x[1]),
                                       2, convention=mt.Convention("first", abs0=Fraction(1, 3)))
    return out


TABLES = _tables()
GRID = [Fraction(k, 2) for k in range(-3, 4)]


def _points(n):
    if n <= 2:
        return list(itertools.product(GRID, repeat=n))
    return list(itertools.product([0, 1, 2], repeat=n))


def _record(r):
    return (r.path, [tuple(c) for c in r.constraints], r.forms, r.vals, r.output_nodes, r.shape, r.dim,
            tuple(r.witness))


@pytest.mark.parametrize("name", list(TABLES))
def test_round_trip_is_exact(name):
    t = TABLES[name]
    s = to_json(t)
    u = mt.PieceTable.from_json(s)
    assert u.program is None and t.program is not None
    # the document is a fixed point
    assert to_json(u) == s
    # every stratum record, field by field, in discovery order
    a = [_record(x.record) for x in sorted(t.strata, key=lambda x: x.discovery)]
    b = [_record(x.record) for x in sorted(u.strata, key=lambda x: x.discovery)]
    assert a == b
    # the table as the user sees it
    assert (u.name, u.symbols, u.shape, u.convention, u.convention.name) == \
        (t.name, t.symbols, t.shape, t.convention, t.convention.name)
    assert [(p.index, p.dim, p.expr, p.grad, [s.index for s in p.strata]) for p in u.pieces] == \
        [(p.index, p.dim, p.expr, p.grad, [s.index for s in p.strata]) for p in t.pieces]
    assert [(s.index, s.piece, s.dim, s.witness, s.cases, s.output_nodes) for s in u.strata] == \
        [(s.index, s.piece, s.dim, s.witness, s.cases, s.output_nodes) for s in t.strata]
    # the graph
    # (source lines are written without the writer's folders: see test_line_numbers_survive)
    assert sorted(u.graph.nodes(data=True)) == sorted(
        (v, dict(d, line=portable_line(d["line"])) if "line" in d else d) for v, d in t.graph.nodes(data=True))
    assert sorted(u.graph.edges(data=True)) == sorted(t.graph.edges(data=True))
    assert u.graph.outputs == t.graph.outputs and u.graph.symbols == t.graph.symbols
    # answers: without the program, stratum_at scans constraints and must agree
    for p in _points(t.n):
        assert u.stratum_at(p).index == t.stratum_at(p).index
        assert u.value_at(p) == t.value_at(p)
        assert u.grad_at(p) == t.grad_at(p)


def test_parametric_convention_keeps_its_symbol():
    t = EXAMPLES["relu-zero-weight"].derive()
    u = from_json(to_json(t))
    assert u.convention.relu0 == Z and u.convention.symbols() == {Z}
    r = from_json(to_json(mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=Z))))
    assert r.grad_at((0,)) == sp.Matrix([[Z]]) and r.value_at((0,)) == 0
    assert r.symbols[0].is_real and r.symbols[0] == sp.Symbol("x", real=True)


def test_rationals_are_strings():
    d = json.loads(to_json(EXAMPLES["torch-max"].derive()))
    s5 = next(s for s in d["strata"] if s["forms"] == [["0", "1/2", "1/2", "0", "0"]])
    assert s5["dim"] == 3 and s5["constraints"][0][1] in (-1, 0, 1)
    assert all(isinstance(c, str) for s in d["strata"] for c in s["witness"])
    assert d["convention"]["params"]["maximum"] == {"rational": "1/2"}


def test_indent_and_header():
    s = to_json(EXAMPLES["max1"].derive(), indent=2)
    assert s.startswith('{\n  "format": "mtsym.piecetable",\n  "version": 1,')


def test_schema_documents_every_field():
    doc = DOCS.read_text()
    d = to_data(TABLES["jax leaky product"])
    keys = set(d) | set(d["strata"][0]) | set(d["graph"]) | set(d["graph"]["nodes"][0]) | \
        set(d["convention"]) | set(d["convention"]["params"]) | {"rational", "list", "convention", "expr",
                                                                 "symbol", "op", "args", "assumptions"}
    missing = [k for k in sorted(keys) if f"`{k}`" not in doc]
    assert not missing
    assert '"version": 1' in doc


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.integers(-2, 2), st.integers(-2, 2)),
                min_size=1, max_size=4),
       st.sampled_from(["torch", "jax", "first", "last", "mean"]))
def test_random_relu_networks_round_trip(rows, conv):
    def f(x):
        return sum(v * mt.relu(a * x[0] + b * x[1] + Fraction(c, 2)) for a, b, c, v in rows)
    t = mt.derive(f, 2, convention=conv)
    u = from_json(to_json(t))
    assert to_json(u) == to_json(t)
    for p in itertools.product([-1, 0, Fraction(1, 3), 1], repeat=2):
        assert u.grad_at(p) == t.grad_at(p) and u.value_at(p) == t.value_at(p)


# --------------------------------------------------------------------------- bad documents
def _doc():
    return json.loads(to_json(EXAMPLES["boustany"].derive()))


def _err(d):
    with pytest.raises(FormatError) as e:
        from_json(json.dumps(d) if not isinstance(d, str) else d)
    return str(e.value)


def test_not_json():
    assert "not valid JSON" in _err('{"format": "mtsym.piecetable", ')
    assert "not valid JSON" in _err(to_json(EXAMPLES["boustany"].derive())[:-1])


def test_wrong_format_and_version():
    d = _doc()
    d["format"] = "something.else"
    assert "not an mtsym.piecetable document" in _err(d)
    d = _doc()
    d["version"] = 2
    assert _err(d) == "mtsym.piecetable version 2 is not supported: this mtsym reads version 1"
    assert "version null" in _err({"format": "mtsym.piecetable"})
    assert _err([1, 2]) == "mtsym.piecetable: document: expected a JSON object"


def test_corruptions_name_the_field():
    d = _doc()
    del d["strata"][1]["witness"]
    assert _err(d) == "mtsym.piecetable: strata[1]: missing field 'witness'"
    d = _doc()
    d["strata"][0]["witness"][0] = "1/x"
    assert "strata[0].witness[0]" in _err(d) and "is not a rational" in _err(d)
    d = _doc()
    d["strata"][0]["witness"][0] = "1/0"
    assert "zero denominator" in _err(d)
    d = _doc()
    d["strata"][0]["witness"] = ["1" if d["strata"][0]["witness"][0].startswith("-") else "-1"]
    assert "witness does not satisfy constraint 0" in _err(d)
    d = _doc()
    k = next(k for k, s in enumerate(d["strata"]) if s["dim"] == 0)
    d["strata"][k]["dim"] = 1
    assert _err(d) == f"mtsym.piecetable: strata[{k}].dim: 1 is not the dimension its equalities give (0)"
    d = _doc()
    d["strata"][0]["constraints"][0][0] = ["0", "1", "2"]
    assert "has 2 coefficients" in _err(d)
    d = _doc()
    d["strata"][0]["constraints"][0][1] = 5
    assert "sign -1, 0 or 1" in _err(d)
    d = _doc()
    d["strata"][0]["forms"] = []
    assert "1 output(s)" in _err(d)
    d = _doc()
    d["strata"][0]["path"][0][0] = 999
    assert "node 999 is not in the graph" in _err(d)
    d = _doc()
    d["strata"][0]["forms"][0] = [{"op": "exec", "args": []}, "0"]
    assert "unknown expression 'exec'" in _err(d)
    d = _doc()
    d["convention"]["params"]["relu1"] = 0
    assert "convention.params" in _err(d) and "unknown parameter(s) 'relu1'" in _err(d)
    d = _doc()
    d["convention"]["params"]["reduce"] = "median"
    assert "convention.params" in _err(d) and "reduce" in _err(d)
    d = _doc()
    d["graph"]["nodes"][4]["params"] = ["x"]
    assert "graph.nodes[4].params" in _err(d)
    d = _doc()
    d["graph"]["nodes"][1]["inputs"] = [7]
    assert "graph.nodes[1].inputs" in _err(d)
    d = _doc()
    d["strata"] = []
    assert "at least one stratum" in _err(d)


def test_a_parameter_missing_from_a_file_takes_its_base_conventions_value():
    # files name every parameter of their day; one declared later takes the base convention's value
    z = sp.Symbol("z")
    t = mt.derive(lambda x: mt.relu(x) + mt.abs(x), "x", convention=mt.Convention("jax", relu0=z))
    d = json.loads(to_json(t))
    for key in ("abs0", "clamp"):
        del d["convention"]["params"][key]
    del d["convention"]["base"]                   # as written before bases were stored
    u = from_json(json.dumps(d))
    assert u.convention.abs0 == 1 and u.convention.clamp is None   # jax's values, from the name
    assert u.convention.relu0 == z and u.convention.name == "jax(relu0=z)"
    # without relu0 the convention says relu'(0) = 0 (jax), but the stored f^alpha hold z: refused
    del d["convention"]["params"]["relu0"]
    with pytest.raises(FormatError, match=r"strata\[\d+\]: disagrees with the graph: forms\[0\]"):
        from_json(json.dumps(d))


def test_format_error_is_an_mtsym_error_and_a_value_error():
    assert issubclass(FormatError, MtsymError) and issubclass(FormatError, ValueError)
    with pytest.raises(FormatError, match="needs a JSON string"):
        from_json(42)
    assert from_json(to_json(TABLES["max-x-x"]).encode()).grad_at((5,)) == sp.Matrix([[1]])


def test_unwritable_values_fail_clearly():
    t = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=sp.cos(Z)))
    with pytest.raises(FormatError, match="cannot write the sympy"):
        to_json(t)


def test_line_numbers_survive():
    t = mt.derive(max1, 3)
    u = from_json(to_json(t))
    assert [u.graph.line_of(v) for v in u.graph.nodes] == [portable_line(t.graph.line_of(v)) for v in t.graph.nodes]
    # the line numbers and the code are kept; the file is named from the working directory
    assert [u.graph.line_of(v).split(":", 1)[1] for v in u.graph.nodes] == \
        [t.graph.line_of(v).split(":", 1)[1] for v in t.graph.nodes]
    assert not any(u.graph.line_of(v).startswith("/") for v in u.graph.nodes)
    assert re.search(r"examples\.py|test_json\.py", t.graph.line_of(4)) or t.graph.line_of(4) == ""


def test_exports_of_a_table_read_back_are_the_same():
    # a table read back has no polyhedra: the compact conditions rebuild them from the constraints
    for name in ("max1", "torch-max", "jax leaky product", "min/abs/maximum"):
        t = TABLES[name]
        u = from_json(to_json(t))
        assert all(s.record.poly is None for s in u.strata)
        assert u.to_latex() == t.to_latex() and u.to_latex(strata=True) == t.to_latex(strata=True)
        assert u._repr_html_() == t._repr_html_()
