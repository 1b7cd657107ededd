"""The representation (6) and its associated gradient (7) in LaTeX, as the paper prints them.

One line per piece, as eqs. (17) and (19)::

    P^{5} &= \\{x \\in \\mathbb{R}^{4} \\mid x_{1} = x_{2} > \\max(x_{3}, x_{4})\\}, &
    f^{5}(x) &= \\frac{x_{1} + x_{2}}{2}, & \\nabla f^{5}(x) &= (\\tfrac{1}{2}, ...)

with compact conditions (:mod:`mtsym.export.conditions`), f^alpha and its
gradient, which is the associated gradient on P^alpha (eqs. (18), (20)).
The output is the body of a display: put it inside ``\\[ ... \\]`` (it needs
``amsmath`` and ``amssymb``).

Examples
--------
>>> import mtsym as mt
>>> print(to_latex(mt.derive(lambda x: mt.relu(x), "x")))
\\begin{aligned}
P^{1} &= \\{x \\in \\mathbb{R} \\mid x > 0\\}, & f^{1}(x) &= x, & (f^{1})'(x) &= 1, \\\\
P^{2} &= \\{x \\in \\mathbb{R} \\mid x \\leq 0\\}, & f^{2}(x) &= 0, & (f^{2})'(x) &= 0.
\\end{aligned}
"""

__all__ = ["to_latex", "latex_condition", "latex_expr", "latex_gradient", "LatexStyle", "document", "latex_text"]

import re

import sympy as sp

from ..errors import InputError
from ..exact import to_sympy
from ..extensions import register
from .conditions import describe_piece, describe_stratum, latex_atom

#: symbol names sympy prints as plain LaTeX (``x1`` -> ``x_{1}``, ``alpha`` -> ``\alpha``); other
#: names (they may come from a file) are printed as escaped text, never as LaTeX
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\~{}"}


def latex_text(text):
    r"""``text`` as literal LaTeX text: special characters escaped, control characters dropped.

    Examples
    --------
    >>> print(latex_text(r"\input{secret.tex}"))
    \text{\textbackslash{}input\{secret.tex\}}
    """
    return r"\text{" + "".join(_ESCAPES.get(c, c) for c in str(text) if c.isprintable()) + "}"


_OPS = {"=": "=", "!=": r"\neq", ">": ">", ">=": r"\geq", "<": "<", "<=": r"\leq"}
_ENVS = ("aligned", "cases")


class LatexStyle:
    """How symbols, the input variable and the function are written.

    Parameters
    ----------
    table : PieceTable
    symbols : dict, optional
        LaTeX for input (or convention) symbols, keyed by name or sympy Symbol:
        ``{"x1": "y_1"}``.  Default: sympy's (``x1`` -> ``x_{1}``).
    var : str, optional
        The input variable in ``\\{var \\in \\mathbb{R}^n \\mid ...\\}`` and
        ``f(var)``.  Default ``x`` for a vector input ``x1..xn``, else the
        symbols themselves (``t``, ``(a, b)``).
    fname : str
        The function's name (``f``).
    """

    def __init__(self, table, symbols=None, var=None, fname="f"):
        self.table = table
        syms = list(table.symbols) + sorted(table.convention.symbols(), key=str)
        by_name = {str(s): s for s in syms}
        names = {}
        for k, v in (symbols or {}).items():
            s = by_name.get(str(k))
            if s is None:
                raise InputError(f"to_latex: symbols names {k!r}, which is not a symbol of this table "
                                 f"({', '.join(by_name)})")
            names[s] = v
        for s in syms:
            if s not in names and not _PLAIN_NAME.match(s.name):
                names[s] = latex_text(s.name)
        self.names = names
        n = table.n
        if var is None:
            if n > 1 and tuple(str(s) for s in table.symbols) == tuple(f"x{i + 1}" for i in range(n)):
                var = "x"
            else:
                parts = [self.symbol(s) for s in table.symbols]
                var = parts[0] if n == 1 else "(" + ", ".join(parts) + ")"
        self.var = var
        self.fname = fname
        self.space = r"\mathbb{R}" if n == 1 else r"\mathbb{R}^{%d}" % n
        self.atom = latex_atom(table.symbols, names)

    def symbol(self, s):
        return self.names.get(s) or sp.latex(s)

    def expr(self, e):
        return latex_expr(e, self.names)

    def condition(self, desc, conj=r" \text{ and } ", disj=r" \text{ or } "):
        """A :class:`~mtsym.export.conditions.Description` in LaTeX."""
        return desc.render(self.atom, _OPS, lambda f, args: "\\%s(%s)" % (f, ", ".join(args)),
                           conj, disj, "")

    def set_of(self, desc):
        """``\\{x \\in \\mathbb{R}^n \\mid ...\\}``, or ``\\mathbb{R}^n`` for everything."""
        if desc.kind == "all":
            return self.space
        return r"\{%s \in %s \mid %s\}" % (self.var, self.space, self.condition(desc))

    def f(self, sup=None):
        head = self.fname if sup is None else "%s^{%s}" % (self.fname, sup)
        return "%s(%s)" % (head, self.var.strip("()") if self.var.startswith("(") else self.var)

    def grad_head(self, sup=None):
        if self.table.n == 1 and self.table.shape == ():
            if sup is None:
                return r"\tilde{%s}'(%s)" % (self.fname, self.var)
            return r"(%s^{%s})'(%s)" % (self.fname, sup, self.var)
        head = r"\tilde{\nabla} %s" % self.fname if sup is None else r"\nabla %s^{%s}" % (self.fname, sup)
        return "%s(%s)" % (head, self.var.strip("()") if self.var.startswith("(") else self.var)


def latex_expr(e, names=None):
    """A sympy expression (or Matrix) in LaTeX, common factors pulled out: ``\\frac{x_{1} + x_{2}}{2}``."""
    names = names or {}
    if isinstance(e, sp.MatrixBase):
        rows = [" & ".join(latex_expr(v, names) for v in e.row(i)) for i in range(e.rows)]
        return r"\begin{pmatrix} %s \end{pmatrix}" % r" \\ ".join(rows)
    return sp.latex(sp.factor_terms(to_sympy(e)), symbol_names=names)


def latex_gradient(g, names=None):
    """A gradient: ``(a, b, c)`` for a 1 x n row, the number for 1 x 1, a pmatrix for a Jacobian."""
    if g.rows == 1:
        items = [latex_expr(v, names) for v in g]
        return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"
    return latex_expr(g, names)


def latex_condition(table, obj, **style):
    """The compact condition of a piece or stratum in LaTeX (no set braces).

    Examples
    --------
    >>> import mtsym as mt
    >>> t = mt.derive(lambda x: mt.max(x), 4)
    >>> latex_condition(t, t.pieces[4])
    'x_{1} = x_{2} > \\\\max(x_{3}, x_{4})'
    """
    st = LatexStyle(table, **style)
    return st.condition(_describe(table, obj))


def _describe(table, obj, compact_limit=None):
    from ..table import Piece
    if isinstance(obj, Piece):
        return describe_piece(table, obj, compact_limit)
    return describe_stratum(table, obj)


def _rows(table, strata, max_rows):
    items = table.strata if strata else table.pieces
    shown = items if max_rows is None else items[:max_rows]
    return shown, len(items) - len(shown)


def to_latex(table, env="aligned", strata=False, symbols=None, var=None, fname="f", gradient=True,
             max_rows=None, compact_limit=None):
    """The representation and its associated gradient in LaTeX.

    Parameters
    ----------
    table : PieceTable
    env : {"aligned", "cases"}
        ``aligned``: one line per piece, ``P^alpha = {...}, f^alpha(x) = ...,
        grad f^alpha(x) = ...`` as eqs. (17)/(19).  ``cases``: ``f(x) =
        \\begin{cases}...`` and the associated gradient as a second ``cases``,
        in a ``gathered``.
    strata : bool
        One line per stratum ``S^j`` (with the piece ``P^alpha`` it belongs
        to) instead of one per piece.
    symbols : dict, optional
        LaTeX for symbols by name, e.g. ``{"x1": "y_1"}``.
    var : str, optional
        The input variable (default ``x`` for vector inputs).
    fname : str
        The function's name.
    gradient : bool
        Add the gradient of each f^alpha (the associated gradient on the piece).
    max_rows : int, optional
        Show at most this many lines, then how many were left out.
    compact_limit : int, optional
        See :func:`mtsym.export.conditions.describe_piece`.

    Returns
    -------
    str
        The body of a display math block.
    """
    if env not in _ENVS:
        raise InputError(f"to_latex: env={env!r}; choose one of {', '.join(_ENVS)}")
    st = LatexStyle(table, symbols=symbols, var=var, fname=fname)
    shown, more = _rows(table, strata, max_rows)
    lines = []
    for obj in shown:
        piece = table.pieces[obj.piece] if strata else obj
        a = piece.index + 1
        desc = _describe(table, obj, compact_limit)
        lines.append((obj, piece, a, desc))
    if env == "aligned":
        return _aligned(st, lines, strata, gradient, more)
    return _cases(st, lines, strata, gradient, more)


def _more(more, strata):
    return r"\text{\dots{} and %d more %s}" % (more, "strata" if strata else "pieces")


def _aligned(st, lines, strata, gradient, more):
    out = []
    for obj, piece, a, desc in lines:
        head = ("S^{%d} &= %s \\subseteq P^{%d}" % (obj.index + 1, st.set_of(desc), a) if strata
                else "P^{%d} &= %s" % (a, st.set_of(desc)))
        cols = [head, "%s &= %s" % (st.f(a), st.expr(piece.expr))]
        if gradient:
            cols.append("%s &= %s" % (st.grad_head(a), latex_gradient(piece.grad, st.names)))
        out.append(", & ".join(cols))
    body = ", \\\\\n".join(out)
    body += "." if not more else ", \\\\\n& " + _more(more, strata)
    return "\\begin{aligned}\n" + body + "\n\\end{aligned}"


def _cases(st, lines, strata, gradient, more):
    def block(lhs, value):
        rows = []
        for obj, piece, a, desc in lines:
            cond = st.condition(desc) if desc.kind != "all" else r"%s \in %s" % (st.var, st.space)
            if strata:
                cond += r" \quad (S^{%d})" % (obj.index + 1)
            rows.append(r"%s & \text{if } %s" % (value(piece), cond))
        body = ", \\\\\n".join(rows) + ("." if not more else ", \\\\\n" + _more(more, strata))
        return "%s = \\begin{cases}\n%s\n\\end{cases}" % (lhs, body)

    parts = [block(st.f(), lambda p: st.expr(p.expr))]
    if gradient:
        parts.append(block(st.grad_head(), lambda p: latex_gradient(p.grad, st.names)))
    if len(parts) == 1:
        return parts[0]
    return "\\begin{gathered}\n" + " \\\\[1ex]\n".join(parts) + "\n\\end{gathered}"


def document(body, title=None):
    """A minimal standalone LaTeX document displaying ``body`` (for pdflatex)."""
    head = "\\section*{%s}\n" % title if title else ""
    return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[margin=1cm,landscape]{geometry}\n\\begin{document}\n" + head +
            "\\[\n" + body + "\n\\]\n\\end{document}\n")


register("table.to_latex", to_latex)
