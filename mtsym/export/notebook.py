"""Notebook displays: ``_repr_latex_`` and ``_repr_html_`` for tables, pieces, strata and reports.

Jupyter shows an object's HTML when it has one; the HTML tables here hold
their mathematics as ``\\( ... \\)`` for MathJax.  ``_repr_latex_`` (used by
nbconvert and LaTeX front ends) is the display of :func:`~mtsym.export.latex.to_latex`.

Any object can get both displays from :class:`ReprMixin` by saying what its
rows are: the verification report does (cells marked :class:`Math` are LaTeX,
booleans become a green check or a red cross).

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x), 2)
>>> print(piece_latex(t, t.pieces[2]))
$$P^{3} = \\{x \\in \\mathbb{R}^{2} \\mid x_{1} = x_{2}\\}, \\quad f^{3}(x) = \\frac{x_{1} + x_{2}}{2}, \\quad \\nabla f^{3}(x) = (\\frac{1}{2}, \\frac{1}{2})$$
>>> "<table" in table_html(t) and "P^{3}" in table_html(t)
True
"""

__all__ = ["Math", "ReprMixin", "html_table", "latex_array", "table_latex", "table_html",
           "piece_latex", "piece_html", "stratum_latex", "stratum_html", "MAX_ROWS"]

import html

from .conditions import describe_piece, describe_stratum
from .latex import LatexStyle, latex_gradient, to_latex

#: rows shown in a notebook display before "... and N more"
MAX_ROWS = 50

_STYLE = ("<style>.mtsym-table td, .mtsym-table th {text-align: left; padding: 2px 10px;}"
          ".mtsym-ok {color: #1a7f37; font-weight: bold;} .mtsym-bad {color: #cf222e; font-weight: bold;}"
          "</style>")


class Math(str):
    """A table cell holding LaTeX (shown by MathJax in HTML, as math in LaTeX)."""

    __slots__ = ()


def _html_cell(v):
    if isinstance(v, Math):
        return "\\(" + html.escape(v, quote=False) + "\\)"
    if v is True:
        return '<span class="mtsym-ok">&#10003;</span>'
    if v is False:
        return '<span class="mtsym-bad">&#10007;</span>'
    if v is None:
        return ""
    return html.escape(str(v), quote=False)


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%", "&": r"\&",
                "#": r"\#", "$": r"\$", "^": r"\^{}", "~": r"\~{}"}


def _latex_cell(v):
    if isinstance(v, Math):
        return v
    if v is True:
        return r"\checkmark"
    if v is False:
        return r"\times"
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    return r"\text{" + "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(v)) + "}"


def html_table(title, columns, rows, more=0):
    """An HTML table: a caption, a header row, cells (see :class:`Math`), then ``... and N more``.

    Examples
    --------
    >>> print(html_table("t", ["a", "ok"], [[Math("x_1 < 0"), True]]))  # doctest: +ELLIPSIS
    <style>...</style><table class="mtsym-table"><caption>t</caption><tr><th>a</th><th>ok</th></tr><tr><td>\\(x_1 &lt; 0\\)</td><td><span class="mtsym-ok">&#10003;</span></td></tr></table>
    """
    out = [_STYLE, '<table class="mtsym-table">']
    if title:
        out.append(f"<caption>{html.escape(title, quote=False)}</caption>")
    out.append("<tr>" + "".join(f"<th>{_html_cell(c)}</th>" for c in columns) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in r) + "</tr>")
    if more:
        out.append(f'<tr><td colspan="{len(columns)}">&hellip; and {more} more</td></tr>')
    out.append("</table>")
    return "".join(out)


def latex_array(title, columns, rows, more=0):
    """The same table as a LaTeX ``array`` inside ``$$ ... $$``."""
    lines = [" & ".join(_latex_cell(c) for c in columns) + r" \\ \hline"]
    for r in rows:
        lines.append(" & ".join(_latex_cell(c) for c in r) + r" \\")
    if more:
        lines.append(r"\multicolumn{%d}{l}{\text{\dots{} and %d more}} \\" % (len(columns), more))
    head = _latex_cell(title) + r" \\ " if title else ""
    return ("$$" + head + r"\begin{array}{" + "l" * len(columns) + "}\n" + "\n".join(lines) +
            "\n\\end{array}$$")


class ReprMixin:
    """Notebook displays from three methods a class provides.

    ``_repr_title()`` -> str, ``_repr_columns()`` -> list of headers,
    ``_repr_rows()`` -> list of rows (cells: str, numbers, booleans or
    :class:`Math`).  ``_repr_max_rows`` caps the rows shown.

    Examples
    --------
    >>> class Report(ReprMixin):
    ...     def _repr_title(self): return "2 checks"
    ...     def _repr_columns(self): return ["stratum", "condition", "ok"]
    ...     def _repr_rows(self): return [[1, Math("x_{1} > 0"), True], [2, Math("x_{1} = 0"), False]]
    >>> "&#10007;" in Report()._repr_html_(), Report()._repr_latex_().count(r"\\\\")
    (True, 4)
    """

    _repr_max_rows = MAX_ROWS

    def _repr_parts(self):
        rows = list(self._repr_rows())
        cap = self._repr_max_rows
        more = max(0, len(rows) - cap) if cap is not None else 0
        return self._repr_title(), list(self._repr_columns()), rows[:len(rows) - more], more

    def _repr_html_(self):
        return html_table(*self._repr_parts())

    def _repr_latex_(self):
        return latex_array(*self._repr_parts())


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
    head = "<p>" + _html_cell(Math(piece_latex(table, piece)[2:-2])) + "</p>"
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
