"""A new user's first five minutes, run exactly as the README writes them.

The bash block after the ``<!-- first-five-minutes ... -->`` marker of README.md is run as
one script from the repository root (``bash -euo pipefail``), and what it should leave is
checked: the notebook as HTML with its pictures, the user's plot, the LaTeX file, the verify
report.  The files it creates are removed afterwards (the virtual environment stays).

Run by .ci/run after it has created .venv; ``python .ci/first_minutes.py`` runs it by hand.
Prints one line per check and ``first five minutes: N passed, M failed``; exits 1 on a failure.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- first-five-minutes"


def block(readme):
    """The bash code of the first ```bash block after the marker."""
    text = readme[readme.index(MARKER):]
    m = re.search(r"```bash\n(.*?)\n```", text, re.S)
    return m.group(1)


def untracked():
    out = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def main():
    script = block((ROOT / "README.md").read_text(encoding="utf-8"))
    before = untracked()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # the installed mtsym, as a user has it
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True,
                         env=env, timeout=900)
    created = sorted(untracked() - before)
    checks = []

    def check(name, ok, detail=""):
        checks.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))

    out = run.stdout
    check("the block runs to the end", run.returncode == 0, run.stderr[-2000:])
    check("mtsym examples lists the paper's examples", "boustany" in out and "max1" in out)
    check("mtsym examples boustany gives f'(0) = -3/2",
          re.search(r"at \(0\): paper \(-3/2\)\s+mtsym \(-3/2\)\s+ok", out) is not None)
    html = ROOT / "examples" / "paper.html"
    pictures = html.read_text(encoding="utf-8").count("data:image/png") if html.exists() else 0
    check("the notebook, executed, shows its two pictures", pictures >= 2, f"{pictures} PNG images in {html}")
    check("derive prints the pieces", re.search(r"^f\(x1, x2\): 6 pieces, 9 strata", out, re.M) is not None)
    check("--verify: every check holds", "all checks hold" in out)
    png = ROOT / "mynet.png"
    check("--plot writes a PNG", png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n")
    tex = ROOT / "mynet.tex"
    check("--latex -o writes the representation", tex.exists() and "\\begin{aligned}" in tex.read_text())
    for rel in created:
        if not rel.startswith(".venv"):
            (ROOT / rel).unlink(missing_ok=True)
    passed = sum(checks)
    print(f"first five minutes: {passed} passed, {len(checks) - passed} failed")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
