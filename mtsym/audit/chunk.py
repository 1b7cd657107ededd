"""One chunk of an audit: the float passes on every sample, exact arithmetic on the samples with events.

:func:`audit_chunk` is what runs in process or on a Dask worker.  Its :class:`AuditJob` (the
traced graph, the framework's rules, the dtype, the loss) is sent once to every worker; each
process builds the sweep schedules once and keeps them.

Per sample, the framework's float pass gives a case per switching node; the certified float64
pass proves the exact case of almost every node; a sample where the two disagree, where the float
pass ties, or where some node cannot be proved (an exact tie, or a quantity within rounding of
one) is analysed exactly (:class:`~mtsym.audit.exact.ExactSample`): its exact cases, the kind and
gap of each event, the framework's gradient along its float cases (exact chain rule under its tie
rules), and the verdict.

Code with Python branches: the samples are grouped by the path their float pass takes (its
comparisons are switching nodes like the others); a sample whose exact arithmetic takes another
path is run once more with its comparisons decided exactly.
"""

__all__ = ["AuditJob", "audit_chunk", "ChunkResult"]

import time
from fractions import Fraction

import numpy as np

from ..evaluate import trace_groups
from ..partition import DEFAULT_MAX_EVENTS, Decider
from ..primitives import PRIMITIVES
from ..primitives.affine import COMPARE_OPS
from ..trace import Program
from .exact import ExactSample, gaps
from .passes import Passes
from .report import AuditSample, NodeTie, _line, norm_max
from .verdicts import clarke_verdict


class AuditJob:
    """What every chunk of one audit shares (picklable: schedules and programs are rebuilt per process)."""

    def __init__(self, traced, conv, dtype, loss=None, max_strata=10_000, verdicts=True, inputs=None,
                 framework=None):
        self.graph, self.outputs, self.layers = traced.graph, traced.outputs, traced.layers
        # the code travels to the workers only when it has paths to follow; else the graph is enough
        self.branching, self.inputs = traced.branching, inputs
        self.code = traced.program.fn if traced.branching else None
        self.framework = framework
        self.conv, self.dtype, self.loss, self.max_strata = conv, np.dtype(dtype), loss, max_strata
        self.verdicts = verdicts
        affine = [v for v in sorted(traced.graph.nodes) if PRIMITIVES[traced.graph.nodes[v]["op"]].kind == "affine"]
        owned = [v for v in affine if v in traced.owned]
        #: the affine maps whose coefficients and constants are the parameters (relu'(0) audit)
        self.slots = owned if traced.owned else affine
        self._program = traced.program if traced.branching else None
        self._passes = {}

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_passes"] = {}
        d["_program"] = None
        return d

    def program(self):
        """The program (branching code), traced in this process."""
        if self._program is None:      # a new process: its own trace (node ids and layers are its own)
            self._program = Program(self.code, self.inputs, self.conv, exact=False)
            self.graph, self.layers = self._program.graph, {}
        return self._program

    def passes(self, targets=None):
        """The float passes computing ``targets`` (default: the outputs), built once per process."""
        key = self.outputs if targets is None else tuple(targets)
        P = self._passes.get(key)
        if P is None:
            P = self._passes[key] = Passes(self.graph, self.conv, key)
        return P

    def where(self, node):
        return self.layers.get(node) or _line(self.graph.line_of(node))


class ChunkResult:
    """What a chunk hands back: event samples, counts per node kind, relu'(0) parts, timings."""

    __slots__ = ("lo", "n", "samples", "by_node", "relu0", "seconds")

    def __init__(self, lo, n, relu0):
        self.lo, self.n, self.samples, self.by_node, self.relu0 = lo, n, [], {}, relu0
        self.seconds = {"float passes": 0.0, "exact analysis": 0.0}


def audit_chunk(X, lo, job, y=None):
    """Audit the samples ``X`` (rows, in the job's dtype); ``lo`` is the first one's index."""
    Xd = np.asarray(X, dtype=job.dtype)
    out = ChunkResult(lo, Xd.shape[0], _Relu0Parts() if job.loss is not None else None)
    if not job.branching:
        _audit_group(job, job.outputs, (), Xd, np.arange(Xd.shape[0]), out, y)
        return out
    t0 = time.perf_counter()
    groups = trace_groups(job.program(), Xd, None, {}, DEFAULT_MAX_EVENTS, job.dtype)
    out.seconds["float passes"] += time.perf_counter() - t0
    for idx, outs, _, path in groups:
        _audit_group(job, outs, tuple(v for v, _ in path), Xd, idx, out, y)
    return out


def _audit_group(job, outputs, branches, Xd, idx, out, y):
    """Audit the samples ``Xd[idx]``, whose float passes take one program path."""
    t0 = time.perf_counter()
    P = job.passes(outputs + branches if branches else outputs)
    X = Xd[idx]
    Vf, Cf = P.framework(X, job.dtype)
    X64 = X.astype(np.float64)
    Cx, proved = P.certified(X64)
    float_tied = np.zeros(Cf.shape, dtype=bool)
    for st in P.switch:
        float_tied[st.code_rows] = P.tie_sizes(st, Cf[st.code_rows]) > 0
    events = np.flatnonzero(float_tied.any(0) | ~proved.all(0) | ((Cf != Cx) & proved).any(0))
    t1 = time.perf_counter()
    nodes = P.switching_nodes()
    for s in events.tolist():
        ts = time.perf_counter()
        index = out.lo + int(idx[s])
        point = tuple(Fraction(v) for v in X64[s].tolist())
        es = ExactSample(job.graph, point)
        cases_f, cases_e, ties = _cases(job, P, es, nodes, Cf[:, s], Cx[:, s], proved[:, s], Vf[:, s])
        exact_outputs = outputs
        if branches and any(COMPARE_OPS[job.graph.nodes[v]["params"][0]](cases_e[v]) !=
                            COMPARE_OPS[job.graph.nodes[v]["params"][0]](cases_f[v]) for v in branches):
            exact_outputs = _exact_path(job, es)       # rounding sent the framework down another path
        sample = AuditSample(index, ties)
        if job.verdicts:
            _verdict(job, es, sample, outputs, cases_f, exact_outputs, cases_e)
        if out.relu0 is not None and float_tied[:, s].any():
            out.relu0.add(job, es, outputs, index, cases_f, None if y is None else y[idx[s]])
        sample.seconds = time.perf_counter() - ts
        out.samples.append(sample)
        _count(job, out.by_node, ties)
    if out.relu0 is not None:
        out.relu0.tied += int(float_tied.any(0).sum())
    out.seconds["float passes"] += t1 - t0
    out.seconds["exact analysis"] += time.perf_counter() - t1


def _cases(job, P, es, nodes, cf, cx, proved, vf):
    """The float and exact case of every switching node of one sample, and its events."""
    graph = job.graph
    cases_f, cases_e, ties = {}, {}, []
    for r, v in enumerate(nodes):
        d = graph.nodes[v]
        prim = PRIMITIVES[d["op"]]
        case_f = P.case(v, int(cf[r]))
        case_e = P.case(v, int(cx[r])) if proved[r] else es.case(v)
        cases_f[v], cases_e[v] = case_f, case_e
        tf = len(prim.tied(case_f, d["params"]))
        te = len(prim.tied(case_e, d["params"]))
        if case_f == case_e and not tf:
            continue
        if case_f == case_e:
            kind, gap, fgap = "exact", Fraction(0), Fraction(0)
        else:
            kind = "rounding" if tf or te else "flip"
            fx = [float(vf[P.sched.rows[u]]) for u in d["inputs"]]
            gap, fgap = gaps(prim, d["params"], fx, es.inputs_of(v))
        ties.append(NodeTie(v, d["op"], job.layers.get(v), graph.line_of(v), kind, tf, te, case_f, case_e,
                            gap, fgap))
    return cases_f, cases_e, ties


class _ExactPath(Decider):
    """Decides each Python comparison by exact arithmetic at one sample."""

    __slots__ = ("sample",)

    def __init__(self, program, sample):
        super().__init__(program, DEFAULT_MAX_EVENTS)
        self.sample = sample

    def _decide(self, node, prim, vals, params):
        return self.sample.case(node)


def _exact_path(job, es):
    """The output nodes of the path exact arithmetic takes at the sample (the graph may grow)."""
    program = job.program()
    outs, _ = program.run(_ExactPath(program, es))
    return tuple(v.node for v in outs)


def _verdict(job, es, sample, outputs, cases_f, exact_outputs, cases_e):
    """Is the framework's gradient (the chain rule along its float cases) a Clarke gradient here?"""
    conv = job.conv
    g = es.gradient(outputs, cases_f, conv)
    same = cases_f == cases_e and exact_outputs == outputs
    ge = g if same else es.gradient(exact_outputs, cases_e if exact_outputs == outputs else {}, conv)
    sample.gradient, sample.associated = g, (None if same else ge)
    why = None
    if not sample.exact_tie:
        why = "no exact tie"
    elif exact_outputs == outputs and es.persists([t.node for t in sample.ties if t.exact_entries], cases_e):
        why = "every exact tie holds on a neighbourhood (its tied quantities are 0 near the sample)"
    if why is not None:
        # every node keeps its case near the exact point: f is affine there, its Clarke gradient
        # is its gradient (the chain rule along the exact cases)
        d = norm_max(g, ge)
        sample.verdict = "yes" if d == 0 else "no"
        sample.method = "differentiable"
        sample.reason = (f"{why}: f is differentiable at the sample and the framework's gradient is its gradient"
                         if d == 0 else f"{why}: f is differentiable at the sample, but rounding sent the "
                         "framework along another stratum, whose gradient is not f's")
        sample.clarke, sample.distance, sample.distance_to = ge, d, "the gradient"
        return
    clarke_verdict(job, es, sample, g)            # the local analysis (mt.is_clarke, mt.lex_grad)


def _count(job, by_node, ties):
    seen = {}
    for t in ties:
        key = (t.op, job.where(t.node))
        c = by_node.get(key)
        if c is None:
            c = by_node[key] = {"exact": 0, "rounding": 0, "flips": 0, "exact_entries": 0, "rounding_entries": 0,
                                "line": _line(t.line)}
        kinds = seen.setdefault(key, set())
        if t.exact_entries:
            c["exact_entries"] += 1
            kinds.add("exact")
        if t.kind == "rounding":
            c["rounding_entries"] += 1
            kinds.add("rounding")
        if t.kind == "flip":
            kinds.add("flips")
    for key, kinds in seen.items():
        for k in kinds:
            by_node[key][k] += 1


class _Relu0Parts:
    """A chunk's part of the relu'(0) audit."""

    def __init__(self):
        self.differs, self.gap, self.batch, self.tied = [], {}, {}, 0

    def add(self, job, es, outputs, index, cases_f, label):
        from .relu0 import relu0_difference
        differs, gap, parts = relu0_difference(job, es, outputs, cases_f, label)
        if differs:
            self.differs.append(index)
            self.gap[index] = gap
            for v, vec in parts.items():
                acc = self.batch.get(v)
                self.batch[v] = vec if acc is None else acc + vec
