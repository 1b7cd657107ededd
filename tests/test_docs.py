"""Every code example of the documentation runs: each docs/*.md page is a doctest file.

Examples are ``>>>`` sessions inside fenced code blocks; the fences are blanked
out before doctest reads the page, so an example's expected output ends where
its block ends.  The figures script and the strict site build are run too.
"""

import doctest
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(glob.glob(os.path.join(DOCS, "*.md")))
FENCE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)


class FencedParser(doctest.DocTestParser):
    """doctest's parser, with Markdown code fences turned into blank lines."""

    def parse(self, string, name="<string>"):
        return super().parse(FENCE.sub("", string), name)


def test_there_are_pages():
    names = {os.path.basename(p) for p in PAGES}
    assert {"index.md", "theory.md", "tutorial.md", "conventions.md", "api.md", "performance.md"} <= names


def _extras_needed(text):
    """The optional packages a page's examples use."""
    needs = {"torch": "import torch" in text, "jax": "import jax" in text,
             "matplotlib": ".plot(" in text or "matplotlib" in text}
    return [name for name, used in needs.items() if used]


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_page_examples_run(page):
    with open(page, encoding="utf-8") as f:
        missing = [m for m in _extras_needed(f.read()) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the page's examples need the optional package(s) {', '.join(missing)}")
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib
        matplotlib.use("Agg")
    result = doctest.testfile(page, module_relative=False, parser=FencedParser(), report=True,
                              optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
                              verbose=False, encoding="utf-8")
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page}"


def test_fences_are_stripped_before_doctest_reads():
    text = "```pycon\n>>> 1 + 1\n2\n```\n"
    (example,) = FencedParser().get_examples(text)
    assert example.want == "2\n"


def test_figures_script_draws_every_picture(tmp_path):
    pytest.importorskip("matplotlib", reason="the figures need the optional package matplotlib (.[plot])")
    spec = importlib.util.spec_from_file_location("make_figures", os.path.join(DOCS, "make_figures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(str(tmp_path))
    assert len(written) == len(module.FIGURES) >= 6
    for path in written:
        assert os.path.getsize(path) > 5000
    # every picture the pages show is one the script draws
    shown = set()
    for page in PAGES:
        shown |= set(re.findall(r"\(img/([\w.-]+\.png)\)", open(page, encoding="utf-8").read()))
    assert shown and shown <= set(module.FIGURES)


@pytest.mark.skipif(shutil.which("mkdocs", path=os.path.dirname(sys.executable)) is None
                    and shutil.which("mkdocs") is None, reason="mkdocs not installed (extra 'docs')")
def test_site_builds_strict(tmp_path):
    exe = shutil.which("mkdocs", path=os.path.dirname(sys.executable)) or shutil.which("mkdocs")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # no -q: it hides the warnings that --strict counts, and the build would pass anyway
    run = subprocess.run([exe, "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert os.path.exists(tmp_path / "site" / "tutorial" / "index.html")
