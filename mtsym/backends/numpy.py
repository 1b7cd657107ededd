"""Batched float64 evaluation of a piece table: ``table.compile()``.

How a point finds its stratum (the way a framework decides ties): one forward
sweep of the table's **graph** in float64 (:class:`~mtsym.backends.sweep.Schedule`)
gives every switching node's case at every point from exact float comparisons of
the quantities the graph computes (no tolerance unless ``atol=`` is given).  A
stratum is its decision path ``((node, case), ...)``: the cases of a point are
packed into one integer key, and keys are looked up in a sorted array that
learns each new key once, by walking the trie of the strata's paths.  The
value is the graph's own float value at the stratum's output nodes, the
associated gradient is the stratum's piece gradient ``grad f^alpha`` (exact,
rounded once; a polynomial gradient, where f^alpha is a product of traced values, is
evaluated term by term).  Sympy ``lambdify`` of the piece conditions and generated
straight-line numpy code were measured against this sweep (and no code is generated
from a table, which may come from a file); see
``docs/performance.md`` (section *Batched evaluation*).

A float sign pattern that no stratum has (rounding can make an exactly
infeasible pattern, e.g. ``relu(a + b - a - b)`` slightly off zero) is located
exactly instead (the float point is an exact rational); ``located_exactly``
counts such points.

Examples
--------
>>> import numpy as np, mtsym as mt
>>> ev = mt.derive(lambda x: mt.max(x), 3).compile()
>>> X = np.array([[1.0, 2.0, 0.0], [1.0, 1.0, 0.0]])
>>> ev.value(X).tolist(), ev.piece(X).tolist()
([2.0, 1.0], [1, 3])
>>> ev.grad(X).tolist()
[[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]
"""

__all__ = ["compile_table", "CompiledTable", "Batch"]

import threading
from fractions import Fraction

import numpy as np
import sympy as sp

from ..errors import ConventionError, InputError
from ..exact import tolerance
from ..extensions import register
from .chunks import as_points, auto_chunk, run_chunks
from .keyindex import KeyIndex
from ..primitives.vectorized import ONE_BLAS_THREAD, exact_float
from .sweep import Schedule, needed_nodes, symbol_subs

_HASH_SEED = 0x6D747379  # fixed: keys are reproducible between runs


class Batch:
    """Results at a batch of points: ``.value``, ``.grad``, ``.piece``, ``.stratum`` (None if not asked)."""

    __slots__ = ("value", "grad", "piece", "stratum")

    def __init__(self, value=None, grad=None, piece=None, stratum=None):
        self.value, self.grad, self.piece, self.stratum = value, grad, piece, stratum

    def __repr__(self):
        shapes = {k: getattr(self, k).shape for k in self.__slots__ if getattr(self, k) is not None}
        return f"Batch({shapes})"


def compile_table(table, atol=None, chunk_size=None, params=None, progress=None):
    """A float64 evaluator of ``table`` (see the module docstring).

    Parameters
    ----------
    table : PieceTable
        Must carry its graph (a table made by :func:`mtsym.derive`).
    atol : float, optional
        Count a switching quantity within ``atol`` of a tie as a tie.  Default:
        exact float comparisons, as frameworks do.
    chunk_size : int, optional
        Points per chunk (memory stays bounded); default from a 64 MiB budget. The chunks run on
        the cores this process may use (at most ``MTSYM_THREADS``, else ``OMP_NUM_THREADS``, when
        set: ``1`` for one thread).
    params : dict, optional
        Values of the symbols of a parametric convention, e.g. ``{z: 0.5}``.
    progress : bool, optional
        Progress bar; default on for long runs on a terminal.

    Returns
    -------
    CompiledTable
    """
    return CompiledTable(table, atol=atol, chunk_size=chunk_size, params=params, progress=progress)


class _PolynomialGrad:
    """A gradient whose entries are polynomials in the inputs (f^alpha a product of traced
    values), evaluated term by term in numpy: ``g(X)`` has shape (N, m, n).  No code is
    generated from the expressions (their symbol names come from the table)."""

    def __init__(self, g, symbols):
        self.shape = (g.rows, g.cols)
        self.terms = []
        for i in range(g.rows):
            for j in range(g.cols):
                try:
                    poly = sp.Poly(g[i, j], *symbols)
                except sp.PolynomialError as e:
                    raise InputError(f"compile: the gradient entry {g[i, j]} is not a polynomial in the "
                                     "inputs") from e
                self.terms.append((i, j, [(exps, exact_float(c)) for exps, c in poly.terms()]))

    def __call__(self, X):
        out = np.zeros((X.shape[0],) + self.shape)
        for i, j, terms in self.terms:
            acc = out[:, i, j]
            for exps, c in terms:
                t = np.full(X.shape[0], c)
                for k, e in enumerate(exps):
                    if e:
                        t *= X[:, k] ** e
                acc += t
        return out


class CompiledTable:
    """``.value(X)``, ``.grad(X)``, ``.piece(X)``, ``.stratum(X)`` and ``.batch(X)`` for ``X`` (N, n)."""

    def __init__(self, table, atol=None, chunk_size=None, params=None, progress=None):
        graph = table.graph
        if graph is None:
            raise InputError("compile: this table has no graph (read from JSON?); compile the table "
                             "that mtsym.derive returned")
        self.table, self.atol, self.progress = table, tolerance(atol, "compile: atol"), progress
        self.n, self.shape = table.n, table.shape
        self.subs = symbol_subs(graph, table.convention, params, "compile: params")
        self.located_exactly = 0
        self._grads = [self._piece_grad(p) for p in table.pieces]
        self._G = None if any(callable(g) for g in self._grads) else np.array(self._grads)
        switch = sorted(graph.switching_nodes())
        outs = sorted({v for o in graph.outputs for v in o})
        self.sched = Schedule(graph, table.convention, needed_nodes(graph, switch + outs), self.subs)
        for_cases = needed_nodes(graph, switch)
        self._case_stages = [st for st in self.sched.stages if any(v in for_cases for v in st.nodes)]
        self._switch = switch
        self._pos = {v: j for j, v in enumerate(switch)}
        self._rows = np.array([self.sched.code_row[v] for v in switch], dtype=np.intp)
        self._rows_in_order = bool((self._rows == np.arange(len(self._rows))).all())
        # one pass over the strata (a streamed table reads its file once)
        n_strata = len(table.strata)
        self._piece_of = np.empty(n_strata, dtype=np.intp)
        out_rows, self._trie = [], None
        self._trie = self._build_trie(self._collect(table.strata, out_rows))
        self._out_rows = np.array(out_rows, dtype=np.intp).reshape(n_strata, -1)
        self._one_output = len({tuple(r) for r in self._out_rows.tolist()}) == 1
        self._setup_keys()
        m = int(np.prod(self.shape)) if self.shape else 1
        self.chunk_size = auto_chunk(self.sched.row_bytes(0) + 8 * m * (self.n + 1), chunk_size)

    # ------------------------------------------------------------ setup
    def _piece_grad(self, piece):
        forms = piece.forms
        if all(type(f) is tuple and all(type(c) in (int, Fraction) for c in f) for f in forms):
            arr = np.array([[exact_float(c) for c in f[1:]] for f in forms])  # no sympy needed
            return arr[0] if self.shape == () else arr
        g = piece.grad
        if self.subs:
            g = g.subs(self.subs)
        free = g.free_symbols - set(self.table.symbols)
        if free:
            names = ", ".join(sorted(map(str, free)))
            raise ConventionError(f"compile: the gradients hold the convention symbol(s) {names}; pass "
                                  f"params={{{names.split(', ')[0]}: value, ...}}")
        if g.free_symbols:  # f^alpha not affine (a product of traced values): a function of x
            return _PolynomialGrad(g, self.table.symbols)
        arr = np.array([[exact_float(v) for v in row] for row in g.tolist()])
        return arr[0] if self.shape == () else arr

    def _collect(self, strata, out_rows):
        """Each stratum's piece and output rows, on the way to the trie."""
        rows = self.sched.rows
        for s in strata:
            self._piece_of[s.index] = s.piece
            out_rows.append([rows[v] for v in s.output_nodes])
            yield s

    def _build_trie(self, strata):
        enc = self.sched.encode
        root = None
        for s in strata:
            path = [(v, enc(v, c)) for v, c in s.path]
            if not path:
                return s.index
            if root is None:
                root = [path[0][0], {}]
            t = root
            for k, (v, code) in enumerate(path):
                assert t[0] == v, "strata paths disagree on the next switching node"
                last = k == len(path) - 1
                nxt = t[1].get(code)
                if nxt is None:
                    nxt = t[1][code] = s.index if last else [path[k + 1][0], {}]
                t = nxt
        return root

    def _setup_keys(self):
        radix = [self.sched.radix(v) for v in self._switch]
        total = 1
        for r in radix:
            total = total * r[1] if r is not None and total < 2 ** 62 else 2 ** 63
        self._exact_keys = total < 2 ** 62
        self._space = total
        if self._exact_keys:
            mult, m = [], 1
            for off, size in radix:
                mult.append(m)
                m *= size
            self._mult = np.array(mult, dtype=np.int64)
            self._off = np.array([r[0] for r in radix], dtype=np.int64)
            self._float_mult = self._mult.astype(np.float64)      # for keys below 2^53 (see _keys)
            self._const = int((self._off * self._mult).sum())
        else:
            rng = np.random.default_rng(_HASH_SEED)
            self._mult = rng.integers(1, 2 ** 63, size=len(radix), dtype=np.uint64) | np.uint64(1)
            self._off = np.zeros(len(radix), dtype=np.uint64)
        # the keys learned so far: (sorted keys, their strata, representatives), replaced as one
        # tuple under a lock, so threads sharing this evaluator never see a half-updated table
        K = np.zeros(0, dtype=self._mult.dtype)
        self._known = (K, np.zeros(0, dtype=np.intp), np.zeros((0, len(radix)), dtype=np.int32), self._index(K))
        self._lock = threading.Lock()

    # ------------------------------------------------------------ locating
    def _keys(self, C):
        """Each point's key: ``sum((code_j + off_j) * mult_j)``.  Exact keys below 2^53 as one
        float64 product (every partial sum an integer that float64 holds exactly: 3x faster than a
        loop over the nodes), larger ones by that loop in int64, hashed keys in uint64 (wrapping)."""
        dt = self._mult.dtype
        if self._exact_keys and self._space < 2 ** 53:
            rows = self._rows
            codes = C[:len(rows)] if self._rows_in_order else C[rows]
            return (self._float_mult @ codes.astype(np.float64)).astype(np.int64) + self._const
        key = np.zeros(C.shape[1], dtype=dt)
        for j, r in enumerate(self._rows):
            key += (C[r].astype(dt) + self._off[j]) * self._mult[j]
        return key

    def _walk(self, col):
        t = self._trie
        while not isinstance(t, int):
            v, kids = t
            t = kids.get(int(col[self._pos[v]]))
            if t is None:
                return -1
        return t

    def _index(self, K):
        """The index of the known keys ``K``: a direct table when they are exact codes of a small space."""
        return KeyIndex(K, self._space if self._exact_keys else None)

    @staticmethod
    def _find(known, keys):
        """``(strata, positions)`` of the keys; stratum -2 (and position -1) for a key not learned yet."""
        K, Ks, _, index = known
        if len(K) == 0:
            return np.full(len(keys), -2, dtype=np.intp), None
        i = index.find(keys)
        return np.where(i >= 0, Ks[i], -2), i

    def _learn(self, keys, new, C):
        """Add the keys not known yet (each walked down the trie once); returns the new table."""
        with self._lock:
            K0, Ks0, Krep0, _ = self._known
            uk, first = np.unique(keys[new], return_index=True)
            fresh = ~np.isin(uk, K0)  # another thread may have learned some meanwhile
            uk, first = uk[fresh], first[fresh]
            reps = C[self._rows][:, np.flatnonzero(new)[first]].T
            ks = np.array([self._walk(r) for r in reps], dtype=np.intp)
            K = np.concatenate([K0, uk])
            order = np.argsort(K, kind="stable")
            K = K[order]
            self._known = (K, np.concatenate([Ks0, ks])[order],
                           np.concatenate([Krep0, reps.astype(np.int32)])[order], self._index(K))
            return self._known

    def _strata(self, C, X):
        if len(self._switch) == 0:
            return np.full(C.shape[1], self._trie, dtype=np.intp)
        keys = self._keys(C)
        known = self._known
        s, at = self._find(known, keys)
        new = s == -2
        if new.any():
            known = self._learn(keys, new, C)
            s, at = self._find(known, keys)
        if not self._exact_keys:  # a 64-bit hash: check each point against its key's representative
            bad = (C[self._rows].T != known[2][at]).any(1)
            for i in np.flatnonzero(bad):
                s[i] = self._walk(C[self._rows, i])
        missing = np.flatnonzero(s < 0)
        for i in missing:
            s[i] = self.table.stratum_at(tuple(X[i].tolist())).index
        if len(missing):
            with self._lock:
                self.located_exactly += len(missing)
        return s

    # ------------------------------------------------------------ evaluation
    def batch(self, X, value=True, grad=True, piece=True, stratum=True):
        """Everything asked for at the points ``X`` (N, n), in one sweep per chunk."""
        X = as_points(X, self.n)
        N = X.shape[0]
        m = int(np.prod(self.shape)) if self.shape else 1
        vshape = (N,) + tuple(self.shape)
        res = Batch(value=np.empty(vshape) if value else None,
                    grad=np.empty(vshape + (self.n,)) if grad else None,
                    piece=np.empty(N, dtype=np.intp) if piece else None,
                    stratum=np.empty(N, dtype=np.intp) if stratum else None)
        need_strata = grad or piece or stratum or not self._one_output

        def work(lo, hi):
            Xc = X[lo:hi]
            V, C = self.sched.forward(Xc, self.atol, stages=None if value else self._case_stages, reuse=True)
            s = self._strata(C, Xc) if need_strata else None
            if stratum:
                res.stratum[lo:hi] = s
            p = self._piece_of[s] if s is not None else None
            if piece:
                res.piece[lo:hi] = p
            if value:
                if self._one_output:
                    vals = V[self._out_rows[0]]
                else:
                    vals = V[self._out_rows[s].T, np.arange(hi - lo)[None, :]]
                res.value[lo:hi] = vals[0] if self.shape == () else vals.T
            if grad:
                res.grad[lo:hi] = self._grad_of(p, Xc, m)
        # chunks on the cores this process may use, each thread sweeping into its own buffers
        # (reuse), BLAS held to one thread in all of them
        with self.sched.threads():
            on = getattr(ONE_BLAS_THREAD, "on", False)
            run_chunks(N, self.chunk_size, work, self.progress, desc="compile",
                       thread_init=lambda: setattr(ONE_BLAS_THREAD, "on", on))
        return res

    def _grad_of(self, p, X, m):
        if self._G is not None:
            return self._G[p]
        out = np.empty((len(p), m, self.n))
        for k in np.unique(p):
            sel = p == k
            g = self._grads[k]
            out[sel] = g(X[sel]) if callable(g) else g.reshape(m, self.n)
        return out[:, 0, :] if self.shape == () else out

    def value(self, X):
        """f at the points, float64: shape (N,) or (N, m)."""
        return self.batch(X, grad=False, piece=False, stratum=False).value

    def grad(self, X):
        """The associated gradient: shape (N, n), or (N, m, n) for vector outputs."""
        return self.batch(X, value=False, piece=False, stratum=False).grad

    def piece(self, X):
        """Index of each point's piece in ``table.pieces`` (never -1)."""
        return self.batch(X, value=False, grad=False, stratum=False).piece

    def stratum(self, X):
        """Index of each point's stratum in ``table.strata``."""
        return self.batch(X, value=False, grad=False, piece=False).stratum

    __call__ = value

    def __repr__(self):
        return (f"<CompiledTable {self.table.name}: {len(self.table.pieces)} pieces, "
                f"{len(self._switch)} switching nodes, chunk {self.chunk_size}>")


register("table.compile", compile_table)
