"""Exact sweeps over a traced graph at one point: values, directional derivatives, lexicographic
cases and reverse gradients, with rational numbers and no affine forms.

Exploration (:mod:`mtsym.partition`) carries an affine form in all ``n`` inputs for every node;
on a 784-input network that is ``n`` times the work of one forward pass.  A local question needs
much less: the exact value of every node at ``x0``, the derivatives along a few directions, and
one reverse sweep.  :class:`Sweep` computes them node by node on the graph, each primitive through
its own rules (``numeric``, ``case_of``, ``linear``); wide linear nodes (``W @ x``) are summed in
integer arithmetic over a common denominator.

The *lexicographic case* of a switching node at ``x0`` along directions ``m1, m2, ...`` is its
case at ``x0 + e m1 + e^2 m2 + ...`` for every small ``e > 0``: the primitive's own ``case_of``
run on :class:`Lex` numbers, tuples ``(value, derivative along m1, along m2, ...)`` compared
lexicographically (Nesterov's lexicographic differentiation; the LD-derivatives of Khan and
Barton).  A derivative along ``m_j`` is computed only when a comparison needs it.

Examples
--------
>>> import mtsym as mt
>>> from mtsym.conventions import Convention
>>> g = mt.trace(lambda x: mt.relu(x[0] - x[1]) + mt.max(x[0], 0), 2)
>>> sw = Sweep(g, Convention("torch"))
>>> sw.start((0, 0), [(1, 0), (0, 1)])
>>> sw.resolve_all()
>>> sw.gradient(g.outputs[0])
[[2, -1]]
"""

__all__ = ["Sweep", "Row", "Lex", "SparseLex", "leaves", "is_rational"]

import heapq
import math
import weakref
from fractions import Fraction
from functools import reduce
from operator import mul

from ..errors import NonAffineError
from ..flat import classify, drive
from ..partition import ask
from ..primitives import PRIMITIVES, Choice, Restrict
from ..primitives.affine import INPUT
from ..trace import VAL_CONV

_WIDE = 8            # linear nodes with more inputs than this are summed in integers
_BY_GRADIENT = 2     # a tie still unresolved after this many directions is resolved by gradients


def is_rational(v):
    return isinstance(v, (int, Fraction))


class _NeedMore(Exception):
    """Two lexicographic numbers agree on every entry computed so far."""


class _Ordered:
    """The six comparisons from ``_cmp`` (-1, 0 or 1)."""

    __slots__ = ()

    def __gt__(self, o):
        return self._cmp(o) > 0

    def __lt__(self, o):
        return self._cmp(o) < 0

    def __ge__(self, o):
        return self._cmp(o) >= 0

    def __le__(self, o):
        return self._cmp(o) <= 0

    def __eq__(self, o):
        return self._cmp(o) == 0

    def __ne__(self, o):
        return self._cmp(o) != 0

    __hash__ = None


class Lex(_Ordered):
    """A number ``v[0] + e v[1] + e^2 v[2] + ...`` for an infinitesimal ``e > 0``.

    ``full`` says that every entry is known (the rest are zero); comparing two
    numbers that agree on the known entries of a number that is not full raises
    :class:`_NeedMore`, and the caller computes one more derivative.
    """

    __slots__ = ("v", "full")

    def __init__(self, v, full):
        self.v, self.full = v, full

    def _other(self, o):
        if isinstance(o, Lex):
            return o.v, o.full
        return (o,) + (0,) * (len(self.v) - 1), True

    def _cmp(self, o):
        if o is self:                        # a number equals itself, however few entries are known
            return 0
        ov, ofull = self._other(o)
        for a, b in zip(self.v, ov):
            if a != b:
                return 1 if a > b else -1
        if not (self.full and ofull):
            raise _NeedMore
        return 0

    def __sub__(self, o):
        ov, ofull = self._other(o)
        return Lex(tuple(a - b for a, b in zip(self.v, ov)), self.full and ofull)

    def __rsub__(self, o):
        return Lex(tuple(-a for a in self.v), self.full) + o

    def __add__(self, o):
        ov, ofull = self._other(o)
        return Lex(tuple(a + b for a, b in zip(self.v, ov)), self.full and ofull)

    __radd__ = __add__

    def __neg__(self):
        return Lex(tuple(-a for a in self.v), self.full)

    def __mul__(self, c):
        return Lex(tuple(c * a for a in self.v), self.full)

    __rmul__ = __mul__

    def __repr__(self):
        return f"Lex{self.v}{'' if self.full else '+...'}"


class SparseLex(_Ordered):
    """A :class:`Lex` number with every entry known, stored sparsely: ``value`` and the entries
    ``1, 2, ...`` as ``{index: numerator}`` over one denominator (most derivatives along the axes
    of an image are 0).  Supports what a primitive's ``case_of`` does: compare, add, subtract,
    negate, scale by a rational."""

    __slots__ = ("val", "den", "d")

    def __init__(self, val, den, d):
        self.val, self.den, self.d = val, den, d

    def _other(self, o):
        if isinstance(o, SparseLex):
            return o.val, o.den, o.d
        return o, 1, {}

    def _cmp(self, o):
        ov, oden, od = self._other(o)
        if self.val != ov:
            return 1 if self.val > ov else -1
        d, den = self.d, self.den
        for j in sorted(d.keys() | od.keys()):
            a, b = d.get(j, 0) * oden, od.get(j, 0) * den
            if a != b:
                return 1 if a > b else -1
        return 0

    def __add__(self, o):
        ov, oden, od = self._other(o)
        L = _lcm(self.den, oden)
        a, b = L // self.den, L // oden
        d = {j: x * a for j, x in self.d.items()}
        for j, x in od.items():
            d[j] = d.get(j, 0) + x * b
        return SparseLex(self.val + ov, L, {j: x for j, x in d.items() if x})

    __radd__ = __add__

    def __neg__(self):
        return SparseLex(-self.val, self.den, {j: -x for j, x in self.d.items()})

    def __sub__(self, o):
        return self + (-o)

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, c):
        c = Fraction(c)
        if c == 0:
            return SparseLex(0, 1, {})
        return SparseLex(self.val * c, self.den * c.denominator, {j: x * c.numerator for j, x in self.d.items()})

    __rmul__ = __mul__

    def __repr__(self):
        return f"SparseLex({self.val}; {self.d} / {self.den})"


def leaves(prim, forms, params, signs_of, cap=None):
    """The cases a switching node can take, driving its ``tests`` on ``forms``.

    ``signs_of(form)`` gives the signs a test may take (one sign when it is
    decided, several when it is free).  Returns a list of ``(case, tests)``,
    ``tests`` the ``(form, sign)`` answered on the way; at most ``cap`` leaves
    (``None`` when there are more).
    """
    out = []
    todo = [((), ())]
    while todo:
        answers, asked = todo.pop()
        done, q = ask(prim, forms, params, answers)
        if done:
            out.append((q, list(asked)))
            if cap is not None and len(out) > cap:
                return None
            continue
        if isinstance(q, Choice):
            todo.extend((answers + (j,), asked) for j in reversed(range(q.m)))
            continue
        g, allowed = (q.form, q.signs) if isinstance(q, Restrict) else (q, (1, 0, -1))
        for s in reversed(allowed):
            if s in signs_of(g):
                todo.append((answers + (s,), asked + ((g, s),)))
    return out


def _one_leaf(prim, forms, params, signs_of):
    """The one leaf of :func:`leaves` when every sign test met has one possible sign (a node strict
    or flat at the point); ``None`` as soon as a test could take several signs."""
    got = drive(prim, forms, params, lambda g: (lambda ss: ss[0] if len(ss) == 1 else None)(signs_of(g)))
    return None if got is None else (got[0], [(g, s) for g, s, _ in got[2]])


def _lcm(a, b):
    return a // math.gcd(a, b) * b


def _scaled(values):
    """``(L, ints)`` with ``values[i] == ints[i] / L`` (rationals)."""
    L = reduce(_lcm, (v.denominator for v in values if type(v) is Fraction), 1)
    if L == 1:
        return 1, [int(v) for v in values]
    return L, [v.numerator * (L // v.denominator) if type(v) is Fraction else v * L for v in values]


def _exact(num, den):
    q = Fraction(num, den)
    return q.numerator if q.denominator == 1 else q


class Sweep:
    """Exact sweeps over a traced graph (see the module docstring).

    Use: :meth:`start` at a point with directions, :meth:`case` (or
    :meth:`resolve_all`) for the lexicographic case of switching nodes,
    :meth:`derivative` for the derivative of a node along one direction,
    :meth:`gradient` for the reverse sweep under a convention.  The graph may
    grow between calls (a program with Python branches is traced path by path).
    """

    def __init__(self, graph, conv):
        self.graph, self.conv = graph, conv
        # integer weights of wide nodes and the node rows, kept with the graph: every sweep of it reuses them
        self._weights = graph.graph.setdefault("_int_weights", {})
        self.nodes, self._product_fed, self._interned = _rows_of(graph)
        self.extend()

    def extend(self):
        """Take in the nodes added to the graph since the last call."""
        g = self.graph
        for v in range(len(self.nodes), g.number_of_nodes()):
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            ins = self._interned.setdefault(d["inputs"], d["inputs"])  # equal input tuples: one object
            fed = self._product_fed and any(u in self._product_fed for u in ins)
            if prim.kind == "switching" and fed:      # raised before the row is kept: every sweep raises it
                raise NonAffineError(prim.name, "its switching quantity is a product of traced values "
                                     "(not affine in the inputs); pieces would not be polyhedral",
                                     line=g.line_of(v))
            self.nodes.append((prim, ins, d["params"], d["conv"]))
            if prim.kind == "smooth" or fed:
                self._product_fed.add(v)
        self._has_products = bool(self._product_fed)

    # ------------------------------------------------------------------ setup
    def start(self, point, directions=()):
        """Sweep at the exact ``point`` along ``directions`` (a list of exact vectors)."""
        self.point = tuple(point)
        self.directions = [tuple(d) for d in directions]
        self._sparse = [[(i, c) for i, c in enumerate(d) if c != 0] for d in self.directions]
        # directions like the axes (after a few others): a forward pass along one of them says little,
        # so a tie still there after the others is resolved by gradients
        lead = next((j for j in range(len(self._sparse) - 1, -1, -1) if len(self._sparse[j]) > 1), -1) + 1
        self._lead = lead
        self._by_gradient = lead + 1 if len(self.directions) > _BY_GRADIENT and lead < _BY_GRADIENT \
            else _BY_GRADIENT + 1
        self._grads = {}          # node -> its exact gradient near the point (see sparse_grad)
        self.vals = []
        self.cases = {}
        self.ders = [[] for _ in self.directions]
        self._done = 0            # switching decisions made for nodes below this index
        self.zero, self.flat = set(), set()   # nodes identically 0 near the point; flat ties (mtsym.flat)
        self.kinks = set()                    # switching nodes with a test 0 at the point that is no flat tie
        self._classified = 0

    def _classify_to(self, stop):
        """Find the nodes ``< stop`` that are identically 0 near the point, and the flat ties
        (:func:`mtsym.flat.classify`), once per point."""
        if self._classified >= stop:
            return
        self._values_to(stop)
        nodes, vals, zero, flat = self.nodes, self.vals, self.zero, self.flat
        for v in range(self._classified, stop):
            prim, ins, params, _ = nodes[v]
            is_zero, tie = classify(prim, ins, params, vals, v, zero)
            if is_zero:
                zero.add(v)
            if tie == "flat":
                flat.add(v)
            elif tie == "kink":
                self.kinks.add(v)
        self._classified = stop

    def _linear(self, v, case, conv):
        prim, ins, params, pinned = self.nodes[v]
        return prim.linear(case, params, pinned or conv)

    def _int_weights(self, v, w):
        """``(D, ints)`` with ``w[i] == ints[i] / D``, cached per node (``None`` if not rational).

        The cache holds the weights it was computed from: a switching node's weights depend on its
        case (a max-pool window's winner), which changes from point to point and with the convention.
        """
        hit = self._weights.get(v)
        if hit is not None and (hit[0] is w or hit[0] == w):
            return hit[1]
        r = _scaled(w) if all(is_rational(c) for c in w) else None
        self._weights[v] = (tuple(w), r)
        return r

    def _combine(self, v, w, xs, cache):
        """``sum(w_i * xs_i)`` exactly; integer arithmetic for wide nodes."""
        if len(xs) > _WIDE:
            iw = self._int_weights(v, w)
            if iw is not None:
                ins = self.nodes[v][1]
                hit = cache.get(id(ins))
                if hit is None or hit[0] is not ins:    # the inputs of a layer, scaled once
                    ok = all(type(c) is int or type(c) is Fraction for c in xs)
                    hit = cache[id(ins)] = (ins, _scaled(xs) if ok else None)
                if hit[1] is not None:
                    L, X = hit[1]
                    return _exact(sum(map(mul, iw[1], X)), iw[0] * L)
        total = 0
        for c, x in zip(w, xs):
            if c != 0 and x != 0:
                total = total + c * x
        return total

    def _values_to(self, stop):
        """Exact values of nodes ``< stop``."""
        vals, cache = self.vals, {}
        for v in range(len(vals), stop):
            prim, ins, params, _ = self.nodes[v]
            if prim is INPUT:
                vals.append(self.point[params[0]])
            elif prim.kind in ("const", "affine"):
                w, b = prim.linear(None, params, VAL_CONV)
                vals.append(self._combine(v, w, [vals[u] for u in ins], cache) + b)
            else:
                vals.append(prim.numeric([vals[u] for u in ins], params))

    def value(self, v):
        self._values_to(v + 1)
        return self.vals[v]

    def _der_to(self, j, stop):
        """The derivative along direction ``j`` of nodes ``< stop`` (their cases must be known)."""
        der, vals, cache = self.ders[j], self.vals, {}
        self._classify_to(stop)
        d, zero = self.directions[j], self.zero
        for v in range(len(der), stop):
            prim, ins, params, _ = self.nodes[v]
            if v in zero:                    # identically 0 near the point
                der.append(0)
            elif prim is INPUT:
                der.append(d[params[0]])
            elif prim.kind == "branch":      # a Python comparison: no data flows out of it
                der.append(0)
            elif prim.switching:
                w, _ = prim.linear(self.case(v), params, VAL_CONV)
                der.append(self._combine(v, w, [der[u] for u in ins], cache))
            elif prim.kind == "smooth":      # a product of traced values: its partials at the point
                w = prim.partials([vals[u] for u in ins], params)
                der.append(self._combine(v, w, [der[u] for u in ins], cache))
            else:
                w, _ = prim.linear(None, params, VAL_CONV)
                der.append(self._combine(v, w, [der[u] for u in ins], cache))

    def derivative(self, v, j=0):
        """The exact derivative of node ``v`` along direction ``j``."""
        self._der_to(j, v + 1)
        return self.ders[j][v]

    # ------------------------------------------------------------------ cases
    def case(self, v):
        """The lexicographic case of switching node ``v`` (every switching node before it is decided)."""
        c = self.cases.get(v, self)
        if c is not self:
            return c
        for u in range(self._done, v):
            if self.nodes[u][0].switching and u not in self.cases:
                self._decide(u)
        return self._decide(v)

    def _decide(self, v):
        prim, ins, params, _ = self.nodes[v]
        self._classify_to(v + 1)
        if v in self.flat:                   # a flat tie: its case at the point holds near it
            c = self.cases[v] = prim.case_of([self.vals[u] for u in ins], params)
            if v == self._done:
                self._done = v + 1
            return c
        zero = self.zero
        k = len(self.directions)
        K = 0
        while True:
            if 0 < K < k and K >= self._by_gradient:
                # a tie along several directions: every derivative at once, from each input's exact gradient
                ders = {u: self._all_derivatives(u) for u in set(ins) if u not in zero}
                xs = [0 if u in zero else ders[u] for u in ins]
                c = prim.case_of(xs, params)
                break
            for j in range(K):
                self._der_to(j, v)
            xs = [0 if u in zero else Lex((self.vals[u],) + tuple(self.ders[j][u] for j in range(K)), K == k)
                  for u in ins]
            try:
                c = prim.case_of(xs, params)
                break
            except _NeedMore:
                K += 1
        self.cases[v] = c
        if v == self._done:
            self._done = v + 1
        return c

    def _inputs(self):
        """``{input node: coordinate}``."""
        got = getattr(self, "_input_index", None)
        if got is None or got[0] != len(self.nodes):
            nodes = self.nodes
            got = self._input_index = (len(nodes), {v: nodes[v][2][0] for v in range(len(nodes))
                                                    if nodes[v][0] is INPUT})
        return got[1]

    def _all_derivatives(self, u):
        """Node ``u`` as a :class:`SparseLex`: its value and derivatives along every direction, from
        its exact gradient."""
        prim, _, params, _ = self.nodes[u]
        got = self.sparse_grad(u)
        if got is None:                      # weights that are not rational: one reverse sweep
            g = self.gradient([u], conv=VAL_CONV)[0]
            L, X = _scaled([sum((g[i] * c for i, c in sp if g[i] != 0), 0) for sp in self._sparse])
            return SparseLex(self.vals[u], L, {j: x for j, x in enumerate(X) if x})
        den, g = got
        axes = self._axes()
        if axes is not None:                 # each direction is c e_i: the derivative is c g_i
            out = {}
            for j in range(self._lead):      # a few other directions first
                x = sum(g[i] * c for i, c in self._sparse[j] if i in g)
                if x:
                    out[j] = x
            for i, x in g.items():
                for j, c in axes.get(i, ()):
                    out[j] = x * c
            if self._axes_int and all(type(x) is int for x in out.values()):
                return SparseLex(self.vals[u], den, out)
            L, X = _scaled(list(out.values()))
            return SparseLex(self.vals[u], den * L, dict(zip(out, X)))
        ders = [sum(g[i] * c for i, c in sp if i in g) for sp in self._sparse]
        L, X = _scaled(ders)
        return SparseLex(self.vals[u], den * L, {j: x for j, x in enumerate(X) if x})

    def _axes(self):
        """``{coordinate i: [(direction j, c)]}`` when every direction after the first ``_lead`` is
        ``c e_i`` (else ``None``)."""
        if self._by_gradient > _BY_GRADIENT:
            return None
        got = getattr(self, "_axes_map", None)
        if got is None or got[0] is not self.directions:
            m = {}
            for j, sp in enumerate(self._sparse[self._lead:], self._lead):
                for i, c in sp:
                    m.setdefault(i, []).append((j, c))
            got = self._axes_map = (self.directions, m)
            self._axes_int = all(type(c) is int for js in m.values() for _, c in js)
        return got[1]

    def sparse_grad(self, u, conv=None, cut=None):
        """The exact gradient of node ``u`` along the decided cases, as ``(den, {coordinate: numerator})``.

        Forward and sparse, kept per node for the point: the gradients of a layer are built from those
        of the layer below, so ties in many windows share the work (a reverse sweep per tied input
        would not).  Nodes identically 0 near the point have gradient 0.  ``conv``: the tie rule of
        the local derivatives (default: none, the lexicographic cases' own weights).  ``cut``: a tuple
        of nodes held as variables of their own, coordinates ``n, n + 1, ...`` after the ``n``
        inputs.  ``None`` when a weight on the way is not rational.
        """
        memo = self._grads.setdefault((id(conv), cut), {})
        if u in memo:
            return memo[u]
        nodes, zero = self.nodes, self.zero
        self._classify_to(u + 1)
        where = {} if cut is None else {t: len(self.point) + i for i, t in enumerate(cut)}
        stack = [u]
        while stack:
            v = stack[-1]
            if v in memo:
                stack.pop()
                continue
            prim, ins, params, pinned = nodes[v]
            if v in where:
                memo[v] = (1, {where[v]: 1})
                continue
            if prim is INPUT:
                memo[v] = (1, {params[0]: 1})
                continue
            if v in zero or not ins or prim.kind == "branch":
                memo[v] = (1, {})
                continue
            todo = [w for w in ins if w not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            memo[v] = self._grad_node(memo, v, prim, ins, params, VAL_CONV if conv is None else pinned or conv)
        return memo[u]

    def _grad_node(self, memo, v, prim, ins, params, conv):
        if prim.kind == "smooth":
            w = prim.partials([self.vals[u] for u in ins], params)
        else:
            w, _ = prim.linear(self.cases[v] if prim.switching else None, params, conv)
        if len(ins) > _WIDE:
            iw = self._int_weights(v, w)
        else:
            iw = _scaled(w) if all(is_rational(c) for c in w) else None
        if iw is None:
            return None
        D, ints = iw
        used = []
        for c, u in zip(ints, ins):
            if c:
                gu = memo[u]
                if gu is None:
                    return None
                if gu[1]:
                    used.append((c, gu))
        if not used:
            return 1, {}
        L = reduce(_lcm, {d for _, (d, _) in used}, 1)
        acc = {}
        get = acc.get
        for c, (d, g) in used:
            f = c * (L // d)
            for i, x in g.items():
                acc[i] = get(i, 0) + f * x
        return D * L, {i: x for i, x in acc.items() if x}

    def resolve_all(self, upto=None):
        """Decide every switching node (below ``upto``)."""
        stop = len(self.nodes) if upto is None else upto
        for v in range(stop):
            if self.nodes[v][0].switching and v not in self.cases:
                self._decide(v)

    def tied(self, v):
        """Whether some test of switching node ``v`` vanishes at the point with a choice left: the
        number of cases it can take near the point, and the tests with their values there.  A test
        that is identically 0 near the point (a flat tie, :mod:`mtsym.flat`) takes sign 0 only.

        Returns ``(cases, tests)``: ``cases`` the list of ``(case, answered tests)`` (at most
        ``cap`` = 65,536; ``None`` beyond); forms here are ``(value, c_1..c_k)``, the value of the
        test at the point and its coefficients on the node's ``k`` inputs.
        """
        prim, ins, params, _ = self.nodes[v]
        self._classify_to(v + 1)
        k = len(ins)
        forms = [(self.vals[u],) + tuple(int(i == p) for i in range(k)) for p, u in enumerate(ins)]
        zero = self.zero

        def varies(g):
            """Whether a test that is 0 at the point is not identically 0 near it."""
            per = {}
            for c, u in zip(g[1:], ins):
                if c and u not in zero:
                    per[u] = per.get(u, 0) + c
            return any(per.values())

        def signs(g):
            if g[0] != 0:
                return (1,) if g[0] > 0 else (-1,)
            return (1, 0, -1) if varies(g) else (0,)
        one = _one_leaf(prim, forms, params, signs)
        return [one] if one is not None else leaves(prim, forms, params, signs, cap=1 << 16)

    # ------------------------------------------------------------------ reverse
    def gradient(self, outputs, cases=None, conv=None, targets=None, scaled=False):
        """Rows of the Jacobian of ``outputs`` by one reverse sweep per output.

        Each node's local derivative is its primitive's ``linear(case, params, conv)`` (the
        node's own convention when it pins one); ``cases`` defaults to the lexicographic cases.
        ``targets`` (node ids) are where the adjoint is read (default: the input nodes, in input
        order).  Entries are exact numbers (sympy for a parametric convention); ``scaled=True``
        gives each rational row as a :class:`Row` (integers over one denominator).
        """
        conv = self.conv if conv is None else conv
        # nodes identically 0 near the point pass no adjoint on (along cases that hold near it)
        zero = frozenset()
        if cases is None:
            self._classify_to(len(self.nodes))
            zero = self.zero
        cases = self.cases if cases is None else cases
        nodes = self.nodes
        if targets is None:
            n = len(self.point)
            where = self._inputs()
        else:
            n = len(targets)
            where = {v: i for i, v in enumerate(targets)}
        if self._has_products:
            self._values_to(len(nodes))
        rows = []
        for out in outputs:
            adj = {out: 1}
            heap = [-out]          # the nodes reached so far, largest first (reverse topological order)
            grad = [0] * n
            pend = None            # (ins, den, nums): integer adjoints of a run of wide nodes
            gint = None            # (den, nums over the row): integer adjoints that reached the row
            while heap or pend is not None:
                v = -heap[0] if heap else None
                if pend is not None and (v is None or nodes[v][1] is not pend[0]):
                    ins = pend[0]
                    if all(u in where and (targets is not None or nodes[u][0] is INPUT) for u in ins):
                        gint = _into_row(gint, pend, [where[u] for u in ins], n)
                    else:
                        for u in _flush(adj, pend):
                            heapq.heappush(heap, -u)
                    pend = None
                    continue
                heapq.heappop(heap)
                prim, ins, params, pinned = nodes[v]
                a = adj.pop(v, 0)
                if v in where:
                    grad[where[v]] = grad[where[v]] + a
                    if targets is not None:
                        continue
                if (is_rational(a) and a == 0) or prim is INPUT or not ins or v in zero:
                    continue
                if prim.kind == "branch":
                    continue
                if prim.kind == "smooth":
                    w = prim.partials([self.vals[u] for u in ins], params)
                else:
                    w, _ = prim.linear(cases.get(v) if prim.switching else None, params, pinned or conv)
                if len(ins) > _WIDE and is_rational(a):
                    iw = self._int_weights(v, w)
                    if iw is not None:
                        num, den = (a.numerator, a.denominator) if type(a) is Fraction else (a, 1)
                        den *= iw[0]
                        pend = (ins, den, [num * c for c in iw[1]]) if pend is None else _merge(pend, num, den, iw[1])
                        continue
                for u, c in zip(ins, w):
                    if not (is_rational(c) and c == 0):
                        _add(adj, heap, u, a * c)
            if scaled and all(is_rational(g) for g in grad if g):
                rows.append(Row.of(grad, gint))
            else:
                if gint is not None:
                    grad = [g + Fraction(x, gint[0]) if x else g for g, x in zip(grad, gint[1])]
                rows.append([_tidy(g) for g in grad])
        return rows


#: per graph (by identity, dropped with the graph): the node rows every sweep of it shares; kept
#: outside the graph, which must stay picklable (rows hold primitives, whose rules are functions)
_ROWS = {}


def _rows_of(graph):
    got = _ROWS.get(id(graph))
    if got is None:
        got = _ROWS[id(graph)] = ([], set(), {})
        weakref.finalize(graph, _ROWS.pop, id(graph), None)
    return got


class Row:
    """An exact rational vector stored as integers over one denominator (a sequence of its values)."""

    __slots__ = ("den", "nums", "_vals")

    def __init__(self, den, nums):
        self.den, self.nums, self._vals = den, nums, None

    @classmethod
    def of(cls, values, extra=None):
        """``values`` (rationals) plus ``extra`` = ``(den, nums)`` (or ``None``)."""
        L, X = _scaled(values)
        if extra is not None:
            d, nums = extra
            M = _lcm(L, d)
            a, b = M // L, M // d
            X = [x * a + y * b for x, y in zip(X, nums)]
            L = M
        return cls(L, X)

    def values(self):
        if self._vals is None:
            d = self.den
            self._vals = tuple(_exact(x, d) if x else 0 for x in self.nums)
        return self._vals

    def int_row(self):
        """The direction as coprime integers."""
        g = reduce(math.gcd, self.nums, 0)
        return self.nums if g <= 1 else [x // g for x in self.nums]

    def __iter__(self):
        return iter(self.values())

    def __len__(self):
        return len(self.nums)

    def __getitem__(self, i):
        return self.values()[i]

    def __bool__(self):
        return any(self.nums)


def _into_row(gint, pend, pos, n):
    ins, den, acc = pend
    if gint is None:
        gint = (den, [0] * n)
    d0, nums = gint
    if d0 != den:
        L = _lcm(d0, den)
        s0, s1 = L // d0, L // den
        nums = [x * s0 for x in nums]
        acc = [x * s1 for x in acc]
        d0 = L
    for p, x in zip(pos, acc):
        if x:
            nums[p] += x
    return d0, nums


def _add(adj, heap, u, x):
    if u in adj:
        adj[u] = adj[u] + x
    else:
        adj[u] = x
        heapq.heappush(heap, -u)


def _merge(pend, num, den, ints):
    ins, d0, acc = pend
    if d0 == den:
        return ins, d0, [x + num * c for x, c in zip(acc, ints)]
    L = _lcm(d0, den)
    s0, s1 = L // d0, (L // den) * num
    return ins, L, [x * s0 + s1 * c for x, c in zip(acc, ints)]


def _flush(adj, pend):
    """Add the pending integer adjoints; returns the nodes reached for the first time."""
    ins, den, acc = pend
    new = []
    for u, x in zip(ins, acc):
        if x:
            if u in adj:
                adj[u] = adj[u] + Fraction(x, den)
            else:
                adj[u] = Fraction(x, den)
                new.append(u)
    return new


def _tidy(v):
    if type(v) is Fraction and v.denominator == 1:
        return v.numerator
    return v
