"""The partition: every stratum of a traced program, exactly.

:func:`explore` runs the user's function once per stratum.  Its decider answers
each switching node (relu, max, Python comparison, ...): for a decision already
taken (the replayed prefix) it replays it; for a new one it splits the current
:class:`~mtsym.polyhedra.Polyhedron` by each sign test of the primitive,
continues with the first feasible case and pushes the others on a stack.  So a
k-ary max is one node whose ``2^k - 1`` tie cases are enumerated in one place,
infeasible branch prefixes are pruned at once (no child is ever built for an
empty set), and no linear program is solved.

:class:`Locator` is the decider for one exact point: the signs are evaluated
there, which names the stratum holding the point.

Progress and partial results go through one small hook: ``explore(...,
on_stratum=callback)`` calls ``callback(record, count)`` after each new stratum,
and a :class:`~mtsym.errors.LimitError` or ``KeyboardInterrupt`` raised during the
enumeration (by the limits, by Ctrl-C, or by the callback itself) leaves the
strata found so far on the exception as ``partial_records``.
"""

__all__ = ["StratumRecord", "Decider", "explore", "locate_path", "ask", "start_region", "drive_tests",
           "first_case", "graph_plan", "record_maker", "walk_records", "DEFAULT_MAX_STRATA", "DEFAULT_MAX_EVENTS"]

import math
from fractions import Fraction

import numpy as np

from .errors import LimitError, NondeterministicError, NonAffineError
from .exact import aff_var, int_row
from .polyhedra import Polyhedron
from .primitives import PRIMITIVES, Choice, Restrict, replay
from .records import StratumRecord, nice_witness
from .trace import node_forms
from .walk import Plan, Unsupported, limit_error, root_entry, too_many, walk

#: default ``max_strata`` of :func:`mtsym.derive`
DEFAULT_MAX_STRATA = 50_000
#: default ``max_events``: switching decisions along one path (loops that never end)
DEFAULT_MAX_EVENTS = 10_000


def _check_form(g, prim, node, program):
    if type(g) is not tuple:
        line = program.graph.line_of(node)
        raise NonAffineError(prim.name, "its switching quantity is not affine in the inputs "
                             f"({g}); pieces would not be polyhedral", line=line)


class Decider:
    """What every decider shares: the event count (loops that never end), one decision per node
    (a hash-consed node met twice in a run is the same decision), and the replay of a prefix of
    decisions already taken.  Subclasses define ``_decide(node, prim, vals, params)`` for new
    decisions; :attr:`path` records ``(node, case)`` in program order."""

    __slots__ = ("program", "path", "max_events", "decided", "events", "prefix")

    def __init__(self, program, max_events, prefix=()):
        self.program, self.max_events, self.prefix = program, max_events, prefix
        self.path = []
        self.decided = {}
        self.events = 0

    def event(self, node, prim, vals, params):
        self.events += 1
        if self.events > self.max_events:
            raise limit_error("max_events", self.max_events,
                              f"a path took more than max_events={self.max_events} switching decisions "
                              f"(at {prim.name}, {self.program.graph.line_of(node)}); a loop may never end. "
                              "Pass max_events=... to raise the limit.")
        if node in self.decided:  # the same node met again (hash-consed): one decision
            return self.decided[node]
        i = len(self.path)
        if i < len(self.prefix):
            step = self.prefix[i]
            if step[0] != node:
                raise NondeterministicError(prim.name, "the function took a different path when run "
                                            "again with the same decisions; traced code must be "
                                            "deterministic", line=self.program.graph.line_of(node))
            case = step[1]
        else:
            case = self._decide(node, prim, vals, params)
        self.path.append((node, case))
        self.decided[node] = case
        return case


class _Dead(Exception):
    """Internal: a resumed branch of a node holds no case (its stratum set is empty)."""


class _Explorer(Decider):
    """The decider of one run during exploration: a new decision cuts the current polyhedron.

    The first feasible case is taken in place; the node's other branches go on
    the stack as ``(prefix, (node, answers), cell, cons)``, resumed by a later run.
    """

    __slots__ = ("poly", "cons", "stack", "resume", "at", "fixed")

    def __init__(self, program, prefix, poly, cons, stack, max_events, resume=None, at=None, fixed=None):
        super().__init__(program, max_events, prefix)
        self.poly, self.cons, self.stack, self.resume = poly, cons, stack, resume
        self.at, self.fixed = at, fixed

    def _decide(self, node, prim, vals, params):
        answers = ()
        if self.resume is not None:
            rnode, answers = self.resume
            self.resume = None
            if rnode != node:
                raise NondeterministicError(prim.name, "the function took a different path when run "
                                            "again with the same decisions; traced code must be "
                                            "deterministic", line=self.program.graph.line_of(node))
        forks = []
        leaf = first_case(prim, vals, params, self.poly, self.cons, answers, forks,
                          _form_check(prim, node, self.program), self.at, self.fixed)
        base = tuple(self.path)
        for a, cell, cons in forks:
            self.stack.append((base, (node, a), cell, cons))
        if leaf is None:
            raise _Dead
        case, self.poly, self.cons = leaf
        return case


def ask(prim, vals, params, answers):
    """Replay a primitive's ``tests`` with ``answers``: ``(True, case)`` when they decide the case,
    else ``(False, question)`` (the next form, :class:`Restrict` or :class:`Choice`)."""
    try:
        _, q = replay(prim.tests, vals, params, answers)
    except StopIteration as stop:
        return True, stop.value
    return False, q


def _node_cases(program, node, prim, vals, params, poly, cons, at=None, fixed=None):
    """All feasible ``(case, poly, cons)`` of a switching node on ``poly``, in order (``at``,
    ``fixed``: see :func:`drive_tests`)."""
    out = []
    forks = [((), poly, cons)]
    check = _form_check(prim, node, program)
    while forks:
        answers, cell, C = forks.pop()
        leaf = drive_tests(prim, vals, params, cell, C, answers, forks, check, at, fixed)
        if leaf is not None:
            out.append(leaf)
    return out


def first_case(prim, vals, params, cell, cons, answers, forks, check, at=None, fixed=None):
    """:func:`drive_tests` until a branch holds a case (the next forks are tried in order)."""
    leaf = drive_tests(prim, vals, params, cell, cons, answers, forks, check, at, fixed)
    while leaf is None and forks:
        answers, cell, cons = forks.pop()
        leaf = drive_tests(prim, vals, params, cell, cons, answers, forks, check, at, fixed)
    return leaf


def _form_check(prim, node, program):
    def check(g):
        _check_form(g, prim, node, program)
    return check


def drive_tests(prim, vals, params, cell, cons, answers, forks, check, at=None, fixed=None):
    """Run a switching node's ``tests`` generator on a stratum: the first feasible case, others forked.

    The generator is replayed through ``answers`` (the answers of the branch
    being resumed), then driven on ``cell`` (a Polyhedron, or ``(Cut, sign)`` to
    build lazily): at each sign test the polyhedron is cut and the first
    feasible sign continued in place; every other feasible answer is appended
    to ``forks`` as ``(answers, cell, cons)``, in reverse order (pop the next).
    An empty branch is never built, so infeasible prefixes are pruned at once,
    and a branch is replayed only when it is resumed (no quadratic replay).

    Returns ``(case, poly, cons)``, or ``None`` when the branch has no case.
    ``cons`` is a linked list ``(row, sign, rest)`` of the proper cuts.

    ``at`` (an exact point, optional) keeps only what meets every neighbourhood
    of that point: a test that is nonzero there takes its sign there without a
    split (and adds no constraint); only tests that vanish at ``at`` split, so
    every constraint added passes through ``at`` (the star of the point).  The
    forms decided that way are appended to the list ``fixed`` when one is given.
    """
    if type(cell) is tuple:
        cell = cell[0].child(cell[1])
    if not answers:  # a switching node's inputs are its switching quantities: affine, or refused by name
        for g in vals:
            check(g)
    try:
        gen, q = replay(prim.tests, vals, params, answers)
        while True:
            if isinstance(q, Choice):
                alts = choice_alternatives(q, cell)
                if not alts:
                    return None
                for j in reversed(alts[1:]):
                    forks.append((answers + (j,), cell, cons))
                answers += (alts[0],)
                q = gen.send(alts[0])
                continue
            if isinstance(q, Restrict):
                g, allowed = q.form, q.signs
            else:
                g, allowed = q, (1, 0, -1)
            check(g)
            if at is not None:
                v = g[0] + sum(c * x for c, x in zip(g[1:], at) if c)
                if v != 0:
                    a = 1 if v > 0 else -1
                    if fixed is not None:
                        fixed.append(g)
                    if a not in allowed:
                        return None
                    answers += (a,)
                    q = gen.send(a)
                    continue
            h = int_row(g)
            cut = cell.cut(h)
            ok = [a for a in allowed if a in cut.signs]
            if not ok:
                return None
            for a in reversed(ok[1:]):
                forks.append((answers + (a,), (cut, a), (h, a, cons) if cut.proper else cons))
            a = ok[0]
            if cut.proper:
                cell, cons = cut.child(a), (h, a, cons)
            answers += (a,)
            q = gen.send(a)
    except StopIteration as stop:
        return stop.value, cell, cons


#: a Choice over fewer alternatives is not screened (the generator prunes them as fast)
_SCREEN_FROM = 6


def choice_alternatives(q, cell):
    """The alternatives of a :class:`~mtsym.primitives.Choice` worth trying on ``cell``, in order.

    With ``scores``, an alternative is dropped when another one's score
    dominates it on the whole stratum (exactly: on every generator, and equal
    along the lineality), so a k-ary max over one stratum costs O(k) tests.
    Candidates to dominate: the best score on all generators together, then,
    round after round, the best score at a vertex among the alternatives left
    (a round that drops nothing ends it).  Dropping is only ever a shortcut:
    the tests would prune the same alternatives.
    """
    m = q.m
    if q.scores is None or m < _SCREEN_FROM or any(type(f) is not tuple for f in q.scores):
        return list(range(m))
    M = int_row_common(q.scores, q.sense)
    V, W = cell.products(M, max(abs(x) for r in M.tolist() for x in r))
    keep = np.ones(m, dtype=bool)
    order = np.arange(m)
    vertex = next(j for j, gen in enumerate(cell.gens) if gen[0] > 0)
    at_vertex = V[:, vertex]
    tried = set()
    champ = int(np.argmax(V.sum(axis=1)))
    while champ not in tried:
        tried.add(champ)
        D = V[champ] - V
        dom = (D >= 0).all(axis=1) & ((D > 0).any(axis=1) | (order > champ))
        if W.shape[1]:
            dom &= (W[champ] - W == 0).all(axis=1)
        dom[champ] = False
        dom &= keep
        keep &= ~dom
        if len(tried) > 1 and not dom.any():
            break
        left = np.flatnonzero(keep)
        left = left[[j not in tried for j in left.tolist()]]
        if not len(left):
            break
        champ = int(left[np.argmax(at_vertex[left])])
    return [int(j) for j in np.flatnonzero(keep)]


def int_row_common(forms, sense=1):
    """Rational affine forms as one integer matrix, all scaled by one positive number (and by ``sense``)."""
    den = 1
    for f in forms:
        for c in f:
            if type(c) is Fraction:
                den = den * c.denominator // math.gcd(den, c.denominator)
    rows = [[int(c * den) * sense for c in f] for f in forms]
    big = max((abs(x) for r in rows for x in r), default=0)
    return np.array(rows, dtype=np.int64 if big < (1 << 62) else object)


def explore(program, max_strata=None, max_events=None, on_stratum=None, *, start=None, at=None, fixed=None,
            keep=True):
    """Every stratum of ``program`` (a :class:`~mtsym.trace.Program`), as StratumRecords.

    ``on_stratum(record, count)``, when given, is called after each new stratum.  A
    :class:`~mtsym.errors.LimitError` or ``KeyboardInterrupt`` raised meanwhile carries
    the strata found so far as ``partial_records``.

    The function is first run once at the origin.  If that run met no Python
    comparison, the program is branch-free: its graph is the whole program and
    the strata are enumerated over the graph alone (:mod:`mtsym.walk`; a graph
    the walk does not cover -- a product of traced values -- by
    :func:`_explore_graph`).  Otherwise the function is re-run once per
    stratum, each run replaying the decisions of its prefix.

    Parameters
    ----------
    max_strata, max_events : int, optional
        The limits of :func:`mtsym.derive`.
    on_stratum : callable, optional
        ``on_stratum(record, count)`` after each new :class:`~mtsym.records.StratumRecord`, in order.
    start : (Polyhedron, constraints), optional
        Enumerate inside this region only (from :func:`start_region`); its
        constraints are part of every stratum's description (local analysis, :mod:`mtsym.local`).
    at : tuple of exact numbers, optional
        Only the strata whose closure holds this point (see :func:`drive_tests`).
    fixed : list, optional
        With ``at``: receives every test form decided by its (nonzero) sign at ``at``.
    keep : bool
        ``False``: keep no record (``on_stratum`` takes them; memory stays bounded) and return
        an empty list.
    """
    max_strata = DEFAULT_MAX_STRATA if max_strata is None else max_strata
    max_events = DEFAULT_MAX_EVENTS if max_events is None else max_events
    records = _Records(on_stratum, keep)
    try:
        locate_path(program, (0,) * program.n, max_events)
        cell, cons = (Polyhedron.space(program.n), None) if start is None else start
        if program.graph.has_branches():
            _explore_runs(program, cell, cons, max_strata, max_events, records.append, at, fixed)
            return records
        plan = graph_plan(program) if at is None else None   # the star of a point: the general search
        if plan is not None:
            try:
                walk_records(plan, [root_entry(plan, cell, cons)], max_strata, records.append, compact=keep)
                return records
            except Unsupported:  # a case weight the plan's scale cannot hold: start over
                records.reset()
        _explore_graph(program, cell, cons, max_strata, records.append, at, fixed)
    except (LimitError, KeyboardInterrupt) as e:
        e.partial_records = list(records)
        raise
    return records


def start_region(n, constraints):
    """The ``start`` of :func:`explore` for the region ``{sign(form) = sign}`` in ``R^n``, or ``None``
    when the region is empty.  ``constraints`` is a list of ``(form, sign)``, forms ``(c0, c1..cn)``."""
    poly, cons = Polyhedron.space(n), None
    for form, s in constraints:
        h = int_row(form)
        kids = poly.split(h)
        if s not in kids:
            return None
        if len(kids) > 1:
            cons = (h, s, cons)
        poly = kids[s]
    return poly, cons


def _nice_point(w, constraints):
    """``w`` (rationals) rounded to the coarsest dyadic grid that keeps every constraint (see
    :func:`mtsym.records.nice_witness`)."""
    q = 1
    for c in w:
        if type(c) is not int:
            q = q * c.denominator // math.gcd(q, c.denominator)
    return nice_witness(tuple(int(c * q) for c in w), q, constraints)


class _Records(list):
    """The strata found so far (none kept unless ``keep``); ``append`` also tells the ``on_stratum`` hook."""

    __slots__ = ("hook", "keep", "count")

    def __init__(self, hook, keep=True):
        super().__init__()
        self.hook, self.keep, self.count = hook, keep, 0

    def append(self, record):
        self.count += 1
        if self.keep:
            super().append(record)
        if self.hook is not None:
            self.hook(record, self.count)

    def reset(self):
        self.clear()
        self.count = 0


def graph_plan(program):
    """The :class:`~mtsym.walk.Plan` of a branch-free program, or ``None`` when it does not apply."""
    try:
        return Plan(program)
    except Unsupported:
        return None


def record_maker(plan, compact=True):
    """``raw -> StratumRecord`` for the raw strata of a walk of ``plan`` (:func:`mtsym.walk.walk`:
    keys coded by ``plan.codec`` when ``compact`` or narrow, else the paths themselves)."""
    codec = plan.codec if compact or plan.codec.narrow else None
    outs, shape = plan.out_nodes, plan.shape

    def make(raw):
        path, cons, forms, vals, leaf = raw
        return StratumRecord(path, cons, forms, vals, outs, shape, poly=leaf, codec=codec)
    return make


def walk_records(plan, stack, max_strata, emit, count=0, budget=None, split=None, compact=True):
    """Walk ``plan`` from ``stack`` (see :func:`mtsym.walk.walk`), emitting StratumRecords."""
    make = record_maker(plan, compact)

    def record(raw):
        emit(make(raw))

    def check(u):
        return _form_check(u.prim, u.node, plan.program)

    return walk(plan, stack, max_strata, record, drive_tests, check, count, budget, split, compact)


_too_many = too_many


#: a program with Python branches runs once per stratum: all runs together may take this many
#: times ``max_events`` switching decisions (a loop of 10^4 comparisons over 2 * 10^4 strata would
#: otherwise run 2 * 10^8 decisions, many minutes, before ``max_strata`` stops it)
TOTAL_EVENTS = 250


def _explore_runs(program, cell, cons, max_strata, max_events, emit, at=None, fixed=None):
    stack = [((), None, cell, cons)]
    count = total = 0
    budget = TOTAL_EVENTS * max_events
    while stack:
        prefix, resume, poly, cons = stack.pop()
        if type(poly) is tuple:
            poly = poly[0].child(poly[1])
        ex = _Explorer(program, prefix, poly, cons, stack, max_events, resume, at, fixed)
        try:
            outputs, shape = program.run(ex)
        except _Dead:
            continue
        finally:
            total += ex.events
        count += 1
        emit(StratumRecord(tuple(ex.path), ex.cons, tuple(v.lin for v in outputs),
                           tuple(v.val for v in outputs), tuple(v.node for v in outputs), shape, poly=ex.poly))
        if count > max_strata:
            raise _too_many(max_strata)
        if total > budget and stack:
            raise limit_error("max_events", max_events,
                              f"the function ran once per stratum, {count:,} times, taking {total:,} switching "
                              f"decisions in all (more than {TOTAL_EVENTS} x max_events={max_events}): each run "
                              "repeats every comparison of its path (a long loop of Python comparisons) and the "
                              "strata are not all found. Pass max_events=... to allow more, or write the loop "
                              "with mt.max / mt.relu (no Python comparison: enumerated over the graph, once).")


def _explore_graph(program, cell, cons, max_strata, emit, at=None, fixed=None):
    """Depth-first over the switching nodes of a branch-free graph, forms in Python (any graph).

    One list of forms serves the whole search: a stack entry resumes at node
    ``pos`` and only ever reads nodes before ``pos``, which no later run has
    rewritten (entries are nested in stack order).
    """
    g = program.graph
    N = g.number_of_nodes()
    outs = g.outputs[0]
    shape = program.output_shape
    syms = program.symbols
    tape = []
    for v in range(N):
        d = g.nodes[v]
        prim = PRIMITIVES[d["op"]]
        tape.append((prim, d["inputs"], d["params"], program.conv if d["conv"] is None else d["conv"]))
    vals = [None] * N
    lins = [None] * N
    for v, (prim, ins, params, conv) in enumerate(tape):
        if prim.kind == "input":
            vals[v] = lins[v] = aff_var(params[0], program.n)
    path = []
    count = 0
    stack = [(0, None, cell, cons, 0)]
    while stack:
        pos, answers, poly, cons, depth = stack.pop()
        del path[depth:]
        for v in range(pos, N):
            prim, ins, params, conv = tape[v]
            if prim.kind == "input":
                continue
            iv = [vals[u] for u in ins]
            if prim.tests is not None:
                forks = []
                leaf = first_case(prim, iv, params, poly, cons, answers if v == pos and answers is not None else (),
                                  forks, _form_check(prim, v, program), at, fixed)
                d = len(path)
                for a, P, C in forks:
                    stack.append((v, a, P, C, d))
                if leaf is None:
                    break
                case, poly, cons = leaf
                path.append((v, case))
            else:
                case = None
            vals[v], lins[v] = node_forms(prim, case, params, conv, iv, [lins[u] for u in ins], syms)
        else:
            count += 1
            emit(StratumRecord(tuple(path), cons, tuple(lins[u] for u in outs),
                               tuple(vals[u] for u in outs), outs, shape, poly=poly))
            if count > max_strata:
                raise _too_many(max_strata)


class _Locator(Decider):
    """The decider that evaluates every case at one exact point."""

    __slots__ = ("point",)

    def __init__(self, program, point, max_events):
        super().__init__(program, max_events)
        self.point = point

    def _decide(self, node, prim, vals, params):
        pt = self.point
        xs = []
        for g in vals:
            _check_form(g, prim, node, self.program)
            xs.append(g[0] + sum(c * x for c, x in zip(g[1:], pt)))
        return prim.case_of(xs, params)


def locate_path(program, point, max_events=None):
    """The decision path ``((node, case), ...)`` of the stratum holding an exact point."""
    loc = _Locator(program, point, DEFAULT_MAX_EVENTS if max_events is None else max_events)
    program.run(loc)
    return tuple(loc.path)
