"""The example scripts run and print the paper's values."""
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script)], capture_output=True, text=True,
                         cwd=ROOT / "examples", timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_paper_script_prints_every_example():
    out = run("paper.py")
    assert "f'(0) = -3/2" in out          # Table 2
    assert "f'(0) = -3\n" in out          # Table 3
    assert "max1(x1, x2, x3, x4): 4 pieces" in out            # eq. (17)
    assert "f(x1, x2, x3, x4): 15 pieces, 15 strata" in out   # eq. (19)
    assert "grad at 0 (eq. 21): Matrix([[1/4, 1/4, 1/4, 1/4]])" in out
    assert out.count("grad 1 ") == 5      # section 2.2 under five conventions
    assert "[0, z, 1]" in out             # section 4.1


def test_the_notebook_runs_cell_by_cell():
    import json
    matplotlib = pytest.importorskip("matplotlib", reason="the notebook draws with matplotlib (.[plot])")
    matplotlib.use("Agg")
    nb = json.loads((ROOT / "examples" / "paper.ipynb").read_text())
    scope = {}
    last = None
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        *body, tail = src.strip().split("\n")
        exec(compile("\n".join(body), "paper.ipynb", "exec"), scope)
        try:   # the last line is displayed by Jupyter: evaluate it as an expression when it is one
            last = eval(compile(tail, "paper.ipynb", "eval"), scope)
        except SyntaxError:
            exec(compile(tail, "paper.ipynb", "exec"), scope)
    assert scope["boustany"].grad_at((0,))[0] == -sp_rational(3, 2)
    assert [s.text for s in scope["boustany"].spurious()] == ["t = 0"]
    assert 0.1 < last < 0.2                # about 1/7 of integer points in [-3, 3]^2 lie on x1 = x2
    assert "\\begin" in scope["t17"]._repr_latex_()
    assert scope["relu_z"] == [0, scope["z"], 1] and scope["zero_weight"] == 0


@pytest.mark.slow
def test_the_notebook_shows_its_pictures_when_jupyter_runs_it(tmp_path, monkeypatch):
    """Run by a real kernel (as ``jupyter nbconvert --execute`` does): each plot cell displays a PNG
    (before, Jupyter showed only ``<Figure size 700x550 with 2 Axes>``)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib", reason="the notebook draws with matplotlib (.[plot])")
    nb = nbformat.read(str(ROOT / "examples" / "paper.ipynb"), as_version=4)
    paths = [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))        # the kernel imports this mtsym
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    plots = [c for c in nb.cells if c.cell_type == "code" and ".plot(" in c.source]
    assert len(plots) == 2
    for cell in plots:
        pngs = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pngs) == 1 and base64.b64decode(pngs[0])[:8] == b"\x89PNG\r\n\x1a\n", cell.source


def sp_rational(p, q):
    import sympy
    return sympy.Rational(p, q)
