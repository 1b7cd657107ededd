"""The terminal form of a piece table: one line per piece (or per stratum), compact conditions.

Pieces are named ``P1, P2, ...`` and strata ``S1, S2, ...`` as in every other report
(:func:`mtsym.table.piece_label`).  Columns are aligned, but an entry longer than
:data:`COLUMN_CAP` characters is not padded against, so one long condition never widens
every row.  ``width`` wraps each row at that many characters (the command line passes the
terminal's width) and abbreviates a piece that is a long union of strata; ``digits`` prints
rational numbers as decimals with that many significant digits (a display only: the table
keeps its exact numbers); ``max_rows`` cuts the listing (``None``: every row).

Examples
--------
>>> import mtsym as mt
>>> print(mt.derive(lambda x: mt.max(x), 2))
f(x1, x2): 3 pieces, 3 strata, convention torch
P1  dim 2  x1 > x2  f = x1           grad = (1, 0)
P2  dim 2  x1 < x2  f = x2           grad = (0, 1)
P3  dim 1  x1 = x2  f = x1/2 + x2/2  grad = (1/2, 1/2)
>>> t = mt.derive(lambda x: mt.relu(x[0] / 3 - x[1] / 7), 2)
>>> print(t.text(digits=3))
f(x1, x2): 2 pieces, 3 strata, convention torch
P1  dim 2  x1 > 0.429*x2   f = 0.333*x1 - 0.143*x2  grad = (0.333, -0.143)
P2  dim 2  x1 <= 0.429*x2  f = 0                    grad = (0, 0)
"""

__all__ = ["text_table", "grad_text", "DecimalPrinter", "COLUMN_CAP"]

import sympy as sp
from sympy.printing.str import StrPrinter

from ..exact import aff_to_expr, to_sympy
from ..extensions import register
from ..table import stratum_label
from .conditions import _TEXT_OPS, describe_piece, describe_stratum

#: columns are padded to their longest entry of at most this many characters
COLUMN_CAP = 40
#: labels listed when a long union of strata is abbreviated on a terminal
_UNION_LABELS = 6


class DecimalPrinter(StrPrinter):
    """sympy's text printer with non-integer rationals as decimals of ``digits`` significant digits.

    Examples
    --------
    >>> x = sp.Symbol("x")
    >>> DecimalPrinter(4).doprint(sp.Rational(1, 3) * x + sp.Rational(5, 2))
    '0.3333*x + 2.5'
    """

    def __init__(self, digits):
        super().__init__()
        self.digits = int(digits)

    def doprint(self, expr):
        expr = expr if isinstance(expr, (sp.Basic, sp.MatrixBase)) else to_sympy(expr)
        if isinstance(expr, sp.MatrixBase):
            expr = expr.applyfunc(self._floats)
        else:
            expr = self._floats(expr)
        return super().doprint(expr)

    @staticmethod
    def _floats(e):
        return e.xreplace({r: sp.Float(r, 30) for r in e.atoms(sp.Rational) if not r.is_Integer})

    def _print_Float(self, expr):
        return format(float(expr), f".{self.digits}g")

    def _print_Rational(self, expr):
        return format(float(expr), f".{self.digits}g")


def _count(k, one, many=None):
    return f"{k} {one if k == 1 else (many or one + 's')}"


def grad_text(g, printer=None):
    """A gradient row as ``(a, b)`` (a scalar alone), a Jacobian as nested lists."""
    show = str if printer is None else printer.doprint
    if g.rows == 1:
        items = [show(v) for v in g]
        return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"
    return "[" + ", ".join("[" + ", ".join(show(v) for v in g.row(i)) + "]" for i in range(g.rows)) + "]"


def _condition(table, desc, printer):
    """A :class:`~mtsym.export.conditions.Description` as text, decimals when ``printer`` is set.

    In decimals each chain is divided by its largest coefficient of an input (a positive
    number, so the relations keep their meaning): ``x1 > 0.429*x2``, not ``7*x1 > 3*x2``.
    """
    if printer is None:
        return desc.text()
    syms = table.symbols

    def chain(c):
        scale = max((abs(v) for a in c.atoms() for v in a[1:]), default=1) or 1
        return c.render(lambda r: printer.doprint(aff_to_expr(tuple(sp.Rational(v) / scale for v in r), syms)),
                        _TEXT_OPS, lambda f, args: f"{f}({', '.join(args)})")
    if desc.kind == "all":
        return "everywhere"
    if desc.kind == "and":
        return ", ".join(chain(c) for c in desc.parts)
    return " or ".join(("(" + ", ".join(map(chain, cs)) + ")") if len(cs) > 1 else ", ".join(map(chain, cs))
                       for cs in desc.parts)


def _piece_condition(table, piece, printer, width):
    desc = describe_piece(table, piece)
    text = _condition(table, desc, printer)
    if width and desc.kind == "or" and len(text) > width:
        labels = [stratum_label(s.index) for s in piece.strata]
        shown = ", ".join(labels[:_UNION_LABELS]) + (", ..." if len(labels) > _UNION_LABELS else "")
        return f"union of {len(labels)} strata ({shown}; --strata lists them)"
    return text


def _wrap(line, width, indent):
    """``line`` cut into lines of at most ``width`` characters, at ``, `` / `` or `` / column gaps first."""
    if not width or len(line) <= width:
        return [line]
    out, cur = [], ""
    pad = " " * indent
    for chunk in _chunks(line):
        if cur and len(cur) + len(chunk) > width:
            out.append(cur.rstrip())
            cur = pad + chunk.lstrip()
        else:
            cur += chunk
        while len(cur) > width:  # a chunk longer than a line: cut at a space, else hard
            cut = cur.rfind(" ", indent + 1, width)
            cut = width if cut <= indent else cut
            out.append(cur[:cut].rstrip())
            cur = pad + cur[cut:].lstrip()
    if cur.strip():
        out.append(cur.rstrip())
    return out


def _chunks(line):
    """Pieces of ``line`` that end after ``, `` or two spaces, or before `` or ``."""
    chunks, start, i = [], 0, 0
    while i < len(line):
        if line.startswith(", ", i) or line.startswith("  ", i):
            j = i + 2
            while j < len(line) and line[j] == " ":
                j += 1
            chunks.append(line[start:j])
            start = i = j
        elif line.startswith(" or ", i) and i > start:
            chunks.append(line[start:i])
            start, i = i, i + 1
        else:
            i += 1
    if start < len(line):
        chunks.append(line[start:])
    return chunks


def _witness(w, printer):
    if printer is None:
        return "witness (" + ", ".join(str(v) for v in w) + ")"
    return "witness ~ (" + ", ".join(printer.doprint(v) for v in w) + ")"


def _align(rows, width):
    """Rows of cells as lines: every column but the last padded to its longest entry of at most
    :data:`COLUMN_CAP` characters; each line wrapped at ``width`` under the third column."""
    if not rows:
        return []
    k = len(rows[0]) - 1
    widths = [max([len(r[j]) for r in rows if len(r[j]) <= COLUMN_CAP] or [0]) for j in range(k)]
    indent = min(sum(widths[:2]) + 4, 24) if k >= 2 else 4
    lines = []
    for r in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[k]
        lines.extend(_wrap(line, width, indent))
    return lines


def text_table(table, strata=False, max_rows=200, digits=None, width=None):
    """The table as aligned text lines under a header.

    Parameters
    ----------
    table : PieceTable
    strata : bool
        One line per stratum (``S3  dim 1  in P2  ...  witness (...)``) instead of per piece.
    max_rows : int or None
        List at most this many rows, then say how many more there are (``None``: all).
    digits : int, optional
        Print non-integer numbers as decimals with this many significant digits (a display:
        the table itself stays exact; witnesses are then marked ``~``).
    width : int, optional
        Wrap each row at this many characters, and abbreviate a piece that is a long union
        of strata by their labels (``None``: whole lines, e.g. for a file).
    """
    printer = None if digits is None else DecimalPrinter(digits)
    show = str if printer is None else printer.doprint
    syms = ", ".join(map(str, table.symbols))
    head = (f"{table.name}({syms}): {_count(len(table.pieces), 'piece')}, "
            f"{_count(len(table.strata), 'stratum', 'strata')}, convention {table.convention.name}")
    if getattr(table, "incomplete", None):
        head += f" -- INCOMPLETE: {table.incomplete}"
    limit = len(table.strata) + len(table.pieces) if max_rows is None else max_rows
    if strata:  # one line per stratum, no header: easy to grep
        rows = [(s.label, f"dim {s.dim}", f"in {table.pieces[s.piece].label}",
                 _condition(table, describe_stratum(table, s), printer),
                 _witness(s.witness, printer)) for s in table.strata[:limit]]
        lines = _align(rows, width)
    else:
        rows = [(p.label, f"dim {p.dim}", _piece_condition(table, p, printer, width), f"f = {show(p.expr)}",
                 f"grad = {grad_text(p.grad, printer)}") for p in table.pieces[:limit]]
        lines = [head] + _align(rows, width)
    total = len(table.strata) if strata else len(table.pieces)
    if total > limit:
        lines.append(f"... {total - limit} more {'strata' if strata else 'pieces'} "
                     "(max_rows=None, or --max-rows 0 on the command line, lists them all)")
    return "\n".join(lines)


register("table.text", text_table)
