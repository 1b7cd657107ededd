"""Notebook displays of tables, pieces, strata, and the mixin other reports use."""

import re

import mtsym as mt
from mtsym.examples import EXAMPLES
from mtsym.export.latex import to_latex
from mtsym.display import MAX_ROWS, Math, ReprMixin, html_table


def test_table_latex_is_the_display_of_to_latex():
    t = EXAMPLES["max1"].derive()
    assert t._repr_latex_() == "$$" + to_latex(t) + "$$"


def test_table_html_has_one_row_per_piece_and_escapes_math():
    t = EXAMPLES["max1"].derive()
    h = t._repr_html_()
    assert "<caption>max1(x1, x2, x3, x4): 4 pieces, 27 strata, convention torch</caption>" in h
    assert h.count("<tr>") == 1 + 4
    # the condition of P^2 is there, HTML-escaped, inside MathJax delimiters
    assert r"\(\{x \in \mathbb{R}^{4} \mid x_{1} &lt; x_{2} \text{ and } x_{2} \geq \max(x_{3}, x_{4})\}\)" in h
    assert "<td>8</td>" in h  # P^1 is made of 8 strata
    assert "x_{1} < x_{2}" not in h


def test_large_tables_are_cut():
    t = mt.derive(lambda x: mt.max(x), 6)
    assert len(t.pieces) == 63
    h = t._repr_html_()
    assert h.count("<tr>") == 1 + MAX_ROWS + 1 and f"and {63 - MAX_ROWS} more" in h
    s = t._repr_latex_()
    assert s.count("P^{") == MAX_ROWS and rf"\text{{\dots{{}} and {63 - MAX_ROWS} more pieces}}" in s


def test_piece_and_stratum_displays():
    t = EXAMPLES["torch-max"].derive()
    p = t.pieces[4]
    assert p._repr_latex_() == (r"$$P^{5} = \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} > \max(x_{3}, x_{4})\}, "
                                r"\quad f^{5}(x) = \frac{x_{1} + x_{2}}{2}, \quad \nabla f^{5}(x) = "
                                r"(\frac{1}{2}, \frac{1}{2}, 0, 0)$$")
    assert "S^{5}" in p._repr_html_() and "(1, 1, 0, 0)" in p._repr_html_()
    s = t.strata[14]
    assert s._repr_latex_() == (r"$$S^{15} = \{x \in \mathbb{R}^{4} \mid x_{1} = x_{2} = x_{3} = x_{4}\} "
                                r"\subseteq P^{15}, \quad \dim S^{15} = 1$$")
    h = s._repr_html_()
    assert "<td>dimension</td><td>1</td>" in h and "<td>P15</td>" in h and "(0, 1, 2, 3)" in h
    assert repr(s).startswith("Stratum(S15: dim 1") and repr(p).startswith("Piece(P5: dim 3, 1 strata")
    assert repr(t) == "<PieceTable torch_max(x1, x2, x3, x4): 15 pieces, 15 strata, convention torch>"


def test_one_input_uses_primes():
    t = EXAMPLES["boustany"].derive()
    assert t.pieces[1]._repr_latex_().endswith(r"(f^{2})'(t) = - \frac{3}{2}$$")
    assert r"\tilde{f}'(t)" not in t._repr_html_() and r"(f^{\alpha})'(t)" in t._repr_html_()


class _Report(ReprMixin):
    _repr_max_rows = 2

    def _repr_title(self):
        return "verification of f: 3 strata, 1 failure"

    def _repr_columns(self):
        return ["stratum", "condition", "Theorem 1", "note"]

    def _repr_rows(self):
        return [[1, Math("x_{1} > 0"), True, "a_b & c"], [2, Math("x_{1} < 0"), False, None],
                [3, Math("x_{1} = 0"), True, "50%"]]


def test_mixin_for_reports():
    r = _Report()
    h = r._repr_html_()
    assert h.count("<tr>") == 1 + 2 + 1 and "and 1 more" in h
    assert '<span class="mtsym-ok">&#10003;</span>' in h and '<span class="mtsym-bad">&#10007;</span>' in h
    assert r"\(x_{1} &lt; 0\)" in h and "a_b &amp; c" in h
    s = r._repr_latex_()
    assert s.startswith(r"$$\text{verification of f: 3 strata, 1 failure} \\ \begin{array}{llll}")
    assert r"1 & x_{1} > 0 & \checkmark & \text{a\_b \& c} \\" in s
    assert r"2 & x_{1} < 0 & \times &  \\" in s
    assert r"\multicolumn{4}{l}{\text{\dots{} and 1 more}}" in s


def test_html_table_plain():
    h = html_table(None, ["a"], [["<b>"]])
    assert re.search(r"<tr><td>&lt;b&gt;</td></tr>", h) and "<caption>" not in h
