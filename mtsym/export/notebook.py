"""Notebook displays: ``_repr_latex_`` and ``_repr_html_`` for tables, pieces, strata and reports.

Jupyter shows an object's HTML when it has one; the HTML tables here hold
their mathematics as ``\\( ... \\)`` for MathJax.  ``_repr_latex_`` (used by
nbconvert and LaTeX front ends) is the display of :func:`~mtsym.export.latex.to_latex`.

The generic tables (any object's rows, :class:`~mtsym.display.ReprMixin`) are
in :mod:`mtsym.display`; this module registers the displays of tables, pieces
and strata (``display.table_latex``, ...) with :mod:`mtsym.extensions`.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x), 2)
>>> for part in piece_latex(t, t.pieces[2]).split(", \\\\quad "):
...     print(part)
$$P^{3} = \\{x \\in \\mathbb{R}^{2} \\mid x_{1} = x_{2}\\}
f^{3}(x) = \\frac{x_{1} + x_{2}}{2}
\\nabla f^{3}(x) = (\\frac{1}{2}, \\frac{1}{2})$$
>>> "<table" in table_html(t) and "P^{3}" in table_html(t)
True
"""

__all__ = ["table_latex", "table_html", "piece_latex", "piece_html", "stratum_latex", "stratum_html"]

from ..display import MAX_ROWS, Math, html_cell, html_table
from ..extensions import register
from .conditions import describe_piece, describe_stratum
from .latex import LatexStyle, latex_gradient, to_latex

# --------------------------------------------------------------------------- tables, pieces, strata
def _title(table):
    syms = ", ".join(map(str, table.symbols))
    return (f"{table.name}({syms}): {len(table.pieces)} pieces, {len(table.strata)} strata, "
            f"convention {table.convention.name}")


def table_latex(table, max_rows=MAX_ROWS):
    """``$$`` + :func:`~mtsym.export.latex.to_latex` + ``$$`` (at most ``max_rows`` pieces)."""
    return "$$" + to_latex(table, max_rows=max_rows) + "$$"


def table_html(table, max_rows=MAX_ROWS):
    """An HTML table of the pieces: condition, f^alpha, its gradient, dimension, strata."""
    st = LatexStyle(table)
    rows = []
    for p in table.pieces[:max_rows]:
        desc = describe_piece(table, p)
        rows.append([Math(f"P^{{{p.index + 1}}}"), Math(st.set_of(desc)), Math(st.expr(p.expr)),
                     Math(latex_gradient(p.grad, st.names)), p.dim, len(p.strata)])
    cols = ["piece", "set", Math(st.f("\\alpha")), Math(st.grad_head("\\alpha")), "dim", "strata"]
    return html_table(_title(table), cols, rows, more=max(0, len(table.pieces) - max_rows))


def piece_latex(table, piece):
    """One piece as a display: its set, f^alpha and gradient."""
    st = LatexStyle(table)
    a = piece.index + 1
    return ("$$P^{%d} = %s, \\quad %s = %s, \\quad %s = %s$$"
            % (a, st.set_of(describe_piece(table, piece)), st.f(a), st.expr(piece.expr),
               st.grad_head(a), latex_gradient(piece.grad, st.names)))


def piece_html(table, piece, max_rows=MAX_ROWS):
    """One piece: its strata (condition, dimension, witness)."""
    st = LatexStyle(table)
    rows = [[Math(f"S^{{{s.index + 1}}}"), Math(st.set_of(describe_stratum(table, s))), s.dim,
             _point(s.witness)] for s in piece.strata[:max_rows]]
    title = f"piece {piece.label} of {table.name}: dim {piece.dim}, {len(piece.strata)} strata"
    head = "<p>" + html_cell(Math(piece_latex(table, piece)[2:-2])) + "</p>"
    return head + html_table(title, ["stratum", "set", "dim", "witness"], rows,
                             more=max(0, len(piece.strata) - max_rows))


def stratum_latex(table, stratum):
    """One stratum as a display: its set, the piece it belongs to, its dimension."""
    st = LatexStyle(table)
    return ("$$S^{%d} = %s \\subseteq P^{%d}, \\quad \\dim S^{%d} = %d$$"
            % (stratum.index + 1, st.set_of(describe_stratum(table, stratum)), stratum.piece + 1,
               stratum.index + 1, stratum.dim))


def stratum_html(table, stratum):
    """One stratum: set, piece, dimension, witness, the cases of its switching nodes."""
    cases = ", ".join(f"n{node}: {case}" for node, case in stratum.path) or "none"
    rows = [["set", Math(stratum_latex(table, stratum)[2:-2])],
            ["dimension", stratum.dim], ["piece", table.pieces[stratum.piece].label],
            ["witness", _point(stratum.witness)], ["cases", cases]]
    return html_table(f"stratum {stratum.label} of {table.name}", ["", ""], rows)


def _point(p):
    return "(" + ", ".join(str(v) for v in p) + ")"


for _name, _fn in [("table_latex", table_latex), ("table_html", table_html), ("piece_latex", piece_latex),
                   ("piece_html", piece_html), ("stratum_latex", stratum_latex), ("stratum_html", stratum_html)]:
    register("display." + _name, _fn)
