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

__all__ = ["StratumRecord", "Decider", "explore", "locate_path", "ask", "start_region", "DEFAULT_MAX_STRATA",
           "DEFAULT_MAX_EVENTS"]

from fractions import Fraction

from .errors import LimitError, NondeterministicError, NonAffineError
from .exact import aff_var, int_row
from .polyhedra import Polyhedron
from .primitives import PRIMITIVES, Choice, Restrict
from .trace import node_forms

#: default ``max_strata`` of :func:`mtsym.derive`
DEFAULT_MAX_STRATA = 50_000
#: default ``max_events``: switching decisions along one path (loops that never end)
DEFAULT_MAX_EVENTS = 10_000


class StratumRecord:
    """What exploration knows of one stratum (internal; the user sees :class:`~mtsym.table.Stratum`).

    Attributes
    ----------
    path : tuple of (node, case)
        The decisions, in program order.
    constraints : list of (form, sign)
        The exact description ``sign(form) = sign``, forms as coprime integer
        rows (each one cut the stratum when it was added).
    forms : tuple
        f^alpha of each output: affine tuples (entries may hold convention
        symbols) or sympy expressions.
    vals : tuple
        The outputs' rational ``val`` forms (equal to f on the stratum).
    output_nodes : tuple of int
        The graph nodes of the outputs.
    shape : tuple
        ``()`` for a scalar output, ``(m,)`` for m outputs.
    poly : Polyhedron or None
        The closure in double description (``None`` for a table read from JSON).
    dim : int
    witness : tuple of int/Fraction
    """

    __slots__ = ("path", "constraints", "forms", "vals", "output_nodes", "shape", "poly", "dim", "_witness")

    def __init__(self, path, constraints, forms, vals, output_nodes, shape, poly=None, dim=None,
                 witness=None):
        self.path, self.constraints = path, constraints
        self.forms, self.vals, self.output_nodes, self.shape = forms, vals, output_nodes, shape
        self.poly = poly
        self.dim = poly.dim if dim is None else dim
        self._witness = witness

    @property
    def witness(self):
        """An exact point of the stratum, with small dyadic coordinates when one is near.

        The double description gives a point in the relative interior; it is
        rounded to the grids ``1, 1/2, 1/4, ..., 1/2^24`` and the first rounding
        that still satisfies every constraint exactly is kept (a dyadic point is
        exactly representable in float64, and cheap to compute with).
        """
        if self._witness is None:
            self._witness = _nice_point(self.poly.witness(), self.constraints)
        return self._witness


def _nice_point(w, constraints):
    """``w`` rounded to the coarsest grid ``1/2^k`` (k <= 24) that keeps every constraint; else ``w``.

    Constraint rows are integers, so each try is integer arithmetic on the
    numerators ``m = round(w * 2^k)``; equalities are tried first (a rounding
    that breaks one fails at once).
    """
    if all(type(c) is int for c in w):
        return w
    rows = sorted(constraints, key=lambda fs: fs[1] != 0)
    for k in range(25):
        d = 1 << k
        m = [round(c * d) for c in w]
        for f, s in rows:
            v = f[0] * d + sum(a * b for a, b in zip(f[1:], m))
            if (v > 0) - (v < 0) != s:
                break
        else:
            return tuple(c // d if c % d == 0 else Fraction(c, d) for c in m)
    return w


def _cons_list(link):
    out = []
    while link is not None:
        form, sign, link = link
        out.append((form, sign))
    out.reverse()
    return out


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
            raise _limit("max_events", self.max_events,
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


class _Explorer(Decider):
    """The decider of one run during exploration: a new decision splits the current polyhedron."""

    __slots__ = ("poly", "cons", "stack", "at", "fixed")

    def __init__(self, program, prefix, poly, cons, stack, max_events, at=None, fixed=None):
        super().__init__(program, max_events, prefix)
        self.poly, self.cons, self.stack = poly, cons, stack
        self.at, self.fixed = at, fixed

    def _decide(self, node, prim, vals, params):
        leaves = _node_cases(self.program, node, prim, vals, params, self.poly, self.cons, self.at, self.fixed)
        base = tuple(self.path)
        for case, poly, cons in reversed(leaves[1:]):
            self.stack.append((base + ((node, case),), poly, cons))
        case, self.poly, self.cons = leaves[0]
        return case


def ask(prim, vals, params, answers):
    """Replay a primitive's ``tests`` with ``answers``: ``(True, case)`` when they decide the case,
    else ``(False, question)`` (the next form, :class:`Restrict` or :class:`Choice`)."""
    gen = prim.tests(vals, params)
    try:
        q = next(gen)
        for a in answers:
            q = gen.send(a)
    except StopIteration as stop:
        return True, stop.value
    return False, q


def _node_cases(program, node, prim, vals, params, poly, cons, at=None, fixed=None):
    """All feasible ``(case, poly, cons)`` of a switching node on ``poly``, in order.

    Drives the primitive's ``tests`` generator (replayed from the start for each
    branch: it is tiny) and splits the polyhedron at each sign test; an empty
    child is never built, so infeasible prefixes are pruned at once.

    ``at`` (an exact point, optional) keeps only what meets every neighbourhood
    of that point: a test that is nonzero there takes its sign there without a
    split (and adds no constraint); only tests that vanish at ``at`` split, so
    every constraint added passes through ``at`` (the star of the point).  The
    forms decided that way are appended to the list ``fixed`` when one is given.
    """
    for g in vals:  # a switching node's inputs are its switching quantities: affine, or refused by name
        _check_form(g, prim, node, program)
    out = []
    todo = [((), poly, cons)]
    while todo:
        answers, P, C = todo.pop()
        done, q = ask(prim, vals, params, answers)
        if done:
            out.append((q, P, C))
            continue
        if isinstance(q, Choice):
            for j in reversed(range(q.m)):
                todo.append((answers + (j,), P, C))
            continue
        if isinstance(q, Restrict):
            g, allowed = q.form, q.signs
        else:
            g, allowed = q, (1, 0, -1)
        _check_form(g, prim, node, program)
        if at is not None:
            v = g[0] + sum(c * x for c, x in zip(g[1:], at) if c)
            if v != 0:
                s = 1 if v > 0 else -1
                if fixed is not None:
                    fixed.append(g)
                if s in allowed:
                    todo.append((answers + (s,), P, C))
                continue
        h = int_row(g)
        kids = P.split(h)
        proper = len(kids) > 1
        for s in reversed(allowed):
            if s in kids:
                todo.append((answers + (s,), kids[s], (h, s, C) if proper else C))
    return out


def explore(program, max_strata=None, max_events=None, on_stratum=None, *, start=None, at=None, fixed=None):
    """Every stratum of ``program`` (a :class:`~mtsym.trace.Program`), as StratumRecords.

    ``on_stratum(record, count)``, when given, is called after each new stratum.  A
    :class:`~mtsym.errors.LimitError` or ``KeyboardInterrupt`` raised meanwhile carries
    the strata found so far as ``partial_records``.

    The function is first run once at the origin.  If that run met no Python
    comparison, the program is branch-free: its graph is the whole program and
    the strata are enumerated over the graph alone (:func:`_explore_graph`,
    evaluating only the nodes after each decision).  Otherwise the function is
    re-run once per stratum, each run replaying the decisions of its prefix.

    Three options serve local analysis (:mod:`mtsym.local`):

    start : (Polyhedron, constraints), optional
        Enumerate inside this region only (from :func:`start_region`); its
        constraints are part of every stratum's description.
    at : tuple of exact numbers, optional
        Only the strata whose closure holds this point (see :func:`_node_cases`).
    fixed : list, optional
        With ``at``: receives every test form decided by its (nonzero) sign at ``at``.
    """
    max_strata = DEFAULT_MAX_STRATA if max_strata is None else max_strata
    max_events = DEFAULT_MAX_EVENTS if max_events is None else max_events
    records = _Records(on_stratum)
    try:
        locate_path(program, (0,) * program.n, max_events)
        start = (Polyhedron.space(program.n), None) if start is None else start
        g = program.graph
        if not g.has_branches():
            _explore_graph(program, max_strata, records, start, at, fixed)
        else:
            _explore_runs(program, max_strata, max_events, records, start, at, fixed)
    except (LimitError, KeyboardInterrupt) as e:
        e.partial_records = list(records)
        raise
    return list(records)


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


class _Records(list):
    """The strata found so far; ``append`` also tells the ``on_stratum`` hook."""

    __slots__ = ("hook",)

    def __init__(self, hook):
        super().__init__()
        self.hook = hook

    def append(self, record):
        super().append(record)
        if self.hook is not None:
            self.hook(record, len(self))


def _limit(option, value, message):
    """A :class:`LimitError` that names the limit it hit (``option``, ``value``: the command line
    names its own flag for it)."""
    err = LimitError(message)
    err.option, err.value = option, value
    return err


def _too_many(max_strata):
    return _limit("max_strata", max_strata,
                  f"more than max_strata={max_strata} strata; the partition is too large to "
                  "enumerate. Pass max_strata=... to derive to raise the limit, or use "
                  "mt.evaluate for pointwise answers without enumerating pieces.")


def _explore_runs(program, max_strata, max_events, records, start, at, fixed):
    stack = [((),) + tuple(start)]
    while stack:
        prefix, poly, cons = stack.pop()
        ex = _Explorer(program, prefix, poly, cons, stack, max_events, at, fixed)
        outputs, shape = program.run(ex)
        records.append(StratumRecord(tuple(ex.path), _cons_list(ex.cons),
                                     tuple(v.lin for v in outputs), tuple(v.val for v in outputs),
                                     tuple(v.node for v in outputs), shape, poly=ex.poly))
        if len(records) > max_strata:
            raise _too_many(max_strata)
    return records


def _explore_graph(program, max_strata, records, start, at, fixed):
    """Depth-first over the switching nodes of a branch-free graph.

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
    stack = [(0, None, start[0], start[1], 0)]
    while stack:
        pos, case0, poly, cons, depth = stack.pop()
        del path[depth:]
        for v in range(pos, N):
            prim, ins, params, conv = tape[v]
            if prim.kind == "input":
                continue
            iv = [vals[u] for u in ins]
            if prim.tests is not None:
                if v == pos and case0 is not None:
                    case = case0
                else:
                    leaves = _node_cases(program, v, prim, iv, params, poly, cons, at, fixed)
                    d = len(path)
                    for c, P, C in reversed(leaves[1:]):
                        stack.append((v, c, P, C, d))
                    case, poly, cons = leaves[0]
                path.append((v, case))
            else:
                case = None
            vals[v], lins[v] = node_forms(prim, case, params, conv, iv, [lins[u] for u in ins], syms)
        records.append(StratumRecord(tuple(path), _cons_list(cons), tuple(lins[u] for u in outs),
                                     tuple(vals[u] for u in outs), outs, shape, poly=poly))
        if len(records) > max_strata:
            raise _too_many(max_strata)
    return records


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
