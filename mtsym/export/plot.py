"""Pictures of a piece table and of a traced graph (matplotlib, an optional dependency).

* one input: the graph of f, each piece in its colour, the points (0-dimensional
  strata) marked; below it the associated derivative as a step plot, with its
  value *at* the points;
* two inputs: the cells coloured by piece (exact polygons, see
  :mod:`mtsym.export.geometry`), the lower-dimensional strata drawn as edges and
  points in their piece's colour, the associated gradient as arrows (also on
  the edges and points), spurious strata (from :mod:`mtsym.verify`, when it is
  available) circled in red;
* more inputs: the same in a plane ``slice=(point, d1, d2)``; arrows show the
  gradient's components ``(grad . d1, grad . d2)`` in that plane.

Pieces that meet get different colours (a greedy colouring of the pieces' adjacency,
:func:`piece_colors`), and the legend explains every mark: each piece in view with its
``P<k>`` label and ``f``, then what cells, edges, points, arrows and the red marks of
spurious strata mean.  With a parametric convention a stratum that is spurious only for
some parameter values is marked in orange, with the values where it is not spurious
(``spurious unless z in [0, 1]``).

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state) and
display themselves in Jupyter (a PNG, :meth:`Figure._repr_png_`), with or without
``%matplotlib inline``; matplotlib comes with the ``plot`` extra (from a clone of
the repository: ``pip install -e ".[plot]"``).

Examples
--------
>>> import mtsym as mt
>>> fig = mt.derive(lambda x: mt.maximum(x[0], x[1]), 2).plot()
>>> plane, key = fig.axes                 # the partition, and the legend beside it
>>> plane.get_xlabel(), plane.get_ylabel()
('x1', 'x2')
>>> for t in key.get_legend().get_texts()[2:]:                   # 3 pieces, then what the marks mean
...     print(t.get_text())
$P^{3}$  f = x1/2 + x2/2
filled: a cell (full-dimensional stratum)
line: a tie or kink stratum, its piece's colour
arrow: grad~f in the plane (coloured on ties)
"""

__all__ = ["plot_table", "plot_graph", "piece_colors", "MissingDependencyError"]

import sympy as sp

from ..errors import InputError, MtsymError
from ..extensions import register
from ..exact import to_sympy
from ..primitives import PRIMITIVES
from .geometry import default_box, plane, slice_strata

_SPURIOUS = "#d62728"
_SOMETIMES = ":"         # spurious for some values of the convention's parameters: dotted red
_LEGEND_ROWS = 26        # legend rows per column
_LEGEND_COLUMNS = 3      # beyond this many columns of pieces, the legend says how many more
_MANY = 40          # beyond this many features, arrows="auto" draws them on the cells only


class MissingDependencyError(MtsymError, ImportError):
    """An optional dependency (matplotlib) is not installed."""


_FIGURE = []


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without matplotlib
        raise MissingDependencyError(
            "plot: matplotlib is not installed; install it with  pip install matplotlib  (or, in a clone of "
            "mtsym,  pip install -e '.[plot]')") from None
    if not _FIGURE:
        class MtsymFigure(Figure):
            """A matplotlib Figure that shows itself as a PNG in Jupyter."""

            def _repr_png_(self):
                import io
                buf = io.BytesIO()
                self.savefig(buf, format="png")
                return buf.getvalue()
        _FIGURE.append(MtsymFigure)
    return matplotlib, _FIGURE[0]


def piece_colors(table, slice=None, box=None):
    """One RGBA colour per piece; pieces that meet get different colours.

    Pieces meet when one's stratum lies in the closure of a full-dimensional stratum of the
    other (:class:`mtsym.clarke.ClosureIndex`), or when they touch in the picture
    (``plot(slice=..., box=...)`` draws these colours: pass the same ``slice`` and ``box``;
    one or two inputs need none); a greedy colouring in piece order picks, for each piece,
    the first colour of the palette (tab10, then tab20's light tones, then evenly spaced
    hues) that no neighbour has.

    Examples
    --------
    >>> import mtsym as mt
    >>> cs = piece_colors(mt.derive(lambda t: mt.relu(t), "t"))
    >>> len(cs), [round(c, 3) for c in cs[0]]
    (2, [0.122, 0.467, 0.706, 1.0])
    >>> cs = piece_colors(mt.derive(lambda x: mt.max(x), 2))     # three pieces meet on x1 = x2
    >>> len(set(cs))
    3
    """
    feats = None
    if slice is not None or table.n <= 2:
        feats = slice_strata(table, slice, default_box(table, slice) if box is None else _box(table, box))
    return _colors(table, feats)


def _box(table, box):
    if table.n == 1 and box is not None and len(box) == 2 and not hasattr(box[0], "__len__"):
        return (box, (0, 0))
    return box


def _colors(table, feats):
    matplotlib, _ = _matplotlib()
    adj = _neighbours(table)
    for group in _touching(feats or ()):
        for a in group:
            adj[a] |= group - {a}
    palette = _palette(matplotlib, 20)
    chosen = []
    for p in table.pieces:
        taken = {chosen[q] for q in adj[p.index] if q < len(chosen)}
        k = next(i for i in range(len(taken) + 1) if i not in taken)
        if k >= len(palette):
            palette = _palette(matplotlib, k + 1)
        chosen.append(k)
    return [palette[k] for k in chosen]


def _palette(matplotlib, k):
    tab10, tab20 = matplotlib.colormaps["tab10"], matplotlib.colormaps["tab20"]
    out = [tuple(float(c) for c in tab10(i)) for i in range(10)]
    out += [tuple(float(c) for c in tab20(2 * i + 1)) for i in range(10)]
    import colorsys
    i = 0
    while len(out) < k:
        out.append(colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.75 if i % 2 else 0.45, 0.85 if i % 2 else 0.95)
                   + (1.0,))
        i += 1
    return out


def _touching(feats):
    """Sets of pieces whose features in the picture share a vertex."""
    at = {}
    for f in feats:
        for q in f.vertices:
            at.setdefault(tuple(q), set()).add(f.stratum.piece)
    return [g for g in at.values() if len(g) > 1]


def _neighbours(table):
    """``{piece index: indices of the pieces it meets}``."""
    from ..clarke import ClosureIndex
    adj = {p.index: set() for p in table.pieces}
    index = ClosureIndex(table)
    for s in table.strata:
        if s.dim < table.n:
            group = {s.piece} | {f.piece for f in index.around(s.witness)}
            for a in group:
                adj[a] |= group - {a}
    return adj


# ----------------------------------------------------------------- numbers
def _row(table, m, output):
    """Row ``output`` of a sympy value / Jacobian (a scalar table's value is the expression)."""
    if table.shape == ():
        return m
    if not 0 <= output < table.shape[0]:
        raise InputError(f"plot: output={output} but the table has {table.shape[0]} outputs")
    return m[output] if not isinstance(m, sp.MatrixBase) or m.cols == 1 else m.row(output)


def _sym(c):
    """A plotting coordinate for sympy (a float stays a float: the picture is numeric)."""
    return sp.Float(c) if isinstance(c, float) else to_sympy(c)


def _num(expr, table, x):
    """A float (or a tuple of floats) of ``expr`` at the exact point ``x``, or None if symbolic."""
    if isinstance(expr, sp.MatrixBase):
        vals = [_num(e, table, x) for e in expr]
        return None if any(v is None for v in vals) else tuple(vals)
    e = to_sympy(expr)
    if e.free_symbols:
        e = e.subs(dict(zip(table.symbols, (_sym(c) for c in x))))
    return float(e) if not e.free_symbols else None


def _spurious(table):
    """``{stratum index: None}`` for the spurious strata, ``{index: "z in [0, 1]"}`` for those spurious
    unless the convention's parameters satisfy a condition (Clarke diagnostic, :mod:`mtsym.clarke`)."""
    from ..clarke import diagnose_all, when_text
    out = {}
    for s, res in zip(table.strata, diagnose_all(table)):
        if s.dim < table.n and res.spurious:
            when = None
            if table.pieces[s.piece].grad.free_symbols - set(table.symbols):
                when = None if res.when is None else when_text(res.when)
            out[s.index] = when
    return out


def _ring(bad, k):
    return "dotted" if bad.get(k) is not None else "solid"


def _spurious_style(bad, k):
    """``"--"`` for a spurious stratum, ``":"`` for one spurious unless a parameter condition holds."""
    return _SOMETIMES if bad.get(k) is not None else "--"


def _finish(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


def _label(table, piece):
    if table.shape == ():
        expr = piece.expr
    elif table.shape == (1,):
        expr = piece.expr[0]
    else:
        expr = piece.expr.T
    text = str(expr)
    if len(text) > 40:   # float weights: exact rationals are long, show decimals
        from .text import DecimalPrinter
        text = DecimalPrinter(3).doprint(expr)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"$P^{{{piece.index + 1}}}$  f = {text}"


# ----------------------------------------------------------------- tables
def plot_table(table, path=None, *, slice=None, box=None, output=0, arrows="auto", spurious=True,
               legend=True, title=None, figsize=None, dpi=100, ax=None):
    """Draw the partition of a piece table and its associated gradient.

    Parameters
    ----------
    table : PieceTable
    path : str or path-like, optional
        Also write the figure there (PNG, or any format matplotlib knows by
        the suffix).
    slice : (point, d1, d2), optional
        The plane ``point + u*d1 + v*d2`` to draw; required beyond two inputs.
    box : ((u0, u1), (v0, v1)) or (t0, t1), optional
        The view box in plane coordinates (``(t0, t1)`` for one input).  By
        default every vertex of the partition and the origin are in view.
    output : int
        Which output of a vector-valued table (its value and gradient row).
    arrows : bool or "auto"
        Draw the associated gradient as arrows (two inputs and slices): at
        every cell, edge and point (``True``), none (``False``), or on the
        cells only once there are more than 40 features (``"auto"``).
    spurious : bool
        Mark the spurious strata of ``table.spurious()`` when available.
    legend, title, figsize, dpi
        Display options; ``title`` defaults to the table's name and convention.
    ax : matplotlib Axes, optional
        Draw a plane into an existing axes (not for one input).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import mtsym as mt
    >>> fig = mt.derive(lambda t: mt.relu(t), "t").plot()
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['f(t)', "associated f'(t)"]
    """
    _, Figure = _matplotlib()
    point, d1, d2 = plane(table, slice)
    box = _box(table, box)
    if box is None:
        box = default_box(table, slice)
    feats = slice_strata(table, slice, box)
    colors = _colors(table, feats)
    bad = _spurious(table) if spurious else {}
    if title is None:
        title = f"{table.name}: {len(table.pieces)} pieces, {len(table.strata)} strata, " \
                f"convention {table.convention.name}"
    if table.n == 1:
        if ax is not None:
            raise InputError("plot: a one-input table draws two panels; leave ax=None")
        fig = Figure(figsize=figsize or (7, 5.5), layout="constrained")
        _plot_line(fig, table, feats, colors, bad, output, legend, box)
        fig.suptitle(title, fontsize=10)
        return _finish(fig, path, dpi)
    handles = _plane_legend(table, feats, colors, bad, arrows) if legend else []
    ncol = max(1, -(-len(handles) // _LEGEND_ROWS))
    if ax is None:
        fig = Figure(figsize=figsize or (8 + 2.8 * (ncol - 1), 5.4), layout="constrained")
        grid = fig.add_gridspec(1, 2, width_ratios=(2.6, 1.4 * ncol) if legend else (1, 0.001))
        ax, key = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        key.set_axis_off()
    else:
        fig, key = ax.figure, ax
    _plot_plane(ax, table, feats, colors, bad, output, arrows, (point, d1, d2), box, slice)
    if legend:
        inside = key is ax
        key.legend(handles=handles, fontsize=7 if len(handles) > 14 else 7.5, ncol=ncol,
                   loc="best" if inside else "center left", borderaxespad=0.3 if inside else 0.0)
    ax.set_title(title, fontsize=10)
    return _finish(fig, path, dpi)


def _plot_line(fig, table, feats, colors, bad, output, legend, box):
    from matplotlib.lines import Line2D
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2, sharex=None)
    name = str(table.symbols[0])
    seen = {}
    for f in sorted(feats, key=lambda f: -f.dim):
        piece = table.pieces[f.stratum.piece]
        c = colors[piece.index]
        val, grad = _row(table, piece.expr, output), _row(table, piece.grad, output)
        if f.dim == 1:
            (a,), (b,) = (q[:1] for q in f.vertices)
            ts = [a + (b - a) * k / 64 for k in range(65)]
            ys = [_num(val, table, (t,)) for t in ts]
            gs = [_num(grad, table, (t,)) for t in ts]
            if None not in ys:
                top.plot([float(t) for t in ts], ys, color=c, lw=2.5, solid_capstyle="butt")
            if None not in gs:
                bottom.plot([float(t) for t in ts], [g[0] if isinstance(g, tuple) else g for g in gs],
                            color=c, lw=2.5, solid_capstyle="butt")
        else:
            t = f.vertices[0][0]
            y = _num(val, table, (t,))
            g = _num(grad, table, (t,))
            g = g[0] if isinstance(g, tuple) else g
            if y is not None:
                top.scatter([float(t)], [y], s=55, color=c, edgecolors="black", zorder=5)
            if g is not None:
                bottom.scatter([float(t)], [g], s=55, color=c, edgecolors="black", zorder=5)
            else:
                sym = sp.Matrix(grad).subs(table.symbols[0], _sym(t))
                bottom.annotate(f"{list(sym)[0]}", (float(t), 0), textcoords="offset points",
                                xytext=(4, 6), color=c, fontsize=9)
                bottom.scatter([float(t)], [0], s=55, marker="D", facecolors="none", edgecolors=c,
                               zorder=5)
            if f.stratum.index in bad:
                for axis, yy in ((top, y), (bottom, g)):
                    if yy is not None:
                        axis.scatter([float(t)], [yy], s=220, facecolors="none", edgecolors=_SPURIOUS,
                                     linestyles=_ring(bad, f.stratum.index), linewidths=1.8, zorder=6)
        seen.setdefault(piece.index, piece)
    for axis in (top, bottom):
        axis.set_xlim(float(box[0][0]), float(box[0][1]))
        axis.grid(True, alpha=0.3)
    top.set_ylabel(f"f({name})")
    bottom.set_ylabel(f"associated f'({name})")
    bottom.set_xlabel(name)
    if legend:
        handles = [Line2D([], [], color=colors[k], lw=2.5 if p.dim == 1 else 0, marker=None if p.dim else "o",
                          markeredgecolor="black", label=_label(table, p))
                   for k, p in sorted(seen.items())]
        handles, more = _cut(handles)
        handles += _more(more)
        if any(f.dim == 0 for f in feats):
            handles.append(Line2D([], [], lw=0, marker="o", color="#999999", markeredgecolor="black",
                                  label="dot: a point stratum, f and f' there"))
        handles += _spurious_keys(bad, "o")
        top.legend(handles=handles, fontsize=7.5, loc="best", ncol=max(1, -(-len(handles) // _LEGEND_ROWS)))


def _plot_plane(ax, table, feats, colors, bad, output, arrows, frame, box, slice):
    from matplotlib import patheffects
    from matplotlib.patches import Polygon
    point, d1, d2 = frame
    outline = [patheffects.Stroke(linewidth=4.5, foreground="black"), patheffects.Normal()]
    for f in feats:
        piece = table.pieces[f.stratum.piece]
        c = colors[piece.index]
        xy = [(float(u), float(v)) for u, v in f.vertices]
        if f.dim == 2:
            ax.add_patch(Polygon(xy, closed=True, facecolor=c, edgecolor="none", alpha=0.55, zorder=1))
        elif f.dim == 1:
            ax.plot(*zip(*xy), color=c, lw=2.8, zorder=3, solid_capstyle="butt", path_effects=outline)
            if f.stratum.index in bad:
                ax.plot(*zip(*xy), color=_SPURIOUS, lw=1.4, ls=_spurious_style(bad, f.stratum.index), zorder=4)
        else:
            ax.scatter(*zip(*xy), s=70, color=c, edgecolors="black", linewidths=1.2, zorder=5)
            if f.stratum.index in bad:
                ax.scatter(*zip(*xy), s=300, facecolors="none", edgecolors=_SPURIOUS,
                           linestyles=_ring(bad, f.stratum.index), linewidths=2, zorder=6)
    (u0, u1), (v0, v1) = [(float(a), float(b)) for a, b in box]
    if arrows:
        _arrows(ax, table, feats, colors, output, frame, max(u1 - u0, v1 - v0), arrows)
    ax.set_xlim(u0, u1)
    ax.set_ylim(v0, v1)
    ax.set_aspect("equal", adjustable="box")
    if slice is None:
        ax.set_xlabel(str(table.symbols[0]))
        ax.set_ylabel(str(table.symbols[1]))
    else:
        ax.set_xlabel(f"u: point + u*{_vec(d1)}")
        ax.set_ylabel(f"v: point + v*{_vec(d2)}")


def _arrows(ax, table, feats, colors, output, frame, size, mode):
    """The associated gradient, projected on the plane, at each feature's anchor.

    ``mode="auto"`` keeps the picture readable: every feature up to ``_MANY``
    features, beyond that the cells only.
    """
    point, d1, d2 = frame
    many = mode == "auto" and len(feats) > _MANY
    groups = {2: [], 1: []}
    for f in feats:
        if many and f.dim < 2:
            continue
        piece = table.pieces[f.stratum.piece]
        x = tuple(p + f.anchor[0] * a + f.anchor[1] * b for p, a, b in zip(point, d1, d2))
        g = _num(_row(table, piece.grad, output), table, x)
        if g is None:
            continue
        du = sum(gi * float(a) for gi, a in zip(g, d1))
        dv = sum(gi * float(b) for gi, b in zip(g, d2))
        if du or dv:
            groups[2 if f.dim == 2 else 1].append(
                (float(f.anchor[0]), float(f.anchor[1]), du, dv, colors[piece.index]))
    longest = max(((du * du + dv * dv) ** 0.5 for grp in groups.values() for _, _, du, dv, _ in grp),
                  default=1.0)
    scale = longest / (0.16 * size)
    for dim, grp in groups.items():
        if grp:
            u, v, du, dv, c = zip(*grp)
            ax.quiver(u, v, du, dv, angles="xy", scale_units="xy", scale=scale, zorder=7,
                      color="black" if dim == 2 else list(c), edgecolor="black",
                      linewidth=0 if dim == 2 else 0.6, width=0.006 if dim == 2 else 0.005)


def _cut(handles):
    most = _LEGEND_ROWS * _LEGEND_COLUMNS - 1
    return (handles, 0) if len(handles) <= most + 1 else (handles[:most], len(handles) - most)


def _more(more):
    from matplotlib.patches import Patch
    return [Patch(facecolor="white", edgecolor="white", label=f"... {more} more pieces (table.text() lists them)")] \
        if more else []


def _spurious_keys(bad, marker):
    """Legend entries for the spurious marks: always (red), and unless a parameter condition (orange)."""
    from matplotlib.lines import Line2D
    out = []
    if any(w is None for w in bad.values()):
        out.append(Line2D([], [], lw=1.4, ls="--" if marker is None else "", marker=marker, markerfacecolor="none",
                          markersize=11, color=_SPURIOUS, markeredgecolor=_SPURIOUS,
                          label="red " + ("ring" if marker else "dashes") + ": spurious (grad~f outside the Clarke "
                                "gradient)"))
    for when in sorted({w for w in bad.values() if w is not None}):
        out.append(Line2D([], [], lw=1.4, ls=_SOMETIMES, color=_SPURIOUS,
                          label=f"red dots: spurious unless {when}"))
    return out


def _plane_legend(table, feats, colors, bad, arrows):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = []
    for p in sorted({f.stratum.piece: table.pieces[f.stratum.piece] for f in feats}.values(),
                    key=lambda p: p.index):
        if p.dim == table.n:
            handles.append(Patch(facecolor=colors[p.index], alpha=0.55, label=_label(table, p)))
        else:
            handles.append(Line2D([], [], color=colors[p.index], lw=2.8, marker="o", markeredgecolor="black",
                                  label=_label(table, p)))
    handles, more = _cut(handles)
    handles += _more(more)
    dims = {f.dim for f in feats}
    grey = "#999999"
    if 2 in dims:
        handles.append(Patch(facecolor=grey, alpha=0.55, label="filled: a cell (full-dimensional stratum)"))
    if 1 in dims:
        handles.append(Line2D([], [], color=grey, lw=2.8, label="line: a tie or kink stratum, its piece's colour"))
    if 0 in dims:
        handles.append(Line2D([], [], lw=0, marker="o", color=grey, markeredgecolor="black",
                              label="dot: a point stratum"))
    if arrows:
        handles.append(Line2D([], [], lw=0, marker=r"$\rightarrow$", markersize=12, color="black",
                              label="arrow: grad~f in the plane (coloured on ties)"))
    spurious_dims = {f.dim for f in feats if f.stratum.index in bad}
    handles += _spurious_keys(bad, "o" if spurious_dims == {0} else None)
    return handles


def _vec(d):
    return "(" + ", ".join(str(c) for c in d) + ")"


# ----------------------------------------------------------------- graphs
#: node face colour by primitive kind (see mtsym.primitives.KINDS)
_FACE = {"input": "#c6dbef", "const": "#e0e0e0", "affine": "#ffffff", "smooth": "#ffffff",
         "branch": "#fdd0a2", "switching": "#c7e9c0"}


def _node_label(graph, v):
    """``n<id> <op>`` and, below, the symbol, constant, comparison, short affine text or parameters."""
    data = graph.nodes[v]
    op, params = data["op"], data["params"]
    prim = PRIMITIVES[op]
    if prim.kind in ("input", "const"):
        detail = graph._node_text(v).split(" ", 1)[-1]
    elif prim.kind in ("affine", "smooth", "branch"):
        detail = graph._node_text(v)
    else:
        detail = prim.show(params) if prim.show is not None else ""
    detail = detail if len(detail) <= 18 else ""
    head = f"n{v} {op}"
    return head + "\n" + detail if detail else head


def _layers(graph):
    import networkx as nx
    return [sorted(layer) for layer in nx.topological_generations(graph)]


def plot_graph(graph, path=None, *, figsize=None, dpi=100, title=None, ax=None):
    """Draw a traced graph: one row per topological generation, inputs on top.

    Nodes show their id and op name (inputs their symbol); switching nodes
    (those with tie cases) are green, branches orange, outputs framed in bold.

    Examples
    --------
    >>> import mtsym as mt
    >>> fig = mt.trace(lambda x: mt.relu(x[0] - 2 * x[1]), 2).plot()
    >>> [t.get_text().split("\\n")[0] for t in fig.axes[0].texts if t.get_text()]
    ['n0 input', 'n1 input', 'n2 affine', 'n3 affine', 'n4 relu']
    """
    _, Figure = _matplotlib()
    layers = _layers(graph)
    width = max((len(layer) for layer in layers), default=1)
    pos = {}
    for depth, layer in enumerate(layers):
        for k, v in enumerate(layer):
            pos[v] = ((k + 0.5) * width / len(layer), -depth)
    if ax is None:
        fig = Figure(figsize=figsize or (max(4.0, 1.3 * width + 1), max(3.0, 1.1 * len(layers) + 1)))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    outputs = {v for out in graph.outputs for v in out}
    for u, v in graph.edges:
        ax.annotate("", xy=pos[v], xytext=pos[u],
                    arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.0, shrinkA=16, shrinkB=16))
    for v, (x, y) in pos.items():
        face = _FACE[PRIMITIVES[graph.nodes[v]["op"]].kind]
        ax.text(x, y, _node_label(graph, v), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round,pad=0.35", facecolor=face,
                          edgecolor="black", linewidth=2.2 if v in outputs else 0.8))
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-len(layers) + 0.4, 0.6)
    ax.set_axis_off()
    if title is None:
        syms = ", ".join(str(s) for s in graph.symbols)
        title = f"graph ({syms}): {graph.number_of_nodes()} nodes"
    ax.set_title(title, fontsize=10)
    return _finish(fig, path, dpi)


register("table.plot", plot_table)
register("graph.plot", plot_graph)
