"""The example scripts run and print the paper's values."""
import subprocess
import sys
from pathlib import Path

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
