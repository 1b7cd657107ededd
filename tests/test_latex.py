"""LaTeX export: golden strings for the paper's eqs. (17), (19) and Table 2, the compact
conditions checked point by point against the table, and a real LaTeX compilation."""

import itertools
import re
import shutil
import subprocess
from fractions import Fraction

import pytest
import sympy as sp

import mtsym as mt
from mtsym.examples import EXAMPLES, max1
from mtsym.export.conditions import Chain, describe_piece, describe_stratum
from mtsym.export.latex import document, to_latex

EQ17 = r"""\begin{aligned}
P^{1} &= \{x \in \mathbb{R}^{4} \mid x_{1} \geq \max(x_{2}, x_{3}, x_{4})\}, & f^{1}(x) &= x_{1}, & \nabla f^{1}(x) &= (1, 0, 0, 0), \\
P^{2} &= \{x \in \mathbb{R}^{4} \mid x_{1} < x_{2} \text{ and } x_{2} \geq \max(x_{3}, x_{4})\}, & f^{2}(x) &= x_{2}, & \nabla f^{2}(x) &= (0, 1, 0, 0), \\
P^{3} &= \{x \in \mathbb{R}^{4} \mid \max(x_{1}, x_{2}) < x_{3} \text{ and } x_{3} \geq x_{4}\}, & f^{3}(x) &= x_{3}, & \nabla f^{3}(x) &= (0, 0, 1, 0), \\
P^{4} &= \{x \in \mathbb{R}^{4} \mid \max(x_{1}, x_{2}, x_{3}) < x_{4}\}, & f^{4}(x) &= x_{4}, & \nabla f^{4}(x) &= (0, 0, 0, 1).
\end{aligned}"""

EQ19 = r"""\begin{aligned}
P^{1} &= \{x \in \mathbb{R}^{4} \mid x_{1} > \max(x_{2}, x_{3}, x_{4})\}, & f^{1}(x) &= x_{1}, & \nabla f^{1}(x) &= (1, 0, 0, 0), \\
P^{2} &= \{x \in \mathbb{R}^{4} \mid x_{2} > \max(x_{1}, x_{3}, x_{4})\}, & f^{2}(x) &= x_{2}, & \nabla f^{2}(x) &= (0, 1, 0, 0), \\
P^{3} &= \{x \in \mathbb{R}^{4} \mid x_{3} > \max(x_{1}, x_{2}, x_{4})\}, & f^{3}(x) &= x_{3}, & \nabla f^{3}(x) &= (0, 0, 1, 0), \\
P^{4} &= \{x \in \mathbb{R}^{4} \mid \max(x_{1}, x_{2}, x_{3}) < x_{4}\}, & f^{4}(x) &= x_{4}, & \nabla f^{4}(x) &= (0, 0, 0, 1), \\
P^{5} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} > \max(x_{3}, x_{4})\}, & f^{5}(x) &= \frac{x_{1} + x_{2}}{2}, & \nabla f^{5}(x) &= (\frac{1}{2}, \frac{1}{2}, 0, 0), \\
P^{6} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{3} > \max(x_{2}, x_{4})\}, & f^{6}(x) &= \frac{x_{1} + x_{3}}{2}, & \nabla f^{6}(x) &= (\frac{1}{2}, 0, \frac{1}{2}, 0), \\
P^{7} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{4} > \max(x_{2}, x_{3})\}, & f^{7}(x) &= \frac{x_{1} + x_{4}}{2}, & \nabla f^{7}(x) &= (\frac{1}{2}, 0, 0, \frac{1}{2}), \\
P^{8} &= \{x \in \mathbb{R}^{4} \mid x_{2} = x_{3} > \max(x_{1}, x_{4})\}, & f^{8}(x) &= \frac{x_{2} + x_{3}}{2}, & \nabla f^{8}(x) &= (0, \frac{1}{2}, \frac{1}{2}, 0), \\
P^{9} &= \{x \in \mathbb{R}^{4} \mid x_{2} = x_{4} > \max(x_{1}, x_{3})\}, & f^{9}(x) &= \frac{x_{2} + x_{4}}{2}, & \nabla f^{9}(x) &= (0, \frac{1}{2}, 0, \frac{1}{2}), \\
P^{10} &= \{x \in \mathbb{R}^{4} \mid x_{3} = x_{4} > \max(x_{1}, x_{2})\}, & f^{10}(x) &= \frac{x_{3} + x_{4}}{2}, & \nabla f^{10}(x) &= (0, 0, \frac{1}{2}, \frac{1}{2}), \\
P^{11} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} = x_{3} > x_{4}\}, & f^{11}(x) &= \frac{x_{1} + x_{2} + x_{3}}{3}, & \nabla f^{11}(x) &= (\frac{1}{3}, \frac{1}{3}, \frac{1}{3}, 0), \\
P^{12} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} = x_{4} > x_{3}\}, & f^{12}(x) &= \frac{x_{1} + x_{2} + x_{4}}{3}, & \nabla f^{12}(x) &= (\frac{1}{3}, \frac{1}{3}, 0, \frac{1}{3}), \\
P^{13} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{3} = x_{4} > x_{2}\}, & f^{13}(x) &= \frac{x_{1} + x_{3} + x_{4}}{3}, & \nabla f^{13}(x) &= (\frac{1}{3}, 0, \frac{1}{3}, \frac{1}{3}), \\
P^{14} &= \{x \in \mathbb{R}^{4} \mid x_{2} = x_{3} = x_{4} > x_{1}\}, & f^{14}(x) &= \frac{x_{2} + x_{3} + x_{4}}{3}, & \nabla f^{14}(x) &= (0, \frac{1}{3}, \frac{1}{3}, \frac{1}{3}), \\
P^{15} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} = x_{3} = x_{4}\}, & f^{15}(x) &= \frac{x_{1} + x_{2} + x_{3} + x_{4}}{4}, & \nabla f^{15}(x) &= (\frac{1}{4}, \frac{1}{4}, \frac{1}{4}, \frac{1}{4}).
\end{aligned}"""

TABLE2 = r"""\begin{aligned}
P^{1} &= \{t \in \mathbb{R} \mid t \neq 0\}, & f^{1}(t) &= 0, & (f^{1})'(t) &= 0, \\
P^{2} &= \{t \in \mathbb{R} \mid t = 0\}, & f^{2}(t) &= - \frac{3 t}{2}, & (f^{2})'(t) &= - \frac{3}{2}.
\end{aligned}"""

TABLE2_CASES = r"""\begin{gathered}
f(t) = \begin{cases}
0 & \text{if } t \neq 0, \\
- \frac{3 t}{2} & \text{if } t = 0.
\end{cases} \\[1ex]
\tilde{f}'(t) = \begin{cases}
0 & \text{if } t \neq 0, \\
- \frac{3}{2} & \text{if } t = 0.
\end{cases}
\end{gathered}"""

# The sets exactly as the paper prints them (eqs. (17) and (19), copied from the paper).
PAPER_17 = [r"x_1 \geq \max(x_2, x_3, x_4)", r"x_1 < x_2 \text{ and } x_2 \geq \max(x_3, x_4)",
            r"\max(x_1, x_2) < x_3 \text{ and } x_3 \geq x_4", r"\max(x_1, x_2, x_3) < x_4"]
PAPER_19 = [r"x_1 > \max(x_2, x_3, x_4)", r"x_2 > \max(x_1, x_3, x_4)", r"x_3 > \max(x_1, x_2, x_4)",
            r"x_4 > \max(x_1, x_2, x_3)", r"x_1 = x_2 > \max(x_3, x_4)", r"x_1 = x_3 > \max(x_2, x_4)",
            r"x_1 = x_4 > \max(x_2, x_3)", r"x_2 = x_3 > \max(x_1, x_4)", r"x_2 = x_4 > \max(x_1, x_3)",
            r"x_3 = x_4 > \max(x_1, x_2)", r"x_1 = x_2 = x_3 > x_4", r"x_1 = x_2 = x_4 > x_3",
            r"x_1 = x_3 = x_4 > x_2", r"x_2 = x_3 = x_4 > x_1", r"x_1 = x_2 = x_3 = x_4"]


@pytest.fixture(scope="module")
def tables():
    return {name: EXAMPLES[name].derive() for name in EXAMPLES}


def _sets(latex):
    """The condition of each line, with single-token braces dropped (x_{1} -> x_1)."""
    conds = re.findall(r"\\mid (.*?)\\\}, &", latex)
    return [re.sub(r"\{(\w+)\}", r"\1", c) for c in conds]


# --------------------------------------------------------------------------- golden strings
def test_eq17_golden(tables):
    assert to_latex(tables["max1"]) == EQ17


def test_eq19_golden(tables):
    assert to_latex(tables["torch-max"]) == EQ19


def test_table2_golden(tables):
    assert to_latex(tables["boustany"]) == TABLE2
    assert to_latex(tables["boustany"], env="cases") == TABLE2_CASES


def test_sets_are_the_papers(tables):
    # eq. (17) line for line; eq. (19) too, except that the paper writes the fourth set
    # "max(x1, x2, x3) < x4" in eq. (17) and "x4 > max(x1, x2, x3)" in eq. (19): mtsym writes it one way
    assert _sets(to_latex(tables["max1"])) == PAPER_17
    got19 = _sets(to_latex(tables["torch-max"]))
    assert got19[:3] == PAPER_19[:3] and got19[4:] == PAPER_19[4:]
    assert got19[3] == PAPER_17[3]


def test_max1_piece_is_a_union_of_eight_strata_written_as_one_condition(tables):
    t = tables["max1"]
    assert [len(p.strata) for p in t.pieces] == [8, 4, 6, 9]
    assert describe_piece(t, t.pieces[0]).kind == "and"


# --------------------------------------------------------------------------- options
def test_symbols_var_and_fname(tables):
    s = to_latex(tables["max1"], symbols={"x1": "y_1", "x4": r"\omega"}, var="y", fname="g")
    assert r"y_1 \geq \max(x_{2}, x_{3}, \omega)" in s
    assert r"g^{4}(y) &= \omega" in s and r"\nabla g^{1}(y)" in s and "x_{1}" not in s
    with pytest.raises(mt.InputError, match="not a symbol of this table"):
        to_latex(tables["max1"], symbols={"q": "q"})


def test_env_is_checked(tables):
    with pytest.raises(mt.InputError, match="env='matrix'"):
        to_latex(tables["max1"], env="matrix")


def test_strata_lines(tables):
    t = tables["max1"]
    s = to_latex(t, strata=True)
    lines = s.splitlines()[1:-1]
    assert len(lines) == 27
    for st, line in zip(t.strata, lines):
        assert line.startswith("S^{%d} &= " % (st.index + 1))
        assert r"\subseteq P^{%d}" % (st.piece + 1) in line
    assert r"S^{8} &= \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} = x_{3} = x_{4}\} \subseteq P^{1}" in s


def test_no_gradient_and_max_rows(tables):
    s = to_latex(tables["torch-max"], gradient=False, max_rows=3)
    assert r"\nabla" not in s
    assert s.count("P^{") == 3 and r"\text{\dots{} and 12 more pieces}" in s


def test_parametric_and_vector_output():
    z = sp.Symbol("z")
    t = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z))
    assert to_latex(t, symbols={"z": r"\zeta"}).splitlines()[3] == \
        r"P^{3} &= \{x \in \mathbb{R} \mid x = 0\}, & f^{3}(x) &= x \zeta, & (f^{3})'(x) &= \zeta."
    v = mt.derive(lambda a, b: [mt.relu(a - b), a + b], "a b")
    s = to_latex(v)
    assert r"P^{1} &= \{(a, b) \in \mathbb{R}^{2} \mid a > b\}" in s
    assert r"\nabla f^{1}(a, b) &= \begin{pmatrix} 1 & -1 \\ 1 & 1 \end{pmatrix}" in s


def test_whole_space():
    t = mt.derive(lambda x: mt.relu(0 * x), "x")
    assert to_latex(t) == "\\begin{aligned}\nP^{1} &= \\mathbb{R}, & f^{1}(x) &= 0, & (f^{1})'(x) &= 0.\n\\end{aligned}"


# --------------------------------------------------------------------------- conditions hold exactly
def _atom_value(row, p):
    return row[0] + sum(c * x for c, x in zip(row[1:], p))


_CMP = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


def _term_value(t, p):
    if isinstance(t, tuple) and t and t[0] in ("max", "min"):
        vals = [_atom_value(a, p) for a in t[1]]
        return max(vals) if t[0] == "max" else min(vals)
    return _atom_value(t, p)


def _chain_holds(ch, p):
    v = [_term_value(t, p) for t in ch.terms]
    return all(_CMP[op](a, b) for op, a, b in zip(ch.ops, v, v[1:]))


def _holds(desc, p):
    if desc.kind == "all":
        return True
    if desc.kind == "and":
        return all(_chain_holds(c, p) for c in desc.parts)
    return any(all(_chain_holds(c, p) for c in chains) for chains in desc.parts)


def _net(x):
    return (mt.relu(x[0] - 2 * x[1] + 1) + 2 * mt.relu(x[1]) - mt.relu(x[0] + x[1] - 1)
            + mt.maximum(x[0], -x[1]))


CASES = [
    ("max1", max1, 4, [0, 1, 2]),
    ("torch max", lambda x: mt.max(x), 4, [0, 1, 2]),
    ("relu net", _net, 2, [Fraction(k, 2) for k in range(-4, 5)]),
    ("abs", lambda x: mt.abs(x[0] - 1) + mt.abs(x[0] - 2) - mt.abs(x[1]), 2, [Fraction(k, 2) for k in range(-2, 7)]),
]


@pytest.mark.parametrize("name,fn,n,grid", CASES, ids=[c[0] for c in CASES])
def test_every_printed_condition_is_exact_on_a_grid(name, fn, n, grid):
    # the piece (and stratum) each grid point lies in, by the table's own exact search,
    # must be the one and only piece whose printed condition the point satisfies
    t = mt.derive(fn, n)
    pdesc = [describe_piece(t, p) for p in t.pieces]
    sdesc = [describe_stratum(t, s) for s in t.strata]
    for p in itertools.product(grid, repeat=n):
        assert [k for k, d in enumerate(pdesc) if _holds(d, p)] == [t.piece_at(p).index]
        assert [k for k, d in enumerate(sdesc) if _holds(d, p)] == [t.stratum_at(p).index]


def test_union_fallback_when_no_closed_form_exists():
    # |x1| + |x2| - |x1 + x2| is 0 on two opposite closed quadrants: that piece is no
    # conjunction of sign conditions, so it is printed as a union of strata
    t = mt.derive(lambda x: mt.abs(x[0]) + mt.abs(x[1]) - mt.abs(x[0] + x[1]), 2)
    zero = [p for p in t.pieces if p.expr == 0]
    assert len(zero) == 1
    d = describe_piece(t, zero[0])
    assert d.kind == "or" and len(d.parts) == len(zero[0].strata)
    assert d.text() == "min(x1, x2) > 0 or max(x1, x2) < 0 or x1 = x2 = 0"
    for p in itertools.product([Fraction(k, 2) for k in range(-4, 5)], repeat=2):
        assert [k for k, q in enumerate(t.pieces) if _holds(describe_piece(t, q), p)] == [t.piece_at(p).index]


def test_compact_limit_gives_the_union(tables):
    t = tables["max1"]
    d = describe_piece(t, t.pieces[0], compact_limit=10)
    assert d.kind == "or" and len(d.parts) == 8
    assert "x_{1} = x_{2} = x_{3} = x_{4}" in to_latex(t, compact_limit=10)


def test_chain_text():
    assert Chain([(0, 1, 0), ("max", [(0, 0, 1), (2, 0, 0)])], [">"]).render(
        str, {">": ">"}, lambda f, a: f"{f}{a}") == "(0, 1, 0) > max['(0, 0, 1)', '(2, 0, 0)']"


# --------------------------------------------------------------------------- a real LaTeX engine
@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="no LaTeX engine: pdflatex not found (.ci/run installs texlive-latex-base)")
def test_pdflatex_compiles_the_output(tables, tmp_path):
    body = "\n\\]\n\\newpage\n\\[\n".join([
        to_latex(tables["max1"]), to_latex(tables["torch-max"]), to_latex(tables["boustany"], env="cases"),
        to_latex(tables["max1"], strata=True, max_rows=10), to_latex(tables["relu-zero-weight"]),
        to_latex(tables["boustany-maxpool"], env="cases", strata=True)])
    tex = document(body, title="mtsym").replace("\\documentclass{article}\n",
                                                "\\documentclass{article}\n\\pdfcompresslevel=0\n"
                                                "\\pdfobjcompresslevel=0\n")
    (tmp_path / "table.tex").write_text(tex)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "table.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    pdf = (tmp_path / "table.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = re.findall(rb"/Type\s*/Page(?![a-z])", pdf)
    assert len(pages) == 6
    assert "Output written on table.pdf (6 pages" in run.stdout
