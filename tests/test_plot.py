"""Pictures of piece tables and graphs: the exact geometry, then the pixels of the saved PNGs."""

import importlib.util
import os
import sys
from fractions import Fraction

import pytest
import sympy as sp

matplotlib = pytest.importorskip("matplotlib", reason="plots need the optional package matplotlib (.[plot])")
matplotlib.use("Agg")

import mtsym as mt  # noqa: E402
from mtsym.errors import InputError  # noqa: E402
from mtsym.export.geometry import default_box, slice_strata  # noqa: E402
from mtsym.export.plot import MissingDependencyError, piece_colors  # noqa: E402
from matplotlib.image import imread  # noqa: E402


def _paper_examples():
    """The paper's examples exactly as docs/make_figures.py draws them."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "make_figures.py")
    spec = importlib.util.spec_from_file_location("make_figures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


boustany = _paper_examples().boustany


def two(x):
    return mt.max(x) - mt.relu(x[0] - 2 * x[1])


def area(poly):
    """Exact shoelace area."""
    return abs(sum(Fraction(a[0]) * b[1] - Fraction(b[0]) * a[1]
                   for a, b in zip(poly, poly[1:] + poly[:1]))) / 2


# ------------------------------------------------------------------ exact geometry
def test_cells_tile_the_box_and_edges_are_exact():
    table = mt.derive(two, 2)
    feats = slice_strata(table, box=((-1, 1), (-1, 1)))
    cells = [f for f in feats if f.dim == 2]
    assert len(cells) == 4 and sum(area(list(f.vertices)) for f in cells) == 4
    edges = sorted(tuple(sorted(f.vertices)) for f in feats if f.dim == 1)
    half = Fraction(1, 2)
    assert edges == [((-1, -1), (0, 0)), ((-1, -half), (0, 0)), ((0, 0), (1, half)), ((0, 0), (1, 1))]
    assert [f.vertices for f in feats if f.dim == 0] == [((0, 0),)]
    # every feature's anchor lies in its own stratum, found independently by running the program
    for f in feats:
        assert table.stratum_at(f.anchor).index == f.stratum.index


def test_slice_of_a_four_way_max():
    table = mt.derive(lambda x: mt.max(x), 4)
    frame = ((0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0))
    feats = slice_strata(table, slice=frame, box=((-1, 1), (-1, 1)))
    cells = [f for f in feats if f.dim == 2]
    assert sum(area(list(f.vertices)) for f in cells) == 4
    # x1 wins, x2 wins, and the quadrant x1, x2 < 0 where x3 = x4 = 0 tie (a 3-dim stratum)
    assert sorted(f.stratum.dim for f in cells) == [3, 4, 4]
    for f in feats:
        x = tuple(a * f.anchor[0] + b * f.anchor[1] for a, b in zip(frame[1], frame[2]))
        assert table.stratum_at(x).index == f.stratum.index
    point = [f for f in feats if f.dim == 0]
    assert len(point) == 1 and point[0].stratum.dim == 1      # x1 = x2 = x3 = x4 at the origin


def test_one_input_intervals_and_points():
    table = mt.derive(lambda t: mt.relu(t) - mt.abs(t - 1), "t")
    feats = slice_strata(table, box=((-2, 3), (0, 0)))
    assert sorted((f.dim, f.vertices) for f in feats) == [
        (0, ((0, 0),)), (0, ((1, 0),)), (1, ((-2, 0), (0, 0))), (1, ((0, 0), (1, 0))), (1, ((1, 0), (3, 0)))]


def test_default_box_frames_every_vertex():
    table = mt.derive(lambda x: mt.relu(x[0] - 3) + mt.relu(x[1] + 5) + mt.maximum(x[0], x[1]), 2)
    (u0, u1), (v0, v1) = default_box(table)
    for s in table.strata:
        if s.dim == 0:
            assert u0 < s.witness[0] < u1 and v0 < s.witness[1] < v1
    assert u0 < 0 < u1 and v0 < 0 < v1


def test_bad_slices_fail_clearly():
    table = mt.derive(lambda x: mt.max(x), 3)
    with pytest.raises(InputError, match="slice=\\(point, d1, d2\\)"):
        table.plot()
    with pytest.raises(InputError, match="linearly independent"):
        table.plot(slice=((0, 0, 0), (1, 1, 0), (2, 2, 0)))
    with pytest.raises(InputError, match="d2 has 2 coordinates"):
        table.plot(slice=((0, 0, 0), (1, 0, 0), (0, 1)))
    with pytest.raises(InputError, match="output=3"):
        mt.derive(lambda x: [mt.max(x), mt.relu(x[0])], 2).plot(output=3)


# ------------------------------------------------------------------ pixels
def pixel(img, fig, ax, u, v):
    x, y = ax.transData.transform((u, v))
    return img[int(round(img.shape[0] - y)), int(round(x)), :3]


def blend(c, alpha=0.55):
    return [alpha * ci + (1 - alpha) for ci in c[:3]]


def test_two_inputs_png_colours_each_cell_by_its_piece(tmp_path):
    table = mt.derive(two, 2)
    path = tmp_path / "two.png"
    fig = table.plot(path, dpi=100)
    img = imread(path)
    assert img.shape[:2] == (540, 800)
    colors = piece_colors(table)
    ax = fig.axes[0]
    for point in [(0.9, -0.9), (-0.9, 0.9), (0.9, 0.6), (-0.9, -0.6)]:
        want = blend(colors[table.piece_at(point).index])
        assert pixel(img, fig, ax, *point) == pytest.approx(want, abs=2 / 255)
    distinct = {tuple(p) for p in (img[::4, ::4, :3] * 255).round().astype(int).reshape(-1, 3)}
    assert len(distinct) > 20
    # one arrow per feature with a nonzero gradient: 4 cells, 4 edges, 1 point
    assert sum(len(c.get_offsets()) for c in ax.collections if type(c).__name__ == "Quiver") == 9


def test_slice_png_and_edges_drawn_in_their_piece_colour(tmp_path):
    table = mt.derive(lambda x: mt.max(x), 4)
    frame = ((0, 0, 1, 0), (1, 0, 0, 0), (0, 1, 0, 0))
    fig = table.plot(tmp_path / "slice.png", slice=frame, arrows=False)
    img = imread(tmp_path / "slice.png")
    ax = fig.axes[0]
    colors = piece_colors(table, slice=frame)
    # the edge x1 = x3 (u = 1) below v = 1 is a line of its piece's colour
    s = table.stratum_at((1, Fraction(1, 2), 1, 0))
    assert s.dim == 3
    assert pixel(img, fig, ax, 1, 0.5) == pytest.approx(list(colors[s.piece][:3]), abs=2 / 255)
    assert pixel(img, fig, ax, 0.3, 0.3) == pytest.approx(blend(colors[table.piece_at((0.3, 0.3, 1, 0)).index]),
                                                          abs=2 / 255)


def test_one_input_shows_the_associated_derivative_at_the_tie(tmp_path):
    table = mt.derive(boustany, "t")
    fig = table.plot(tmp_path / "b.png")
    top, bottom = fig.axes
    pts = [tuple(o) for c in bottom.collections for o in c.get_offsets()]
    assert (0.0, -1.5) in pts                                  # Table 2 of the paper at t = 0
    lines = [ln for ln in bottom.get_lines() if len(ln.get_xdata())]
    assert lines and all(set(ln.get_ydata()) == {0.0} for ln in lines)
    img = imread(tmp_path / "b.png")
    colors = piece_colors(table)
    k = table.piece_at((0,)).index
    assert pixel(img, fig, bottom, 0, -1.5) == pytest.approx(list(colors[k][:3]), abs=2 / 255)


def test_curved_pieces_and_symbolic_derivatives():
    fig = mt.derive(lambda t: t * mt.relu(t), "t").plot(box=(-1, 2))
    top = fig.axes[0]
    curve = max(top.get_lines(), key=lambda ln: max(ln.get_ydata()))
    assert all(abs(y - x * x) < 1e-12 for x, y in zip(curve.get_xdata(), curve.get_ydata()))
    z = sp.Symbol("z")
    fig = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z)).plot()
    assert "z" in [t.get_text() for t in fig.axes[1].texts]


def test_spurious_strata_are_circled(monkeypatch):
    table = mt.derive(boustany, "t")
    tie = table.stratum_at((0,))
    monkeypatch.setattr(type(table), "spurious", lambda self: [tie])
    fig = table.plot()
    rings = [c for ax in fig.axes for c in ax.collections
             if len(c.get_edgecolor()) and tuple(c.get_edgecolor()[0][:3]) == pytest.approx(
                 matplotlib.colors.to_rgb("#d62728"))]
    assert len(rings) == 2                                      # on f and on its derivative
    assert "red ring: spurious (grad~f outside the Clarke gradient)" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_spurious_from_verify():
    from mtsym.export.plot import _spurious
    table = mt.derive(boustany, "t")
    assert _spurious(table) == {table.stratum_at((0,)).index: None}     # spurious for every parameter value


def test_graph_plot(tmp_path):
    graph = mt.trace(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 2)
    fig = graph.plot(tmp_path / "g.png")
    texts = [t for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == graph.number_of_nodes()
    ops = {t.get_text().split("\n")[0].split()[1] for t in texts}
    assert ops == {graph.op(v) for v in graph.nodes}
    out = graph.outputs[0][0]
    bold = [t for t in texts if t.get_text().startswith(f"n{out} ")]
    assert bold[0].get_bbox_patch().get_linewidth() > 2
    img = imread(tmp_path / "g.png")
    assert img.shape[0] > 200 and img.shape[1] > 300
    distinct = {tuple(p) for p in (img[:, :, :3] * 255).round().astype(int).reshape(-1, 3)}
    assert len(distinct) > 10


def test_missing_matplotlib(monkeypatch):
    table = mt.derive(lambda t: mt.relu(t), "t")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match="pip install"):
        table.plot()
