"""Tables streamed to disk (derive(..., out=path)) and read back lazily (PieceTable.open).

The file holds the strata in the order the enumeration found them; each
stratum read back equals the in-memory table's stratum with the same
discovery number (exact data, not floats), the lazy table answers points as
the in-memory one does, and ``compile()`` works from the file.
"""
import json
import random

import numpy as np
import pytest

import mtsym as mt
from mtsym.examples import max1


def lines(m, seed):
    rng = random.Random(seed)
    L = [(rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(-9, 9)) for _ in range(m)]
    return lambda x: sum(mt.relu(a * x[0] + b * x[1] + c) for a, b, c in L)


PROGRAMS = {
    "relu lines": (lines(9, 2), 2, "torch"),
    "max of 5, mean": (lambda x: mt.max(x), 5, "mean"),
    "max1 loop (branches)": (max1, 3, "torch"),
    "vector output": (lambda x: [mt.relu(x[0] - x[1]), mt.clamp(x[0] + x[1], -1, 1)], 2, "jax"),
}


def by_discovery(table):
    return sorted(table.strata, key=lambda s: s.discovery)


def same_stratum(a, b):
    assert a.path == b.path and a.constraints == b.constraints
    assert a.forms == b.forms and a.record.vals == b.record.vals
    assert a.dim == b.dim and a.witness == b.witness


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_streamed_table_holds_the_strata_in_discovery_order(name, tmp_path):
    fn, n, conv = PROGRAMS[name]
    memory = mt.derive(fn, n, convention=conv)
    path = tmp_path / "t.jsonl"
    streamed = mt.derive(fn, n, convention=conv, out=path)
    assert isinstance(streamed, mt.PieceTable)
    assert len(streamed.strata) == len(memory.strata)
    for k, (a, b) in enumerate(zip(streamed.strata, by_discovery(memory))):
        assert a.index == k
        same_stratum(a, b)
    assert str(streamed.graph) == str(memory.graph)
    # one header, one line per stratum, the end line
    with open(path) as f:
        assert sum(1 for _ in f) == len(memory.strata) + 2


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_lazy_table_answers_points_like_the_table_in_memory(name, tmp_path):
    fn, n, conv = PROGRAMS[name]
    memory = mt.derive(fn, n, convention=conv)
    streamed = mt.derive(fn, n, convention=conv, out=tmp_path / "t.jsonl")
    for s in memory.strata:
        w = s.witness
        assert streamed.stratum_at(w).path == s.path
        assert streamed.grad_at(w) == memory.grad_at(w)
        assert streamed.value_at(w) == memory.value_at(w)
    assert len(streamed.pieces) == len(memory.pieces)


def test_compile_works_from_the_file(tmp_path):
    fn, n, conv = PROGRAMS["relu lines"]
    memory = mt.derive(fn, n, convention=conv)
    streamed = mt.PieceTable.open(mt.derive(fn, n, convention=conv, out=tmp_path / "t.jsonl").path)
    X = np.random.default_rng(0).integers(-6, 7, (400, 2)).astype(float)
    a, b = memory.compile(), streamed.compile()
    assert np.array_equal(a.grad(X), b.grad(X))
    assert np.array_equal(a.value(X), b.value(X))
    # the same stratum, numbered by discovery in the file
    disc = np.array([s.discovery for s in memory.strata])
    assert np.array_equal(disc[a.stratum(X)], b.stratum(X))


def strata_lines(path):
    with open(path) as f:
        return f.read().splitlines()[:-1]      # the end line holds the graph with its source lines


@pytest.mark.parametrize("name", ["relu lines", "max of 5, mean"])
def test_parallel_streaming_writes_the_serial_file(name, tmp_path):
    fn, n, conv = PROGRAMS[name]
    serial = mt.derive(fn, n, convention=conv, out=tmp_path / "serial.jsonl")
    parallel = mt.derive(fn, n, convention=conv, out=tmp_path / "parallel.jsonl", workers=2)
    assert strata_lines(tmp_path / "serial.jsonl") == strata_lines(tmp_path / "parallel.jsonl")
    assert str(serial.graph) == str(parallel.graph)


def test_a_file_cut_short_is_refused(tmp_path):
    fn, n, conv = PROGRAMS["relu lines"]
    path = tmp_path / "t.jsonl"
    mt.derive(fn, n, convention=conv, out=path)
    text = path.read_text().splitlines(keepends=True)
    (tmp_path / "short.jsonl").write_text("".join(text[:-1]))       # no end line
    with pytest.raises(mt.FormatError, match="end"):
        mt.PieceTable.open(tmp_path / "short.jsonl")
    (tmp_path / "cut.jsonl").write_text("".join(text)[:-40])         # cut inside a line
    with pytest.raises(mt.FormatError):
        mt.PieceTable.open(tmp_path / "cut.jsonl")
    head = json.loads(text[0])
    del head["layout"]
    (tmp_path / "doc.jsonl").write_text(json.dumps(head) + "\n" + "".join(text[1:]))
    with pytest.raises(mt.FormatError, match="layout"):
        mt.PieceTable.open(tmp_path / "doc.jsonl")


def test_limit_reached_while_streaming_leaves_no_table(tmp_path):
    fn, n, conv = PROGRAMS["relu lines"]
    with pytest.raises(mt.LimitError):
        mt.derive(fn, n, convention=conv, out=tmp_path / "t.jsonl", max_strata=20)
    with pytest.raises(mt.FormatError):
        mt.PieceTable.open(tmp_path / "t.jsonl")
