"""The strata of a branch-free graph, depth first, at a cost per stratum that does not grow with the program.

:func:`mtsym.partition.explore` hands a program without Python branches to this
module.  The graph is first compiled into a :class:`Plan`:

* every affine node is *flattened*: its value is an exact rational combination
  of *sources* -- the constant 1, the inputs, and the outputs of the switching
  nodes (a very long affine chain is cut into pieces, which become sources
  too).  So a sum of 128 relus is one combination of 128 sources, whatever the
  code looked like;
* each source's value form is kept as a row of integers scaled by a fixed
  positive integer (:attr:`Unit.dout`), so forms are combined by integer matrix
  products (numpy ``int64`` when a bound computed from the graph shows nothing
  can overflow, Python integers otherwise: always exact).

The walk then visits the decisions in program order, exactly as a plain
depth-first search over the switching nodes would, so the strata come out in
the same order; what changes is the cost:

* a switching node's input forms are computed once per distinct prefix of the
  decisions they depend on (when the search passes the last of them), and
  shared by the whole subtree below;
* the sign tests of every relu-like node whose forms are known (a declared
  ``sign_input``) are batched: one integer product with the stratum's
  generators says, for all of them at once, which have one sign on the
  stratum (decided without branching, and so in every stratum below) and which
  must branch;
* the other switching nodes (max, clamp, sort, ...) drive their ``tests``
  generators on the stratum (:func:`~mtsym.partition.drive_tests`), branches
  forked lazily;
* a stratum's record holds its decisions as bytes (:class:`PathCodec`), its
  constraints as a linked list shared with its siblings, its forms interned.

Graphs this plan does not cover (a product of two traced values) are
enumerated by the general search in :mod:`mtsym.partition`; both give the same
strata in the same order (``tests/test_walk.py``).
"""

__all__ = ["Plan", "Unsupported", "PathCodec", "walk", "root_state"]

import math
from fractions import Fraction

import numpy as np

from .errors import LimitError
from .exact import int_row
from .primitives import PRIMITIVES
from .trace import VAL_CONV, combine

#: an affine combination of more sources than this becomes a source of its own
MATERIALIZE = 256
_SAFE = 1 << 62
#: cases whose weights are kept per node (a k-ary max has 2^k - 1 cases: keep the common ones only)
_CACHE = 4096
_UNDECIDED = -1


class Unsupported(Exception):
    """Internal: the plan does not cover this graph; the general search takes it."""


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


class Unit:
    """A source computed during the walk: a switching node, or a long affine node cut out of a chain.

    Attributes
    ----------
    node : int
        The graph node.
    prim : Primitive or None
        ``None`` for an affine unit (no decision).
    slots : list of (idx, coefs)
        Each input as an integer combination of source rows: ``coefs @ F[idx]`` is the input's
        form times :attr:`din`.
    din, dout : int
        The positive integers the input and output forms are scaled by.
    need : int
        The last unit the inputs depend on (-1: none): the forms are known once the walk has
        decided every unit up to it.
    deps : tuple of int
        The units the inputs depend on (for the convention forms).
    """

    __slots__ = ("node", "prim", "params", "conv", "slots", "din", "dout", "need", "deps", "src",
                 "sign", "weights", "cases", "codes", "exprs")

    def __init__(self, node, prim, params, conv, exprs, src):
        self.node, self.prim, self.params, self.conv = node, prim, params, conv
        self.exprs, self.src = exprs, src
        self.sign = prim is not None and prim.sign_input is not None
        self.weights = {}            # case -> (integer weight per slot, integer bias), val rule
        self.cases, self.codes = [], {}


class Plan:
    """A branch-free graph compiled for :func:`walk` (see the module docstring)."""

    def __init__(self, program):
        g = program.graph
        self.program, self.n = program, program.n
        n = self.n
        exprs = {}
        units = []
        src_unit = {}          # source index -> unit index
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
                e = {0: c0} if c0 else {}
                for c, u in zip(coefs, d["inputs"]):
                    for s, a in exprs[u].items():
                        e[s] = e.get(s, 0) + c * a
                e = {s: a for s, a in e.items() if a}
                if len(e) > MATERIALIZE:
                    src = 1 + n + len(units)
                    units.append(Unit(v, None, (), None, [e], src))
                    src_unit[src] = len(units) - 1
                    e = {src: 1}
                exprs[v] = e
            elif kind == "switching":
                if prim.linear is None:
                    raise Unsupported(prim.name)
                src = 1 + n + len(units)
                conv = program.conv if d["conv"] is None else d["conv"]
                units.append(Unit(v, prim, d["params"], conv, [exprs[u] for u in d["inputs"]], src))
                src_unit[src] = len(units) - 1
                exprs[v] = {src: 1}
            else:  # a product of traced values (not affine), or a Python branch
                raise Unsupported(prim.name)
        self.units = units
        self.nsrc = 1 + n + len(units)
        D = [1] * self.nsrc
        B = [1] * self.nsrc
        bound = 1
        for u in units:
            dens = 1
            deps = set()
            for e in u.exprs:
                for s, c in e.items():
                    dens = _lcm(dens, _den(Fraction(c) / D[s]))
                    if s in src_unit:
                        deps.add(src_unit[s])
            u.din = dens
            u.deps = tuple(sorted(deps))
            u.need = max(deps, default=-1)
            u.slots = []
            bounds = []
            for e in u.exprs:
                idx = np.array(sorted(e), dtype=np.intp)
                coefs = [int(Fraction(e[s]) * dens / D[s]) for s in idx.tolist()]
                u.slots.append((idx, coefs))
                bounds.append(sum(abs(c) * B[s] for c, s in zip(coefs, idx.tolist())))
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
            D[u.src], B[u.src] = u.dout, bout
            bound = max(bound, bout, *bounds)
            u.exprs = None
        # outputs
        outs = g.outputs[0]
        self.out_nodes = outs
        self.out = []
        odeps = set()
        obound = 0
        for v in outs:
            e = exprs[v]
            dens = 1
            for s, c in e.items():
                dens = _lcm(dens, _den(Fraction(c) / D[s]))
                if s in src_unit:
                    odeps.add(src_unit[s])
            idx = np.array(sorted(e), dtype=np.intp)
            coefs = [int(Fraction(e[s]) * dens / D[s]) for s in idx.tolist()]
            obound = max(obound, sum(abs(c) * B[s] for c, s in zip(coefs, idx.tolist())))
            self.out.append((idx, coefs, dens, {s: e[s] for s in idx.tolist()}))
        self.out_deps = np.array(sorted(odeps), dtype=np.intp)
        #: no entry of a form's numerator exceeds this (int64 arithmetic below 2^62)
        self.bound = max(bound, obound)
        self.dtype = np.int64 if self.bound < _SAFE else object
        self.D = D
        for u in units:
            u.slots = [(idx, np.array(c, dtype=self.dtype)) for idx, c in u.slots]
            u.deps = np.array(u.deps, dtype=np.intp)
        self.out = [(idx, np.array(c, dtype=self.dtype), dens, e) for idx, c, dens, e in self.out]
        # units in groups whose forms become known together: one integer product per group
        order = sorted(range(len(units)), key=lambda i: (units[i].need, i))
        self.groups = []
        for i in order:
            if not self.groups or self.groups[-1][0] != units[i].need:
                self.groups.append((units[i].need, []))
            self.groups[-1][1].append(i)
        self.groups = [_Group(need, [units[i] for i in members], members, self.dtype)
                       for need, members in self.groups]
        self.need_of = [grp.need for grp in self.groups]
        self.switch = np.array([i for i, u in enumerate(units) if u.prim is not None], dtype=np.intp)
        self.codec = PathCodec(tuple(units[i].node for i in self.switch.tolist()),
                               all(units[i].sign for i in self.switch.tolist()))
        self.shape = program.output_shape if hasattr(program, "output_shape") else g.graph.get("shape", ())
        self.symbols = program.symbols

    # ------------------------------------------------------------ the val rule of a unit
    def weights(self, u, case):
        """``(integer weight per slot, integer bias, differs)``: the output numerator on ``case``;
        ``differs`` when the convention's rule is not the val rule there."""
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
            w = (ints, int(bb), u.prim.linear(case, u.params, u.conv) != vw)
            if len(u.weights) < _CACHE:
                u.weights[case] = w
        return w

    def code(self, u, case):
        """The byte code of ``case`` at a switching unit (interned per unit)."""
        if u.sign:
            return case + 1
        c = u.codes.get(case)
        if c is None:
            c = u.codes[case] = len(u.cases)
            u.cases.append(case)
        return c


class _Group:
    """Units whose input forms become known at the same point of the walk: their slots stacked
    into one integer matrix over the union of their sources."""

    __slots__ = ("need", "members", "A", "uidx", "spans")

    def __init__(self, need, units, members, dtype):
        self.need, self.members = need, members
        union = sorted({s for u in units for idx, _ in u.slots for s in idx.tolist()})
        where = {s: k for k, s in enumerate(union)}
        rows = sum(len(u.slots) for u in units)
        self.A = np.zeros((rows, len(union)), dtype=dtype)
        self.spans = []
        r = 0
        for u in units:
            self.spans.append((r, r + len(u.slots)))
            for idx, c in u.slots:
                for s_, a in zip(idx.tolist(), c.tolist()):
                    self.A[r, where[s_]] = a
                r += 1
        self.uidx = np.array(union, dtype=np.intp)


class PathCodec:
    """Decision paths of one walk, stored as bytes: one code per switching node, in program order.

    Relu-like nodes store ``sign + 1`` in one byte; if any node has other cases, every node
    takes four bytes and its cases are interned in order of discovery.
    """

    __slots__ = ("nodes", "narrow", "tables")

    def __init__(self, nodes, narrow):
        self.nodes, self.narrow = nodes, narrow
        self.tables = None

    def decode(self, key):
        """The path ``((node, case), ...)`` of a key."""
        if self.narrow:
            return tuple(zip(self.nodes, (c - 1 for c in key)))
        codes = np.frombuffer(key, dtype=np.int32).tolist()
        return tuple((v, t(c)) for v, t, c in zip(self.nodes, self.tables, codes))

    def encode(self, path):
        """The key of a path, or ``None`` when it holds a case no stratum has."""
        if len(path) != len(self.nodes) or any(v != w for (v, _), w in zip(path, self.nodes)):
            return None
        if self.narrow:
            return bytes(c + 1 for _, c in path)
        codes = []
        for (_, c), t in zip(path, self.tables):
            k = t.codes.get(c) if hasattr(t, "codes") else (c + 1)
            if k is None:
                return None
            codes.append(k)
        return np.array(codes, dtype=np.int32).tobytes()


class _Table:
    """Decoding of one unit's interned codes (a view on the unit's case list)."""

    __slots__ = ("cases", "codes")

    def __init__(self, unit):
        self.cases, self.codes = unit.cases, unit.codes

    def __call__(self, c):
        return self.cases[c]


class _Sign:
    __slots__ = ()

    def __call__(self, c):
        return c - 1


class State:
    """Where the walk stands: decisions, known forms, pending sign tests, the current stratum."""

    __slots__ = ("F", "codes", "ldiff", "anyl", "slot", "pend", "H", "f", "gptr", "cell", "cons")

    def copy(self):
        s = State.__new__(State)
        s.F, s.codes, s.ldiff, s.anyl = self.F.copy(), self.codes.copy(), self.ldiff.copy(), self.anyl
        s.slot, s.pend, s.H = self.slot.copy(), self.pend, self.H
        s.f, s.gptr, s.cell, s.cons = self.f, self.gptr, self.cell, self.cons
        return s


def root_state(plan, cell):
    """The state before any decision, on ``cell`` (a Polyhedron: all of R^n, or a start set)."""
    n = plan.n
    st = State()
    st.F = np.zeros((plan.nsrc, n + 1), dtype=plan.dtype)
    for i in range(n + 1):
        st.F[i, i] = 1
    U = len(plan.units)
    st.codes = np.full(U, _UNDECIDED, dtype=np.int32)
    st.ldiff = np.zeros(U, dtype=bool)
    st.anyl = False
    st.slot = [None] * U
    st.pend = []
    st.H = np.zeros((0, n + 1), dtype=plan.dtype)
    st.f = st.gptr = 0
    st.cell, st.cons = cell, None
    return st


class _Walk:
    """One depth-first walk (see :func:`walk`)."""

    def __init__(self, plan, drive, check, emit):
        self.plan, self.drive, self.check, self.emit = plan, drive, check, emit
        self.forms, self.pairs, self.fractions = {}, {}, {}

    # ----------------------------------------------------------- deciding one unit
    def decide(self, st, i, case):
        """Record ``case`` for unit ``i`` in ``st`` (its output row, its convention flag)."""
        plan = self.plan
        u = plan.units[i]
        ws, b, differs = plan.weights(u, case)
        F = st.F
        src = u.src
        if len(ws) == 1:
            w = ws[0]
            if w == 1:
                F[src] = st.slot[i][0]
            elif w == 0:
                F[src] = 0
            else:
                F[src] = w * st.slot[i][0]
        else:
            F[src] = np.array(ws, dtype=plan.dtype) @ st.slot[i]
        if b:
            F[src, 0] += b
        st.codes[i] = plan.code(u, case)
        if differs:
            st.ldiff[i] = st.anyl = True
        elif st.anyl and len(u.deps) > 0 and st.ldiff[u.deps].any():
            st.ldiff[i] = True

    def compute(self, st, grp, new, new_rows):
        """The input rows of a group's units (their forms are now known); sign units to ``new``."""
        units = self.plan.units
        rows = grp.A @ st.F[grp.uidx]
        for i, (a, b) in zip(grp.members, grp.spans):
            u = units[i]
            if u.prim is None:
                st.F[u.src] = rows[a]
                st.codes[i] = 0
                st.ldiff[i] = len(u.deps) > 0 and st.ldiff[u.deps].any()
            else:
                st.slot[i] = rows[a:b]
                if u.sign:
                    new.append(i)
                    new_rows.append(rows[a])

    def settle(self, st, fresh=()):
        """Decide everything that needs no branching; ``fresh``: pending rows to test on a new cell."""
        plan = self.plan
        units, groups, need_of = plan.units, plan.groups, plan.need_of
        U, G = len(units), len(groups)
        retest = bool(fresh)
        while True:
            new, new_rows = [], []
            while st.gptr < G and need_of[st.gptr] < st.f:
                self.compute(st, groups[st.gptr], new, new_rows)
                st.gptr += 1
            if new or retest:
                pend = st.pend + new
                H = np.concatenate([st.H, np.array(new_rows, dtype=plan.dtype).reshape(len(new), -1)]) \
                    if new else st.H
                if pend:
                    codes = st.cell.sign_sets(H, plan.bound).tolist()
                    keep = [k for k, c in enumerate(codes) if c == 2]
                    if len(keep) < len(pend):
                        for k, c in enumerate(codes):
                            if c != 2:
                                self.decide(st, pend[k], c)
                        pend = [pend[k] for k in keep]
                        H = H[keep]
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
    def run(self, stack, max_strata, count=0):
        plan = self.plan
        units = plan.units
        U = len(units)
        while stack:
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
                    if count > max_strata:
                        raise _too_many(max_strata)
                    self.emit(self.record(st))
                    break
                i = st.f
                u = units[i]
                if u.sign:
                    k = st.pend.index(i)
                    h = int_row(st.H[k].tolist())
                    cut = st.cell.cut(h)
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
        k = st.pend.index(i)
        st.pend = st.pend[:k] + st.pend[k + 1:]
        st.H = st.H[[j for j in range(len(st.pend) + 1) if j != k]]
        self.decide(st, i, s)
        fresh = cut.proper
        if fresh:
            st.cell, st.cons = cut.child(s), (cut.h, s, st.cons)
        self.settle(st, fresh)
        return st

    def resume(self, parent, i, answers, cell, cons, stack):
        """Drive unit ``i``'s tests from ``answers`` on ``cell``; forks go on the stack."""
        plan = self.plan
        u = plan.units[i]
        vals = [_exact(r.tolist(), u.din) for r in parent.slot[i]]
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
        F = st.F
        vals = tuple(self.intern((c @ F[idx]).tolist(), dens) for idx, c, dens, _ in plan.out)
        if st.anyl and st.ldiff[plan.out_deps].any():
            forms = tuple(self.intern(f[1].tolist(), f[2]) if f[0] == "q" else f[1] for f in self.lin_forms(st))
        else:
            forms = vals
        ids = (tuple(map(id, forms)), tuple(map(id, vals)))   # the entries are interned: ids are stable
        key = self.pairs.get(ids)
        if key is None:
            key = self.pairs[ids] = (forms, vals)
        if plan.codec.narrow:
            path = st.codes[plan.switch].astype(np.uint8).tobytes()
        else:
            path = st.codes[plan.switch].tobytes()
        return (path, st.cons, key[0], key[1], st.cell)

    def intern(self, num, d):
        """The exact form ``num / d`` (Python ints), one shared tuple per distinct form."""
        g = math.gcd(d, *num)
        if g > 1:
            d //= g
            num = [x // g for x in num]
        key = (tuple(num), d)
        f = self.forms.get(key)
        if f is None:
            if d == 1:
                f = key[0]
            else:
                fr = self.fractions
                f = []
                for x in num:
                    if x % d == 0:
                        f.append(x // d)
                    else:
                        q = fr.get((x, d))
                        if q is None:
                            q = fr[(x, d)] = Fraction(x, d)
                        f.append(q)
                f = tuple(f)
            self.forms[key] = f
        return f

    def lin_forms(self, st):
        """The outputs' forms under the convention (exact; sympy where the convention has symbols).

        Only the units whose convention rule differs from the val rule (on their
        case, or through an input) are recomputed, in program order; the others
        are their val rows.  Forms are integer rows over one denominator.
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
                todo.extend(k for k in units[j].deps if ldiff[k])
        lin = {}
        for j in sorted(need):
            u = units[j]
            if u.prim is None:
                lin[j] = self.terms_form(st, u.slots[0], u.din, lin)
                continue
            ws, b = u.prim.linear(_case(plan, u, int(st.codes[j])), u.params, u.conv)
            if not any(k in lin for k in u.deps.tolist()) and all(type(w) in (int, Fraction) for w in ws) \
                    and type(b) in (int, Fraction):
                L = _den(b)
                for w in ws:
                    L = _lcm(L, _den(w))
                num = np.array([int(w * L) for w in ws], dtype=object) @ st.slot[j].astype(object)
                if b:
                    num[0] += int(b * L) * u.din
                lin[j] = ("q", num, L * u.din)
                continue
            ins = [self.terms_form(st, slot, u.din, lin, (j, k)) for k, slot in enumerate(u.slots)]
            lin[j] = _combine(list(zip(ws, ins)), b, plan.symbols)
        return [self.terms_form(st, (idx, c), dens, lin) for idx, c, dens, _ in plan.out]

    def terms_form(self, st, slot, den, lin, known=None):
        """``sum(c * form(s)) / den`` over a slot's sources, with the convention forms in ``lin``."""
        idx, coefs = slot
        srcs = idx.tolist()
        n1 = self.plan.n + 1
        units = [s - n1 for s in srcs]
        if not any(j in lin for j in units):
            if known is not None:
                return ("q", st.slot[known[0]][known[1]].astype(object), den)
            return ("q", (coefs @ st.F[idx]).astype(object), den)
        D = self.plan.D
        terms = []
        for s, c, j in zip(srcs, coefs.tolist(), units):
            f = lin.get(j)
            if f is None:
                f = ("q", st.F[s].astype(object), D[s])
            terms.append((Fraction(c * D[s], den), f))
        return _combine(terms, 0, self.plan.symbols)


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
    num = None
    for c, f in terms:
        if c:
            c = Fraction(c)
            k = c.numerator * (L // (c.denominator * f[2]))
            num = k * f[1] if num is None else num + k * f[1]
    if num is None:
        num = np.zeros(len(terms[0][1][1]) if terms else 1, dtype=object)
    if bias:
        num = num.copy()
        num[0] += int(bias * L)
    return ("q", num, L)


def _as_tuple(f):
    return f[1] if f[0] == "t" else _exact(f[1].tolist(), f[2])


def _case(plan, u, code):
    return code - 1 if u.sign else u.cases[code]


def _exact(row, d):
    if d == 1:
        return tuple(row)
    return tuple(x // d if x % d == 0 else Fraction(x, d) for x in row)


def _too_many(max_strata):
    return LimitError(f"more than max_strata={max_strata} strata; the partition is too large to "
                      "enumerate. Pass max_strata=... to derive to raise the limit, or use "
                      "mt.evaluate for pointwise answers without enumerating pieces.")


def walk(plan, cell, max_strata, emit, drive, check, stack=None, count=0):
    """Walk the strata of ``plan`` inside ``cell``; ``emit(raw)`` for each, in depth-first order.

    ``raw`` is ``(path bytes, constraint links, forms, vals, closure)``.  ``drive`` and
    ``check`` come from :mod:`mtsym.partition` (the tests driver and the affine check).
    ``stack`` resumes a walk from saved entries (a subtree).  Returns the number of strata
    (``count`` plus those found).
    """
    w = _Walk(plan, drive, check, emit)
    plan.codec.tables = [(_Sign() if plan.units[i].sign else _Table(plan.units[i])) for i in plan.switch.tolist()]
    return w.run([("root", root_state(plan, cell))] if stack is None else stack, max_strata, count)
