"""The star of a point: every stratum whose closure holds ``x0``, as a local piece table.

``mt.derive(f, n, around=x0)``.  Every switching node is evaluated exactly at ``x0``; a test that
is nonzero there keeps its sign near ``x0`` and is fixed without a split; only the tests that
vanish at ``x0`` (the *tied* nodes) are enumerated, and every constraint they add passes through
``x0``.  So the strata of the star are cones at ``x0``, cut to a small box ``|x - x0|_inf < r``
where every fixed sign provably holds, and the cost grows with the ties at ``x0``, not with the
network.

Branch-free code (any size): one exact :class:`~mtsym.local.sweep.Sweep` at ``x0`` classifies
the nodes.  The tied nodes only see the inputs through ``y = B^T (x - x0)``, ``B`` a basis of
the gradients of their inputs with every tied node held fixed (one reverse sweep each), so the
star is enumerated in ``R^r``, ``r`` that rank, by a small program holding the tied nodes alone,
then lifted back to ``R^n``.  Code with Python branches, or products of traced values, is
explored directly with every test decided at ``x0`` (:func:`mtsym.partition.explore`, ``at=``).

Examples
--------
>>> import mtsym as mt
>>> star = mt.derive(lambda x: mt.max(x[0], x[1], 1) + mt.relu(x[0] - 3), 2, around=(1, 1))
>>> len(star.strata), star.radius      # the 7 tie strata of max(x1, x2, 1); relu(x1 - 3) = 0 on |x - x0| < 2
(7, 2)
>>> star.clarke_at((1, 1))
Clarke gradient at (1, 1): a 2-dimensional polytope with 3 vertices (1, 0), (0, 1), (0, 0) (3 limiting gradients)
"""

__all__ = ["LocalTable", "derive_local", "star_table", "Star"]

from fractions import Fraction

from ..conventions import Convention
from ..errors import InputError, LimitError
from ..exact import int_row
from ..graph import Graph
from ..partition import DEFAULT_MAX_STRATA, StratumRecord, _nice_point, _node_cases, explore, locate_path
from ..polyhedra import Polyhedron
from ..primitives.affine import INPUT
from ..table import PieceTable
from ..trace import VAL_CONV, InputSpec, Program
from ..value import apply
from ..arrays import lincomb
from .lex import point_of
from .basis import _PRIME, Basis, ModP
from .sweep import Row, is_rational



class LocalTable(PieceTable):
    """A piece table of ``f`` near a point: the star of ``around``.

    Attributes
    ----------
    around : tuple
        The point ``x0``.
    radius : Fraction or int or None
        The table describes ``f`` on the open box ``|x - x0|_inf < radius`` (``None``: every stratum
        is a cone at ``x0`` and the table holds on all of ``R^n``).  Every stratum's
        description includes that box.
    tied : int
        The number of switching nodes tied at ``x0``.
    """

    def __init__(self, records, symbols, convention, *, graph, program, name, around, radius, tied,
                 sweep=None):
        super().__init__(records, symbols, convention, graph=graph, program=program, name=name)
        self.around, self.radius, self.tied = around, radius, tied
        self._sweep = sweep
        if sweep is not None:
            self._switching = [v for v in range(len(sweep.nodes)) if sweep.nodes[v][0].switching]

    def _point(self, p):
        pt = super()._point(p)
        r = self.radius
        if r is not None and any(abs(a - b) >= r for a, b in zip(pt, self.around)):
            raise InputError(f"point {tuple(map(str, pt))} is outside this local table: it describes f on "
                             f"|x - x0|_inf < {r} around x0 = {tuple(map(str, self.around))}")
        return pt

    def stratum_at(self, p):
        """The stratum holding an exact point of the neighbourhood."""
        pt = self._point(p)
        if self._sweep is None:
            return super().stratum_at(pt)
        sw = self._sweep
        sw.start(pt)
        sw.resolve_all()
        s = self._by_path.get(tuple((v, sw.cases[v]) for v in self._switching))
        if s is None:  # pragma: no cover - the star covers its box
            raise InputError(f"no stratum of the star holds {pt}")
        return s

    def plot(self, path=None, **options):
        """As :meth:`PieceTable.plot`; the view box defaults to the table's neighbourhood."""
        if "box" not in options and options.get("slice") is None and self.radius is not None and self.n <= 2:
            r = self.radius
            box = tuple((c - r, c + r) for c in self.around)
            options["box"] = box[0] if self.n == 1 else box
        return super().plot(path, **options)

    def __repr__(self):
        syms = _short(self.symbols)
        return (f"<LocalTable {self.name}({syms}) around ({_short(self.around)}): {len(self.pieces)} pieces, "
                f"{len(self.strata)} strata, {self.tied} tied nodes, radius {self.radius}, "
                f"convention {self.convention.name}>")


def derive_local(fn, inputs, convention="torch", *, around=None, on=None, max_strata=None, max_events=None,
                 framework=None):
    """``mt.derive(..., around=x0)`` and ``mt.derive(..., on=region)``: see :func:`mtsym.derive`."""
    if around is not None and on is not None:
        raise InputError("derive: give around= (the star of a point) or on= (a region), not both")
    if around is not None:
        return star_table(fn, inputs, around, convention, max_strata=max_strata, max_events=max_events,
                          framework=framework)
    from .regions import region_table
    return region_table(fn, inputs, on, convention, max_strata=max_strata, max_events=max_events,
                        framework=framework)


def star_table(fn, inputs, x0, convention="torch", *, max_strata=None, max_events=None, framework=None):
    """The star of ``x0`` as a :class:`LocalTable` (see the module docstring)."""
    from ..api import _framework_code
    name = getattr(fn, "__name__", "f")
    name = "f" if name == "<lambda>" else name
    conv = Convention.get(convention)
    max_strata = DEFAULT_MAX_STRATA if max_strata is None else max_strata
    graph_only = isinstance(fn, Graph)
    code = fn if graph_only else _framework_code(fn, inputs, framework)
    spec = InputSpec(inputs)
    pt = point_of(x0, spec.n)
    star = Star(code, inputs, pt, conv, max_events=max_events)
    # a traced graph (from mt.trace) is enough; the function, when given, is the exact oracle of verify()
    program = None if graph_only else Program(code, inputs, conv)
    if star.branch_free:
        records, radius = star.enumerate(max_strata)
        return LocalTable(records, spec.symbols, conv, graph=star.graph, program=program, name=name,
                          around=pt, radius=radius, tied=len(star.tied), sweep=star.sweep)
    fixed = []
    try:
        recs = explore(program, max_strata, max_events, at=pt, fixed=fixed)
    except LimitError:
        raise star.too_large(max_strata) from None
    radius = _radius_of_forms(fixed, pt)
    box = _box(pt, radius)
    records = [_shrunk(r, r.constraints, pt, radius, box) for r in recs]
    return LocalTable(records, program.symbols, conv, graph=program.graph, program=program, name=name,
                      around=pt, radius=radius, tied=len(star.tied))


# --------------------------------------------------------------------------- helpers
def _short(items, k=4):
    items = [str(c) for c in items]
    return ", ".join(items) if len(items) <= 2 * k else ", ".join(items[:k]) + f", ... ({len(items)} in all)"


def _pow2_below(q):
    """The largest power of two ``<= q`` (``q > 0`` rational)."""
    q = Fraction(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    p = Fraction(2) ** e
    while p > q:
        p /= 2
    while p * 2 <= q:
        p *= 2
    return p.numerator if p.denominator == 1 else p


def _radius_of_forms(forms, pt):
    """A power of two ``r`` such that every form keeps its sign at ``pt`` on ``|x - pt|_inf < r``."""
    best = None
    for g in forms:
        val = abs(g[0] + sum(c * x for c, x in zip(g[1:], pt) if c))
        l1 = sum(abs(c) for c in g[1:])
        if l1 and (best is None or val / Fraction(l1) < best):
            best = val / Fraction(l1)
    return None if best is None else _pow2_below(best)


def _box(pt, radius):
    """The strict constraints of the open box ``|x - pt|_inf < radius`` (coprime integer rows)."""
    if radius is None:
        return []
    n = len(pt)
    out = []
    zeros = (0,) * n
    for i, c in enumerate(pt):
        for q, sgn in ((Fraction(c) + radius, -1), (Fraction(radius) - c, 1)):   # x_i < c + r, x_i > c - r
            out.append(((q.numerator,) + zeros[:i] + (sgn * q.denominator,) + zeros[i + 1:], 1))
    return out


def _holds(cons, p):
    for f, s in cons:
        v = f[0] + sum(a * b for a, b in zip(f[1:], p) if a and b)
        if (v > 0) - (v < 0) != s:
            return False
    return True


def _nice_local(x, cone, pt, radius):
    """``x`` rounded to the coarsest dyadic grid that keeps it in its cone and in the box (else ``x``)."""
    if radius is None:
        return _nice_point(x, cone)
    for k in range(25):
        d = 1 << k
        cand = tuple(Fraction(round(c * d), d) for c in x)
        if all(abs(a - b) < radius for a, b in zip(cand, pt)) and _holds(cone, cand):
            return tuple(c.numerator if c.denominator == 1 else c for c in cand)
    return x


def _shrunk(rec, cone, pt, radius, box, direction=None):
    """A record of the star: its cone's constraints and the box, a witness close to ``pt``."""
    cons = list(cone) + box
    if direction is None:
        w = rec.poly.witness()
        direction = tuple(a - b for a, b in zip(w, pt))
    m = max((abs(c) for c in direction), default=0)
    if m == 0 or radius is None:
        eps = 1
    else:
        eps = _pow2_below(Fraction(radius) / (2 * m))
    x = tuple(a + eps * c for a, c in zip(pt, direction))
    x = tuple(int(c) if isinstance(c, Fraction) and c.denominator == 1 else c for c in x)
    return StratumRecord(rec.path, cons, rec.forms, rec.vals, rec.output_nodes, rec.shape, poly=None,
                         dim=rec.dim, witness=_nice_local(x, list(cone), pt, radius))


class Star:
    """The stages of a star computation on branch-free code (see the module docstring).

    Attributes
    ----------
    graph, sweep : the graph-only trace and the exact sweep at ``x0``
    tied : list of int, the switching nodes tied at ``x0``
    branch_free : bool
    """

    def __init__(self, fn, inputs, x0, conv, max_events=None):
        from .lex import local_sweep
        self.x0, self.conv = x0, conv
        sweep, outs, shape, program = local_sweep(fn, x0, inputs, (), conv, max_events=max_events)
        self.sweep, self.outputs, self.shape, self.graph = sweep, outs, shape, sweep.graph
        nodes = sweep.nodes
        sweep._values_to(len(nodes))
        self.n = len(x0)
        self.branch_free = not any(p.kind == "branch" for p, *_ in nodes)
        self.smooth_products = any(p.kind == "smooth" for p, *_ in nodes)
        self.switching = [v for v in range(len(nodes)) if nodes[v][0].switching]
        sweep._classify_to(len(nodes))
        self.leaves, self.tied = _Leaves(sweep), []
        for v in self.switching:
            if v not in sweep.kinks:          # strict or a flat tie: one case near x0 (leaves when asked)
                continue
            lv = self.leaves[v]
            if lv is None:
                raise LimitError(f"star of x0: node n{v} ({nodes[v][0].name}, {self.graph.line_of(v)}) can take "
                                 "more than 65,536 tie cases at x0; the star is too large to enumerate. "
                                 "Use mt.lex_grad(f, x0) for an exact Clarke gradient without enumeration.")
            if len(lv) > 1:
                self.tied.append(v)
        self.branch_free = self.branch_free and not self.smooth_products

    # ------------------------------------------------------------ bounds and errors
    def upper_bound(self):
        b = 1
        for v in self.tied:
            b *= len(self.leaves[v])
        return b

    def too_large(self, max_strata, lower=None):
        up = _big(self.upper_bound())
        low = "" if lower is None else f" and at least {_big(lower)}"
        return LimitError(
            f"the star of x0 has more than max_strata={max_strata:,} strata: {len(self.tied)} switching "
            f"node(s) tie at x0, so it has at most {up} strata (the product of their tie cases){low}. "
            "Use mt.lex_grad(f, x0) for an exact Clarke gradient at x0 without enumeration, "
            "mt.is_clarke(f, x0) for the framework's gradient, or pass max_strata=... to derive.")

    # ------------------------------------------------------------ the reduced program
    def _frozen(self, only=None):
        """Per input node of a tied node, and per output: its gradient with the tied nodes held
        fixed, and the coefficients of the tied nodes' outputs in it (one reverse sweep each).
        ``only``: just those nodes."""
        sw = self.sweep
        inputs = sorted((v for v in range(len(sw.nodes)) if sw.nodes[v][0] is INPUT),
                        key=lambda v: sw.nodes[v][2][0])
        targets = inputs + self.tied
        n = self.n
        out = {}
        cut = tuple(self.tied)
        tied_inputs = set(u for t in self.tied for u in sw.nodes[t][1])
        todo = only if only is not None else [u for t in self.tied for u in sw.nodes[t][1]] + list(self.outputs)
        for u in list(dict.fromkeys(todo)):
            if u in out:
                continue
            # the tied nodes' inputs: forward and sparse, shared between nodes; an output: one reverse sweep
            got = sw.sparse_grad(u, self.conv, cut) if u in tied_inputs else None
            if got is not None:
                den, g = got
                nums = [0] * (n + len(cut))
                for i, x in g.items():
                    nums[i] = x
                row = Row(den, nums)
            else:
                row = sw.gradient([u], targets=targets, conv=self.conv, scaled=True)[0]
            if isinstance(row, Row):
                g, kap = Row(row.den, row.nums[:n]), [Fraction(x, row.den) if x else 0 for x in row.nums[n:]]
            else:
                g, kap = row[:n], row[n:]
            out[u] = (g, {t: c for t, c in zip(self.tied, kap) if c != 0})
        return out

    def build_basis(self):
        """The frozen gradients, a basis ``B`` of those of the tied nodes' inputs, and coordinates."""
        if getattr(self, "basis", None) is not None:
            return self.basis
        nodes = self.sweep.nodes
        frozen = getattr(self, "frozen", None) or self._frozen()
        basis = Basis(self.n)
        coords = {}
        for t in self.tied:
            for u in nodes[t][1]:
                if u not in coords:
                    coords[u] = basis.add(frozen[u][0])
        self.frozen, self.basis, self.coords = frozen, basis, coords
        self.r = len(basis.vectors)
        return basis

    def reduce(self):
        """Build (once) and trace the program of the tied nodes in ``y = B^T (x - x0)``
        (``r`` = rank of ``B``)."""
        if getattr(self, "program", None) is not None:
            return self.program
        sw, nodes = self.sweep, self.sweep.nodes
        self.build_basis()
        frozen, coords, r = self.frozen, self.coords, self.r
        vals = sw.vals
        tied, outputs, shape = self.tied, self.outputs, self.shape
        self.red_node = {}       # tied node -> its node in the reduced program
        self.constant_case = {}  # tied nodes whose inputs are constant near x0

        def reduced(y):
            outs = {}
            for t in tied:
                prim, ins, params, pinned = nodes[t]
                args = []
                for u in ins:
                    coefs, items, const = [], [], vals[u]
                    for i, c in coords[u].items():
                        coefs.append(c)
                        items.append(y[i])
                    for t2, k in frozen[u][1].items():
                        coefs.append(k)
                        items.append(outs[t2])
                        const = const - k * vals[t2]
                    args.append(lincomb(coefs, items, const))
                if any(not is_rational(a) for a in args):
                    out = apply(prim.name, args, params, pinned)
                    self.red_node[t] = out.node
                else:
                    self.constant_case[t] = prim.case_of(args, params)
                    out = prim.numeric(args, params)
                outs[t] = out
            res = []
            for o in outputs:
                kap = frozen[o][1]
                res.append(lincomb([kap[t] for t in kap], [outs[t] for t in kap],
                                   -sum((kap[t] * vals[t] for t in kap), 0)))
            return res[0] if shape == () else res
        self.program = Program(reduced, max(r, 1), self.conv)
        locate_path(self.program, (0,) * self.program.n)
        return self.program

    def lower_bound(self, beyond=None):
        """A proven lower bound on the star's size: tied nodes none of whose inputs depends on another
        tied node, with linearly independent input gradients across nodes (mod a prime, which only
        loses independence): their feasible cases multiply.  Stops once the bound exceeds ``beyond``."""
        import numpy as np
        sw, nodes = self.sweep, self.sweep.nodes
        frozen = getattr(self, "frozen", None) or _Frozen(self)
        chosen = ModP(self.n)
        bound = 1
        for t in self.tied:
            ins = list(dict.fromkeys(nodes[t][1]))
            if any(frozen[u][1] for u in ins):
                continue
            local = Basis(self.n)
            co = {u: local.add(frozen[u][0]) for u in ins}
            k = len(local.vectors)
            if k == 0:
                continue
            prim, args, params, _ = nodes[t]
            forms = [(sw.vals[u],) + tuple(co[u].get(i, 0) for i in range(k)) for u in args]
            count = len(_node_cases(None, t, prim, forms, params, Polyhedron.space(k), None, (0,) * k))
            if count < 2:
                continue
            rows = np.array([[c % _PRIME for c in (b.int_row() if isinstance(b, Row) else int_row((0,) + tuple(b))[1:])]
                             for b in local.vectors], dtype=np.int64)
            if chosen.add(rows):
                bound *= count
                if beyond is not None and bound > beyond:
                    break
        return bound

    # ------------------------------------------------------------ enumeration and lifting
    def enumerate(self, max_strata):
        """``(records, radius)`` of the star in ``R^n``."""
        if self.upper_bound() > max_strata:
            low = self.lower_bound(beyond=max_strata ** 2)  # far enough past the limit; cheap on huge stars
            if low > max_strata:
                raise self.too_large(max_strata, low)
        program = self.reduce()
        r_eff = program.n
        try:
            red = explore(program, max_strata, at=(0,) * r_eff)
        except LimitError:
            raise self.too_large(max_strata) from None
        paths = [self._path(rec) for rec in red]
        radius = self._radius(paths)
        box = _box(self.x0, radius)
        Z = self.basis.right_inverse()
        return [self._lift(rec, path, radius, box, Z) for rec, path in zip(red, paths)], radius

    def _path(self, rec):
        red = dict(rec.path)
        case = dict(self.constant_case)
        for t, rn in self.red_node.items():
            case[t] = red[rn]
        sw = self.sweep
        return tuple((v, case[v] if v in case else sw.cases[v]) for v in self.switching)

    def _lift_form(self, f, o):
        """A reduced output form (affine in ``y``) as the output's form in ``x``."""
        x0, B = self.x0, self.basis.vectors
        g, _ = self.frozen[o]
        coef = list(g)
        const = self.sweep.vals[o] + f[0]
        for i, c in enumerate(f[1:1 + len(B)]):
            if c != 0:
                for j, b in enumerate(B[i]):
                    if b:
                        coef[j] = coef[j] + c * b
        const = const - sum((c * x for c, x in zip(coef, x0) if c != 0 and x != 0), 0)
        return (const,) + tuple(coef)

    def _lift(self, rec, path, radius, box, Z):
        x0, B, n = self.x0, self.basis.vectors, self.n
        cone = []
        for h, s in rec.constraints:
            coef = [0] * n
            for i, c in enumerate(h[1:1 + len(B)]):
                if c:
                    for j, b in enumerate(B[i]):
                        if b:
                            coef[j] += c * b
            const = h[0] - sum(c * x for c, x in zip(coef, x0) if c and x)
            cone.append((int_row((const,) + tuple(coef)), s))
        forms = tuple(self._lift_form(f, o) for f, o in zip(rec.forms, self.outputs))
        vals = tuple(self._lift_form(f, o) for f, o in zip(rec.vals, self.outputs))
        r_eff = max(len(B), 1)
        dim = rec.dim + n - r_eff
        wy = rec.poly.witness()
        direction = [0] * n
        for i in range(len(B)):
            zi = sum(Fraction(Z[i][k]) * wy[k] for k in range(len(B)) if wy[k])
            if zi:
                for j, b in enumerate(B[i]):
                    if b:
                        direction[j] += zi * b
        lifted = StratumRecord(path, [], forms, vals, tuple(self.outputs), self.shape, poly=None, dim=dim,
                               witness=x0)
        return _shrunk(lifted, cone, x0, radius, box, direction=tuple(direction))

    def _radius(self, paths):
        """A power of two ``r``: on ``|x - x0|_inf < r`` every test that is nonzero at ``x0`` keeps its
        sign (a bound ``L_v`` on the l1 norm of each node's gradient over the star's cases, in
        topological order), or ``None`` when no test is nonzero at ``x0``."""
        sw, nodes = self.sweep, self.sweep.nodes
        cases = {v: set() for v in self.switching}
        for p in paths:
            for v, c in p:
                cases[v].add(c if not isinstance(c, list) else tuple(c))
        top = max(self.switching, default=-1) + 1
        L = []
        for v in range(top):
            prim, ins, params, pinned = nodes[v]
            if prim is INPUT:
                L.append(1)
            elif not ins:
                L.append(0)
            elif prim.switching:
                best = 0
                for c in cases[v]:
                    w, _ = prim.linear(c, params, VAL_CONV)
                    best = max(best, sum(abs(a) * L[u] for a, u in zip(w, ins)))
                L.append(best)
            else:
                w, _ = prim.linear(None, params, VAL_CONV)
                L.append(_abs_dot(sw, v, w, [L[u] for u in ins]))
        best = None
        for v in self.switching:
            ins = nodes[v][1]
            for _, tests in self.leaves[v]:
                for g, _s in tests:
                    if g[0] != 0:
                        lip = sum(abs(c) * L[u] for c, u in zip(g[1:], ins) if c)
                        if lip and (best is None or abs(g[0]) / Fraction(lip) < best):
                            best = abs(g[0]) / Fraction(lip)
        return None if best is None else _pow2_below(best)


class _Frozen(dict):
    """:meth:`Star._frozen` entries computed when first asked."""

    def __init__(self, star):
        super().__init__()
        self.star = star

    def __missing__(self, u):
        got = self[u] = self.star._frozen(only=[u])[u]
        return got


class _Leaves(dict):
    """``{switching node: Sweep.tied(node)}``, computed when first asked."""

    def __init__(self, sweep):
        super().__init__()
        self.sweep = sweep

    def __missing__(self, v):
        lv = self[v] = self.sweep.tied(v)
        return lv


def _abs_dot(sw, v, w, xs):
    """``sum(|w_i| * xs_i)`` for nonnegative rationals ``xs`` (integers for wide nodes)."""
    if len(xs) > 8:
        iw = sw._int_weights(v, w)
        if iw is not None:
            from .sweep import _scaled
            Lx, X = _scaled(xs)
            return Fraction(sum(abs(a) * b for a, b in zip(iw[1], X)), iw[0] * Lx)
    return sum((abs(a) * x for a, x in zip(w, xs) if a and x), 0)


def _big(b):
    """A count for a message: with thousands separators, or its order of magnitude when huge."""
    return f"{b:,}" if b < 10 ** 15 else f"about 10^{len(str(b)) - 1}"
