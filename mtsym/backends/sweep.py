"""A graph as a schedule of vectorised stages: forward sweep, case codes, reverse sweep.

Nodes are grouped by depth (longest path from the inputs) and by primitive,
parameters and convention; each group is one *stage* that a rule of
:attr:`~mtsym.primitives.Primitive.numpy` rule runs on all its nodes and all points
at once (an MLP layer becomes one matrix product).  Rows of the value array are
numbered stage by stage, so a stage's outputs are one contiguous block.

Examples
--------
>>> import numpy as np, mtsym as mt
>>> g = mt.trace(lambda x: mt.relu(x[0] - 2 * x[1]), 2)
>>> s = Schedule(g, mt.Convention("torch"))
>>> V, C = s.forward(np.array([[3.0, 1.0], [2.0, 1.0]]))
>>> s.values(V, g.outputs[0]).tolist(), s.codes_of(C, 4).tolist()
([[1.0, 0.0]], [1, 0])
>>> s.reverse(V, C, g.outputs[0])[:, 0, :].T.tolist()   # relu'(0) = 0 under torch
[[1.0, -2.0], [0.0, 0.0]]
"""

__all__ = ["Schedule", "Stage", "needed_nodes", "symbol_subs"]

import contextlib
import threading

import numpy as np

from ..conventions import symbol_values
from ..errors import UnsupportedOperationError
from ..primitives import PRIMITIVES
from ..primitives.vectorized import ONE_BLAS_THREAD, row_run
from ..records import gc_paused

try:  # optional: BLAS threads for small products
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - without it, BLAS keeps its default threads
    ThreadpoolController = None
_controller = []


#: a reverse step folded into the step after it (see Schedule._fold_last_layer)
_FOLDED = object()


class Stage:
    """A batch of nodes run by one rule (attributes are filled by the rule's ``build``)."""

    def __init__(self, prim, nodes, params, conv, rows, subs):
        self.prim, self.op, self.rule, self.nodes = prim, prim.name, prim.numpy, nodes
        self.params, self.conv, self.rows, self.subs = params, conv, rows, subs
        self.out = slice(0, 0)
        self.code_rows = slice(0, 0)

    def __repr__(self):
        return f"Stage({self.op}, {len(self.nodes)} nodes)"


def needed_nodes(graph, targets):
    """The targets and all their ancestors (what a sweep must compute for them): one walk
    over the graph, linear in its size (one ancestor search per target was quadratic in depth)."""
    return set(graph.ancestors_of(list(targets)))


def symbol_subs(graph, conv, params, what="params"):
    """``params`` as exact values of the convention symbols the graph's nodes can read.

    The symbols are those of ``conv`` and of the conventions nodes pin; a key
    is one of them or its name (looked up, never parsed), a value a finite real
    number (see :func:`mtsym.conventions.symbol_values`).
    """
    symbols = set(conv.symbols())
    for _, d in graph.nodes(data=True):
        if d.get("conv") is not None:
            symbols |= d["conv"].symbols()
    return symbol_values(params, symbols, what)


def _conv_key(conv):
    return None if conv is None else conv.name


class Schedule:
    """The stages of ``graph`` restricted to ``nodes`` (default: all).

    Parameters
    ----------
    graph : Graph
    conv : Convention
        The convention of nodes that do not pin their own.
    nodes : iterable of int, optional
        The nodes to compute (closed under ancestors).
    subs : dict, optional
        Values of convention symbols (parametric conventions).
    bias_in_product : bool
        Let a dense layer add its bias inside its product (a row of ones before its inputs, one
        more column of weights): one pass fewer, and the bias rounded with the sum rather than
        after it, so values may differ from the frameworks' in the last place.  For gradients
        (``mt.evaluate``); off where values must be the frameworks' own (``compile()``, audits).
    """

    def __init__(self, graph, conv, nodes=None, subs=None, bias_in_product=False):
        with gc_paused():
            self._build(graph, conv, nodes, subs, bias_in_product)

    def _build(self, graph, conv, nodes, subs, bias_in_product):
        nodes = sorted(graph.nodes if nodes is None else nodes)
        data = {v: graph.nodes[v] for v in nodes}
        nodes = self._fuse(graph, nodes, data)
        level = {}
        for v in nodes:  # node ids are a topological order
            ins = data[v]["inputs"]
            level[v] = 1 + max((level[u] for u in ins), default=-1)
        groups = {}
        for v in nodes:
            d = data[v]
            op = d["op"]
            prim = PRIMITIVES.get(op)
            rule = None if prim is None else prim.numpy
            if rule is None:
                raise UnsupportedOperationError(op, f"no numpy rule for primitive {op!r}; declare one "
                                                "(numpy=...) with the primitive", line=graph.line_of(v))
            pkey = None if rule.stacked else d["params"]
            pkey = ("fused", pkey) if d.get("fused") else pkey
            groups.setdefault((level[v], op, pkey, _conv_key(d.get("conv"))), []).append(v)
        self.graph, self.conv = graph, conv
        #: the node data the stages run (a folded bias add holds the product's inputs and coefficients)
        self.data = data
        self.rows = {}
        self.code_row = {}
        self.stages = []
        self.stage_of = {}
        biased = self._read_with_bias(nodes, data) if bias_in_product else set()
        #: rows of ones, each just before the rows of a stage that a layer with a bias reads: the
        #: layer's product then adds the bias itself (one more column), no pass over its rows after
        self.ones_rows = set()
        r = s = 0
        for key in sorted(groups, key=lambda k: (k[0], k[1], str(k[2]), str(k[3]))):
            vs = groups[key]
            op = key[1]
            prim = PRIMITIVES[op]
            d0 = data[vs[0]]
            st = Stage(prim, vs, d0["params"], d0.get("conv") or conv, self.rows, subs)
            st.c0_last = bool(d0.get("fused"))
            st.ones_rows = self.ones_rows
            if st.rule.has_value and any(v in biased for v in vs):
                self.ones_rows.add(r)
                r += 1
            if st.rule.has_value:
                st.out = slice(r, r + len(vs))
                for v in vs:
                    self.rows[v] = r
                    r += 1
            if st.rule.switching:
                st.code_rows = slice(s, s + len(vs))
                for v in vs:
                    self.code_row[v] = s
                    s += 1
            for v in vs:
                self.stage_of[v] = st
            self.stages.append(st)
        for st in self.stages:
            st.rule.build(st, [data[v] for v in st.nodes])
        self.n_rows, self.n_codes = r, s
        self._ones = sorted(self.ones_rows)
        self.owned = self._owned(data, nodes)
        inputs = [st for st in self.stages if st.rule.reads_points]
        self.input_rows = {}
        for st in inputs:
            for v, col in zip(st.nodes, st.cols):
                self.input_rows[int(col)] = self.rows[v]
        self._bufs = threading.local()
        self._plans = {}    # reverse sweeps' plans, by outputs (see _reverse_plan)
        n = len(graph.symbols)
        rows = [self.input_rows.get(i) for i in range(n)]
        first = rows[0] if n else None
        # the input rows as one run in input order: the Jacobian is then a view of their adjoints
        self._inputs_run = slice(first, first + n) if first is not None and rows == list(range(first, first + n)) \
            else None
        # the products of a sweep (one layer over a chunk of points) run fastest on one BLAS thread:
        # more threads only synchronise (and on a loaded machine they wait for each other)
        self.blas_threads = 1

    @staticmethod
    def _read_with_bias(nodes, data):
        """The nodes that an affine node of several inputs and a nonzero constant reads (a layer
        with a bias: its stage may take the bias into its product, see :attr:`ones_rows`)."""
        out = set()
        for v in nodes:
            d = data[v]
            if PRIMITIVES[d["op"]].kind == "affine" and len(d["inputs"]) > 1 and d["params"][1] != 0:
                out.update(d["inputs"])
        return out

    @staticmethod
    def _fuse(graph, nodes, data):
        """Bias adds folded into the product before them: ``(W @ x) + b`` is one stage that adds
        ``b`` after the product (the same floating point operations, one pass fewer).  A node
        ``v = u + c`` (coefficient 1) whose input ``u`` is an affine node of several inputs read
        by ``v`` alone (and no output) takes ``u``'s inputs and coefficients."""
        keep = set(nodes)
        outs = {w for o in graph.outputs for w in o}
        dropped = set()
        for v in nodes:
            d = data[v]
            if PRIMITIVES[d["op"]].kind != "affine" or len(d["inputs"]) != 1 or tuple(d["params"][0]) != (1,):
                continue
            u = d["inputs"][0]
            du = graph.nodes[u]
            if u not in keep or u in outs or PRIMITIVES[du["op"]].kind != "affine" or len(du["inputs"]) < 2 \
                    or graph.out_degree(u) != 1 or du["params"][1] != 0:
                continue
            data[v] = dict(d, inputs=du["inputs"], params=(du["params"][0], d["params"][1]), fused=True)
            dropped.add(u)
        return [v for v in nodes if v not in dropped]

    def _owned(self, data, nodes):
        """``{stage index: rows}``: the stages whose rule can write the adjoints of their input rows
        (``writes_owned``) and that are the only reader of those rows, a contiguous run: nothing
        else adds to them, so the reverse sweep neither clears them nor adds into them."""
        readers = self._readers = {}    # node -> the stages that read it
        for k, st in enumerate(self.stages):
            for v in st.nodes:
                for u in data[v]["inputs"]:
                    readers.setdefault(u, set()).add(k)
        row_node = {r: v for v, r in self.rows.items()}
        owned = {}
        for k, st in enumerate(self.stages):
            if not st.rule.writes_owned or not st.rule.has_value:
                continue
            idx = st.rule.owned_inputs(st)
            sl = None if idx is None else row_run(idx)
            if sl is not None and all(readers.get(row_node.get(r)) == {k} for r in range(sl.start, sl.stop)):
                owned[k] = sl
        return owned

    @contextlib.contextmanager
    def threads(self):
        """A context that runs the sweeps on :attr:`blas_threads` BLAS threads (threadpoolctl, when
        installed); nested uses cost nothing."""
        flag = ONE_BLAS_THREAD
        if self.blas_threads != 1 or ThreadpoolController is None or getattr(flag, "on", False):
            yield
            return
        if not _controller:
            _controller.append(ThreadpoolController())
        with _controller[0].limit(limits=1, user_api="blas"):
            flag.on = True
            try:
                yield
            finally:
                flag.on = False

    # ------------------------------------------------------------------ sweeps
    def _buffer(self, name, shape, dtype, reuse):
        """A new array, or (``reuse``) this thread's array of that name when it has that shape and
        dtype: the chunks of one evaluation write the same memory, already mapped and in cache."""
        if not reuse:
            return np.empty(shape, dtype=dtype)
        bufs = self._bufs.__dict__
        a = bufs.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = bufs[name] = np.empty(shape, dtype=dtype)
        return a

    def forward(self, X, atol=None, stages=None, dtype=np.float64, reuse=False, lazy=False):
        """Values ``V`` (rows, N) and case codes ``C`` (switching nodes, N) at the points ``X`` (N, n).

        ``stages`` (a sublist of ``self.stages``) runs only those stages.  ``dtype``: the float
        type the forward pass computes in (``np.float32`` runs every stage in float32, weights
        rounded to float32, as a float32 framework does); the codes compare those values exactly.
        ``reuse``: write into the arrays of this thread's last call of that size (the caller is
        done with them).  ``lazy``: leave out the codes of stages whose backward pass can compare
        the values again (``values_decide``: a relu's); only :meth:`reverse` with ``lazy=True``
        and the same ``atol`` may read the result.
        """
        N = X.shape[0]
        V = self._buffer("V", (self.n_rows, N), dtype, reuse)
        C = self._buffer("C", (self.n_codes, N), np.int32, reuse)
        if self._ones:
            V[self._ones] = 1.0
        with self.threads():
            for st in self.stages if stages is None else stages:
                if st.rule.reads_points:
                    st.rule.forward(st, V, X)
                    continue
                st.rule.forward(st, V)
                if st.rule.switching and not (lazy and st.rule.values_decide):
                    C[st.code_rows] = st.rule.codes(st, V, atol)
        return V, C

    def reverse(self, V, C, outputs, reuse=False, lazy=False, atol=None):
        """Associated Jacobians ``(n, m, N)`` of the output nodes from a forward sweep.

        ``outputs`` is a tuple of m output nodes, or an int array (m, N) of
        output *rows* per point (programs whose output node depends on the path).
        ``reuse``: as in :meth:`forward`.  ``lazy``: the forward sweep ran with ``lazy=True`` and
        this ``atol``.
        """
        N = V.shape[1]
        per_point = isinstance(outputs, np.ndarray)
        m = outputs.shape[0] if per_point else len(outputs)
        A = self._buffer("A", (self.n_rows, m, N), np.float64, reuse)
        clear, steps = self._reverse_plan(None if per_point else tuple(outputs), lazy)
        for sl in clear:
            A[sl].fill(0.0)
        if per_point:
            A[outputs, np.arange(m)[:, None], np.arange(N)[None, :]] = 1.0
        else:
            for j, v in enumerate(outputs):
                if v in self.rows:
                    A[self.rows[v], j, :] = 1.0
        with self.threads():
            for st, run, rows, decide, extra in steps:
                # decide: no stored codes, the rule compares its values with atol again
                codes, more = (None, (atol,)) if decide else (C, ())
                run(st, V, codes, A, *rows, *more, **extra)
        n = len(self.graph.symbols)
        if self._inputs_run is not None and len(self.input_rows) == n:
            return A[self._inputs_run]          # the input rows in order: their adjoints are J
        J = self._buffer("J", (n, m, N), np.float64, reuse)
        if len(self.input_rows) < n:
            J.fill(0.0)
        for i, r in self.input_rows.items():
            J[i] = A[r]
        return J

    def _reverse_plan(self, outputs, lazy):
        """``(rows to clear, steps)`` of a reverse sweep to these output nodes (None: rows per point),
        made once per outputs: a step is ``(stage, the rule's backward or backward_owned, its owned
        input rows as a 0- or 1-tuple, whether its values decide, keyword arguments)``."""
        key = (outputs, lazy)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        owned = {} if outputs is None else self.owned
        if owned:  # an output's row is seeded: a stage reading it does not own it
            seeded = [self.rows[v] for v in outputs if v in self.rows]
            owned = {k: sl for k, sl in owned.items() if not any(sl.start <= r < sl.stop for r in seeded)}
        clear, lo = [], 0
        for sl in sorted(owned.values(), key=lambda sl: sl.start):  # clear the rows not owned
            clear.append(slice(lo, sl.start))
            lo = sl.stop
        clear.append(slice(lo, self.n_rows))
        extra = {} if outputs is None else self._fold_last_layer(outputs, owned)
        steps = []
        for k in range(len(self.stages) - 1, -1, -1):
            st = self.stages[k]
            if st.out.stop > st.out.start and extra.get(k) is not _FOLDED:
                own = owned.get(k)
                steps.append((st, st.rule.backward if own is None else st.rule.backward_owned,
                              () if own is None else (own,), lazy and st.rule.values_decide, extra.get(k, {})))
        plan = self._plans[key] = ([sl for sl in clear if sl.stop > sl.start], steps)
        return plan

    def _fold_last_layer(self, outputs, owned):
        """A layer whose rows are outputs read by no stage (a network's last layer) passes each point
        the same adjoint, ``c = W.T @ seeds``, to the rows it alone reads: the stage that writes those
        rows (a relu layer) takes ``c`` instead of reading them, and the layer's own step is dropped.
        With one output, ``c`` goes one stage further when the relu layer reads a dense layer alone:
        the relu writes its bare weights (0 or 1) and that layer's ``W.T`` is scaled by ``c``: two
        passes over the chunk fewer.  Returns ``{stage index: keyword arguments of its backward
        step, or _FOLDED}``; only where the rules offer it (``constant_adjoint``,
        ``takes_constant_adjoint``, ``scaled_weights``)."""
        m = len(outputs)
        seeds = {}
        for j, v in enumerate(outputs):
            if v in self.rows:
                seeds.setdefault(self.rows[v], np.zeros(m))[j] = 1.0
        by_out = {(st.out.start, st.out.stop): k for k, st in enumerate(self.stages)}
        extra = {}
        for k, st in enumerate(self.stages):
            rows = owned.get(k)
            make = getattr(st.rule, "constant_adjoint", None)
            if rows is None or make is None or any(self._readers.get(v) for v in st.nodes) \
                    or not all(r in seeds for r in range(st.out.start, st.out.stop)):
                continue
            relu = by_out.get((rows.start, rows.stop))
            if relu is None or relu not in owned \
                    or not getattr(self.stages[relu].rule, "takes_constant_adjoint", False):
                continue
            c = make(st, np.array([seeds[r] for r in range(st.out.start, st.out.stop)]))   # (rows, m)
            if c is None:
                continue
            extra[k] = _FOLDED
            below = owned[relu]
            layer = by_out.get((below.start, below.stop))
            scaled = None if m != 1 or layer is None else \
                getattr(self.stages[layer].rule, "scaled_weights", lambda st, c: None)(self.stages[layer], c[:, 0])
            if scaled is None:
                extra[relu] = {"adj": c[:, :, None]}       # (rows, m, 1): the same at every point
            else:
                extra[relu] = {"adj": 1}
                extra[layer] = {"wt": scaled}
        return extra

    # ------------------------------------------------------------------ reading results
    def values(self, V, outputs):
        """The rows of the output nodes, shape (m, N)."""
        return V[[self.rows[v] for v in outputs]]

    def codes_of(self, C, node):
        """The codes of one switching node, shape (N,)."""
        return C[self.code_row[node]]

    def encode(self, node, case):
        """The integer code of a node's case."""
        st = self.stage_of[node]
        return st.rule.encode(st, case)

    def radix(self, node):
        """``(offset, size)`` bounding the node's codes, or None when unbounded."""
        st = self.stage_of[node]
        return st.rule.radix(st)

    def row_bytes(self, m=1):
        """Bytes per point of one forward + reverse sweep (for chunk sizes)."""
        return 8 * self.n_rows * (1 + m) + 4 * self.n_codes + 8 * 4 * max(
            (len(st.nodes) * max(1, len(getattr(st, "ins", ()))) for st in self.stages), default=1)

    def __repr__(self):
        return f"<Schedule {len(self.stages)} stages, {self.n_rows} rows, {self.n_codes} switching>"
