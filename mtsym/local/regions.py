"""Restricted enumeration: the strata of ``f`` on a segment, a 2-D slice or a box.

``mt.derive(f, n, on=mt.segment(a, b))`` traces ``t -> f(a + t (b - a))`` for ``0 < t < 1``;
``on=mt.plane(x0, u, v, box=((s0, s1), (t0, t1)))`` traces ``(s, t) -> f(x0 + s u + t v)`` on the
open box; ``on=mt.box(lo, hi)`` keeps ``f``'s own inputs on ``lo < x < hi``.  The region's
constraints start the enumeration (:func:`mtsym.partition.explore`, ``start=``), so a switching
node whose sign is constant over what is left of the region costs one test and is fixed.  The
strata are those of the restriction, in its own coordinates; :meth:`RegionTable.input_grad` gives
the associated gradient with respect to the original inputs.

Examples
--------
>>> import mtsym as mt
>>> f = lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1])
>>> seg = mt.derive(f, 2, on=mt.segment((-1, 1), (3, 1)))   # x = (-1 + 4t, 1)
>>> sorted(s.witness[0] for s in seg.strata if s.dim == 0)    # x1 = x2, then x1 = 2 x2
[1/2, 3/4]
>>> seg.grad_at((0.6,)), seg.input_grad_at((0.6,))      # d/dt, and the gradient in (x1, x2)
(Matrix([[4]]), Matrix([[1, 0]]))
>>> sl = mt.derive(f, 2, on=mt.plane((0, 0), (1, 0), (0, 1), box=((-1, 1), (-1, 1))))
>>> len(sl.strata) == len(mt.derive(f, 2).strata)
True
"""

from __future__ import annotations

__all__ = ["Region", "segment", "plane", "box", "RegionTable", "region_table"]

from typing import Sequence

from fractions import Fraction

import sympy as sp

from ..conventions import Convention
from ..errors import InputError
from ..exact import to_exact, to_sympy
from ..partition import explore, start_region
from ..records import gc_paused
from ..table import PieceTable
from ..trace import InputSpec, Program
from ..value import apply
from .lex import point_of


class Region:
    """Where to enumerate: built by :func:`segment`, :func:`plane` or :func:`box`.

    Attributes
    ----------
    kind : str
    names : str or None
        The restriction's own coordinates (``"t"``, ``"s t"``), ``None`` for a box.
    point, directions : the affine map ``x = point + sum(c_k * directions[k])``
    bounds : tuple of (lo, hi)
        The open ranges of the coordinates.
    """

    def __init__(self, kind, names, point, directions, bounds):
        self.kind, self.names, self.point, self.directions, self.bounds = kind, names, point, directions, bounds

    def to_input(self, c):
        """The original inputs at region coordinates ``c`` (exact)."""
        if self.names is None:
            return tuple(c)
        x = list(self.point)
        for ck, d in zip(c, self.directions):
            x = [a + ck * b for a, b in zip(x, d)]
        return tuple(int(v) if isinstance(v, Fraction) and v.denominator == 1 else v for v in x)

    def constraints(self):
        """The open region as strict constraints on its coordinates."""
        k = len(self.bounds)
        out = []
        for i, (lo, hi) in enumerate(self.bounds):
            e = tuple(int(j == i) for j in range(k))
            out.append(((-lo,) + e, 1))
            out.append(((hi,) + tuple(-c for c in e), 1))
        return out

    def __repr__(self):
        return f"<{self.kind} region: {len(self.bounds)} coordinates>"


def _vec(v, what):
    return point_of(v, what=what)


def _range(r, what):
    lo, hi = (to_exact(c, what=what) for c in r)
    if not lo < hi:
        raise InputError(f"{what}: the range ({lo}, {hi}) is empty")
    return lo, hi


def segment(a: Sequence, b: Sequence) -> Region:
    """The open segment ``a + t (b - a)``, ``0 < t < 1`` (coordinate ``t``).

    Examples
    --------
    >>> import mtsym as mt
    >>> mt.segment((0, 0), (2, 1)).to_input((Fraction(1, 2),))
    (1, Fraction(1, 2))
    """
    a, b = _vec(a, "segment start"), _vec(b, "segment end")
    if len(a) != len(b):
        raise InputError("segment: a and b have different lengths")
    d = tuple(y - x for x, y in zip(a, b))
    if not any(d):
        raise InputError("segment: a and b are the same point")
    return Region("segment", "t", a, (d,), ((0, 1),))


def plane(x0: Sequence, u: Sequence, v: Sequence, box: Sequence = ((-1, 1), (-1, 1))) -> Region:
    """The 2-D slice ``x0 + s u + t v`` over the open box ``s0 < s < s1``, ``t0 < t < t1``."""
    x0, u, v = _vec(x0, "plane point"), _vec(u, "plane direction u"), _vec(v, "plane direction v")
    if not (len(x0) == len(u) == len(v)):
        raise InputError("plane: x0, u and v have different lengths")
    if not any(u[i] * v[j] != u[j] * v[i] for i in range(len(u)) for j in range(i + 1, len(u))) and len(u) > 1:
        raise InputError("plane: the directions u and v must be linearly independent")
    bounds = tuple(_range(r, "plane box") for r in box)
    if len(bounds) != 2:
        raise InputError("plane: box must be ((s0, s1), (t0, t1))")
    return Region("plane", "s t", x0, (u, v), bounds)


def box(lo: Sequence, hi: Sequence) -> Region:
    """The open box ``lo < x < hi`` in the function's own inputs."""
    lo, hi = _vec(lo, "box lo"), _vec(hi, "box hi")
    if len(lo) != len(hi):
        raise InputError("box: lo and hi have different lengths")
    return Region("box", None, None, None, tuple(_range((a, b), "box") for a, b in zip(lo, hi)))


class RegionTable(PieceTable):
    """The piece table of ``f`` restricted to a :class:`Region` (in the region's coordinates).

    Attributes
    ----------
    region : Region
    """

    def __init__(self, records, symbols, convention, *, graph, program, name, region, original, inputs):
        super().__init__(records, symbols, convention, graph=graph, program=program, name=name)
        self.region = region
        self._original = original          # (fn, inputs): the unrestricted program, traced on demand
        self._inputs = inputs
        self._sweep = None

    def _point(self, p):
        pt = super()._point(p)
        if any(not lo < c < hi for c, (lo, hi) in zip(pt, self.region.bounds)):
            raise InputError(f"point {tuple(map(str, pt))} is outside the region {self.region.bounds}")
        return pt

    def input_grad_at(self, p):
        """The associated gradient with respect to the original inputs at region point ``p``."""
        from .lex import local_sweep
        x = self.region.to_input(self._point(p))
        if self.region.names is None:
            return self.grad_at(p)
        sweep, outs, shape, _ = local_sweep(self._original[0], x, self._inputs, (), self.convention)
        return sp.Matrix([[to_sympy(c) for c in row] for row in sweep.gradient(outs)])

    def input_grad(self, stratum):
        """The associated gradient with respect to the original inputs on a stratum."""
        return self.input_grad_at(stratum.record.witness)

    def plot(self, path=None, **options):
        """As :meth:`PieceTable.plot`; the view box defaults to the region."""
        if "box" not in options and self.n <= 2 and options.get("slice") is None:
            b = self.region.bounds
            options["box"] = b[0] if self.n == 1 else b
        return super().plot(path, **options)

    def __repr__(self):
        return (f"<RegionTable {self.name} on a {self.region.kind} ({', '.join(map(str, self.symbols))}): "
                f"{len(self.pieces)} pieces, {len(self.strata)} strata, convention {self.convention.name}>")


def region_table(fn, inputs, region, convention="torch", *, max_strata=None, max_events=None, framework=None):
    """The strata of ``fn`` on ``region`` as a :class:`RegionTable`."""
    from ..api import _framework_code
    if not isinstance(region, Region):
        raise InputError("derive: on= takes mt.segment(a, b), mt.plane(x0, u, v, box=...) or mt.box(lo, hi)")
    name = getattr(fn, "__name__", "f")
    name = "f" if name == "<lambda>" else name
    conv = Convention.get(convention)
    code = _framework_code(fn, inputs, framework)
    spec = InputSpec(inputs)
    if region.names is None:
        if len(region.bounds) != spec.n:
            raise InputError(f"box has {len(region.bounds)} coordinates; the function has {spec.n} inputs")
        program = Program(code, inputs, conv)
    else:
        if len(region.point) != spec.n:
            raise InputError(f"the {region.kind} lies in R^{len(region.point)}; the function has {spec.n} inputs")

        def restricted(*c):
            xs = [apply("affine", list(c), (tuple(d[i] for d in region.directions), region.point[i]))
                  for i in range(spec.n)]
            return code(*spec.arguments(xs))
        restricted.__name__ = name
        program = Program(restricted, region.names, conv)
    start = start_region(program.n, region.constraints())
    with gc_paused():      # as mt.derive: many small acyclic objects, no cycle collection meanwhile
        records = explore(program, max_strata, max_events, start=start)
        return RegionTable(records, program.symbols, conv, graph=program.graph, program=program, name=name,
                           region=region, original=(code, inputs), inputs=inputs)
