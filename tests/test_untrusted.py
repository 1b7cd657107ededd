"""Untrusted files and strings never run code (docs/security.md).

Each test plants a payload that would create a file if anything evaluated it (``eval``,
``exec``, ``sympify``, a pasted line of generated code), and checks both that mtsym refuses
or escapes it and that the file was not created.
"""
import ast
import json
import runpy
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.cli import main, parse_convention
from mtsym.errors import ConventionError, FormatError, InputError
from mtsym.exact import to_exact, to_sympy

Z = sp.Symbol("z")


@pytest.fixture
def pwned(tmp_path, monkeypatch):
    """A payload that creates ``PWNED`` in the current directory, and that file's path."""
    monkeypatch.chdir(tmp_path)
    return "__import__('os').system('touch PWNED')", tmp_path / "PWNED"


def _doc(table):
    return json.loads(table.to_json())


# --------------------------------------------------------------------------- 1. strings in a JSON table
def test_a_graph_parameter_from_a_file_is_never_evaluated(pwned):
    code, flag = pwned
    d = _doc(mt.derive(lambda x: mt.relu(2 * x[0] - x[1] + 1), 2))
    affine = next(k for k, n in enumerate(d["graph"]["nodes"]) if n["op"] == "affine" and n["params"][1] == 1)
    for payload in (code, {"expr": {"symbol": {"name": code, "assumptions": {}}}}):
        d["graph"]["nodes"][affine]["params"][1] = payload
        with pytest.raises(FormatError, match=rf"graph\.nodes\[{affine}\]\.params"):
            mt.PieceTable.from_json(json.dumps(d))
    assert not flag.exists()


def test_a_graph_read_from_a_file_is_evaluated_without_code(pwned):
    # mt.evaluate(table.graph) and compile() on a table read back: strings are names, never code
    code, flag = pwned
    t = mt.PieceTable.from_json(mt.derive(lambda x: mt.relu(x[0] - x[1]), 2).to_json())
    X = np.array([[1.0, 0.5], [0.0, 1.0]])
    assert mt.evaluate(t.graph, X).grad.tolist() == [[1.0, -1.0], [0.0, 0.0]]
    assert t.compile().grad(X).tolist() == [[1.0, -1.0], [0.0, 0.0]]
    assert not flag.exists()


def test_symbol_names_in_a_file_are_identifiers(pwned):
    code, flag = pwned
    d = _doc(mt.derive(lambda x: mt.relu(x[0]), 1))
    for bad in (code, r"\input{secret.tex}", "x1\nimport os", ""):
        d["inputs"][0]["name"] = bad
        with pytest.raises(FormatError, match=r"inputs\[0\]\.name"):
            mt.PieceTable.from_json(json.dumps(d))
    d["inputs"][0]["name"] = "x1"
    d["inputs"][0]["assumptions"] = {code: True}
    with pytest.raises(FormatError, match="not a sympy assumption"):
        mt.PieceTable.from_json(json.dumps(d))
    assert not flag.exists()


# --------------------------------------------------------------------------- 3. parameter names and values
@pytest.mark.parametrize("where", ["compile", "evaluate"])
def test_params_keys_are_looked_up_never_parsed(pwned, where):
    code, flag = pwned
    conv = mt.Convention("torch", relu0=Z)
    X = np.zeros((1, 1))

    def run(params):
        if where == "compile":
            return mt.derive(lambda x: mt.relu(x[0]), 1, convention=conv).compile(params=params).grad(X)
        return mt.evaluate(lambda x: mt.relu(x[0]), X, inputs=1, convention=conv, params=params).grad
    with pytest.raises(ConventionError, match="is not a convention symbol here"):
        run({code: 1})
    assert not flag.exists()
    # the symbol, its name, exact strings and floats all work, and give the same weight
    for params in ({Z: 0.25}, {"z": Fraction(1, 4)}, {"z": "1/4"}, {sp.Symbol("z", real=True): "0.25"}):
        assert run(params).tolist() == [[0.25]]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "oo", "nan", 1j, "1e999999999", True, Z, "1+1"])
def test_params_values_are_finite_exact_numbers(value):
    t = mt.derive(lambda x: mt.relu(x[0]), 1, convention=mt.Convention("torch", relu0=Z))
    with pytest.raises(ConventionError):
        t.compile(params={"z": value})


def test_numbers_are_read_by_a_strict_grammar(pwned):
    code, flag = pwned
    assert to_exact("1/3") == Fraction(1, 3) and to_exact(" -2.5e-1 ") == Fraction(-1, 4)
    for bad in (code, "1e999999999", "0x10", "1/0", "inf", "nan", "2**10"):
        with pytest.raises(InputError):
            to_exact(bad)
    for bad in (code, 0.5, None):
        with pytest.raises(InputError):
            to_sympy(bad)
    assert not flag.exists()


def test_cli_convention_values_are_never_evaluated(pwned, capsys):
    code, flag = pwned
    for bad in (code, "[c for c in ().__class__.__base__.__subclasses__()]", "1+1", "z**2"):
        with pytest.raises(Exception, match="must be None, a word, a number or a name"):
            parse_convention(f"torch,relu0={bad}")
        assert main(["examples", "max-x-x", "--strata"]) == 0  # the command itself still works
    assert parse_convention("torch,relu0=1/3").relu0 == Fraction(1, 3)
    assert parse_convention("jax,relu0=z").relu0 == sp.Symbol("z")
    assert not flag.exists()


def test_a_convention_symbol_named_like_an_input_is_refused():
    conv = mt.Convention("torch", relu0=sp.Symbol("x1", real=True))
    with pytest.raises(ConventionError, match="named like inputs"):
        mt.derive(lambda x: mt.relu(x[0]), 1, convention=conv)
    # and in a file: the convention's z renamed to the input's name
    d = _doc(mt.derive(lambda x: mt.relu(x[0]), 1, convention=mt.Convention("torch", relu0=Z)))
    d["convention"]["params"]["relu0"]["expr"]["symbol"]["name"] = "x1"
    with pytest.raises(FormatError, match="named like inputs"):
        mt.PieceTable.from_json(json.dumps(d))


# --------------------------------------------------------------------------- 4. LaTeX
def test_latex_escapes_names_it_cannot_print_as_latex():
    t = mt.derive(lambda x: mt.relu(x[0]), 1, convention=mt.Convention("torch", relu0=sp.Symbol(r"\input{s}")))
    tex = t.to_latex()
    assert r"\input" not in tex and r"\text{\textbackslash{}input\{s\}}" in tex
    # names sympy prints itself are unchanged, and the user's own LaTeX for a symbol is kept
    assert "x_{1}" in tex
    assert r"\zeta" in t.to_latex(symbols={r"\input{s}": r"\zeta"})


# --------------------------------------------------------------------------- 2. written checkers
torch = pytest.importorskip("torch")

MODULE = '''
import torch


def f(x):
    return torch.relu(x[0] - x[1]) + torch.max(x)
'''


def _names(tree):
    """Every identifier the module uses or binds (names, attributes, arguments, imports)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.alias):
            out.add(node.asname or node.name)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out.add(node.name)
    return out


def _shape(tree):
    """The module's AST with every constant blanked: what it does, not what data it holds."""
    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant(value=None)
    return ast.dump(Blank().visit(tree))


def test_a_checker_written_from_an_untrusted_table_holds_its_strings_as_literals(tmp_path, monkeypatch):
    (tmp_path / "usermod_untrusted.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    table = mt.derive(lambda x: torch.relu(x[0] - x[1]) + torch.max(x), 2)
    honest = mt.PieceTable.from_json(table.to_json())
    honest.write_checker(tmp_path / "test_honest.py", "usermod_untrusted:f")
    # the same table, its convention name written by an attacker: pasted into the file's
    # docstring, it would close it and run a statement
    d = _doc(table)
    d["convention"]["name"] = 'torch"""; import os; os.system("touch PWNED"); x = """'
    evil = mt.PieceTable.from_json(json.dumps(d))
    path = tmp_path / "test_evil.py"
    evil.write_checker(path, "usermod_untrusted:f")
    a, b = ast.parse((tmp_path / "test_honest.py").read_text()), ast.parse(path.read_text())
    # the attacker's file does exactly what the honest one does: only its constants differ,
    # and every name it uses is one the honest file uses
    assert _shape(a) == _shape(b) and _names(b) == _names(a)
    assert "os" not in _names(b) and "system" not in _names(b)
    # run it (in this process, torch is loaded already): every case passes, and nothing else ran
    module = runpy.run_path(str(path))
    assert len(module["CASES"]) == len(table.strata) and module["CONVENTION"] == d["convention"]["name"]
    for case in module["CASES"]:
        module["test_gradient_at_stratum"](*case)
    assert not (tmp_path / "PWNED").exists()


def test_a_line_break_in_a_string_from_a_file_is_refused():
    d = _doc(mt.derive(lambda x: mt.relu(x[0]), 1))
    d["convention"]["name"] = 'torch"""\nimport os'
    with pytest.raises(FormatError, match="convention.name: a string with control characters"):
        mt.PieceTable.from_json(json.dumps(d))
    d = _doc(mt.derive(lambda x: mt.relu(x[0]), 1))
    d["graph"]["nodes"][0]["line"] = "a\x1b[2Jb"        # a terminal escape
    with pytest.raises(FormatError, match=r"graph\.nodes\[0\]\.line"):
        mt.PieceTable.from_json(json.dumps(d))


def test_check_refuses_bad_tolerances():
    table = mt.derive(lambda x: torch.relu(x[0]), 1)
    for kw in ({"rtol": -1}, {"rtol": float("nan")}, {"rtol": "1e-9"}, {"dtype": "float16"}, {"max_log2": 10**9}):
        with pytest.raises(InputError):
            table.check(lambda x: torch.relu(x[0]), **kw)


def test_notebook_displays_escape_names_from_a_file():
    d = _doc(mt.derive(lambda x: mt.relu(x[0]), 1))
    d["name"], d["convention"]["name"] = "<script>alert(1)</script>", "<img src=x onerror=alert(2)>"
    t = mt.PieceTable.from_json(json.dumps(d))
    for html in (t._repr_html_(), t.pieces[0]._repr_html_(), t.strata[0]._repr_html_()):
        assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in t._repr_html_()
