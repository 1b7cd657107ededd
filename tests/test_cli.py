"""The mtsym command, in process (main(argv)) and as ``python -m mtsym`` in a subprocess."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest
import sympy as sp

import mtsym as mt
from mtsym.cli import main, parse_convention
from mtsym.examples import EXAMPLES, max1

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES_PY = str(ROOT / "mtsym" / "examples.py")

USER_CODE = '''
import mtsym as mt

def net(x):
    return mt.relu(x[0] - 2 * x[1]) + mt.max(x)

def product(x):
    return mt.relu(x[0] * x[1])

def floats(x):
    return float(x[0])

def broken(x):
    return x.nothing

not_a_function = 3
'''


@pytest.fixture
def user_file(tmp_path):
    p = tmp_path / "user.py"
    p.write_text(USER_CODE)
    return str(p)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code, out, err, *words):
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtsym: error: ")
    for w in words:
        assert w in lines[0]


# --------------------------------------------------------------------------- derive
def test_derive_prints_the_table(capsys, user_file):
    code, out, err = run(capsys, "derive", f"{user_file}:net", "--inputs", "2")
    t = mt.derive(lambda x: mt.relu(x[0] - 2 * x[1]) + mt.max(x), 2)
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0] == f"net(x1, x2): {len(t.pieces)} pieces, {len(t.strata)} strata, convention torch"
    assert len(lines) == 1 + len(t.pieces)
    for p, line in zip(t.pieces, lines[1:]):
        assert line.startswith(f"{p.label} ") and line.endswith(
            "grad = (" + ", ".join(str(v) for v in p.grad) + ")")


def test_derive_latex_json_strata_match_the_api(capsys):
    t = mt.derive(max1, 4)
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "4", "--latex")
    assert code == 0 and out == t.to_latex() + "\n"
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "4", "--latex", "--env", "cases")
    assert out == t.to_latex(env="cases") + "\n"
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "4", "--json")
    u = mt.PieceTable.from_json(out)
    assert code == 0 and [p.grad for p in u.pieces] == [p.grad for p in t.pieces]
    assert len(u.strata) == 27
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "4", "--strata")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 27
    assert lines[7] == "S8   dim 1  in P1  x1 = x2 = x3 = x4" + " " * 10 + "witness (0, 0, 0, 0)"


def test_derive_scalar_names_and_convention_parameters(capsys):
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:boustany", "--inputs", "t")
    assert code == 0 and "P2  dim 0  t = 0   f = -3*t/2  grad = -3/2" in out
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:relu_zero_weight", "--inputs", "x",
                       "--convention", "torch,relu0=1/2", "--strata")
    assert code == 0 and out == "S1  dim 1  in P1  everywhere  witness (0)\n"
    c = parse_convention("mean,relu0=z,reduce=first,clamp=None")
    assert c.relu0 == sp.Symbol("z") and c.reduce == "first" and c.clamp is None


def test_output_file(capsys, tmp_path):
    dest = tmp_path / "t.json"
    code, out, _ = run(capsys, "derive", f"{EXAMPLES_PY}:torch_max", "--inputs", "3", "--json", "-o", str(dest))
    assert code == 0 and out == ""
    assert len(mt.PieceTable.from_json(dest.read_text())) == 7


# --------------------------------------------------------------------------- errors: one line, status 1
def test_missing_file(capsys, tmp_path):
    one_error_line(*run(capsys, "derive", f"{tmp_path}/nope.py:f", "--inputs", "2"), "no such file", "nope.py")


def test_no_such_function(capsys, user_file):
    one_error_line(*run(capsys, "derive", f"{user_file}:nothing", "--inputs", "2"),
                   "has no function 'nothing'", "broken, floats, net, product")
    one_error_line(*run(capsys, "derive", f"{user_file}:not_a_function", "--inputs", "2"), "is a int")
    one_error_line(*run(capsys, "derive", user_file, "--inputs", "2"), "FILE.py:FUNC")


def test_untraceable_code(capsys, user_file):
    one_error_line(*run(capsys, "derive", f"{user_file}:product", "--inputs", "2"),
                   "relu", "user.py:8", "not affine")
    one_error_line(*run(capsys, "derive", f"{user_file}:floats", "--inputs", "2"), "float()", "user.py:11")
    one_error_line(*run(capsys, "derive", f"{user_file}:broken", "--inputs", "2"),
                   "nothing", "user.py:14", "not an operation mtsym can trace")


def test_bad_file_and_bad_convention(capsys, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    return x +\n")
    one_error_line(*run(capsys, "derive", f"{bad}:f", "--inputs", "1"), "SyntaxError at line 2")
    boom = tmp_path / "boom.py"
    boom.write_text("raise RuntimeError('no')\n")
    one_error_line(*run(capsys, "derive", f"{boom}:f", "--inputs", "1"), "RuntimeError: no")
    one_error_line(*run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "2", "--convention", "pytorch"),
                   "unknown convention 'pytorch'")
    one_error_line(*run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "2", "--convention", "torch,relu0"),
                   "key=value")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["derive", f"{EXAMPLES_PY}:max1"])  # --inputs is required
    assert e.value.code == 2
    assert main([]) == 2


def test_verify_and_plot_need_their_modules(capsys, tmp_path):
    has_verify = importlib.util.find_spec("mtsym.verify") is not None
    code, out, err = run(capsys, "derive", f"{EXAMPLES_PY}:max1", "--inputs", "3", "--verify")
    if has_verify:
        assert code == 0 and out.strip()
    else:
        one_error_line(code, out, err, "--verify is not available", "mtsym.verify")
    png = tmp_path / "p.png"
    code, out, err = run(capsys, "derive", f"{EXAMPLES_PY}:boustany", "--inputs", "t", "--plot", str(png))
    if importlib.util.find_spec("matplotlib") is not None:
        assert code == 0 and png.stat().st_size > 0
    else:
        one_error_line(code, out, err, "matplotlib")


# --------------------------------------------------------------------------- examples
def test_examples_list(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[:-1]]
    assert names == list(EXAMPLES) == ["max1", "torch-max", "boustany", "boustany-maxpool",
                                       "relu-zero-weight", "max-x-x"]


def test_examples_all_agree_with_the_paper(capsys):
    code, out, _ = run(capsys, "examples", "--all")
    assert code == 0
    assert "boustany           section 4.3, Table 2         7/7 values as in the paper" in out
    assert len(out.splitlines()) == 6


def test_example_boustany_prints_table_2(capsys):
    code, out, _ = run(capsys, "examples", "boustany")
    assert code == 0
    assert "  at (0): paper (-3/2)  mtsym (-3/2)  ok" in out
    assert out.count("  ok") == 7 and "MISMATCH" not in out


def test_example_modes_and_unknown(capsys):
    code, out, _ = run(capsys, "examples", "torch-max", "--latex")
    assert code == 0 and out == EXAMPLES["torch-max"].derive().to_latex() + "\n"
    one_error_line(*run(capsys, "examples", "nope"), "no example 'nope'", "max1, torch-max")


def test_a_mismatch_is_reported(capsys, monkeypatch):
    ex = EXAMPLES["max-x-x"]
    monkeypatch.setattr(ex, "paper", [((0,), (2,))])
    code, out, _ = run(capsys, "examples", "max-x-x")
    assert code == 1 and "at (0): paper (2)  mtsym (1)  MISMATCH" in out


# --------------------------------------------------------------------------- python -m mtsym
def _python_m(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mtsym", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_python_m_mtsym(capsys, tmp_path):
    r = _python_m("examples")
    main(["examples"])
    assert r.returncode == 0 and r.stdout == capsys.readouterr().out
    r = _python_m("derive", "mtsym/examples.py:boustany_maxpool", "--inputs", "t", "--strata")
    assert r.returncode == 0 and r.stdout.splitlines() == [
        "S1  dim 1  in P1  t < 0  witness (-1)", "S2  dim 1  in P1  t > 0  witness (1)",
        "S3  dim 0  in P2  t = 0  witness (0)"]
    r = _python_m("derive", "missing.py:f", "--inputs", "1", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == "" and r.stderr == "mtsym: error: no such file: missing.py\n"
    r = _python_m("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"mtsym {mt.__version__}"


def test_jax_code_from_the_command_line(capsys, tmp_path):
    pytest.importorskip("jax")
    path = tmp_path / "jf.py"
    path.write_text("import jax.numpy as jnp\n\ndef f(x):\n    return jnp.max(x)\n")
    code, out, err = run(capsys, "derive", f"{path}:f", "--inputs", "2", "--framework", "jax")
    assert code == 0 and "f = x1/2 + x2/2" in out


def test_examples_output_file_holds_the_whole_report(capsys, tmp_path):
    path = tmp_path / "boustany.txt"
    code, out, err = run(capsys, "examples", "boustany", "-o", str(path))
    text = path.read_text()
    assert code == 0 and out == ""
    assert "P1 " in text and "the associated gradient against the paper" in text and "MISMATCH" not in text



EXITING = '''
import sys
import mtsym as mt

def quits(x):
    sys.exit(0)

def quits_on_a_branch(x):
    if x[0] > 1:
        sys.exit(0)
    return mt.relu(x[0])
'''


def test_sys_exit_in_the_users_code_is_an_error(capsys, tmp_path):
    # status 0 and no output looked like success
    p = tmp_path / "exiting.py"
    p.write_text(EXITING)
    for fn in ("quits", "quits_on_a_branch"):
        one_error_line(*run(capsys, "derive", f"{p}:{fn}", "--inputs", "1"), "sys.exit(0)", fn)
    module = tmp_path / "exits_on_import.py"
    module.write_text("import sys\nsys.exit(0)\ndef f(x):\n    return x[0]\n")
    one_error_line(*run(capsys, "derive", f"{module}:f", "--inputs", "1"), "cannot load", "sys.exit(0)")
