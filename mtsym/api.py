"""The entry points: :func:`derive`, :func:`trace` and :func:`call_exact`."""

__all__ = ["derive", "trace", "call_exact"]

from .exact import to_exact
from .partition import explore
from .table import PieceTable
from .trace import InputSpec, Program


def derive(fn, inputs, convention="torch", *, max_strata=None, max_events=None, framework=None,
           around=None, on=None):
    """Trace ``fn`` and return its exact :class:`~mtsym.table.PieceTable`.

    Parameters
    ----------
    fn : callable
        Python code built from ``+ - *``, ``/`` by numbers, ``@`` with numeric
        arrays, ``mt.relu``, ``mt.max``, ``mt.maxpool1d``, ..., builtin
        ``max``/``min``/``abs``/``sum`` and ``if``/``while`` on comparisons.
    inputs : int or str
        ``n`` -> ``fn(x)`` with a vector ``x`` of ``n`` traced values (symbols
        ``x1..xn``); ``"t"`` or ``"a b"`` -> scalar arguments with those names.
    convention : str or Convention
        ``"torch"`` (default), ``"jax"``, ``"first"``, ``"last"``, ``"mean"``
        or a :class:`~mtsym.conventions.Convention`.
    max_strata : int, optional
        Stop with :class:`~mtsym.errors.LimitError` past this many strata
        (default 50,000).
    max_events : int, optional
        Stop past this many switching decisions on one path (default 10,000;
        catches loops that never end).
    framework : {None, "torch", "jax"}, optional
        ``"jax"``: ``fn`` is JAX code, traced through ``jax.make_jaxpr`` (see
        :mod:`mtsym.frameworks.jax`).  PyTorch code needs nothing: traced
        values take part in torch calls directly (``None`` or ``"torch"``).
        Framework ops carry their framework's tie rule whatever ``convention`` is.
    around : sequence of numbers, optional
        Only the *star* of this point: the strata whose closure holds it, as a
        :class:`~mtsym.local.star.LocalTable` on a small box around it (the cost grows with
        the ties at the point, not with the network).
    on : Region, optional
        Only the strata on ``mt.segment(a, b)``, ``mt.plane(x0, u, v, box=...)`` or
        ``mt.box(lo, hi)``, in the region's coordinates
        (a :class:`~mtsym.local.regions.RegionTable`).

    Examples
    --------
    >>> import mtsym as mt
    >>> table = mt.derive(lambda x: mt.max(x), 3)
    >>> len(table), len(table.strata)
    (7, 7)
    >>> table.grad_at((1, 1, 0))
    Matrix([[1/2, 1/2, 0]])
    """
    if around is not None or on is not None:
        from .local import derive_local
        return derive_local(fn, inputs, convention, around=around, on=on, max_strata=max_strata,
                            max_events=max_events, framework=framework)
    name = getattr(fn, "__name__", "f")
    fn = _framework_code(fn, inputs, framework)
    program = Program(fn, inputs, convention)
    records = explore(program, max_strata=max_strata, max_events=max_events)
    name = "f" if name == "<lambda>" else name
    return PieceTable(records, program.symbols, program.conv, graph=program.graph, program=program,
                      name=name)


def _framework_code(fn, inputs, framework):
    """``fn`` as code mtsym can run on traced values (a jaxpr interpreter for JAX code)."""
    if framework in (None, "torch"):
        return fn
    if framework == "jax":
        from .frameworks.jax import traceable
        return traceable(fn, inputs)
    from .errors import InputError
    raise InputError(f"framework={framework!r}: choose None, 'torch' or 'jax'")


def trace(fn, inputs, convention="torch", *, max_strata=None, max_events=None, framework=None):
    """The traced graph of ``fn``; prints as text.

    Branch-free code is traced once, without enumerating anything (a graph is a graph);
    code with Python ``if``/``while`` on traced values has every feasible path explored.

    Examples
    --------
    >>> import mtsym as mt
    >>> print(mt.trace(lambda a, b: mt.maximum(mt.maximum(a, b), a), "a b"))
    graph (a, b) -> n3
      n0 = input a
      n1 = input b
      n2 = maximum(n0, n1)
      n3 = maximum(n2, n0)
    """
    code = _framework_code(fn, inputs, framework)
    graph = _graph_only(code, inputs, convention)
    if graph is not None:
        return graph
    program = Program(code, inputs, convention)
    explore(program, max_strata=max_strata, max_events=max_events)
    return program.graph


class _HasBranches(Exception):
    pass


class _NoBranches:
    """A decider for a graph-only run: the first Python comparison stops it."""

    def event(self, node, prim, vals, params):
        raise _HasBranches


def _graph_only(fn, inputs, convention):
    """The graph of branch-free code from one graph-only run (no affine forms, nothing enumerated);
    ``None`` when the code compares traced values (its paths must be explored)."""
    program = Program(fn, inputs, convention, exact=False)
    try:
        program.run(_NoBranches())
    except _HasBranches:
        return None
    from .local.sweep import Sweep
    Sweep(program.graph, program.conv)          # refuses a switching quantity that is not affine
    return program.graph


def call_exact(fn, inputs, point):
    """Run ``fn`` on exact numbers (no tracing): the program's own value at ``point``.

    mtsym's operations compute exactly on plain numbers, so this is an oracle
    independent of the partition.

    Examples
    --------
    >>> import mtsym as mt
    >>> mt.call_exact(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 2, (3, 1))
    2
    """
    spec = InputSpec(inputs)
    pt = [to_exact(v, what="coordinate") for v in point]
    if len(pt) != spec.n:
        from .errors import InputError
        raise InputError(f"point {point!r} has {len(pt)} coordinates, expected {spec.n}")
    return fn(*spec.arguments(pt))
