"""Layers go one way, and nothing outside a primitive's file dispatches on its name.

The core (tracing, values, arrays, graph, primitives, conventions, polyhedra,
partition, table and their helpers) must not import the outer layers
(verification, numeric backends, export, frameworks, command line, ...), not
even inside a function: outer layers register what the core offers through
:mod:`mtsym.extensions`.  Checked on the source's syntax tree.
"""
import ast
import pathlib

import pytest

from mtsym.primitives import PRIMITIVES

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "mtsym"
CORE = {"trace", "value", "arrays", "graph", "primitives", "conventions", "polyhedra", "partition", "table",
        "exact", "linalg", "errors", "ops", "extensions", "display", "walk", "records", "intmat",
        "flat"}
OUTER = {"verify", "clarke", "lp", "lipschitz", "backends", "evaluate", "export", "frameworks", "cli", "local",
         "audit", "numeric", "api", "examples", "parallel", "progress", "oracle", "samples", "chainrule"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        yield path, rel.parts


def _imported_tops(node, parts):
    """The top-level mtsym modules an import statement brings in."""
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("mtsym.")]
    if node.level == 0:
        mod = (node.module or "").split(".")
        if mod[0] != "mtsym":
            return []
        return [mod[1]] if len(mod) > 1 else [a.name for a in node.names]
    here = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
    base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
    full = base + ((node.module or "").split(".") if node.module else [])
    return [full[0]] if full else [a.name for a in node.names]


def test_every_module_is_in_one_layer():
    tops = {parts[0] for _, parts in _modules() if parts[0] not in ("__init__", "__main__")}
    assert tops <= CORE | OUTER, tops - CORE - OUTER


@pytest.mark.parametrize("path,parts", [(p, q) for p, q in _modules() if q[0] in CORE],
                         ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_core_imports_no_outer_layer(path, parts):
    tree = ast.parse(path.read_text(), str(path))
    bad = [(n.lineno, top) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
           for top in _imported_tops(n, parts) if top in OUTER]
    assert not bad, f"{path.name} imports outer layers: {bad}"


def test_the_check_finds_a_wrong_way_import():
    tree = ast.parse("def f():\n    from .verify import verify\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _imported_tops(node, ("table",)) == ["verify"]
    tree = ast.parse("from ..export.plot import plot_table\n")
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert _imported_tops(node, ("primitives", "relu")) == ["export"]


def _compares_an_op_name(node):
    """``x["op"] == "relu"`` / ``prim.name in ("input", ...)``: a comparison of an op with a primitive name."""
    if not isinstance(node, ast.Compare):
        return False
    sides = [node.left] + node.comparators
    texts = [ast.unparse(s) for s in sides]
    names = set()
    for s in sides:
        if isinstance(s, ast.Constant) and isinstance(s.value, str):
            names.add(s.value)
        elif isinstance(s, (ast.Tuple, ast.List, ast.Set)):
            names |= {e.value for e in s.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    about_ops = any(t == "op" or t.endswith(('["op"]', "['op']", ".op", ".name")) for t in texts)
    return about_ops and bool(names & set(PRIMITIVES))


def test_nothing_outside_the_primitives_dispatches_on_a_primitive_name():
    bad = []
    for path, parts in _modules():
        if parts[0] == "primitives":
            continue
        tree = ast.parse(path.read_text(), str(path))
        bad += [f"{path.name}:{n.lineno}" for n in ast.walk(tree) if _compares_an_op_name(n)]
    assert not bad


def test_the_dispatch_check_finds_one():
    assert _compares_an_op_name(ast.parse('data["op"] == "relu"', mode="eval").body)
    assert _compares_an_op_name(ast.parse('op in ("const", "affine")', mode="eval").body)
    assert not _compares_an_op_name(ast.parse('prim.kind == "input"', mode="eval").body)
