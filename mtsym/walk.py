"""The strata of a branch-free graph, depth first, at a cost per stratum that does not grow with the program.

:func:`mtsym.partition.explore` hands a program without Python branches to this
module.  The graph is first compiled into a :class:`Plan`:

* every affine node is *flattened*: its value is an exact rational combination
  of the inputs, the constant 1 and the outputs of the switching nodes (a very
  long affine chain is cut into pieces, which are computed like switching
  nodes without cases).  So a sum of 128 relus is one combination of 128
  values, however the code wrote it;
* each switching node's output form is kept as a row of integers scaled by a
  fixed positive integer (:attr:`Unit.dout`), so forms are combined by integer
  matrix products (numpy ``int64`` when a bound computed from the graph shows
  nothing can overflow, Python integers otherwise, the large products of those
  through exact ``float64`` limbs, :mod:`mtsym.intmat`: always exact).

The walk then takes the decisions in program order, exactly as a plain
depth-first search over the switching nodes would, so the strata come out in
the same order; what changes is the cost:

* a switching node's input forms are computed once per distinct prefix of the
  decisions they depend on (when the search has passed the last of them), and
  shared by the whole subtree below;
* the sign tests of every relu-like node whose forms are known (a declared
  ``sign_input``) are batched: one integer product with the stratum's
  generators says, for all of them at once, which have one sign on the
  stratum (decided without branching, for every stratum below too) and which
  must branch;
* the other switching nodes (max, clamp, sort, ...) drive their ``tests``
  generators on the stratum (:func:`mtsym.partition.drive_tests`), their other
  branches forked lazily onto the stack;
* a stratum's record holds its decisions as bytes (:class:`PathCodec`), its
  constraints as a linked list shared with its siblings, its forms interned;
* large products (a layer's input rows, the outputs' forms) are memoized on the
  val weights of the decisions they depend on: a tied relu and an off relu give
  the same rows, so an edge reuses the forms of the cell beside it.

Graphs this plan does not cover (a product of two traced values) are
enumerated by the general search in :mod:`mtsym.partition`; both give the same
strata in the same order (``tests/test_walk.py``).
"""

__all__ = ["Plan", "Unsupported", "PathCodec", "walk", "root_entry", "Paused", "too_many", "limit_error"]

import math
from operator import mul as _mul
from fractions import Fraction

import numpy as np

from .errors import LimitError
from .exact import int_row
from .intmat import LimbMatrix, limbs
from .primitives import PRIMITIVES
from .records import PackedForms, chain_links, chain_list
from .trace import VAL_CONV, combine

#: an affine combination of more switching outputs than this is computed as a unit of its own
MATERIALIZE = 256
_SAFE = 1 << 62
#: cases whose weights are kept per node (a k-ary max has 2^k - 1 cases: keep the first ones only)
_CACHE = 1 << 15
_UNDECIDED = -1
#: distinct forms kept for sharing while streaming (past this, sharing starts again)
_INTERNED = 100_000
#: memoized rows of large group products (past this, memoizing starts again)
_ROWS_KEPT = 4096


class Unsupported(Exception):
    """Internal: the plan does not cover this graph; the general search takes it."""


class Paused(Exception):
    """Internal: the walk stopped at its budget; ``stack`` holds the rest, in order."""

    def __init__(self, stack, count):
        super().__init__("paused")
        self.stack, self.count = stack, count


def _lcm(a, b):
    return a * b // math.gcd(a, b)


def _den(c):
    return c.denominator if type(c) is Fraction else 1


def _rationals(params):
    """Every rational number among a node's parameters (nested tuples flattened)."""
    out = []
    for p in params:
        if isinstance(p, (tuple, list)):
            out.extend(_rationals(p))
        elif isinstance(p, (int, Fraction)) and not isinstance(p, bool):
            out.append(p)
    return out


def _common_den(nums):
    """The least common denominator of ``int`` and ``Fraction`` numbers; ``None`` if another
    type is among them."""
    d = 1
    for c in nums:
        t = type(c)
        if t is Fraction:
            d = _lcm(d, c.denominator)
        elif t is not int:
            return None
    return d


def _flatten(coefs, c0, ins):
    """``c0 + sum(c * e)`` of the input expressions ``ins`` (``{source: rational}``), without zero
    terms: in integers over two common denominators (one ``Fraction`` per source instead of one
    per product: a float32 layer composed with a plane is 24,576 products) when every number is
    an ``int`` or a ``Fraction``, else term by term."""
    dc = _common_den(coefs)
    de = None if dc is None else _common_den(a for e in ins for a in e.values())
    if de is None:
        out = {0: c0} if c0 else {}
        for c, e in zip(coefs, ins):
            for s, a in e.items():
                out[s] = out.get(s, 0) + c * a
        return {s: a for s, a in out.items() if a}
    acc = {0: 0} if c0 else {}
    for c, e in zip(coefs, ins):
        ci = c * dc if type(c) is int else c.numerator * (dc // c.denominator)
        if not ci:
            continue
        for s, a in e.items():
            acc[s] = acc.get(s, 0) + ci * (a * de if type(a) is int else a.numerator * (de // a.denominator))
    D = dc * de
    out = {}
    for s, x in acc.items():
        q = Fraction(x, D)
        if s == 0 and c0:
            q += c0
        if q:
            out[s] = q.numerator if q.denominator == 1 else q
    return out


class Comb:
    """An exact affine combination, as integers: the form is ``(coef @ F[units] + beta) / den``.

    ``F`` holds the units' output numerators; ``beta`` is the part over the
    constant and the inputs (a numerator row of ``n + 1`` integers).
    """

    __slots__ = ("units", "coef", "beta", "den", "bound")

    def __init__(self, expr, n, D, B):
        """From ``{source: rational}``: source 0 the constant, 1..n the inputs, ``n + 1 + j`` unit j."""
        # in integers: c = p / q in lowest terms; a unit's coefficient is p / (q D[j]), whose lowest
        # denominator is q D[j] / gcd(p, D[j]) (p and q coprime)
        terms = {}
        den = 1
        for s, c in expr.items():
            p, q = (c, 1) if type(c) is int else (c.numerator, c.denominator)
            g = 1
            if s > n:
                d = D[s - n - 1]
                g = math.gcd(p, d)
                q = q * (d // g)
            terms[s] = (p // g, q)
            den = _lcm(den, q)
        self.den = den
        beta = [0] * (n + 1)
        units, coef = [], []
        bound = 0
        for s in sorted(terms):
            p, q = terms[s]
            c = p * (den // q)
            if s <= n:
                beta[s] = c
                bound += abs(c)
            else:
                j = s - n - 1
                units.append(j)
                coef.append(c)
                bound += abs(c) * B[j]
        self.units, self.coef, self.beta, self.bound = units, coef, beta, bound

    def finish(self, dtype):
        self.units = np.array(self.units, dtype=np.intp)
        self.coef = np.array(self.coef, dtype=dtype)
        self.beta = np.array(self.beta, dtype=dtype)

    def value(self, F):
        """The numerator row under the unit rows ``F``."""
        if len(self.units):
            return self.coef @ F[self.units] + self.beta
        return self.beta.copy()


class Unit:
    """A value computed during the walk: a switching node, or a long affine node cut out of a chain.

    Attributes
    ----------
    node : int
        The graph node.
    prim : Primitive or None
        ``None`` for an affine unit (no decision).
    slots : list of Comb
        Its inputs; each input's numerator is scaled by :attr:`din`.
    din, dout : int
        The positive integers the input and output forms are scaled by.
    need : int
        The last unit the inputs depend on (-1: none): the forms are known once the walk has
        decided every unit up to it.
    deps : array of int
        The units the inputs depend on (for the convention's forms).
    """

    __slots__ = ("node", "prim", "params", "conv", "slots", "din", "dout", "need", "deps",
                 "sign", "weights", "cases", "codes")

    def __init__(self, node, prim, params, conv, slots):
        self.node, self.prim, self.params, self.conv, self.slots = node, prim, params, conv, slots
        self.sign = prim is not None and prim.sign_input is not None
        self.weights = {}            # case -> (integer weight per slot, integer bias, differs)
        self.cases, self.codes = [], {}


class Plan:
    """A branch-free graph compiled for :func:`walk` (see the module docstring).

    ``program`` needs ``graph``, ``n``, ``conv``, ``symbols`` and ``output_shape``
    (a :class:`~mtsym.trace.Program` after one run, or a stand-in holding them).
    """

    def __init__(self, program):
        g = program.graph
        self.program, self.n, self.symbols = program, program.n, program.symbols
        self.shape = program.output_shape
        n = self.n
        exprs = {}
        units = []
        for v in range(g.number_of_nodes()):
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            kind = prim.kind
            if kind == "input":
                exprs[v] = {1 + d["params"][0]: 1}
            elif kind == "const":
                c = d["params"][0]
                exprs[v] = {0: c} if c else {}
            elif kind == "affine":
                coefs, c0 = d["params"]
                e = _flatten(coefs, c0, [exprs[u] for u in d["inputs"]])
                if sum(1 for s in e if s > n) > MATERIALIZE:
                    units.append(Unit(v, None, (), None, [e]))
                    e = {n + len(units): 1}
                exprs[v] = e
            elif kind == "switching" and prim.linear is not None:
                conv = program.conv if d["conv"] is None else d["conv"]
                units.append(Unit(v, prim, d["params"], conv, [exprs[u] for u in d["inputs"]]))
                exprs[v] = {n + len(units): 1}
            else:  # a product of traced values (not affine), or a Python branch
                raise Unsupported(prim.name)
        self.units = units
        D, B = [], []
        bound = 1
        for u in units:
            u.slots = [Comb(e, n, D, B) for e in u.slots]
            u.din = 1
            for c in u.slots:
                u.din = _lcm(u.din, c.den)
            for c in u.slots:  # one scale for all the inputs of a node
                r = u.din // c.den
                if r != 1:
                    c.coef, c.beta, c.den, c.bound = [x * r for x in c.coef], [x * r for x in c.beta], u.din, \
                        c.bound * r
            deps = sorted({j for c in u.slots for j in c.units})
            u.deps = np.array(deps, dtype=np.intp)
            u.need = deps[-1] if deps else -1
            bounds = [c.bound for c in u.slots]
            if u.prim is None:
                u.dout, bout = u.din, bounds[0]
            else:
                rats = _rationals(u.params)
                pd = 1
                for r in rats:
                    pd = _lcm(pd, _den(r))
                u.dout = u.din * pd
                wmax = max([1] + [abs(r) for r in rats])
                bout = math.ceil(wmax * pd * sum(bounds) + wmax * u.dout)
            D.append(u.dout)
            B.append(bout)
            bound = max(bound, bout, *bounds)
        self.D, self.B = D, B
        self.out_nodes = g.outputs[0]
        self.out = [Comb(exprs[v], n, D, B) for v in self.out_nodes]
        #: no entry of a numerator exceeds this (int64 arithmetic when below 2^62)
        self.bound = max([bound] + [c.bound for c in self.out])
        self.dtype = np.int64 if self.bound < _SAFE else object
        for u in units:
            for c in u.slots:
                c.finish(self.dtype)
        for c in self.out:
            c.finish(self.dtype)
        self.out_deps = np.array(sorted({j for c in self.out for j in c.units.tolist()}), dtype=np.intp)
        # units in groups whose forms become known together: one integer product per group
        order = sorted(range(len(units)), key=lambda i: (units[i].need, i))
        groups = []
        for i in order:
            if not groups or groups[-1][0] != units[i].need:
                groups.append((units[i].need, []))
            groups[-1][1].append(i)
        self.groups = [_Group(need, members, units, n, self.dtype) for need, members in groups]
        self.need_of = [grp.need for grp in self.groups]
        self.outmat = _limb_products(self) if self.dtype is object else None
        self.switch = np.array([i for i, u in enumerate(units) if u.prim is not None], dtype=np.intp)
        self.codec = PathCodec(tuple(units[i].node for i in self.switch.tolist()),
                               all(units[i].sign for i in self.switch.tolist()),
                               [units[i] for i in self.switch.tolist()])

    #: a unit keeps its per-case weights after a walk only up to this many cases
    KEEP_WEIGHTS = 64

    def trim(self):
        """Drop the per-case weights of units with many cases (a k-ary max: one per tie set, each
        met by one stratum): they serve one walk, and kept they would hold five objects per
        stratum for the garbage collector's first pass to visit (0.1 s of max over 14)."""
        for u in self.units:
            if len(u.weights) > self.KEEP_WEIGHTS:
                u.weights.clear()

    # ------------------------------------------------------------ the val rule of a unit
    def weights(self, u, case):
        """``(integer weight per slot, integer bias, differs, rule)``: the output numerator on
        ``case``; ``differs`` when the convention's ``rule`` (weights, bias) is not the val rule."""
        w = u.weights.get(case)
        if w is None:
            ws, b = vw = u.prim.linear(case, u.params, VAL_CONV)
            r = u.dout // u.din
            if all(type(x) is int for x in ws):
                ints = [x * r for x in ws] if r != 1 else list(ws)
            else:
                ints = []
                for x in ws:
                    q = x * r
                    if _den(q) != 1:
                        raise Unsupported(f"{u.prim.name}: weight {x} does not fit the scale")
                    ints.append(int(q))
            bb = b * u.dout
            if _den(bb) != 1:
                raise Unsupported(f"{u.prim.name}: bias {b} does not fit the scale")
            cw = u.prim.linear(case, u.params, u.conv)
            w = (ints, int(bb), cw != vw, cw)
            if len(u.weights) < _CACHE:
                u.weights[case] = w
        return w


class _Group:
    """Units whose input forms become known at the same point of the walk: their slots stacked
    into one integer matrix over the units they read, plus a constant part."""

    __slots__ = ("need", "members", "A", "uidx", "beta", "spans", "pick", "fast")

    def __init__(self, need, members, units, n, dtype):
        self.need, self.members = need, members
        slots = [c for i in members for c in units[i].slots]
        self.spans = []
        r = 0
        for i in members:
            self.spans.append((r, r + len(units[i].slots)))
            r += len(units[i].slots)
        self.beta = np.array([c.beta for c in slots], dtype=dtype).reshape(len(slots), n + 1)
        union = sorted({j for c in slots for j in c.units.tolist()})
        self.uidx = np.array(union, dtype=np.intp)
        self.A = self.pick = self.fast = None
        if not union:
            return
        if all(len(c.units) <= 1 for c in slots):  # one unit per slot at most: rows by indexing
            self.pick = (np.array([c.units[0] if len(c.units) else union[0] for c in slots], dtype=np.intp),
                         np.array([c.coef[0] if len(c.units) else 0 for c in slots], dtype=dtype)[:, None])
            return
        where = {s: k for k, s in enumerate(union)}
        self.A = np.zeros((len(slots), len(union)), dtype=dtype)
        for k, c in enumerate(slots):
            for j, a in zip(c.units.tolist(), c.coef.tolist()):
                self.A[k, where[j]] = a

    def rows(self, F):
        """The slot numerators of the group's units, stacked."""
        if self.pick is not None:
            idx, c = self.pick
            return c * F[idx] + self.beta
        if self.fast is not None:
            P = self.fast.matmul(F[self.uidx])
            if P is not None:
                return P + self.beta
        if self.A is not None:
            return self.A @ F[self.uidx] + self.beta
        return self.beta.copy()


class PathCodec:
    """Decision paths of one walk, stored as bytes: one code per switching node, in program order.

    Relu-like nodes store ``sign + 1`` in one byte; if any node has other cases, every node
    takes four bytes and its cases are interned in order of discovery.
    """

    __slots__ = ("nodes", "narrow", "units")

    def __init__(self, nodes, narrow, units):
        self.nodes, self.narrow, self.units = nodes, narrow, units

    def code(self, u, case):
        """The code of ``case`` at switching unit ``u`` (interned for cases other than signs)."""
        if u.sign:
            return case + 1
        c = u.codes.get(case)
        if c is None:
            c = u.codes[case] = len(u.cases)
            u.cases.append(case)
        return c

    def decode(self, key):
        """The path ``((node, case), ...)`` of a key."""
        if self.narrow:
            return tuple(zip(self.nodes, (c - 1 for c in key)))
        codes = np.frombuffer(key, dtype=np.int32).tolist()
        return tuple((v, c - 1 if u.sign else u.cases[c]) for v, u, c in zip(self.nodes, self.units, codes))

    def encode(self, path, intern=False):
        """The key of a path; ``None`` when it holds a case no stratum has (unless ``intern``)."""
        if len(path) != len(self.nodes) or any(v != w for (v, _), w in zip(path, self.nodes)):
            return None
        if self.narrow:
            return bytes(c + 1 for _, c in path)
        codes = []
        for (_, c), u in zip(path, self.units):
            k = self.code(u, c) if intern or u.sign else u.codes.get(c)
            if k is None:
                return None
            codes.append(k)
        return np.array(codes, dtype=np.int32).tobytes()


class State:
    """Where the walk stands: decisions, known forms, pending sign tests, the current stratum."""

    __slots__ = ("F", "codes", "cases", "ldiff", "anyl", "slot", "pend", "H", "f", "gptr", "cell", "cons")

    def __getstate__(self):  # the constraint chain as a list: no deep recursion in pickle
        return (self.F, self.codes, self.cases, self.ldiff, self.anyl, self.slot, self.pend, self.H, self.f,
                self.gptr, self.cell, chain_list(self.cons))

    def __setstate__(self, state):
        (self.F, self.codes, self.cases, self.ldiff, self.anyl, self.slot, self.pend, self.H, self.f, self.gptr,
         self.cell, cons) = state
        self.cons = chain_links(cons)

    def copy(self):
        s = State.__new__(State)
        s.F, s.codes, s.ldiff, s.anyl = self.F.copy(), self.codes.copy(), self.ldiff.copy(), self.anyl
        s.cases = None if self.cases is None else self.cases.copy()
        s.slot, s.pend, s.H = self.slot.copy(), self.pend, self.H
        s.f, s.gptr, s.cell, s.cons = self.f, self.gptr, self.cell, self.cons
        return s


def root_entry(plan, cell, cons=None):
    """The stack entry of a whole walk: the state before any decision, on ``cell`` (described by
    the constraint links ``cons``, part of every stratum's description)."""
    n = plan.n
    st = State()
    U = len(plan.units)
    st.F = np.zeros((U, n + 1), dtype=plan.dtype)
    st.codes = np.full(U, _UNDECIDED, dtype=np.int32)
    st.cases = None if plan.codec.narrow else [None] * U
    st.ldiff = np.zeros(U, dtype=bool)
    st.anyl = False
    st.slot = [None] * U
    st.pend = np.zeros(0, dtype=np.intp)
    st.H = np.zeros((0, n + 1), dtype=plan.dtype)
    st.f = st.gptr = 0
    st.cell, st.cons = cell, cons
    return ("root", st)


class _Walk:
    """One depth-first walk (see :func:`walk`)."""

    def __init__(self, plan, drive, check, emit, compact=True):
        self.plan, self.drive, self.check, self.emit, self.compact = plan, drive, check, emit, compact
        self.forms, self.pairs = {}, {}   # interned forms (numerators, d), pairs of packed forms
        self.vals = {}  # (parent state, unit) -> the exact input forms its tests read
        self.outvals, self.valcls = {}, None   # the outputs' forms, by the decisions' val weights
        self.signtab, self.signtab_bias, self.gsign = None, False, {}
        self.growcache = {}
        self.outid = None   # the switching unit of each output, when each is one (see unit_outputs)
        self.outlimbs, self.rowlimbs, self.gmask = None, {}, {}   # products from the rows' limbs, masked

    # ----------------------------------------------------------- deciding one unit
    def decide(self, st, i, case):
        """Record ``case`` for unit ``i`` in ``st`` (its output row, its convention flag)."""
        plan = self.plan
        u = plan.units[i]
        ws, b, differs, _ = plan.weights(u, case)
        F = st.F
        if len(ws) == 1:
            w = ws[0]
            if w == 1:
                F[i] = st.slot[i][0]
            elif w == 0:
                F[i] = 0
            else:
                F[i] = w * st.slot[i][0]
        elif ws.count(0) == len(ws) - 1 and 1 in ws:   # one input passed through (a max's winner)
            F[i] = st.slot[i][ws.index(1)]
        else:
            F[i] = np.array(ws, dtype=plan.dtype) @ st.slot[i]
        if b:
            F[i, 0] += b
        if u.sign:
            st.codes[i] = case + 1
        else:  # the case itself; interned only when a compact record is made
            st.codes[i] = 0
            st.cases[i] = case
        if differs:
            st.ldiff[i] = st.anyl = True
        elif st.anyl and len(u.deps) > 0 and st.ldiff[u.deps].any():
            st.ldiff[i] = True

    def decide_signs(self, st, pend, H, codes, dec):
        """Decide the sign units ``pend[dec]`` on their signs ``codes[dec]`` (their input rows are
        ``H[dec]``): as :meth:`decide` one by one, in one array operation when every one has a
        single integer weight and nothing differs from the val rule."""
        plan = self.plan
        if self.signtab is None:
            self.signtab = _sign_table(plan)
            self.signtab_bias = bool(self.signtab[2].any())
        ok, w, b = self.signtab
        idx, cases = pend[dec], codes[dec]
        if st.anyl or not ok[idx, cases + 1].all():
            for i, c in zip(idx.tolist(), cases.tolist()):
                self.decide(st, i, c)
            return
        F = st.F
        ws = w[idx, cases + 1]
        one, zero = ws == 1, ws == 0
        if (one | zero).all():             # relu-like: the input row or zero, no product
            F[idx[one]] = H[dec[one]]
            F[idx[zero]] = 0
        else:
            F[idx] = ws[:, None] * H[dec]
        if self.signtab_bias:
            F[idx, 0] += b[idx, cases + 1]
        st.codes[idx] = cases + 1

    def group_rows(self, st, grp):
        """``grp.rows(st.F)``; a large product (limbs) is memoized on the val weights of the decisions
        it depends on (every unit up to ``grp.need``: a tied and an off relu give the same rows).
        The memoized rows are read-only."""
        plan = self.plan
        if grp.fast is None or not plan.codec.narrow:
            return grp.rows(st.F)
        if self.valcls is None:
            self.valcls = (np.arange(len(plan.units)), _val_classes(plan))
        r, cls = self.valcls
        k = grp.need + 1
        key = (id(grp), cls[r[:k], st.codes[:k]].tobytes())     # units up to need: all decided
        rows = self.growcache.get(key)
        if rows is None:
            rows = self.masked_rows(st, grp)
            rows.setflags(write=False)
            if len(self.growcache) > _ROWS_KEPT:
                self.growcache.clear()
            self.growcache[key] = rows
        return rows

    def compute(self, st, grp, new, new_rows):
        """The input rows of a group's units (their forms are now known); sign units to ``new``."""
        units = self.plan.units
        rows = self.group_rows(st, grp)
        signs = self.gsign.get(id(grp))
        if signs is None:   # every member a sign unit with one input: its row is its slot
            signs = self.gsign[id(grp)] = all(units[i].sign and b - a == 1 for i, (a, b) in
                                              zip(grp.members, grp.spans))
        if signs:
            slot = st.slot
            for k, i in enumerate(grp.members):
                slot[i] = rows[k:k + 1]
            new.extend(grp.members)
            new_rows.append(rows)
            return
        for i, (a, b) in zip(grp.members, grp.spans):
            u = units[i]
            if u.prim is None:
                st.F[i] = rows[a]
                st.codes[i] = 0
                if st.anyl and len(u.deps) > 0 and st.ldiff[u.deps].any():
                    st.ldiff[i] = True
            else:
                st.slot[i] = rows[a:b]
                if u.sign:
                    new.append(i)
                    new_rows.append(rows[a:a + 1])

    def settle(self, st, fresh=False):
        """Decide everything that needs no branching; ``fresh``: the pending tests meet a new stratum."""
        plan = self.plan
        units, groups, need_of = plan.units, plan.groups, plan.need_of
        U, G = len(units), len(groups)
        retest = fresh
        while True:
            new, new_rows = [], []
            while st.gptr < G and need_of[st.gptr] < st.f:
                self.compute(st, groups[st.gptr], new, new_rows)
                st.gptr += 1
            if new or retest:
                if new:
                    pend = np.concatenate([st.pend, np.array(new, dtype=np.intp)])
                    H = np.concatenate([st.H, *new_rows]).astype(plan.dtype, copy=False)
                else:
                    pend, H = st.pend, st.H
                if len(pend):
                    codes = _sign_sets(st.cell, H, plan.bound)
                    mixed = codes == 2
                    if not mixed.all():
                        self.decide_signs(st, pend, H, codes, np.flatnonzero(~mixed))
                        pend, H = pend[mixed], H[mixed]
                st.pend, st.H = pend, H
                retest = False
            f = st.f
            codes = st.codes
            if U - f > 16:
                rest = codes[f:] == _UNDECIDED
                k = int(rest.argmax())
                f = f + k if rest[k] else U
            else:
                while f < U and codes[f] != _UNDECIDED:
                    f += 1
            st.f = f
            if not (st.gptr < G and need_of[st.gptr] < f):
                return

    # ----------------------------------------------------------- the search
    def run(self, stack, max_strata, count=0, budget=None, split=None):
        """Walk until the stack is empty; :class:`Paused` after ``budget`` strata, or as soon as the
        stack holds ``split`` entries (the remaining subtrees, to share between workers)."""
        plan = self.plan
        units = plan.units
        U = len(units)
        found = 0
        while stack:
            if (budget is not None and found >= budget) or (split is not None and len(stack) >= split):
                raise Paused(stack, count)
            entry = stack.pop()
            kind = entry[0]
            if kind == "root":
                st = entry[1]
                self.settle(st)
            elif kind == "sign":
                _, parent, i, cut, s = entry
                st = self.child(parent, i, cut, s)
            else:  # "gen": resume a switching node's tests
                _, parent, i, answers, cell, cons = entry
                st = self.resume(parent, i, answers, cell, cons, stack)
                if st is None:
                    continue
            while True:
                if st.f == U:
                    count += 1
                    found += 1
                    self.emit(self.record(st))
                    if count > max_strata:
                        raise too_many(max_strata)
                    break
                i = st.f
                if units[i].sign:
                    k = int(np.flatnonzero(st.pend == i)[0])
                    cut = st.cell.cut(int_row(st.H[k].tolist()))
                    for s in reversed(cut.signs[1:]):
                        stack.append(("sign", st, i, cut, s))
                    st = self.child(st, i, cut, cut.signs[0])
                else:
                    st = self.resume(st, i, (), st.cell, st.cons, stack)
                    if st is None:
                        break
        return count

    def child(self, parent, i, cut, s):
        st = parent.copy()
        keep = st.pend != i
        st.pend, st.H = st.pend[keep], st.H[keep]
        self.decide(st, i, s)
        if cut.proper:
            st.cell, st.cons = cut.child(s), (cut.h, s, st.cons)
        self.settle(st, cut.proper)
        return st

    def resume(self, parent, i, answers, cell, cons, stack):
        """Drive unit ``i``'s tests from ``answers`` on ``cell``; forks go on the stack."""
        u = self.plan.units[i]
        vals = self.vals.get((id(parent), i))   # one node's forks all resume from the same parent
        if vals is None or vals[0] is not parent:
            rows = parent.slot[i].tolist()
            vals = (parent, list(map(tuple, rows)) if u.din == 1 else [_exact(r, u.din) for r in rows])
            if len(self.vals) > 64:
                self.vals.clear()
            self.vals[(id(parent), i)] = vals
        vals = vals[1]
        forks = []
        leaf = self.drive(u.prim, vals, u.params, cell, cons, answers, forks, self.check(u))
        for a, c, k in forks:
            stack.append(("gen", parent, i, a, c, k))
        if leaf is None:
            return None
        case, cell2, cons2 = leaf
        st = parent.copy()
        self.decide(st, i, case)
        moved = cell2 is not st.cell
        st.cell, st.cons = cell2, cons2
        self.settle(st, moved)
        return st

    # ----------------------------------------------------------- one stratum
    def record(self, st):
        plan = self.plan
        both = self.unit_outputs(st)
        if both is not None:
            forms, vals = both
        else:
            vals = self.out_vals(st)
            if st.anyl and st.ldiff[plan.out_deps].any():
                forms = tuple(self.intern([int(x) for x in f[1].tolist()], f[2]) if f[0] == "q" else ("t", f[1])
                              for f in self.lin_forms(st))
            else:
                forms = vals
        ids = (tuple(map(id, forms)), tuple(map(id, vals)))   # the entries are interned: ids are stable
        key = self.pairs.get(ids)
        if key is None:
            packed = PackedForms(vals)
            key = self.pairs[ids] = (packed if forms is vals else _packed(forms), packed)
        codec = plan.codec
        if codec.narrow:
            path = st.codes[plan.switch].astype(np.uint8).tobytes()
        elif self.compact:
            codes = st.codes[plan.switch]
            for k, u in enumerate(codec.units):
                if not u.sign:
                    codes[k] = codec.code(u, st.cases[plan.switch[k]])
            path = codes.tobytes()
        else:  # a record about to be written and dropped: no interning
            path = tuple((u.node, int(st.codes[i]) - 1 if u.sign else st.cases[i])
                         for i, u in zip(plan.switch.tolist(), codec.units))
        if len(self.forms) > _INTERNED and not self.compact:  # streaming: memory stays bounded
            self.forms, self.pairs = {}, {}
        return (path, st.cons, key[0], key[1], st.cell)

    def unit_outputs(self, st):
        """``(forms, vals)`` as :meth:`lin_forms` and :meth:`out_vals` give them (interned), read
        straight from the units' rows when every output is a switching unit's own output (a max, a
        maxpool window) whose inputs are val forms and whose convention rule is rational: no
        combination, one integer product per output whose rule differs.  ``None`` otherwise (and
        for relu-like plans, whose outputs :meth:`out_vals` memoizes)."""
        plan = self.plan
        if plan.codec.narrow:
            return None
        ids = self.outid
        if ids is None:
            ids = self.outid = _output_units(plan) or ()
        if not ids:
            return None
        D, F, ldiff, units = plan.D, st.F, st.ldiff, plan.units
        vals, forms = [], []
        for j in ids:
            val = self.intern(F[j].tolist(), D[j])
            vals.append(val)
            if not ldiff[j]:
                forms.append(val)
                continue
            u = units[j]
            if len(u.deps) and ldiff[u.deps].any():
                return None
            ws, b = plan.weights(u, int(st.codes[j]) - 1 if u.sign else st.cases[j])[3]
            ints = _int_weights(ws, b)
            if ints is None:
                return None
            wl, L, bl = ints
            slot = st.slot[j]
            if plan.dtype is object or L * plan.bound * len(ws) >= _SAFE:
                num = (np.array(wl, dtype=object) @ slot.astype(object)).tolist()
            else:
                num = (np.array(wl, dtype=np.int64) @ slot).tolist()
            if bl:
                num[0] += bl * u.din
            forms.append(self.intern(num, L * u.din))
        return tuple(forms), tuple(vals)

    def out_vals(self, st):
        """The outputs' exact forms under the val rule (interned).  They depend on the decisions
        only through each unit's val weights, so strata whose decisions have the same val weights
        (a relu tied, a relu off) share them: memoized on those weights (relu-like units)."""
        plan = self.plan
        key = None
        if plan.codec.narrow:
            if self.valcls is None:
                self.valcls = (np.arange(len(plan.units)), _val_classes(plan))
            rows, cls = self.valcls
            key = cls[rows, st.codes].tobytes()       # every unit decided: codes 0, 1, 2
            vals = self.outvals.get(key)
            if vals is not None:
                return vals
        vals = tuple(self.intern(r, c.den) for r, c in zip(self.out_rows(st), plan.out))
        if key is not None:
            if len(self.outvals) > _INTERNED:
                self.outvals.clear()
            self.outvals[key] = vals
        return vals

    def out_rows(self, st):
        """``_out_rows(plan, st.F)``; through :meth:`masked_product` when the outputs read relu-like
        units of one group (a last hidden layer)."""
        plan = self.plan
        if self.outlimbs is None:
            self.outlimbs = _out_limb_plan(plan) or False
        if self.outlimbs:
            mat, units, beta = plan.outmat
            P = self.masked_product(st, mat, self.outlimbs, units)
            if P is not None:
                return (P + beta).tolist()
        return _out_rows(plan, st.F)

    def masked_rows(self, st, grp):
        """``grp.rows(st.F)`` for a group with a limb product, through :meth:`masked_product` when
        it reads relu-like units of one group (the layer before)."""
        mp = self.gmask.get(id(grp))
        if mp is None:
            mp = self.gmask[id(grp)] = _masked_plan(self.plan, grp.uidx) or False
        if mp:
            P = self.masked_product(st, grp.fast, mp, grp.uidx)
            if P is not None:
                return P + grp.beta
        return grp.rows(st.F)

    def masked_product(self, st, mat, mp, units):
        """``mat @ st.F[units]`` (a :class:`~mtsym.intmat.LimbMatrix` product), exactly, when ``mp``
        (:func:`_masked_plan`) says each of these rows is its unit's input row times a weight 0 or 1:
        the input rows are one array shared by every state that computed them (the rows of the
        group, stacked; memoized by :meth:`group_rows` or computed once at the root), split into
        limbs once, then masked by the weights of the decided cases.  ``None`` when the rows are
        not at hand (a state rebuilt from a pickle) or too large for the limbs."""
        src, pos, w01 = mp
        R = st.slot[src.members[0]]
        R = None if R is None else R.base
        if type(R) is not np.ndarray or R.shape[0] != src.spans[-1][1]:
            return None
        key = (id(R), id(mat))
        c = self.rowlimbs.get(key)
        if c is None or c[0] is not R:
            L = limbs(R[pos], mat.B, mat.nright)
            c = (R, None if L is None else np.concatenate(L, axis=1))
            if len(self.rowlimbs) > _ROWS_KEPT:
                self.rowlimbs.clear()
            self.rowlimbs[key] = c
        if c[1] is None:
            return None
        mask = w01[np.arange(len(units)), st.codes[units]]
        return mat.product(c[1] * mask[:, None], R.shape[1])

    def intern(self, num, d):
        """The exact form ``num / d`` (Python ints) as ``(numerators, d)`` in lowest terms, one shared
        tuple per distinct form (:class:`~mtsym.records.PackedForms` builds the numbers when read)."""
        g = math.gcd(d, *num)
        if g > 1:
            d //= g
            num = [x // g for x in num]
        key = (tuple(num), d)
        return self.forms.setdefault(key, key)

    def lin_forms(self, st):
        """The outputs' forms under the convention (exact; sympy where the convention has symbols).

        Only the units whose convention rule differs from the val rule (on their
        case, or through an input) are recomputed, in program order; the others
        are their val rows.  Forms are ``("q", integer row, denominator)`` or
        ``("t", exact tuple)``.
        """
        plan = self.plan
        units = plan.units
        ldiff = st.ldiff
        need = set()
        todo = [j for j in plan.out_deps.tolist() if ldiff[j]]
        while todo:
            j = todo.pop()
            if j not in need:
                need.add(j)
                todo.extend(k for k in units[j].deps.tolist() if ldiff[k])
        lin = {}
        for j in sorted(need):
            u = units[j]
            if u.prim is None:
                lin[j] = self.comb_form(st, u.slots[0], lin)
                continue
            ws, b = plan.weights(u, int(st.codes[j]) - 1 if u.sign else st.cases[j])[3]
            if not any(k in lin for k in u.deps.tolist()) and all(type(w) in (int, Fraction) for w in ws) \
                    and type(b) in (int, Fraction):  # the inputs are val forms: one product
                L = _den(b)
                for w in ws:
                    if type(w) is Fraction:
                        L = _lcm(L, w.denominator)
                wl = [w * L if type(w) is int else w.numerator * (L // w.denominator) for w in ws]
                if plan.dtype is object or L * plan.bound * len(ws) >= _SAFE:
                    num = np.array(wl, dtype=object) @ st.slot[j].astype(object)
                else:
                    num = np.array(wl, dtype=np.int64) @ st.slot[j]
                if b:
                    num[0] += int(b * L) * u.din
                lin[j] = ("q", num, L * u.din)
                continue
            ins = [self.comb_form(st, c, lin) for c in u.slots]
            lin[j] = _combine(list(zip(ws, ins)), b, plan.symbols)
        return [self.comb_form(st, c, lin) for c in plan.out]

    def comb_form(self, st, c, lin):
        """The form of a :class:`Comb` with the convention's forms ``lin`` of the units in it."""
        units = c.units.tolist()
        if not any(j in lin for j in units):
            return ("q", c.value(st.F).astype(object), c.den)
        D = self.plan.D
        if len(units) == 1 and not c.beta.any() and int(c.coef[0]) * D[units[0]] == c.den:
            return lin[units[0]]  # the unit itself
        terms = [(Fraction(1, 1), ("q", c.beta.astype(object), c.den))]
        for j, a in zip(c.units.tolist(), c.coef.tolist()):
            f = lin.get(j)
            if f is None:
                f = ("q", st.F[j].astype(object), D[j])
            terms.append((Fraction(a * D[j], c.den), f))
        return _combine(terms, 0, self.plan.symbols)


def _packed(forms):
    """Forms from :meth:`_Walk.intern` (``(numerators, d)``) or ``("t", exact tuple)`` as one
    :class:`~mtsym.records.PackedForms`, or as a tuple of exact tuples when one is not rational."""
    if all(f[0] != "t" for f in forms):
        return PackedForms(forms)
    return tuple(f[1] if f[0] == "t" else PackedForms((f,)).value[0] for f in forms)


#: integer products with fewer multiply-adds than this stay Python-integer products
_LIMB_MIN = 256


def _limb_products(plan):
    """Exact float64 limb products (:class:`~mtsym.intmat.LimbMatrix`) for the groups' and the
    outputs' big Python-integer products; returns the outputs' ``(matrix, units, betas)`` or ``None``."""
    B = plan.B
    for grp in plan.groups:
        if grp.A is not None and grp.A.size * grp.beta.shape[1] >= _LIMB_MIN:
            grp.fast = LimbMatrix(grp.A, max(B[j] for j in grp.uidx.tolist()))
    union = sorted({j for c in plan.out for j in c.units.tolist()})
    if len(union) * len(plan.out) * (plan.n + 1) < _LIMB_MIN:
        return None
    where = {j: k for k, j in enumerate(union)}
    C = np.zeros((len(plan.out), len(union)), dtype=object)
    for r, c in enumerate(plan.out):
        for j, a in zip(c.units.tolist(), c.coef.tolist()):
            C[r, where[j]] = a
    return (LimbMatrix(C, max(B[j] for j in union)), np.array(union, dtype=np.intp),
            np.array([c.beta for c in plan.out], dtype=object))


def _output_units(plan):
    """The switching unit whose output each output is (a combination ``1 * unit``), or ``None``."""
    ids = []
    for c in plan.out:
        units = c.units.tolist()
        if len(units) != 1 or c.beta.any() or int(c.coef[0]) * plan.D[units[0]] != c.den \
                or plan.units[units[0]].prim is None:
            return None
        ids.append(units[0])
    return ids


def _int_weights(ws, b):
    """Rational weights and bias over one denominator: ``(integer weights, L, integer bias)``, the
    rule being ``(weights / L, bias / L)``; ``None`` when one is not an int or a Fraction."""
    L = 1
    for w in (*ws, b):
        t = type(w)
        if t is Fraction:
            d = w.denominator
            if L % d:
                L = L * d // math.gcd(L, d)
        elif t is not int:
            return None
    wl = [w * L if type(w) is int else w.numerator * (L // w.denominator) for w in ws]
    bl = b * L if type(b) is int else b.numerator * (L // b.denominator)
    return wl, L, bl


#: sign tests of at most this many row-generator pairs are computed with Python integers directly
_SMALL_SIGNS = 24


def _sign_sets(cell, H, hmax):
    """``cell.sign_sets(H, hmax)`` (:meth:`~mtsym.polyhedra.Polyhedron.sign_sets`), exactly; a few
    rows of Python integers by plain integer dot products (no array operation: 10x less time on
    the 2-D slice's one-to-four-row tests)."""
    if H.dtype != object:
        return cell.sign_sets(H, hmax)
    gens, lin = cell.gens, cell.lin
    if len(H) * (len(gens) + len(lin)) <= _SMALL_SIGNS:
        codes = []
        for h in H.tolist():
            if any(sum(map(_mul, h, g)) for g in lin):
                codes.append(2)
                continue
            pos = neg = False
            for g in gens:
                v = sum(map(_mul, h, g))
                if v > 0:
                    pos = True
                elif v < 0:
                    neg = True
            codes.append(2 if pos and neg else 1 if pos else -1 if neg else 0)
        return np.array(codes, dtype=np.int8)
    return cell.sign_sets(H, hmax)


def _sign_table(plan):
    """Per unit and sign code (``case + 1``): ``(ok, weight, bias)``, ``ok`` where the unit is a sign
    unit whose val rule on that case is one integer weight and bias (scaled as in
    :meth:`Plan.weights`) and the convention's rule is the same."""
    U = len(plan.units)
    ok = np.zeros((U, 3), dtype=bool)
    w = np.zeros((U, 3), dtype=plan.dtype)
    b = np.zeros((U, 3), dtype=plan.dtype)
    for i, u in enumerate(plan.units):
        if not u.sign:
            continue
        for code in range(3):
            try:
                ws, bias, differs, _ = plan.weights(u, code - 1)
            except Unsupported:
                continue
            if len(ws) == 1 and not differs:
                try:
                    w[i, code], b[i, code] = ws[0], bias
                except OverflowError:      # not an int64 (the plan's bound keeps products exact)
                    continue
                ok[i, code] = True
    return ok, w, b


def _val_classes(plan):
    """Per unit and sign code (``case + 1``): the smallest code with the same val weights and
    bias (a unit's output row is a function of its inputs' rows and of these alone)."""
    cls = np.tile(np.arange(3, dtype=np.int8), (len(plan.units), 1))
    for i in plan.switch.tolist():
        u = plan.units[i]
        seen = {}
        for code in range(3):
            try:
                ws, b = plan.weights(u, code - 1)[:2]
            except Unsupported:
                continue
            cls[i, code] = seen.setdefault((tuple(ws), b), code)
    return cls


def _masked_plan(plan, units):
    """``(group, rows, weights)`` when every unit of ``units`` is a relu-like unit of one group, with
    one input row each (``rows[k]``: its row in the group's stacked rows), whose val rule is its
    input times a weight 0 or 1 and no bias on every case (``weights[k, case + 1]``), else ``None``.
    Then ``F[units]`` is the group's rows, picked and masked by the weights of the cases."""
    if not plan.codec.narrow or not len(units):
        return None
    grps = [g for g in plan.groups if set(units.tolist()) <= set(g.members)]
    if len(grps) != 1:
        return None
    grp = grps[0]
    where = {i: a for i, (a, b) in zip(grp.members, grp.spans) if b - a == 1}
    w01 = np.zeros((len(units), 3))
    for k, i in enumerate(units.tolist()):
        u = plan.units[i]
        if not u.sign or i not in where:
            return None
        for code in range(3):
            try:
                ws, b = plan.weights(u, code - 1)[:2]
            except Unsupported:
                return None
            if len(ws) != 1 or ws[0] not in (0, 1) or b:
                return None
            w01[k, code] = ws[0]
    return grp, np.array([where[i] for i in units.tolist()], dtype=np.intp), w01


def _out_limb_plan(plan):
    """:func:`_masked_plan` of the units the outputs' limb product reads (``None`` without one)."""
    return None if plan.outmat is None else _masked_plan(plan, plan.outmat[1])


def _out_rows(plan, F):
    """The outputs' numerator rows (Python integers) under the unit rows ``F``."""
    if plan.outmat is not None:
        mat, union, beta = plan.outmat
        P = mat.matmul(F[union])
        if P is not None:
            return (P + beta).tolist()
    return [c.value(F).tolist() for c in plan.out]


def _combine(terms, bias, symbols):
    """``bias + sum(c * form)`` of ``("q", numerators, denominator)`` or ``("t", exact tuple)`` forms."""
    rational = all(type(c) in (int, Fraction) for c, _ in terms) and type(bias) in (int, Fraction) \
        and all(f[0] == "q" for _, f in terms)
    if not rational:
        return ("t", combine([c for c, _ in terms], [_as_tuple(f) for _, f in terms], bias, symbols))
    L = _den(bias)
    for c, f in terms:
        if c:
            L = _lcm(L, _den(c) * f[2])
    num = np.zeros(len(terms[0][1][1]), dtype=object) if terms else np.zeros(1, dtype=object)
    for c, f in terms:
        if c:
            c = Fraction(c)
            num = num + c.numerator * (L // (c.denominator * f[2])) * f[1]
    if bias:
        num[0] += int(bias * L)
    return ("q", num, L)


def _as_tuple(f):
    return f[1] if f[0] == "t" else _exact(f[1].tolist(), f[2])


def _exact(row, d):
    if d == 1:
        return tuple(row)
    return tuple(x // d if x % d == 0 else Fraction(x, d) for x in row)


def limit_error(option, value, message):
    """A :class:`LimitError` that names the limit it hit (``option``, ``value``: the command line
    names its own flag for it)."""
    err = LimitError(message)
    err.option, err.value = option, value
    return err


def too_many(max_strata):
    """The error past ``max_strata`` strata."""
    return limit_error("max_strata", max_strata,
                       f"more than max_strata={max_strata} strata; the partition is too large to "
                       "enumerate. Pass max_strata=... to derive to raise the limit, or use "
                       "mt.evaluate for pointwise answers without enumerating pieces.")


def walk(plan, stack, max_strata, emit, drive, check, count=0, budget=None, split=None, compact=True):
    """Walk the strata of ``plan`` from the entries of ``stack`` (:func:`root_entry` for a whole walk);
    ``emit(raw)`` for each stratum, in depth-first order.

    ``raw`` is ``(path key, constraint links, forms, vals, closure)``: the key is bytes for
    ``plan.codec`` when ``compact``, else the path itself (strata written and dropped: nothing
    interned for good, memory bounded).  ``drive`` and ``check`` come from
    :mod:`mtsym.partition` (the tests driver and the affine check).  Returns the number of
    strata (``count`` plus those found); raises :class:`Paused` at ``budget`` strata or
    ``split`` stack entries.
    """
    try:
        return _Walk(plan, drive, check, emit, compact).run(stack, max_strata, count, budget, split)
    finally:
        plan.trim()
