"""Vectorised numpy rules: how a primitive runs in float64 on many points at once.

Each primitive declares its rule (``numpy=...``) next to its exact rules; the
classes here are the shared building blocks (a sign rule, a k-ary max rule,
...).  They need numpy only, so declaring them keeps the core free of the
numeric backends that run them (:mod:`mtsym.backends.sweep`).

A *stage* (see :mod:`mtsym.backends.sweep`) is a batch of graph nodes of one
primitive that can run together (same depth in the graph, same parameters and
convention, except for affine nodes and constants, whose parameters are stacked).
Values live in an array ``V`` of shape ``(rows, N)``, one row per node (float64, or
the dtype a sweep asks for: rules compute in ``V``'s dtype, see :func:`cast`);
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
    when ``atol`` is given: a number, or an array of the stage's shape ``(nodes, N)``);
``decode(stage, code)`` / ``encode(stage, case)``
    between those integers and the primitive's own cases (``case_of``);
``backward(stage, V, C, A)``
    add the node's adjoint times its local weights to its inputs' adjoints.
    The weights are the primitive's own ``linear(case, params, conv)`` for the
    cases that occur (looked up per code, never re-derived here).
``backward_owned(stage, V, C, A, rows)`` (optional, ``writes_owned``)
    the same when the stage is the only reader of its input rows ``owned_inputs(stage)``,
    a contiguous run ``rows`` no other stage writes: the adjoints are written outright, in
    one pass, instead of added into rows cleared before.

A rule whose cases follow from its input values alone (``values_decide``) also runs
``backward(stage, V, None, A, atol)``: a sweep that wants gradients and no codes skips them
in the forward pass (``Schedule.forward(..., lazy=True)``) and the backward pass compares
the values again, in the one pass that builds its mask.

A stage carries ``prim`` (its :class:`~mtsym.primitives.Primitive`), ``params``
and ``conv`` (the parameters and convention its nodes share), ``rows`` (node ->
row of ``V``), ``out`` (its rows), ``code_rows`` (its rows of ``C``) and
``subs`` (values of convention symbols).

Examples
--------
>>> sign_codes(np.array([-2.0, 0.0, 1e-300]), None).tolist()
[-1, 0, 1]
"""

__all__ = ["Rule", "Switching", "SignRule", "ArgRule", "WindowFamilies", "sign_codes", "exact_float", "gather",
           "stage_input", "scatter_add", "add_rows", "row_run", "product", "cast", "no_atol"]

import threading
from fractions import Fraction

import numpy as np
import sympy as sp

from ..errors import ConventionError


def exact_float(v, subs=None, what="weight"):
    """An exact number (or sympy expression with ``subs`` for convention symbols) as a float.

    Examples
    --------
    >>> exact_float(Fraction(1, 4)), exact_float(sp.Symbol("z") / 2, {sp.Symbol("z"): 1})
    (0.25, 0.5)
    """
    if isinstance(v, (int, float, Fraction)) and not isinstance(v, bool):
        return float(v)
    if not isinstance(v, sp.Basic):  # never sympify a string: it could be code
        raise ConventionError(f"the {what} {v!r} is not a number")
    e = v
    if subs:
        e = e.subs(subs)
    if e.free_symbols:
        names = ", ".join(sorted(str(s) for s in e.free_symbols))
        raise ConventionError(f"the {what} {v} holds the convention symbol(s) {names}: pass "
                              f"params={{{names.split(', ')[0]}: value, ...}} to evaluate numerically")
    return float(e)


def no_atol(atol):
    """True when ``atol`` asks for exact float comparisons (``None`` or the number 0)."""
    return atol is None or (np.ndim(atol) == 0 and atol == 0)


def sign_codes(d, atol):
    """``sign(d)`` as int8, with ``|d| <= atol`` counted as 0 when ``atol`` is given (a number or an array)."""
    if no_atol(atol):
        return (d > 0).view(np.int8) - (d < 0).view(np.int8)
    return (d > atol).view(np.int8) - (d < -atol).view(np.int8)


def cast(stage, name, dtype):
    """The stage's float array ``name`` in ``dtype`` (cast once and kept), so a rule computes in
    the dtype of the sweep's values (a float32 sweep multiplies float32 weights, as frameworks do).

    Examples
    --------
    >>> class S: pass
    >>> s = S(); s.W = np.array([0.1])
    >>> cast(s, "W", np.float32).dtype, cast(s, "W", np.float64) is s.W
    (dtype('float32'), True)
    """
    a = getattr(stage, name)
    if a.dtype == dtype:
        return a
    cache = stage.__dict__.setdefault("_cast", {})
    key = (name, np.dtype(dtype).str)
    out = cache.get(key)
    if out is None:
        out = cache[key] = a.astype(dtype)
    return out


def row_run(idx):
    """``idx`` as a slice when it is a contiguous increasing run of rows, else None."""
    n = len(idx)
    if n and idx[-1] - idx[0] == n - 1 and (n == 1 or (np.diff(idx) == 1).all()):
        return slice(int(idx[0]), int(idx[0]) + n)
    return None


_FIND = object()


def gather(V, idx, run=_FIND):
    """``V[idx]``: a view when the rows are a contiguous run (``run``: that run, or None for none,
    when the caller found it once already: :func:`row_run` costs as much as a small stage's work)."""
    sl = row_run(idx) if run is _FIND else run
    return V[idx] if sl is None else V[sl]


def stage_input(stage, V, j=0):
    """Argument ``j``'s rows of ``V`` for a stage: a view when they are one run (found once per
    stage, not once per chunk)."""
    runs = stage.__dict__.get("in_runs")
    if runs is None:
        runs = stage.in_runs = [row_run(i) for i in stage.ins]
    return gather(V, stage.ins[j], runs[j])


def scatter_add(A, idx, vals, dup):
    """``A[idx] += vals``, correct when ``idx`` repeats (``dup``)."""
    if dup:
        np.add.at(A, idx, vals)
        return
    sl = row_run(idx)
    if sl is None:
        A[idx] += vals
    else:
        A[sl] += vals


class Rule:
    """A rule with no cases and no value (inputs and constants override ``forward``)."""

    switching = False
    #: True when each node's parameters may differ inside one stage (they are stacked)
    stacked = False
    #: False for a node with a case and no value (a Python comparison)
    has_value = True
    #: True for the rule that reads the points themselves (``forward(stage, V, X)``)
    reads_points = False
    #: True when ``backward(stage, V, None, A, atol)`` finds the cases from the values (no stored codes)
    values_decide = False
    #: True when ``backward_owned(stage, V, C, A, rows)`` can write its input rows' adjoints outright
    writes_owned = False

    def owned_inputs(self, stage):
        """The input rows whose adjoints :meth:`backward_owned` writes, or None (not supported)."""
        return None

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


class Switching(Rule):
    """A rule with cases; weights come from ``prim.linear`` per code, through a lookup table."""

    switching = True

    def build(self, stage, datas):
        Rule.build(self, stage, datas)
        self.setup(stage)
        stage.table = {}
        stage.grids = [None if dup else _grid(idx) for idx, dup in zip(stage.ins, stage.dup)]

    def setup(self, stage):
        pass

    def weights(self, stage, codes):
        """``(k, outs, N)`` local weights at the given codes (shape ``(outs, N)``).

        The table of every code in :meth:`code_range` is made once per stage (again when the
        range grows, e.g. a new tie set); a code whose case does not exist (a one-sided clamp's)
        gets no row, and is looked up, with its error, only if it occurs."""
        (offset, size), tab = self._table(stage, codes)
        if size == 1:
            return np.broadcast_to(tab[0][:, None, None], (len(stage.ins),) + codes.shape)
        return np.moveaxis(tab[codes + offset], -1, 0)

    def _table(self, stage, codes):
        """``((offset, size), table)``: the weights of every code in :meth:`code_range`, a row each
        (made once per stage, again when the range grows); raises what the rule says of a code in
        ``codes`` whose case does not exist."""
        offset, size = self.code_range(stage)
        cached = stage.__dict__.get("weight_table")
        if cached is None or cached[0] != (offset, size):
            tab = np.zeros((size, len(stage.ins)))
            missing = []
            for c in range(-offset, size - offset):
                try:
                    tab[c + offset] = self.weight_row(stage, c)
                except Exception:  # noqa: BLE001  (not a case of this node: an error only if it occurs)
                    missing.append(c)
            cached = stage.weight_table = ((offset, size), tab, np.array(missing, dtype=np.int32))
        _, tab, missing = cached
        if len(missing) and np.isin(codes, missing).any():
            for c in np.unique(codes[np.isin(codes, missing)]).tolist():
                self.weight_row(stage, int(c))  # raises what the rule says of that case
        return (offset, size), tab

    def weight_row(self, stage, code):
        row = stage.table.get(code)
        if row is None:
            w, _ = stage.prim.linear(self.decode(stage, code), stage.params, stage.conv)
            row = stage.table[code] = [exact_float(v, stage.subs) for v in w]
        return row

    def backward(self, stage, V, C, A):
        self._backward(stage, self.weights(stage, C[stage.code_rows]), A)

    def _backward(self, stage, W, A):
        """Each input's adjoint plus the node's adjoint times the weights ``W`` (k, nodes, N)."""
        adj = A[stage.out]
        if len(stage.ins) == 1:  # the node's adjoint is not read again: scale it in place
            adj *= W[0][:, None, :]
            add_rows(A, stage.ins[0], adj, stage.dup[0], stage.grids[0])
            return
        for j, idx in enumerate(stage.ins):
            add_rows(A, idx, W[j][:, None, :] * adj, stage.dup[j], stage.grids[j])

    def encode(self, stage, case):
        return case

    def decode(self, stage, code):
        return int(code)

    def code_range(self, stage):
        return 1, 3

    def radix(self, stage):
        return self.code_range(stage)


class SignRule(Switching):
    """One input whose case is its sign (relu, leaky_relu, abs): codes -1, 0, 1.

    ``fn(x, params, out)`` writes the value.  The backward pass can find each point's sign from
    the values themselves (:attr:`values_decide`): a sweep that needs no codes but the gradient's
    passes ``C=None`` and the forward pass's ``atol``, and saves writing the codes."""

    #: the weights can be found from the stage's input values (no stored codes needed)
    values_decide = True

    def __init__(self, fn):
        self.fn = fn

    def forward(self, stage, V):
        self.fn(stage_input(stage, V), stage.params, V[stage.out])

    def codes(self, stage, V, atol):
        return sign_codes(stage_input(stage, V), atol)

    #: :meth:`backward_owned` writes the adjoints of input rows this stage alone reads
    writes_owned = True

    def owned_inputs(self, stage):
        """The input rows :meth:`backward_owned` writes (None when an input repeats)."""
        return None if stage.dup[0] else stage.ins[0]

    def _local(self, stage, V, C, atol):
        """The weight of each point's sign as ``(rows, 1, N)`` (a boolean mask for relu's weights),
        from the codes, or (``C`` None) from the input values compared with ``atol`` as
        :meth:`codes` compares them."""
        tab = stage.__dict__.get("sign_weights")
        if tab is None:
            tab = stage.sign_weights = np.array([self.weight_row(stage, c)[0] for c in (-1, 0, 1)])
        w = tuple(tab.tolist())
        mask = w in ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0))  # relu's: the adjoint passes where the mask holds
        if C is not None:
            codes = C[stage.code_rows]
            if mask:
                return ((codes > 0) if w[1] == 0.0 else (codes >= 0))[:, None, :]
            return tab[codes + 1][:, None, :]
        x = stage_input(stage, V)
        if mask and np.ndim(atol) == 0:   # as bytes: a product with uint8 runs 1.2x faster than with bool
            t = 0.0 if no_atol(atol) else float(atol)
            return ((x > t) if w[1] == 0.0 else (x >= -t)).view(np.uint8)[:, None, :]
        return tab[sign_codes(x, atol) + 1][:, None, :]

    #: :meth:`backward_owned` takes ``adj=``, an adjoint that is the same at every point
    takes_constant_adjoint = True

    def backward_owned(self, stage, V, C, A, rows, atol=None, adj=None):
        """:meth:`backward` when this stage is the only reader of its input rows, a run ``rows``
        (a slice) that nothing else has written: the product goes straight into them (one pass
        instead of a product and an add).  ``adj``: the stage's adjoint when it is the same at
        every point (then its own rows are not read): an array ``(nodes, m, 1)``, or ``1``, when
        the stage reading ``rows`` scales its weights by it instead (the weights alone are written)."""
        local = self._local(stage, V, C, atol)
        if adj is None:
            np.multiply(A[stage.out], local, out=A[rows])
        elif np.ndim(adj) == 0:
            np.copyto(A[rows], local)      # a copy of the 0/1 bytes runs 3x faster than a product
        else:
            np.multiply(adj, local, out=A[rows])

    def backward(self, stage, V, C, A, atol=None):
        """The adjoint times the weight of each point's sign, from the weights of the three signs
        (one mask when they are 0 and 1, as relu's: no table lookup, no pass for the codes that occur).
        The stage's own adjoint rows are final here and scaled in place; ``np.add(..., where=mask)``
        with a broadcast mask measured 9x slower than the product and add."""
        adj = A[stage.out]
        adj *= self._local(stage, V, C, atol)
        add_rows(A, stage.ins[0], adj, stage.dup[0], stage.grids[0])


class ArgRule(Switching):
    """k-ary max / min (reductions, maximum, pooling windows).

    Code ``i < k``: argument ``i`` alone wins; codes ``>= k`` name tie sets,
    interned per stage as they are met (the same code means the same tie set
    in every chunk).  For ``k <= 16`` the winners of each point are packed into a
    bit mask (one pass per argument) and looked up in a table of ``2**k`` codes:
    a reduction of the comparisons along the arguments (``argmax``) cost 30x more.
    The backward pass finds the winners from the values (:attr:`values_decide`): where
    one argument wins, the weights are the winners themselves (0 or 1, no lookup).
    """

    values_decide = True

    def __init__(self, sign):
        self.sign = sign

    def setup(self, stage):
        k = stage.k = len(stage.ins)
        stage.ties = []       # code k + i -> tie tuple
        stage.tie_code = {}   # tie tuple -> code
        stage.lut = None
        if k <= 16:           # winners' bit mask -> code: one bit is that argument, more a tie code (-1: not met yet)
            stage.lut = np.full(1 << k, -1, dtype=np.int32)
            stage.lut[1 << np.arange(k)] = np.arange(k)
        stage.lock = threading.Lock()  # codes are interned once, whichever thread meets a tie set first

    def _stack(self, stage, V):
        return np.stack([V[i] for i in stage.ins])

    def forward(self, stage, V):
        M = self._stack(stage, V)
        V[stage.out] = M.max(0) if self.sign > 0 else M.min(0)

    def _winners(self, stage, V, atol):
        """``(k, nodes, N)`` booleans: which arguments attain the max (min), within ``atol`` when given."""
        M = self._stack(stage, V)
        best = M.max(0) if self.sign > 0 else M.min(0)
        if no_atol(atol):
            return M == best
        return (M >= best - atol) if self.sign > 0 else (M <= best + atol)

    def _codes_of(self, stage, T):
        """The codes of the winners ``T`` (interning the tie sets met for the first time)."""
        k = stage.k
        if stage.lut is None:
            codes = T.argmax(0).astype(np.int32)
            tied = T.sum(0) > 1
            if tied.any():
                where = np.nonzero(tied)
                cols = T[(slice(None),) + where]          # (k, ties)
                uniq, inv = np.unique(cols.T, axis=0, return_inverse=True)
                ids = np.array([self.encode(stage, tuple(np.flatnonzero(u).tolist())) for u in uniq],
                               dtype=np.int32)
                codes[where] = ids[inv.ravel()]
            return codes
        dt = np.uint8 if k <= 8 else np.uint16
        mask = T[0].view(np.uint8).astype(dt)
        for j in range(1, k):
            mask |= T[j].view(np.uint8).astype(dt) << dt(j)
        codes = np.take(stage.lut, mask)
        new = codes < 0
        if new.any():
            for u in np.unique(mask[new]).tolist():
                stage.lut[u] = self.encode(stage, tuple(j for j in range(k) if u >> j & 1))
            codes = np.take(stage.lut, mask)
        return codes

    def codes(self, stage, V, atol):
        return self._codes_of(stage, self._winners(stage, V, atol))

    def _one_hot(self, stage):
        """True when the weights of a lone winner are that argument's indicator (a max's are)."""
        flag = stage.__dict__.get("one_hot")
        if flag is None:
            eye = np.eye(stage.k)
            flag = stage.one_hot = all(list(self.weight_row(stage, j)) == eye[j].tolist() for j in range(stage.k))
        return flag

    def backward(self, stage, V, C, A, atol=None):
        """:meth:`Switching.backward`; without codes (``C`` None), the weights from the winners: the
        winners themselves where one argument wins, the tie set's weights where several do."""
        if C is not None:
            self._backward(stage, self.weights(stage, C[stage.code_rows]), A)
            return
        if not self._one_hot(stage):
            self._backward(stage, self.weights(stage, self.codes(stage, V, atol)), A)
            return
        T = self._winners(stage, V, atol)
        W = T.view(np.uint8)
        lone = T.sum(0, dtype=np.uint8 if stage.k < 256 else np.intp) == 1
        if not lone.all():            # ties: their weights from the table, at those points alone
            where = (slice(None),) + np.nonzero(~lone)
            codes = self._codes_of(stage, T[where])
            (offset, _), tab = self._table(stage, codes)
            W = T.astype(np.float64)
            W[where] = tab.T[:, codes + offset]
        self._backward(stage, W, A)

    def encode(self, stage, case):
        case = tuple(case)
        if len(case) == 1:
            return case[0]
        code = stage.tie_code.get(case)
        if code is None:
            with stage.lock:
                code = stage.tie_code.get(case)
                if code is None:
                    stage.ties.append(case)
                    code = stage.tie_code[case] = stage.k + len(stage.ties) - 1
        return code

    def decode(self, stage, code):
        code = int(code)
        return (code,) if code < stage.k else stage.ties[code - stage.k]

    def code_range(self, stage):
        return 0, stage.k + len(stage.ties)

    def radix(self, stage):
        k = stage.k
        return (0, (1 << k) - 1) if k <= 62 else None


#: below this many flops a product runs in numpy's own loops: a BLAS call's thread hand-off costs more
#: (tens of ms when another thread pool, e.g. PyTorch's, is spinning in the same process)
SMALL_PRODUCT = 3e7


#: set while a sweep runs with BLAS held to one thread (no hand-off to stall on): products then
#: always go to BLAS, several times faster than numpy's own loops even for an 8 x 8 matrix
ONE_BLAS_THREAD = threading.local()


def product(M, X, out=None):
    """``M @ X`` for a small ``M`` and a wide ``X`` (into ``out`` when given): BLAS when it runs on one
    thread, else einsum below :data:`SMALL_PRODUCT` flops (a BLAS call's thread hand-off costs more)."""
    if getattr(ONE_BLAS_THREAD, "on", False) or 2 * M.size * X.shape[1] >= SMALL_PRODUCT:
        return np.matmul(M, X, out=out)
    return np.einsum("ij,jx->ix", M, X, out=out)


def add_rows(A, idx, vals, dup, grid=None):
    """``A[idx] += vals``; through a strided view when the rows form a grid (``_grid(idx)``: a
    convolution tap's or a pooling window position's rows), without gathering them."""
    if grid is None:
        scatter_add(A, idx, vals, dup)
        return
    first, shape, strides = grid
    view = np.lib.stride_tricks.as_strided(A[first:], shape + A.shape[1:],
                                           tuple(st * A.strides[0] for st in strides) + A.strides[1:])
    view += vals.reshape(shape + A.shape[1:])


def _grid(idx, depth=3):
    """``(first, shape, strides)`` when ``idx`` is ``first + sum(i_d * strides[d])`` over a row-major grid of
    ``shape`` (at most ``depth`` axes; distinct, increasing rows), else None.

    Examples
    --------
    >>> _grid(np.array([5, 6, 7, 33, 34, 35]))
    (5, (2, 3), (28, 1))
    >>> _grid(np.array([0, 2, 10, 12, 100, 102, 110, 112]))
    (0, (2, 2, 2), (100, 10, 2))
    >>> _grid(np.array([0, 1, 5, 6, 7])) is None
    True
    """
    P = len(idx)
    if P < 2:
        return None
    steps = np.diff(idx)
    s = int(steps[0])
    if s <= 0:
        return None
    breaks = np.flatnonzero(steps != s)
    n = int(breaks[0]) + 1 if len(breaks) else P
    if P % n:
        return None
    starts = idx[::n]
    if n == P:
        outer = (int(idx[0]), (), ())
    elif depth <= 1 or len(starts) < 2:
        return None
    else:
        outer = _grid(starts, depth - 1)
        if outer is None or outer[2][-1] < n * s:     # runs must not overlap
            return None
    first, shape, strides = outer
    shape, strides = shape + (n,), strides + (s,)
    want = np.full(shape, first, dtype=np.intp)
    for d, (m, st) in enumerate(zip(shape, strides)):
        want += (np.arange(m) * st).reshape((1,) * d + (m,) + (1,) * (len(shape) - d - 1))
    return (first, shape, strides) if np.array_equal(want.ravel(), idx) else None


class WindowFamilies:
    """An affine stage as *families of windows*: how a convolution or a pooling layer runs as BLAS products.

    A *window* is a tuple of input rows that several nodes of the stage read (the
    output channels at one position of a convolution); a *family* is the set of
    windows whose nodes use the same coefficient matrix ``M`` (R nodes x K
    inputs: the kernel, away from the borders).  Then the family's forward is
    one product ``M @ V[windows]`` (im2col) and its backward ``M.T @ adjoints``
    followed by K scatters, one per kernel tap, instead of one scatter per
    (node, input) pair.  :meth:`plan` returns ``None`` when the stage has no
    such sharing (every node its own coefficients), and the stage keeps its gathers.
    """

    __slots__ = ("families", "_cast")

    def __init__(self, families):
        self._cast = {}
        self.families = families

    @classmethod
    def plan(cls, entries, c0, min_share=8):
        """Group ``entries`` (per node: input rows, float coefficients) into families, or ``None``."""
        windows = {}
        for i, (rs, _) in enumerate(entries):
            windows.setdefault(tuple(rs), []).append(i)
        fams = {}
        for rs, nodes in windows.items():
            M = np.array([entries[i][1] for i in nodes], dtype=float).reshape(len(nodes), len(rs))
            fams.setdefault((M.shape, M.tobytes()), (M, [], []))
            _, idx, rows = fams[(M.shape, M.tobytes())]
            idx.append(rs)
            rows.append(nodes)
        if len(fams) * min_share > len(entries):
            return None
        out = []
        for M, idx, rows in fams.values():
            idxT = np.array(idx, dtype=np.intp).reshape(len(idx), M.shape[1]).T     # (K, P)
            rowsT = np.array(rows, dtype=np.intp).T                                # (R, P)
            R, P = rowsT.shape
            # the nodes of a family as one block of rows (a convolution's channels x positions): a view
            block = bool((rowsT == rowsT[0, 0] + np.arange(R)[:, None] * P + np.arange(P)[None, :]).all())
            c = c0[rowsT, 0]
            flat_distinct = len(np.unique(idxT)) == idxT.size
            dup = [len(np.unique(r)) < len(r) for r in idxT]
            grids = [None if dup[k] else _grid(idxT[k]) for k in range(len(idxT))]
            out.append((M, idxT, rowsT, c if np.any(c) else None, flat_distinct, dup, block, grids))
        return cls(out)

    @staticmethod
    def _rows(X, start, rowsT, block):
        R, P = rowsT.shape
        if block:
            first = start + int(rowsT[0, 0])
            return X[first:first + R * P].reshape((R, P) + X.shape[1:])
        return X[start + rowsT]

    def forward(self, start, V):
        N = V.shape[1]
        for k, (M, idxT, rowsT, c, _, _, block, _) in enumerate(self.families):
            R, P = rowsT.shape
            if V.dtype != M.dtype:       # a float32 sweep: float32 weights, float32 products (see cast)
                M, c = self._in(k, V.dtype)
            if M.shape[1] == 0:
                res = np.zeros((R, P, N), dtype=V.dtype)
            else:
                res = product(M, V[idxT].reshape(M.shape[1], P * N)).reshape(R, P, N)
            if c is not None:
                res += c[:, :, None]
            if block:
                self._rows(V, start, rowsT, True)[...] = res
            else:
                V[start + rowsT] = res

    def _in(self, k, dtype):
        """Family ``k``'s coefficients and constants in ``dtype`` (cast once and kept)."""
        cache = self._cast
        key = (k, np.dtype(dtype).str)
        if key not in cache:
            M, c = self.families[k][0], self.families[k][3]
            cache[key] = (M.astype(dtype), None if c is None else c.astype(dtype))
        return cache[key]

    def backward(self, start, A):
        m, N = A.shape[1], A.shape[2]
        for M, idxT, rowsT, _, flat_distinct, dup, block, grids in self.families:
            K, P = idxT.shape
            if K == 0:
                continue
            R = rowsT.shape[0]
            adj = self._rows(A, start, rowsT, block).reshape(R, P * m * N)
            contrib = product(M.T, adj).reshape(K, P, m, N)
            if flat_distinct and not any(grids):
                A[idxT.ravel()] += contrib.reshape(K * P, m, N)
                continue
            for k in range(K):
                add_rows(A, idxT[k], contrib[k], dup[k], grids[k])
