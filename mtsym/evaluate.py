"""``mt.evaluate``: values and associated gradients at many points, without enumerating pieces.

The program is traced **once** into a graph (graph-only tracing: no exact affine
forms, so a 784-256-256-10 network traces in seconds), then each chunk of points
gets one float64 forward sweep (the case of every switching node, from exact
float comparisons as frameworks make them) and one reverse sweep whose local
weights are the primitives' own ``linear(case, params, convention)``: what
autodiff computes, and what the piece table's ``grad f^alpha`` is on the
point's stratum, so ``evaluate`` and ``table.compile()`` agree wherever both run (up to
the float rounding of products of weights such as 0.1 * 0.5).

``client=`` (a ``dask.distributed.Client``) runs the chunks on a Dask cluster, results merged
in order; a ``dask.array`` ``X`` gives lazy ``.value``/``.grad`` dask arrays, one task per
block of rows (``map_blocks``), so batches larger than memory stream (see
:mod:`mtsym.backends.distributed`).

Python ``if``/``while`` on traced comparisons: the function is run once per
group of points that take the same branches (a comparison whose outcome differs
inside a group splits it; the other part is run again with the decisions taken
so far replayed), in every chunk.  So branching code costs one run of the user
function per distinct path and chunk; branch-free code is traced once in all.

Examples
--------
>>> import numpy as np, mtsym as mt
>>> r = mt.evaluate(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), np.array([[3.0, 1.0], [2.0, 1.0]]))
>>> r.value.tolist(), r.grad.tolist()
([2.0, 2.0], [[0.0, 2.0], [1.0, 0.0]])
>>> def max1(x):
...     res = x[0]
...     for v in x[1:]:
...         if v > res:
...             res = v
...     return res
>>> mt.evaluate(max1, np.array([[1.0, 2.0, 2.0], [5.0, 1.0, 0.0]])).grad.tolist()
[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
"""

from __future__ import annotations

__all__ = ["evaluate", "Evaluation", "trace_groups", "path_key"]

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .api import _framework_code as framework_code
from .conventions import Convention, symbol_values
from .errors import InputError
from .exact import tolerance
from .graph import Graph
from .partition import DEFAULT_MAX_EVENTS, Decider
from .primitives.affine import COMPARE_OPS
from .primitives.vectorized import ONE_BLAS_THREAD
from .backends.chunks import as_points, auto_chunk, chunks, run_chunks
from .backends.distributed import cluster_chunk, is_dask_array, map_chunks, map_row_blocks
from .backends.sweep import Schedule, needed_nodes, symbol_subs
from .trace import Program

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .api import Inputs


class Evaluation:
    """What :func:`evaluate` returns.

    Attributes
    ----------
    value : ndarray, (N,) or (N, m)
    grad : ndarray, (N, n) or (N, m, n), the associated gradient (Jacobian)
    graph : Graph, the traced graph (every path met)
    paths : int, the number of distinct program paths met: sequences of Python comparison
        outcomes (1 for branch-free code)
    """

    __slots__ = ("value", "grad", "graph", "paths")

    def __init__(self, value: np.ndarray, grad: np.ndarray, graph: Graph, paths: int) -> None:
        self.value, self.grad, self.graph, self.paths = value, grad, graph, paths

    def __repr__(self):
        return f"Evaluation(value {self.value.shape}, grad {self.grad.shape}, {self.paths} path(s))"


class _GroupDecider(Decider):
    """Answers Python comparisons for a group of points; a group that disagrees is split."""

    __slots__ = ("X", "idx", "pending", "atol", "subs", "dtype")

    def __init__(self, program, X, idx, prefix, pending, atol, subs, max_events, dtype=np.float64):
        super().__init__(program, max_events, prefix)
        self.X, self.idx, self.pending, self.atol, self.subs = X, idx, pending, atol, subs
        self.dtype = dtype

    def _decide(self, node, prim, vals, params):
        graph = self.program.graph
        # a node's ancestors never change as the graph grows: one schedule per comparison node
        cache = self.program.__dict__.setdefault("_comparison_schedules", {})
        sched = cache.get(node)
        if sched is None:
            sched = cache[node] = Schedule(graph, self.program.conv, needed_nodes(graph, [node]), self.subs)
        V, C = sched.forward(self.X[self.idx], self.atol, dtype=self.dtype)
        signs = sched.codes_of(C, node)
        outcome = COMPARE_OPS[params[0]](signs)
        keep = outcome == outcome[0]
        if not keep.all():
            other = np.flatnonzero(~keep)
            self.pending.append((tuple(self.path) + ((node, int(signs[other[0]])),), self.idx[other]))
            self.idx = self.idx[keep]
            signs = signs[keep]
        return int(signs[0])


def trace_groups(program, X, atol, subs, max_events, dtype=np.float64):
    """Run the program once per branch pattern of the points ``X``.

    Returns ``[(point indices, output nodes, shape, path)]``, ``path`` the
    ``(node, outcome)`` of each Python comparison met.  Comparisons are decided on the
    values of a forward sweep in ``dtype`` (float32: as a float32 framework decides them).
    """
    pending = [((), np.arange(X.shape[0]))]
    groups = []
    while pending:
        prefix, idx = pending.pop()
        dec = _GroupDecider(program, X, idx, prefix, pending, atol, subs, max_events, dtype)
        outs, shape = program.run(dec)
        path = tuple((v, COMPARE_OPS[program.graph.nodes[v]["params"][0]](c)) for v, c in dec.path)
        groups.append((dec.idx, tuple(v.node for v in outs), shape, path))
    return groups


def evaluate(fn: Callable | Graph, X: ArrayLike, inputs: Inputs | None = None, convention: str | Convention = "torch",
             *, atol: float | None = None, params: dict | None = None, chunk_size: int | None = None,
             progress: bool | None = None, max_events: int | None = None, framework: str | None = None,
             client: Any = None) -> Evaluation:
    """Values and associated gradients of ``fn`` at the points ``X``, by graph sweeps.

    Parameters
    ----------
    fn : callable or Graph
        Traced code as for :func:`mtsym.derive`, or a branch-free traced
        :class:`~mtsym.graph.Graph` (from :func:`mtsym.trace`; one output node
        gives a scalar output).
    X : array_like, shape (N, n)
        The points (float64).  A 1-D array is N points when n == 1.
    inputs : int or str, optional
        As in :func:`mtsym.derive`; default ``X.shape[1]`` (a vector input).
    convention : str or Convention
        The tie rule (nodes pinned to a framework keep theirs).
    atol : float, optional
        Count a switching quantity within ``atol`` of a tie as a tie (default: exact float comparisons).
    params : dict, optional
        Values of a parametric convention's symbols, e.g. ``{z: 0.5}``.
    chunk_size : int, optional
        Points per chunk; default from a 64 MiB working-memory budget. The chunks of a
        branch-free function run on the cores this process may use, BLAS on one thread in each
        (at most ``MTSYM_THREADS``, else ``OMP_NUM_THREADS``, when set: ``1`` for one thread).
    progress : bool, optional
        Progress bar (default: on for long runs on a terminal).
    max_events : int, optional
        Stop with :class:`~mtsym.errors.LimitError` past this many Python comparisons on one
        path (default 10,000; catches loops that never end).
    framework : {None, "torch", "jax"}, optional
        ``"jax"``: ``fn`` is JAX code, traced through its jaxpr as in :func:`mtsym.derive`.
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster (needs the ``dask`` extra); results in order.
        Branch-free code is traced once here and the graph sent to the workers.

    Returns
    -------
    Evaluation
        ``.value`` (N,) or (N, m) and ``.grad`` (N, n) or (N, m, n), the same
        shapes as ``table.compile()`` gives (dask arrays when ``X`` is one; then
        ``.paths`` is None).

    Notes
    -----
    Values are float64 sums in an order of mtsym's own (a layer's bias is added inside its
    product), so a value may differ from a framework's in the last place, and a quantity that
    rounds to within an ulp of a kink may be decided on the other side of it than the framework
    decides it; ``atol`` counts such near ties as ties.  Quantities computed exactly (integer
    weights and points, dyadic data) are decided exactly.
    """
    conv = Convention.get(convention)
    atol = tolerance(atol, "evaluate: atol")
    if isinstance(fn, Graph):
        subs = symbol_subs(fn, conv, params, "evaluate: params")
    else:
        subs = symbol_values(params, conv.symbols(), "evaluate: params")
        if inputs is None:
            inputs = 1 if np.ndim(X) == 1 else np.shape(X)[-1]
        fn = framework_code(fn, inputs, framework)      # JAX code: a jaxpr interpreter, once
    if is_dask_array(X) or client is not None:
        return _evaluate_distributed(fn, X, inputs, conv, atol, subs, chunk_size, progress, max_events, client)
    if isinstance(fn, Graph):
        return _evaluate_graph(fn, X, conv, atol, subs, chunk_size, progress)
    return _evaluate_fn(fn, X, inputs, conv, atol, subs, chunk_size, progress, max_events)[0]


def path_key(path):
    """A program path as its sequence of comparison outcomes (the same in every process)."""
    return tuple(outcome for _, outcome in path)


def _evaluate_fn(fn, X, inputs, conv, atol, subs, chunk_size, progress, max_events, threads=None):
    """The evaluation of a function, and the set of its paths met (as :func:`path_key`)."""
    if inputs is None:
        Xa = np.asarray(X)
        inputs = 1 if Xa.ndim == 1 else Xa.shape[-1]
    program = Program(fn, inputs, conv, exact=False)
    X = as_points(X, program.n)
    N = X.shape[0]
    max_events = DEFAULT_MAX_EVENTS if max_events is None else max_events
    probe = trace_groups(program, X[:min(N, 1024)] if N else np.zeros((1, program.n)), atol, subs, max_events)
    static = len(probe) == 1 and not probe[0][3]
    paths = {g[3] for g in probe} if N else set()
    shape = probe[0][2]
    m = int(np.prod(shape)) if shape else 1
    value, grad = _alloc(N, shape, program.n)
    sched, size = _schedule(program, probe, static, conv, subs, m, chunk_size)
    if static:   # one program path: the chunks are independent sweeps of one schedule
        _sweeps(sched, X, probe[0][1], atol, value, grad, shape, size, progress, threads)
        return Evaluation(value, grad, program.graph, len(paths)), {path_key(p) for p in paths}
    for lo, hi in chunks(N, size, progress, desc="evaluate"):
        Xc = X[lo:hi]
        groups = probe if static else trace_groups(program, Xc, atol, subs, max_events)
        paths.update(g[3] for g in groups)
        if sched.graph_size != program.graph.number_of_nodes():
            sched, _ = _schedule(program, groups, static, conv, subs, m, size)
        if any(g[2] != shape for g in groups):
            raise InputError("evaluate: the function returns outputs of different shapes on different "
                             "paths")
        if len(groups) == 1:
            outputs = groups[0][1]
        else:
            outputs = np.empty((m, hi - lo), dtype=np.intp)
            for idx, outs, _, _ in groups:
                outputs[:, idx] = np.array([sched.rows[v] for v in outs])[:, None]
        _sweep(sched, Xc, outputs, atol, value[lo:hi], grad[lo:hi], shape)
    return Evaluation(value, grad, program.graph, len(paths)), {path_key(p) for p in paths}


def _alloc(N, shape, n):
    return np.empty((N,) + tuple(shape)), np.empty((N,) + tuple(shape) + (n,))


def _schedule(program, groups, static, conv, subs, m, chunk_size):
    """The sweep schedule of the graph traced so far, and the chunk size it allows."""
    graph = program.graph
    outs = {v for g in groups for v in g[1]} if static else set(graph.nodes)
    sched = Schedule(graph, conv, needed_nodes(graph, outs), subs, bias_in_product=True)
    sched.graph_size = graph.number_of_nodes()
    return sched, auto_chunk(sched.row_bytes(m) + 8 * m * (program.n + 1), chunk_size)


def _sweep(sched, X, outputs, atol, value, grad, shape):
    """One forward and one reverse sweep; writes the chunk's values and gradients."""
    V, C = sched.forward(X, atol, reuse=True, lazy=True)   # the last chunk's arrays, written again
    if isinstance(outputs, np.ndarray):
        vals = V[outputs, np.arange(X.shape[0])[None, :]]
    else:
        vals = sched.values(V, outputs)
    J = sched.reverse(V, C, outputs, reuse=True, lazy=True, atol=atol)   # (n, m, N)
    if shape == ():
        value[...] = vals[0]
        grad[...] = J[:, 0, :].T
    else:
        value[...] = vals.T
        grad[...] = np.transpose(J, (2, 1, 0))


def _sweeps(sched, X, outputs, atol, value, grad, shape, size, progress, threads=None):
    """Sweep every chunk of ``X`` (a branch-free program: one schedule, independent chunks), on the
    cores this process may use (:func:`~mtsym.backends.chunks.run_chunks`; each thread sweeps into
    its own buffers), BLAS held to one thread in all of them."""
    def work(lo, hi):
        _sweep(sched, X[lo:hi], outputs, atol, value[lo:hi], grad[lo:hi], shape)
    with sched.threads():
        on = getattr(ONE_BLAS_THREAD, "on", False)
        run_chunks(X.shape[0], size, work, progress, desc="evaluate", threads=threads,
                   thread_init=lambda: setattr(ONE_BLAS_THREAD, "on", on))


def _evaluate_graph(graph, X, conv, atol, subs, chunk_size, progress, threads=None):
    if graph.has_branches() or len(graph.outputs) != 1:
        raise InputError("evaluate: this graph has Python branches (several program paths); pass the "
                         "function itself so each point's path can be followed")
    outputs = graph.outputs[0]
    shape = graph.graph.get("shape", () if len(outputs) == 1 else (len(outputs),))
    n = len(graph.symbols)
    X = as_points(X, n)
    N = X.shape[0]
    m = len(outputs)
    sched = Schedule(graph, conv, needed_nodes(graph, outputs), subs, bias_in_product=True)
    value, grad = _alloc(N, shape, n)
    size = auto_chunk(sched.row_bytes(m) + 8 * m * (n + 1), chunk_size)
    _sweeps(sched, X, outputs, atol, value, grad, shape, size, progress, threads)
    return Evaluation(value, grad, graph, 1)


# --------------------------------------------------------------------------- Dask
def _evaluate_distributed(fn, X, inputs, conv, atol, subs, chunk_size, progress, max_events, client):
    """``evaluate`` on a Dask cluster (``client``) or on a ``dask.array`` (lazy, block by block)."""
    lazy = is_dask_array(X)
    if inputs is None and not isinstance(fn, Graph):
        inputs = 1 if X.ndim == 1 else X.shape[-1]
    probe_X = X[:1024]
    probe_X = np.asarray(probe_X.compute() if lazy else probe_X)
    if isinstance(fn, Graph):
        if fn.has_branches() or len(fn.outputs) != 1:
            raise InputError("evaluate: this graph has Python branches (several program paths); pass the "
                             "function itself so each point's path can be followed")
        graph, target = fn, fn
        outs = fn.outputs[0]
        shape = fn.graph.get("shape", () if len(outs) == 1 else (len(outs),))
    else:
        program = Program(fn, inputs, conv, exact=False)
        pts = as_points(probe_X, program.n) if probe_X.shape[0] else np.zeros((1, program.n))
        probe = trace_groups(program, pts, atol, subs,
                              DEFAULT_MAX_EVENTS if max_events is None else max_events)
        static = len(probe) == 1 and not probe[0][3]
        graph = program.graph
        target = graph if static else fn      # branch-free: the graph travels, not the code
        shape = probe[0][2]
    n = len(graph.symbols)
    m = int(np.prod(shape)) if shape else 1
    args = (target, inputs, conv, atol, subs, max_events)
    if lazy:
        if X.ndim == 1:
            X = X[:, None]
        res = map_row_blocks(X.astype(np.float64), _evaluate_block, m * (n + 1), args)
        N = X.shape[0]
        value = res[:, :m].reshape((N,) + tuple(shape))
        grad = res[:, m:].reshape((N,) + tuple(shape) + (n,))
        return Evaluation(value, grad, graph, None)
    X = as_points(X, n)
    N = X.shape[0]
    sched = Schedule(graph, conv, needed_nodes(graph, graph.outputs[0]) if target is graph else None, subs)
    size = cluster_chunk(client, N, auto_chunk(sched.row_bytes(m) + 8 * m * (n + 1), chunk_size), chunk_size)
    parts = map_chunks(client, _evaluate_part, X, size, args, progress=progress, desc="evaluate")
    value = np.concatenate([p[0] for p in parts]) if parts else _alloc(0, shape, n)[0]
    grad = np.concatenate([p[1] for p in parts]) if parts else _alloc(0, shape, n)[1]
    keys = set().union(*(p[2] for p in parts)) if parts else set()
    return Evaluation(value, grad, graph, len(keys))


def _evaluate_part(X, lo, target, inputs, conv, atol, subs, max_events):
    """One chunk (in process or on a worker): ``(value, grad, path keys)``, in one thread (the
    cluster runs the parts side by side)."""
    if isinstance(target, Graph):
        ev = _evaluate_graph(target, X, conv, atol, subs, None, False, threads=1)
        return ev.value, ev.grad, {()}
    ev, keys = _evaluate_fn(target, X, inputs, conv, atol, subs, None, False, max_events, threads=1)
    return ev.value, ev.grad, keys


def _evaluate_block(X, target, inputs, conv, atol, subs, max_events):
    """One block of a dask array: values and gradients side by side, ``(rows, m + m * n)``."""
    value, grad, _ = _evaluate_part(X, 0, target, inputs, conv, atol, subs, max_events)
    rows = X.shape[0]
    return np.concatenate([value.reshape(rows, -1), grad.reshape(rows, -1)], axis=1)
