"""Vectorised numpy rules, one row per primitive: forward, case codes, local weights.

A *stage* (see :mod:`mtsym.backends.sweep`) is a batch of graph nodes of one
primitive that can run together (same depth in the graph, same parameters and
convention, except for affine nodes and constants, whose parameters are stacked).
Values live in a float64 array ``V`` of shape ``(rows, N)``, one row per node;
adjoints in ``A`` of shape ``(rows, m, N)``.  Each rule works on a whole stage:

``build(stage, datas)``
    stack the nodes' parameters and input rows (``stage.ins``: one row-index
    array per argument position);
``forward(stage, V)``
    write the nodes' float64 values into ``V[stage.out]``, computed as the
    frameworks do (``max`` of the arguments, ``x @ W`` as a BLAS product, ...);
``codes(stage, V, atol)``
    the case of every node at every point, as small integers, from **exact float
    comparisons** of the switching quantities (``|d| <= atol`` counts as a tie
    when ``atol`` is given);
``decode(stage, code)`` / ``encode(stage, case)``
    between those integers and the primitive's own cases (``case_of``);
``backward(stage, V, C, A)``
    add the node's adjoint times its local weights to its inputs' adjoints.
    The weights are the primitive's own ``linear(case, params, conv)`` for the
    cases that occur (looked up per code, never re-derived here).

Examples
--------
>>> sorted(NUMPY_RULES)[:5]
['abs', 'affine', 'branch', 'clamp', 'const']
>>> import numpy as np
>>> sign_codes(np.array([-2.0, 0.0, 1e-300]), None).tolist()
[-1, 0, 1]
"""

__all__ = ["NUMPY_RULES", "Rule", "sign_codes", "exact_float"]

from fractions import Fraction

import numpy as np
import sympy as sp

from ..errors import ConventionError
from ..primitives import PRIMITIVES


def exact_float(v, subs=None, what="weight"):
    """An exact number (or sympy expression with ``subs`` for convention symbols) as a float.

    Examples
    --------
    >>> exact_float(Fraction(1, 4)), exact_float(sp.Symbol("z") / 2, {sp.Symbol("z"): 1})
    (0.25, 0.5)
    """
    if isinstance(v, (int, float, Fraction)):
        return float(v)
    e = sp.sympify(v)
    if subs:
        e = e.subs(subs)
    if e.free_symbols:
        names = ", ".join(sorted(str(s) for s in e.free_symbols))
        raise ConventionError(f"the {what} {v} holds the convention symbol(s) {names}: pass "
                              f"params={{{names.split(', ')[0]}: value, ...}} to evaluate numerically")
    return float(e)


def sign_codes(d, atol):
    """``sign(d)`` as int8, with ``|d| <= atol`` counted as 0 when ``atol`` is given."""
    t = 0.0 if atol is None else atol
    if t == 0.0:
        return (d > 0).view(np.int8) - (d < 0).view(np.int8)
    return (d > t).view(np.int8) - (d < -t).view(np.int8)


def _run(idx):
    """``idx`` as a slice when it is a contiguous increasing run of rows, else None."""
    n = len(idx)
    if n and idx[-1] - idx[0] == n - 1 and (n == 1 or (np.diff(idx) == 1).all()):
        return slice(int(idx[0]), int(idx[0]) + n)
    return None


def _gather(V, idx):
    """``V[idx]``: a view when the rows are a contiguous run."""
    sl = _run(idx)
    return V[idx] if sl is None else V[sl]


def _scatter_add(A, idx, vals, dup):
    """``A[idx] += vals``, correct when ``idx`` repeats (``dup``)."""
    if dup:
        np.add.at(A, idx, vals)
        return
    sl = _run(idx)
    if sl is None:
        A[idx] += vals
    else:
        A[sl] += vals


class Rule:
    """A rule with no cases and no value (inputs and constants override ``forward``)."""

    switching = False
    #: True when each node's parameters may differ inside one stage (they are stacked)
    stacked = False

    def build(self, stage, datas):
        stage.ins = [np.array([stage.rows[d["inputs"][j]] for d in datas], dtype=np.intp)
                     for j in range(len(datas[0]["inputs"]))]
        stage.dup = [len(np.unique(i)) < len(i) for i in stage.ins]

    def forward(self, stage, V):  # pragma: no cover - every value rule overrides
        raise NotImplementedError

    def backward(self, stage, V, C, A):
        pass

    def radix(self, stage):
        return None


class Input(Rule):
    stacked = True

    def build(self, stage, datas):
        stage.cols = np.array([d["params"][0] for d in datas], dtype=np.intp)

    def forward(self, stage, V, X=None):
        V[stage.out] = X.T[stage.cols]


class Const(Rule):
    stacked = True

    def build(self, stage, datas):
        stage.vals = np.array([exact_float(d["params"][0], what="constant") for d in datas])[:, None]

    def forward(self, stage, V):
        V[stage.out] = stage.vals


class Affine(Rule):
    """``c0 + sum(c_i * in_i)``: a dense BLAS product when the stage is dense enough, else gathers."""

    stacked = True

    def build(self, stage, datas):
        rows = stage.rows
        outs = len(datas)
        stage.c0 = np.array([exact_float(d["params"][1], stage.subs) for d in datas])[:, None]
        stage.has_c0 = bool(np.any(stage.c0))
        entries = [([rows[u] for u in d["inputs"]], [exact_float(c, stage.subs) for c in d["params"][0]])
                   for d in datas]
        union = np.unique(np.array([r for rs, _ in entries for r in rs], dtype=np.intp))
        nnz = sum(len(rs) for rs, _ in entries)
        fan = max((len(rs) for rs, _ in entries), default=0)
        # a BLAS product when most of the (outs x union) block is used (a layer), else gathers
        stage.dense = fan > 1 and outs * len(union) <= 2 * nnz
        if stage.dense:
            where = {r: k for k, r in enumerate(union)}
            W = np.zeros((outs, len(union)))
            for i, (rs, cs) in enumerate(entries):
                for r, c in zip(rs, cs):
                    W[i, where[r]] += c
            stage.W, stage.union = W, union
            stage.contiguous = len(union) > 0 and union[-1] - union[0] == len(union) - 1
        else:
            idx = np.zeros((outs, fan), dtype=np.intp)
            coef = np.zeros((outs, fan))
            for i, (rs, cs) in enumerate(entries):
                idx[i, :len(rs)] = rs
                idx[i, len(rs):] = rs[0] if rs else 0
                coef[i, :len(cs)] = cs
            stage.idx, stage.coef = idx, coef
            stage.dup = [len(np.unique(idx[:, j])) < outs for j in range(fan)]
            stage.unit = fan > 0 and bool((coef[:, 0] == 1).all())

    def forward(self, stage, V):
        out = V[stage.out]
        if stage.dense:
            if len(stage.union) == 0:
                out[...] = 0.0
            else:
                u = stage.union
                src = V[u[0]:u[-1] + 1] if stage.contiguous else V[u]
                np.matmul(stage.W, src, out=out)
        elif stage.idx.shape[1] == 0:
            out[...] = 0.0
        else:
            first = _gather(V, stage.idx[:, 0])
            if stage.unit and stage.has_c0:
                np.add(first, stage.c0, out=out)
            else:
                np.multiply(stage.coef[:, 0, None], first, out=out) if not stage.unit else np.copyto(out, first)
                if stage.has_c0:
                    out += stage.c0
            for j in range(1, stage.idx.shape[1]):
                out += stage.coef[:, j, None] * _gather(V, stage.idx[:, j])
            return
        if stage.has_c0:
            out += stage.c0

    def backward(self, stage, V, C, A):
        adj = A[stage.out]
        if stage.dense:
            if len(stage.union) == 0:
                return
            u = stage.union
            m, N = adj.shape[1], adj.shape[2]
            g = (stage.W.T @ adj.reshape(adj.shape[0], m * N)).reshape(len(u), m, N)
            if stage.contiguous:
                A[u[0]:u[-1] + 1] += g
            else:
                A[u] += g
        else:
            for j in range(stage.idx.shape[1]):
                g = adj if j == 0 and stage.unit else stage.coef[:, j, None, None] * adj
                _scatter_add(A, stage.idx[:, j], g, stage.dup[j])


class Mul(Rule):
    """``a * b`` (smooth): the weights are the other factor."""

    def forward(self, stage, V):
        np.multiply(V[stage.ins[0]], V[stage.ins[1]], out=V[stage.out])

    def backward(self, stage, V, C, A):
        adj = A[stage.out]
        a, b = stage.ins
        _scatter_add(A, a, V[b][:, None, :] * adj, stage.dup[0])
        _scatter_add(A, b, V[a][:, None, :] * adj, stage.dup[1])


class Switching(Rule):
    """A rule with cases; weights come from ``prim.linear`` per code, through a lookup table."""

    switching = True

    def build(self, stage, datas):
        Rule.build(self, stage, datas)
        self.setup(stage)
        stage.table = {}

    def setup(self, stage):
        pass

    def weights(self, stage, codes):
        """``(k, outs, N)`` local weights at the given codes (shape ``(outs, N)``)."""
        offset, size = self.code_range(stage)
        tab = np.zeros((size, len(stage.ins)))
        for c in np.unique(codes):  # only the cases that occur (others may not exist, e.g. a one-sided clamp)
            tab[int(c) + offset] = self.weight_row(stage, int(c))
        if size == 1:
            return np.broadcast_to(tab[0][:, None, None], (len(stage.ins),) + codes.shape)
        return np.moveaxis(tab[codes.astype(np.intp) + offset], -1, 0)

    def weight_row(self, stage, code):
        row = stage.table.get(code)
        if row is None:
            prim = PRIMITIVES[stage.op]
            w, _ = prim.linear(self.decode(stage, code), stage.params, stage.conv)
            row = stage.table[code] = [exact_float(v, stage.subs) for v in w]
        return row

    def backward(self, stage, V, C, A):
        W = self.weights(stage, C[stage.code_rows])
        adj = A[stage.out]
        for j, idx in enumerate(stage.ins):
            _scatter_add(A, idx, W[j][:, None, :] * adj, stage.dup[j])

    def encode(self, stage, case):
        return case

    def decode(self, stage, code):
        return int(code)

    def code_range(self, stage):
        return 1, 3

    def radix(self, stage):
        return self.code_range(stage)


class SignRule(Switching):
    """One input whose case is its sign (relu, leaky_relu, abs): codes -1, 0, 1."""

    def __init__(self, fn):
        self.fn = fn

    def forward(self, stage, V):
        V[stage.out] = self.fn(_gather(V, stage.ins[0]), stage.params)

    def codes(self, stage, V, atol):
        return sign_codes(_gather(V, stage.ins[0]), atol)


class Branch(Switching):
    """A Python comparison: no value, case ``sign(a - b)``."""

    def forward(self, stage, V):
        pass

    def codes(self, stage, V, atol):
        a, b = V[stage.ins[0]], V[stage.ins[1]]
        if atol is None:
            return (a > b).view(np.int8) - (a < b).view(np.int8)
        return sign_codes(a - b, atol)

    def backward(self, stage, V, C, A):
        pass


_CLAMP_CASES = ("below", "lo", "both", "inside", "hi", "above")


class Clamp(Switching):
    """``clamp(u, lo, hi)``: six cases, decided in the order of its ``case_of``."""

    def setup(self, stage):
        lo, hi = stage.params
        stage.lo = None if lo is None else float(lo)
        stage.hi = None if hi is None else float(hi)

    def forward(self, stage, V):
        x = _gather(V, stage.ins[0])
        if stage.lo is not None:
            x = np.maximum(x, stage.lo)
        if stage.hi is not None:
            x = np.minimum(x, stage.hi)
        V[stage.out] = x

    def codes(self, stage, V, atol):
        x = _gather(V, stage.ins[0])
        t = 0.0 if atol is None else atol
        lo, hi = stage.lo, stage.hi
        c = np.full(x.shape, 3, dtype=np.int8)
        if hi is not None:
            c[np.abs(x - hi) <= t] = 4
            c[x > hi + t] = 5
        if lo is not None:
            c[np.abs(x - lo) <= t] = 2 if hi is not None and stage.params[0] == stage.params[1] else 1
            c[x < lo - t] = 0
        return c

    def encode(self, stage, case):
        return _CLAMP_CASES.index(case)

    def decode(self, stage, code):
        return _CLAMP_CASES[int(code)]

    def code_range(self, stage):
        return 0, 6


class ArgRule(Switching):
    """k-ary max / min (reductions, maximum, pooling windows).

    Code ``i < k``: argument ``i`` alone wins; codes ``>= k`` name tie sets,
    interned per stage as they are met (the same code means the same tie set
    in every chunk).
    """

    def __init__(self, sign):
        self.sign = sign

    def setup(self, stage):
        stage.k = len(stage.ins)
        stage.ties = []       # code k + i -> tie tuple
        stage.tie_code = {}   # tie tuple -> code
        stage.lut = np.full(1 << stage.k, -1, dtype=np.int32) if stage.k <= 16 else None

    def _stack(self, stage, V):
        return np.stack([V[i] for i in stage.ins])

    def forward(self, stage, V):
        M = self._stack(stage, V)
        V[stage.out] = M.max(0) if self.sign > 0 else M.min(0)

    def codes(self, stage, V, atol):
        M = self._stack(stage, V)
        best = M.max(0) if self.sign > 0 else M.min(0)
        if atol:
            T = (M >= best - atol) if self.sign > 0 else (M <= best + atol)
        else:
            T = M == best
        codes = T.argmax(0).astype(np.int32)
        tied = T.sum(0) > 1
        if tied.any():
            where = np.nonzero(tied)
            cols = T[(slice(None),) + where]          # (k, ties)
            if stage.k <= 16:                          # tie sets as bit masks, looked up in a table
                mask = np.zeros(cols.shape[1], dtype=np.intp)
                for j in range(stage.k):
                    mask |= cols[j].astype(np.intp) << j
                ids = stage.lut[mask]
                new = ids < 0
                if new.any():
                    for u in np.unique(mask[new]).tolist():
                        stage.lut[u] = self.encode(stage, tuple(j for j in range(stage.k) if u >> j & 1))
                    ids = stage.lut[mask]
                codes[where] = ids
            else:
                uniq, inv = np.unique(cols.T, axis=0, return_inverse=True)
                ids = np.array([self.encode(stage, tuple(np.flatnonzero(u).tolist())) for u in uniq],
                               dtype=np.int32)
                codes[where] = ids[inv.ravel()]
        return codes

    def encode(self, stage, case):
        case = tuple(case)
        if len(case) == 1:
            return case[0]
        code = stage.tie_code.get(case)
        if code is None:
            code = stage.tie_code[case] = stage.k + len(stage.ties)
            stage.ties.append(case)
        return code

    def decode(self, stage, code):
        code = int(code)
        return (code,) if code < stage.k else stage.ties[code - stage.k]

    def code_range(self, stage):
        return 0, stage.k + len(stage.ties)

    def radix(self, stage):
        k = stage.k
        return (0, (1 << k) - 1) if k <= 62 else None


def _leaky(x, params):
    s = float(params[0])
    return np.where(x > 0, x, s * x)


NUMPY_RULES = {
    "input": Input(),
    "const": Const(),
    "affine": Affine(),
    "mul": Mul(),
    "branch": Branch(),
    "relu": SignRule(lambda x, p: np.maximum(x, 0.0)),
    "leaky_relu": SignRule(_leaky),
    "abs": SignRule(lambda x, p: np.abs(x)),
    "clamp": Clamp(),
    "max": ArgRule(1),
    "min": ArgRule(-1),
    "maximum": ArgRule(1),
    "minimum": ArgRule(-1),
    "maxpool": ArgRule(1),
}
