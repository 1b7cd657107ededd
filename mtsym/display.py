"""Displays shared by every layer: notebook tables (HTML and LaTeX) built from rows.

Any object can get both notebook displays from :class:`ReprMixin` by saying
what its rows are: the verification and check reports do (cells marked
:class:`Math` are LaTeX, booleans become a green check or a red cross).  This
module needs nothing but the standard library, so any layer may use it.
"""

__all__ = ["Math", "ReprMixin", "html_table", "html_cell", "latex_array", "MAX_ROWS"]

import html

#: rows shown in a notebook display before "... and N more"
MAX_ROWS = 50

_STYLE = ("<style>.mtsym-table td, .mtsym-table th {text-align: left; padding: 2px 10px;}"
          ".mtsym-ok {color: #1a7f37; font-weight: bold;} .mtsym-bad {color: #cf222e; font-weight: bold;}"
          "</style>")


class Math(str):
    """A table cell holding LaTeX (shown by MathJax in HTML, as math in LaTeX)."""

    __slots__ = ()


def html_cell(v):
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
    >>> s = html_table("t", ["a", "ok"], [[Math("x_1 < 0"), True]])
    >>> s[s.index("<table"):s.index("<tr><td>")]
    '<table class="mtsym-table"><caption>t</caption><tr><th>a</th><th>ok</th></tr>'
    >>> s[s.index("<tr><td>"):]
    '<tr><td>\\\\(x_1 &lt; 0\\\\)</td><td><span class="mtsym-ok">&#10003;</span></td></tr></table>'
    """
    out = [_STYLE, '<table class="mtsym-table">']
    if title:
        out.append(f"<caption>{html.escape(title, quote=False)}</caption>")
    out.append("<tr>" + "".join(f"<th>{html_cell(c)}</th>" for c in columns) + "</tr>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html_cell(c)}</td>" for c in r) + "</tr>")
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
