"""The terminal form of a piece table: one line per piece (or per stratum), compact conditions.

Examples
--------
>>> import mtsym as mt
>>> print(mt.derive(lambda x: mt.max(x), 2))
f(x1, x2): 3 pieces, 3 strata, convention torch
P^1  dim 2  x1 > x2  f = x1           grad = (1, 0)
P^2  dim 2  x1 < x2  f = x2           grad = (0, 1)
P^3  dim 1  x1 = x2  f = x1/2 + x2/2  grad = (1/2, 1/2)
"""

__all__ = ["text_table", "grad_text"]

from ..extensions import register
from .conditions import describe_piece, describe_stratum


def _count(k, one, many=None):
    return f"{k} {one if k == 1 else (many or one + 's')}"


def grad_text(g):
    """A gradient row as ``(a, b)`` (a scalar alone), a Jacobian as nested lists."""
    if g.rows == 1:
        items = [str(v) for v in g]
        return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"
    return str(g.tolist())


def text_table(table, strata=False, max_rows=200):
    """The table as aligned text lines under a header; ``strata=True`` gives one line per stratum with its witness."""
    syms = ", ".join(map(str, table.symbols))
    head = (f"{table.name}({syms}): {_count(len(table.pieces), 'piece')}, "
            f"{_count(len(table.strata), 'stratum', 'strata')}, convention {table.convention.name}")
    if strata:  # one line per stratum, no header: easy to grep
        lines = [f"S^{s.index + 1}  dim {s.dim}  in P^{s.piece + 1}  {describe_stratum(table, s).text()}  "
                 "witness (" + ", ".join(str(v) for v in s.witness) + ")" for s in table.strata[:max_rows]]
    else:
        rows = [(f"P^{p.index + 1}", f"dim {p.dim}", describe_piece(table, p).text(), f"f = {p.expr}",
                 f"grad = {grad_text(p.grad)}") for p in table.pieces[:max_rows]]
        widths = [max(len(r[k]) for r in rows) for k in range(4)] if rows else []
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4] for r in rows]
    total = len(table.strata) if strata else len(table.pieces)
    if total > max_rows:
        lines.append(f"... {total - max_rows} more")
    return "\n".join(lines)


register("table.text", text_table)
