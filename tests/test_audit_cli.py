"""``mtsym audit FILE.py:MODEL --data FILE.npy|digits``: the report, JSON and picture, and clear errors."""
import json
import textwrap
from fractions import Fraction

import numpy as np
import pytest

from mtsym.cli import main

MODEL = textwrap.dedent('''
    import mtsym as mt

    def net(x):
        return mt.relu(x[0] + x[1] - x[2])
''')


@pytest.fixture
def files(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    np.save(tmp_path / "data.npy", np.array([[1.0, 1e-8, 1.0], [2.0, 1.0, 0.0], [3.0, -1.0, 1.0]]))
    return tmp_path


def test_audit_a_file_on_a_npy_file(files, capsys):
    out_json, out_png = files / "r.json", files / "r.png"
    args = [f"{files}/model.py:net", "--data", str(files / "data.npy"), "--framework", "mtsym", "-q"]
    assert main(["audit"] + args + ["--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "audit of net: 3 samples" in text and "rounding ties         1" in text
    d = json.loads(out_json.read_text())
    assert d["rounding_ties"] == [0] and d["verdicts"] == {"0": "no"}
    assert d["samples"][0]["ties"][0]["gap"] == str(Fraction(float(np.float32(1e-8))))
    # float64: no rounding tie
    assert main(["audit"] + args + ["--dtype", "float64"]) == 0
    assert "rounding ties         0" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    assert main(["audit"] + args + ["--plot", str(out_png)]) == 0
    assert out_png.stat().st_size > 1000


def test_audit_on_the_bundled_digits(files, capsys):
    pytest.importorskip("sklearn", reason="--data digits needs scikit-learn")
    (files / "pixels.py").write_text("import mtsym as mt\n\ndef net(x):\n    return mt.relu(x[0] - x[1])\n")
    assert main(["audit", f"{files}/pixels.py:net", "--data", "digits", "--framework", "mtsym", "--limit", "50",
                 "--dtype", "float64", "-q"]) == 0
    out = capsys.readouterr().out
    # relu(x0 - x1) ties exactly where the first two pixels are equal (blank border pixels)
    from sklearn.datasets import load_digits
    X = load_digits().data[:50]
    k = int((X[:, 0] == X[:, 1]).sum())
    assert 0 < k < 50
    assert "audit of net: 50 samples" in out and f"exact ties     {k:>8}" in out


def test_errors_are_one_line(files, capsys):
    assert main(["audit", f"{files}/model.py:net", "--data", str(files / "nope.npy")]) == 1
    assert "no such file" in capsys.readouterr().err
    np.save(files / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["audit", f"{files}/model.py:net", "--data", str(files / "obj.npy")]) == 1
    assert "not a plain numeric" in capsys.readouterr().err
    assert main(["audit", f"{files}/model.py:net", "--data", "data.csv"]) == 1
    assert ".npy file or 'digits'" in capsys.readouterr().err
