"""What a new user met first (issue 13): tables that scale, one numbering, progress and partial
results, labels that say what ran, errors that are mtsym errors, portable JSON, plots that explain
themselves.  Each test reproduces the user's command or call."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import mtsym as mt
from mtsym.cli import main
from mtsym.examples import EXAMPLES, boustany

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def relu_pool(x):
    """4 inputs through relu and a MaxPool1d-style window max, as in the issue."""
    h = mt.relu([x[0] - x[1], x[1] - x[2], x[2] - x[3], x[3] - x[0] / 2])
    return mt.maxpool1d(h, 2, stride=1).sum()


W1 = np.array([[0.1234567, -0.7654321], [0.3333333, 0.25], [-0.5, 0.8765432]])
B1 = np.array([0.11, -0.2, 0.05])


def floaty(x):
    return (np.array([1.5, -0.75, 0.3]) @ mt.relu(W1 @ x + B1))


# --------------------------------------------------------------------------- 2. text tables
@pytest.mark.parametrize("fn, n", [(relu_pool, 4), (floaty, 2)])
def test_rows_are_not_padded_to_the_longest_condition(fn, n):
    from mtsym.export.text import COLUMN_CAP
    t = mt.derive(fn, n)
    lines = t.text(max_rows=None).splitlines()[1:]
    conds = [ln.split("  f = ")[0] for ln in lines]
    assert max(map(len, conds)) > COLUMN_CAP + 20          # some condition is long ...
    # ... and no row is padded to it (before: every row as wide as the widest, runs of ~100 spaces)
    assert max(len(run) for ln in lines for run in re.findall(r" +", ln)) <= COLUMN_CAP + 2
    assert len({len(ln) for ln in lines}) > 1


def test_width_wraps_every_line_and_keeps_all_the_text():
    t = mt.derive(relu_pool, 4)
    whole = t.text(max_rows=None)
    wrapped = t.text(max_rows=None, width=100)
    assert max(len(ln) for ln in wrapped.splitlines()) <= 100 < max(len(ln) for ln in whole.splitlines())
    squash = re.compile(r"\s+")
    # nothing lost but unions of many strata, which are named by their labels on a terminal
    pieces_whole = whole.splitlines()[1:]
    for p in t.pieces:
        if " or " not in pieces_whole[p.index]:
            assert squash.sub("", pieces_whole[p.index]) in squash.sub("", wrapped)


def test_long_unions_are_abbreviated_by_their_stratum_labels_on_a_terminal():
    # |x1| + |x2| - |x1 + x2| is 0 on two opposite closed quadrants: a union of 3 strata
    t = mt.derive(lambda x: mt.abs(x[0]) + mt.abs(x[1]) - mt.abs(x[0] + x[1]), 2)
    zero = next(p for p in t.pieces if p.expr == 0)
    whole = t.text().splitlines()[1 + zero.index]
    assert "min(x1, x2) > 0 or max(x1, x2) < 0 or x1 = x2 = 0" in whole
    short = t.text(width=40)
    labels = ", ".join(s.label for s in zero.strata)
    assert f"union of 3 strata ({labels}; --strata lists" in " ".join(short.split())
    assert max(len(ln) for ln in short.splitlines()[1:]) <= 40


def test_digits_is_a_display_and_the_table_stays_exact():
    t = mt.derive(floaty, 2)
    exact = t.text()
    assert re.search(r"\d{15,}", exact)        # float weights are exact binary fractions: long numbers
    shown = t.text(digits=4)
    assert not re.search(r"\d{6,}", shown)
    assert max(len(ln) for ln in shown.splitlines()) < max(len(ln) for ln in exact.splitlines()) / 2
    p = t.pieces[0]
    g = [float(v) for v in p.grad]
    assert f"grad = ({format(g[0], '.4g')}, {format(g[1], '.4g')})" in shown.splitlines()[1]
    assert t.text() == exact and all(isinstance(v, sp.Rational) for v in p.grad)


def test_cli_max_rows_digits_and_a_whole_output_file(capsys, tmp_path):
    fn = f"{ROOT / 'mtsym' / 'examples.py'}:max1"
    t = mt.derive(EXAMPLES["max1"].fn, 6)
    assert len(t.pieces) == 6 and len(t.strata) > 200
    out_file = tmp_path / "strata.txt"
    code, out, _ = run(capsys, "derive", fn, "--inputs", "6", "--strata", "-o", str(out_file))
    assert code == 0 and len(out_file.read_text().splitlines()) == len(t.strata)   # -o is whole
    code, out, _ = run(capsys, "derive", fn, "--inputs", "6", "--strata", "--max-rows", "7")
    assert code == 0 and len(out.splitlines()) == 8 and f"{len(t.strata) - 7} more strata" in out
    code, out, _ = run(capsys, "derive", f"{Path(__file__)}:floaty", "--inputs", "2", "--digits", "3")
    assert code == 0 and "0.75" in out and not re.search(r"\d{6,}", out)


# --------------------------------------------------------------------------- 3. one numbering
def test_one_number_per_stratum_and_piece_in_every_report(capsys, tmp_path):
    t = EXAMPLES["boustany"].derive()
    tie = t.stratum_at((0,))
    piece = t.pieces[tie.piece]
    assert (tie.label, piece.label) == (f"S{tie.index + 1}", f"P{piece.index + 1}") == ("S3", "P2")
    rep = t.verify()
    row = next(r for r in rep.rows if r.stratum == tie.index)
    assert re.search(r"^S3\s+P2\s+0 .*SPURIOUS", str(rep), re.M) and "S3: Clarke" in str(rep)
    assert repr(t.spurious()) == "[Stratum(S3: dim 0, Eq(t, 0), in P2)]" and row.label == "S3"
    torch = pytest.importorskip("torch")
    X = torch.tensor([1.0, 2.0, 3.0, 4.0])

    def tb(t_):
        x = t_ * X
        return boustany_torch(x)
    check = t.check(tb)
    assert "S3 dim 0 t = 0" in str(check)
    code, out, _ = run(capsys, "examples", "boustany", "--strata")
    assert "S3  dim 0  in P2  t = 0" in out
    assert "P^{2} &= \\{t \\in \\mathbb{R} \\mid t = 0\\}" in t.to_latex()
    assert "S^{3} &=" in t.to_latex(strata=True) and "\\subseteq P^{2}" in t.to_latex(strata=True)
    fig = t.plot()
    assert any(x.get_text().startswith("$P^{2}$") for x in fig.axes[0].get_legend().get_texts())


def boustany_torch(x):
    import torch
    res = x[0]
    for i in range(1, 4):
        if x[i] > res:
            res = x[i]
    return res - torch.max(x)


# --------------------------------------------------------------------------- 4. progress, partial tables
def test_progress_hook_sees_every_stratum_and_the_reporter_writes_rate():
    seen = []
    t = mt.derive(lambda x: mt.max(x), 4, progress=lambda rec, k: seen.append(k))
    assert seen == list(range(1, len(t.strata) + 1))
    import io

    from mtsym.progress import Progress
    ticks = iter(range(100)).__next__
    buf = io.StringIO()
    mt.derive(lambda x: mt.max(x), 4, progress=Progress(buf, delay=0, every=0, clock=lambda: float(ticks())))
    assert "mtsym: 15 strata" in buf.getvalue() and "/s" in buf.getvalue()


def test_a_limit_keeps_the_partial_table_marked_incomplete():
    with pytest.raises(mt.LimitError) as info:
        mt.derive(lambda x: mt.max(x), 5, max_strata=10)
    t = info.value.table
    assert len(t.strata) == 11 and t.incomplete.startswith("stopped at max_strata=10")
    assert "INCOMPLETE" in repr(t) and "INCOMPLETE" in t.text().splitlines()[0]
    full = mt.derive(lambda x: mt.max(x), 5)
    assert {s.path for s in t.strata} <= {s.path for s in full.strata}


def test_ctrl_c_keeps_the_partial_table():
    def stop(rec, k):
        if k == 7:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt) as info:
        mt.derive(lambda x: mt.max(x), 5, progress=stop)
    assert len(info.value.table.strata) == 7 and info.value.table.incomplete.startswith("interrupted")


def test_cli_prints_the_partial_table_and_names_its_flag(capsys):
    fn = f"{ROOT / 'mtsym' / 'examples.py'}:max1"
    code, out, err = run(capsys, "derive", fn, "--inputs", "4", "--max-strata", "5")
    assert code == 1 and "INCOMPLETE" in out.splitlines()[0] and len(out.splitlines()) > 1
    assert "--max-strata" in err and "max_strata=" not in err and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_in_the_cli_prints_what_was_found(tmp_path):
    # 60 planes in R^4: hundreds of thousands of strata, found one after the other
    (tmp_path / "big.py").write_text("import mtsym as mt\n\ndef f(x):\n    return sum(mt.relu(x[0] + i * x[1]"
                                     " + (i * i % 7) * x[2] - (i % 5) * x[3] - i) for i in range(60))\n")
    proc = subprocess.Popen([sys.executable, "-m", "mtsym", "derive", "big.py:f", "--inputs", "4",
                             "--max-strata", "100000000", "--max-rows", "5"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "INCOMPLETE: interrupted after" in out.splitlines()[0] and "Traceback" not in err
    assert len(out.splitlines()) == 1 + 5 + 1
    assert err.strip().startswith("mtsym: interrupted")


# --------------------------------------------------------------------------- 6. --slice
def test_cli_plots_four_inputs_on_a_slice(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="plots need the optional package matplotlib (.[plot])")
    png = tmp_path / "tm.png"
    code, out, err = run(capsys, "examples", "torch-max", "--plot", str(png))
    assert code == 1 and "--slice 0,0,0,0 1,0,0,0 0,1,0,0" in err
    code, out, err = run(capsys, "examples", "torch-max", "--plot", str(png), "--slice", "0,0,1/2,0", "1,0,0,0",
                         "0,1,0,0")
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    code, out, err = run(capsys, "examples", "torch-max", "--plot", str(png), "--slice", "0,0", "1,0", "0,1")
    assert code == 1 and "2 coordinates" in err


# --------------------------------------------------------------------------- 7. labels
def test_jax_tables_are_labelled_jax():
    jnp = pytest.importorskip("jax.numpy")
    t = mt.derive(lambda x: jnp.max(x), 2, framework="jax")
    assert t.convention.name == "jax" and "convention jax" in repr(t)


def test_verify_on_a_json_table_does_not_claim_what_did_not_run():
    t = mt.PieceTable.from_json(EXAMPLES["boustany"].derive().to_json())
    rep = t.verify()
    assert not rep.ok and rep.not_run == ("value", "tangential", "ae") and not rep.failed
    head = str(rep).splitlines()[0]
    assert "all checks hold" not in head and "NOT RUN" in head and "not run" in str(rep)
    assert EXAMPLES["boustany"].derive().verify().ok


def test_parametric_spurious_strata_print_their_condition(capsys):
    code, out, _ = run(capsys, "examples", "relu-zero-weight", "--verify")
    z = sp.Symbol("z")
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) - mt.relu(x[1]), 2, convention=mt.Convention("torch", relu0=z))
    rep = t.verify()
    head = str(rep).splitlines()[0]
    assert re.search(r"\d+ spurious unless z in \[0, 1\]", head) and "0 spurious" not in head
    assert "iff z in [0, 1]" in str(rep)


# --------------------------------------------------------------------------- 8. errors
def test_jax_code_without_framework_names_the_option():
    jnp = pytest.importorskip("jax.numpy")

    def f(x):
        return jnp.max(x) - jnp.maximum(x[0], 0.0)
    with pytest.raises(mt.MtsymError) as info:
        mt.derive(f, 2)
    msg = str(info.value)
    assert "framework='jax'" in msg and "test_first_use.py" in msg and "site-packages" not in msg


def test_wrong_inputs_for_the_signature_is_an_input_error():
    with pytest.raises(mt.InputError, match="pass inputs=2"):
        mt.derive(lambda x: mt.max(x), ["a", "b"])
    with pytest.raises(mt.InputError, match="inputs='a b'"):
        mt.derive(lambda a, b: mt.max(a, b), 2)


def test_a_closed_pipe_is_not_an_error(tmp_path):
    (tmp_path / "m.py").write_text("import mtsym as mt\n\ndef f(x):\n    return mt.max(x)\n")
    proc = subprocess.Popen([sys.executable, "-m", "mtsym", "derive", "m.py:f", "--inputs", "6", "--json"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    proc.stdout.readline()
    proc.stdout.close()           # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == ""


# --------------------------------------------------------------------------- 10. JSON paths
def test_json_names_source_files_relative_to_the_working_directory(tmp_path, monkeypatch, capsys):
    sub = tmp_path / "nets"
    sub.mkdir()
    (sub / "model.py").write_text("import mtsym as mt\n\ndef f(x):\n    return mt.relu(x[0]) - x[1]\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "derive", "nets/model.py:f", "--inputs", "2", "--json")
    lines = [n["line"] for n in json.loads(out)["graph"]["nodes"]]
    assert code == 0 and "nets/model.py:4: return mt.relu(x[0]) - x[1]" in lines
    assert not any(str(tmp_path) in (ln or "") or (ln or "").startswith("/") for ln in lines)


# --------------------------------------------------------------------------- 11. plots
def test_pieces_that_meet_get_different_colours_and_the_legend_lists_them_all():
    pytest.importorskip("matplotlib")
    from mtsym.export.plot import _neighbours, piece_colors
    t = mt.derive(relu_pool, 4)
    colors = piece_colors(t)
    adj = _neighbours(t)
    assert sum(len(v) for v in adj.values()) > 0
    assert all(colors[a] != colors[b] for a in adj for b in adj[a])
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 1))
    t = mt.derive(net, 2)
    fig = t.plot()
    texts = [x.get_text() for x in fig.axes[1].get_legend().get_texts()]
    shown = {int(m.group(1)) for x in texts for m in [re.match(r"\$P\^\{(\d+)\}\$", x)] if m}
    assert "more pieces" not in " ".join(texts) and len(shown) >= 20
    assert any(x.startswith("arrow:") for x in texts) and any(x.startswith("filled:") for x in texts)
    assert all(len(x) < 60 for x in texts)


def test_parametric_spurious_marks_are_explained():
    pytest.importorskip("matplotlib")
    z = sp.Symbol("z")
    t = mt.derive(lambda x: mt.relu(x[0] - x[1]) - mt.relu(x[1]), 2, convention=mt.Convention("torch", relu0=z))
    fig = t.plot()
    texts = [x.get_text() for x in fig.axes[1].get_legend().get_texts()]
    assert "red dots: spurious unless z in [0, 1]" in texts
    dotted = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == ":"]
    assert dotted


def test_boustany_fixture_is_the_papers():
    assert mt.derive(boustany, "t").grad_at((0,))[0] == sp.Rational(-3, 2)


# --------------------------------------------------------------------------- 9. documentation
def test_api_reference_renders_sphinx_roles():
    griffe = pytest.importorskip("griffe")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from griffe_roles import ROLE, SphinxRoles
    finally:
        sys.path.remove(str(ROOT / "docs"))
    raw = griffe.load("mtsym", search_paths=[str(ROOT)])
    done = griffe.load("mtsym", search_paths=[str(ROOT)], extensions=griffe.load_extensions(SphinxRoles))

    def roles(mod):
        n, todo = 0, [mod]
        while todo:
            obj = todo.pop()
            if obj.is_alias:
                continue
            if obj.docstring is not None:
                n += len(ROLE.findall(obj.docstring.value))
            todo.extend(obj.members.values())
        return n
    assert roles(raw) > 50 and roles(done) == 0


def test_one_description_of_the_clarke_test():
    words = ("whose closure contains", "midpoints towards dim S + 1 points of its closure")
    sources = [ROOT / "mtsym" / "clarke.py", ROOT / "mtsym" / "verify.py", ROOT / "docs" / "verification.md",
               ROOT / "docs" / "theory.md"]
    for path in sources:
        text = " ".join(path.read_text(encoding="utf-8").split())
        assert all(w in text for w in words), path.name


def test_install_instructions_name_the_source_tree():
    for page in ("README.md", "docs/index.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "pip install mtsym" not in text and 'pip install -q -e ".[plot]"' in text.replace("-q ", "-q ")\
            or 'pip install -e ".[plot]"' in text
    text = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "pip install mtsym " not in text and "source tree" in text
    import inspect

    from mtsym.export.plot import _matplotlib  # the message a user without matplotlib reads
    assert "mtsym[plot]'" not in inspect.getsource(_matplotlib) and "-e '.[plot]'" in inspect.getsource(_matplotlib)


def test_performance_page_has_the_measured_mlp_figure():
    text = " ".join((ROOT / "docs" / "performance.md").read_text(encoding="utf-8").split())
    assert "takes 20 s" not in text and "1,849 strata" in text


def test_pieces_that_touch_in_a_slice_get_different_colours():
    pytest.importorskip("matplotlib")
    from mtsym.export.geometry import default_box, slice_strata
    from mtsym.export.plot import piece_colors
    t = mt.derive(lambda x: mt.max(x), 4)
    frame = ((0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0))
    colors = piece_colors(t, slice=frame)
    feats = slice_strata(t, frame, default_box(t, frame))
    touching = [(f.stratum.piece, g.stratum.piece) for f in feats for g in feats
                if f.stratum.piece != g.stratum.piece and set(f.vertices) & set(g.vertices)]
    assert touching and all(colors[a] != colors[b] for a, b in touching)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # the drop itself
def test_an_interrupt_dropped_by_a_finaliser_still_stops_the_cli_derive():
    # Python prints and drops a KeyboardInterrupt raised inside a finaliser ("Exception ignored
    # in ..."); the command line latches Ctrl-C so the next stratum raises it again
    from mtsym.cli import _sigint_latch

    class Drop:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)

    with _sigint_latch() as progress:
        progress(None, 1)                       # no interrupt yet: the enumeration goes on
        Drop()                                  # the interrupt lands in a finaliser and is dropped there
        with pytest.raises(KeyboardInterrupt):
            progress(None, 2)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
