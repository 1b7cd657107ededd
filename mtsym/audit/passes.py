"""The float passes of an audit: the framework's forward pass, and a float64 pass that proves cases.

Both run the traced graph as a :class:`~mtsym.backends.sweep.Schedule` on a chunk of samples.

*The framework's pass* runs in the framework's dtype (float32: every value and weight rounded to
float32, as the framework computes) and decides every switching node by **exact comparisons of
those float values**: the cases the framework's own forward pass takes.

*The certified pass* runs in float64 and carries, for every node and sample, a rigorous bound on
``|computed - exact|`` (a running error analysis: ``gamma_k`` bounds of the sums of an affine
layer, whatever their order, plus the error of the inputs times the node's local weights).  A
switching node whose switching quantities are farther from a tie than their error bound has
*proved* its exact case; only the samples with a node that cannot be proved that way (a tie, or a
quantity within rounding of one) go to exact rational arithmetic (:mod:`mtsym.audit.exact`).  So
the float pass decides nothing by itself: it proves, or hands over.

Examples
--------
>>> import numpy as np, mtsym as mt
>>> g = mt.trace(lambda x: mt.relu(x[0] - x[1]), 2)
>>> p = Passes(g, mt.Convention("torch"))
>>> X = np.array([[1.0, 1.0], [0.1 + 0.2, 0.3], [2.0, 1.0]])
>>> p.framework(X, np.float64)[1].tolist()     # float64 sees 0.1 + 0.2 > 0.3
[[0, 1, 1]]
>>> p.certified(X)[1].tolist()    # proved: sample 2; 0 (a tie) and 1 (within rounding of one) go exact
[[False, False, True]]
"""

__all__ = ["Passes", "U64"]

from fractions import Fraction

import numpy as np

from ..backends.sweep import Schedule, needed_nodes
from ..primitives import PRIMITIVES

#: unit roundoff of float64
U64 = 2.0 ** -53
_TINY = 2.0 ** -1000          # covers underflow in products (far below any meaningful gap)
_SAFE = 1.0 + 2.0 ** -30      # covers the rounding of the bound computation itself


def _gamma(k):
    return k * U64 / (1 - k * U64)


def _err(c):
    """An upper bound, as a float, of ``|c - float(c)|`` for an exact number ``c``."""
    d = abs(Fraction(c) - Fraction(float(c)))
    return 0.0 if d == 0 else float(d) * (1 + 2 * U64) + _TINY


class _AffineBound:
    """|coefficients| of one affine stage, as a dense block or gathers (like the stage's own rule)."""

    def __init__(self, stage, data):
        rows = stage.rows
        datas = [data[v] for v in stage.nodes]
        entries = [([rows[u] for u in d["inputs"]], [Fraction(c) for c in d["params"][0]]) for d in datas]
        self.c0 = np.array([abs(float(d["params"][1])) for d in datas])[:, None]
        self.d0 = np.array([_err(d["params"][1]) for d in datas])[:, None]
        union = np.unique(np.array([r for rs, _ in entries for r in rs], dtype=np.intp))
        nnz = sum(len(rs) for rs, _ in entries)
        fan = max((len(rs) for rs, _ in entries), default=0)
        self.dense = fan > 1 and len(entries) * len(union) <= 2 * nnz
        self.gamma = _gamma((len(union) if self.dense else fan) + 1)
        if self.dense:
            where = {r: k for k, r in enumerate(union)}
            self.A = np.zeros((len(entries), len(union)))
            self.D = np.zeros_like(self.A)
            for i, (rs, cs) in enumerate(entries):
                for r, c in zip(rs, cs):
                    self.A[i, where[r]] += abs(float(c))
                    self.D[i, where[r]] += _err(c)
            self.union = union
        else:
            self.idx = np.zeros((len(entries), fan), dtype=np.intp)
            self.A = np.zeros((len(entries), fan))
            self.D = np.zeros_like(self.A)
            for i, (rs, cs) in enumerate(entries):
                self.idx[i, :len(rs)] = rs
                self.A[i, :len(cs)] = [abs(float(c)) for c in cs]
                self.D[i, :len(cs)] = [_err(c) for c in cs]
        self.exact_coefs = not self.D.any()

    def bound(self, V, E):
        """``|computed - exact|`` of the stage's outputs, from its inputs' values and bounds."""
        g = self.gamma
        if self.dense:
            if len(self.union) == 0:
                return g * self.c0 + self.d0 + np.zeros((self.A.shape[0], V.shape[1]))
            Vu, Eu = np.abs(V[self.union]), E[self.union]
            out = self.A @ (g * Vu + Eu)
            if not self.exact_coefs:
                out += self.D @ (Vu + Eu)
        else:
            out = np.zeros((self.A.shape[0], V.shape[1]))
            for j in range(self.idx.shape[1]):
                Vj, Ej = np.abs(V[self.idx[:, j]]), E[self.idx[:, j]]
                out += self.A[:, j, None] * (g * Vj + Ej)
                if not self.exact_coefs:
                    out += self.D[:, j, None] * (Vj + Ej)
        out += g * self.c0 + self.d0
        out *= _SAFE
        out += _TINY
        return out


class Passes:
    """The schedule of a traced graph and its two float passes (see the module docstring).

    Parameters
    ----------
    graph : Graph
        A branch-free traced graph.
    conv : Convention
        The framework's tie rules (for weights at proved cases; nodes pinned to a framework keep theirs).
    outputs : tuple of int, optional
        The output nodes (default: the graph's); only their ancestors are run.
    """

    def __init__(self, graph, conv, outputs=None):
        outs = graph.outputs[0] if outputs is None else outputs
        self.graph, self.conv, self.outputs = graph, conv, tuple(outs)
        self.sched = Schedule(graph, conv, needed_nodes(graph, outs))
        self.switch = [st for st in self.sched.stages if st.rule.switching]
        self._affine = {}
        self._const = {}
        self._lut = {}
        for st in self.sched.stages:
            kind = st.prim.kind
            if kind == "affine":
                self._affine[id(st)] = _AffineBound(st, self.sched.data)
            elif kind == "const":
                self._const[id(st)] = np.array([_err(self.sched.data[v]["params"][0]) for v in st.nodes])[:, None]

    # ------------------------------------------------------------------ the framework's pass
    def framework(self, X, dtype):
        """Values and case codes of the framework's forward pass at ``X`` in ``dtype``
        (exact comparisons of the float values)."""
        return self.sched.forward(np.asarray(X, dtype=dtype), dtype=dtype)

    # ------------------------------------------------------------------ the certified pass
    def certified(self, X):
        """The float64 pass with error bounds at the exact points ``X`` (float64 rows).

        Returns ``(C, proved)``: case codes ``C`` (switching nodes, N), and ``proved`` (same
        shape, bool): the code is the node's exact case at the exact sample.
        """
        sched = self.sched
        X = np.asarray(X, dtype=np.float64)
        N = X.shape[0]
        V = np.empty((sched.n_rows, N))
        E = np.zeros((sched.n_rows, N))
        C = np.empty((sched.n_codes, N), dtype=np.int32)
        proved = np.ones((sched.n_codes, N), dtype=bool)
        with sched.threads():
            self._certified(X, V, E, C, proved)
        return C, proved

    def _certified(self, X, V, E, C, proved):
        for st in self.sched.stages:
            rule = st.rule
            if rule.reads_points:
                rule.forward(st, V, X)
                E[st.out] = 0.0           # the samples are the exact points
                continue
            rule.forward(st, V)
            if rule.switching:
                atol = self._atol(st, V, E)
                codes = rule.codes(st, V, atol)
                C[st.code_rows] = codes
                proved[st.code_rows] = self.tie_sizes(st, codes) == 0
            if st.out.stop > st.out.start:
                E[st.out] = self._bound(st, V, E, C)

    def _atol(self, st, V, E):
        """How far from a tie a switching quantity must be, per node and sample, to be proved."""
        e = np.max([E[i] for i in st.ins], axis=0)
        a = np.max([np.abs(V[i]) for i in st.ins], axis=0)
        if st.out.stop > st.out.start:
            a = a + np.abs(V[st.out])
        return (2 * e + 4 * U64 * a) * _SAFE + _TINY

    def _bound(self, st, V, E, C):
        kind = st.prim.kind
        if kind == "affine":
            return self._affine[id(st)].bound(V, E)
        if kind == "const":
            return self._const[id(st)]
        if kind == "switching":
            W = st.rule.weights(st, C[st.code_rows])           # (args, nodes, N)
            out = np.zeros((len(st.nodes), V.shape[1]))
            for j, idx in enumerate(st.ins):
                out += np.abs(W[j]) * E[idx]
            out += 2 * U64 * np.abs(V[st.out])
            return out * _SAFE + _TINY
        return np.full((len(st.nodes), V.shape[1]), np.inf)    # smooth products: samples go exact

    # ------------------------------------------------------------------ cases
    def tie_sizes(self, st, codes):
        """The number of tied arguments of each code of a switching stage (0: a strict case)."""
        offset, size = st.rule.code_range(st)
        lut = self._lut.get(id(st))
        if lut is None or len(lut) != size:           # tie codes are interned as they are met
            tied = st.prim.tied
            lut = np.zeros(size, dtype=np.int16)
            for i in range(size):
                try:
                    case = st.rule.decode(st, i - offset)
                except (IndexError, KeyError):         # a code no case has yet
                    continue
                lut[i] = len(tied(case, st.params))
            self._lut[id(st)] = lut
        return lut[codes.astype(np.intp) + offset]

    def stage_of(self, node):
        return self.sched.stage_of[node]

    def case(self, node, code):
        """The primitive's case of a code."""
        st = self.sched.stage_of[node]
        return st.rule.decode(st, code)

    def code(self, node, case):
        return self.sched.encode(node, case)

    def switching_nodes(self):
        """The switching nodes in code-row order."""
        out = [None] * self.sched.n_codes
        for v, r in self.sched.code_row.items():
            out[r] = v
        return out


def exact_case(graph, node, vals):
    """The exact case of a switching node from the exact values of its inputs."""
    d = graph.nodes[node]
    return PRIMITIVES[d["op"]].case_of([vals[u] for u in d["inputs"]], d["params"])
