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

__all__ = ["Sweep", "Row", "Lex", "leaves", "is_rational"]

import heapq
import math
from fractions import Fraction
from functools import reduce
from operator import mul

from ..errors import NonAffineError
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


class Lex:
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
        ov, ofull = self._other(o)
        for a, b in zip(self.v, ov):
            if a != b:
                return 1 if a > b else -1
        if not (self.full and ofull):
            raise _NeedMore
        return 0

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
        self.nodes = []
        # integer weights of wide nodes, kept with the graph: every sweep of it reuses them
        self._weights = graph.graph.setdefault("_int_weights", {})
        self._product_fed = set()
        self._interned = {}
        self.extend()

    def extend(self):
        """Take in the nodes added to the graph since the last call."""
        g = self.graph
        for v in range(len(self.nodes), g.number_of_nodes()):
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            ins = self._interned.setdefault(d["inputs"], d["inputs"])  # equal input tuples: one object
            self.nodes.append((prim, ins, d["params"], d["conv"]))
            if prim.kind == "switching" and any(u in self._product_fed for u in ins):
                raise NonAffineError(prim.name, "its switching quantity is a product of traced values "
                                     "(not affine in the inputs); pieces would not be polyhedral",
                                     line=g.line_of(v))
            if prim.kind == "smooth" or any(u in self._product_fed for u in ins):
                self._product_fed.add(v)
        self._has_products = bool(self._product_fed)

    # ------------------------------------------------------------------ setup
    def start(self, point, directions=()):
        """Sweep at the exact ``point`` along ``directions`` (a list of exact vectors)."""
        self.point = tuple(point)
        self.directions = [tuple(d) for d in directions]
        self._sparse = [[(i, c) for i, c in enumerate(d) if c != 0] for d in self.directions]
        self.vals = []
        self.cases = {}
        self.ders = [[] for _ in self.directions]
        self._done = 0            # switching decisions made for nodes below this index

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
        self._values_to(stop)
        d = self.directions[j]
        for v in range(len(der), stop):
            prim, ins, params, _ = self.nodes[v]
            if prim is INPUT:
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
        self._values_to(v)
        k = len(self.directions)
        K = 0
        while True:
            if _BY_GRADIENT < K < k:
                # a tie along several directions: every derivative at once, from one reverse sweep per input
                ders = {u: self._all_derivatives(u) for u in set(ins)}
                xs = [Lex((self.vals[u],) + ders[u], True) for u in ins]
                c = prim.case_of(xs, params)
                break
            for j in range(K):
                self._der_to(j, v)
            xs = [Lex((self.vals[u],) + tuple(self.ders[j][u] for j in range(K)), K == k) for u in ins]
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
        """The derivatives of node ``u`` along every direction, from its gradient."""
        prim, _, params, _ = self.nodes[u]
        if prim is INPUT:
            return tuple(d[params[0]] for d in self.directions)
        g = self.gradient([u], conv=VAL_CONV)[0]
        return tuple(sum((g[i] * c for i, c in sp if g[i] != 0), 0) for sp in self._sparse)

    def resolve_all(self, upto=None):
        """Decide every switching node (below ``upto``)."""
        stop = len(self.nodes) if upto is None else upto
        for v in range(stop):
            if self.nodes[v][0].switching and v not in self.cases:
                self._decide(v)

    def tied(self, v):
        """Whether some test of switching node ``v`` vanishes at the point with a choice left: the
        number of cases it can take near the point, and the tests with their values there.

        Returns ``(cases, tests)``: ``cases`` the list of ``(case, answered tests)`` (at most
        ``cap`` = 65,536; ``None`` beyond); forms here are ``(value, c_1..c_k)``, the value of the
        test at the point and its coefficients on the node's ``k`` inputs.
        """
        prim, ins, params, _ = self.nodes[v]
        self._values_to(v)
        k = len(ins)
        forms = [(self.vals[u],) + tuple(int(i == p) for i in range(k)) for p, u in enumerate(ins)]

        def signs(g):
            return (1, 0, -1) if g[0] == 0 else ((1,) if g[0] > 0 else (-1,))
        return leaves(prim, forms, params, signs, cap=1 << 16)

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
                if (is_rational(a) and a == 0) or prim is INPUT or not ins:
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
