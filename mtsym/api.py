"""The entry points: :func:`derive`, :func:`trace` and :func:`call_exact`."""

from __future__ import annotations

__all__ = ["derive", "trace", "call_exact"]

import inspect
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from .errors import InputError, LimitError, TraceError, UnsupportedOperationError
from .exact import ExactNumber, to_exact
from .export.stream import StreamWriter, open_table
from .extensions import provided
from .parallel import explore_parallel
from .partition import explore
from .primitives import PRIMITIVES
from .progress import progress_hook
from .records import gc_paused
from .table import PieceTable, TableBuilder
from .trace import InputSpec, Program, check_input_count

if TYPE_CHECKING:
    from .conventions import Convention
    from .graph import Graph

#: ``inputs`` of derive: a number of vector entries, or names of scalar arguments
Inputs = Union[int, str, Sequence[str]]


def derive(fn: Callable, inputs: Inputs, convention: str | Convention | None = None, *,
           max_strata: int | None = None, max_events: int | None = None, framework: str | None = None,
           progress: bool | Callable | None = None, around: Sequence | None = None,
           on: Any = None, workers: int | None = None, client: Any = None,
           out: str | os.PathLike | None = None) -> PieceTable:
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
    convention : str or Convention, optional
        ``"torch"`` (the default; ``"jax"`` with ``framework="jax"``), ``"jax"``,
        ``"first"``, ``"last"``, ``"mean"`` or a :class:`~mtsym.conventions.Convention`.
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
    progress : None, bool or callable, optional
        Show the strata found and their rate on standard error while enumerating
        (``None``: when it is a terminal, after the first second; ``True``/``False``:
        always/never), or a callable ``hook(record, count)`` told of each new stratum.
    workers : int, optional
        Enumerate on this many local processes, this one included (one per
        core: ``workers=2`` walks here and in one other process; the depth-first
        tree is shared out by subtrees; the table is the serial one, stratum for
        stratum). Programs with Python branches are enumerated serially.
    client : dask.distributed.Client, optional
        Enumerate on a dask cluster instead (needs the dask extra: ``pip install -e ".[dask]"``
        in the source tree).
    out : str or path, optional
        Write the strata to this file as they are found, one line each, keeping
        none in memory, and return the table read lazily from it
        (:meth:`~mtsym.table.PieceTable.open`); strata are then numbered in the
        order they were found.

    Raises
    ------
    LimitError, KeyboardInterrupt
        Past ``max_strata``/``max_events``, or on Ctrl-C: the strata found so far are
        kept as ``error.table``, a :class:`~mtsym.table.PieceTable` whose
        ``incomplete`` says why it is partial.

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
        from .extensions import extension
        return extension("derive.local")(fn, inputs, _default_convention(convention, framework), around=around,
                                         on=on, max_strata=max_strata, max_events=max_events,
                                         framework=framework)
    name = getattr(fn, "__name__", "f")
    name = "f" if name == "<lambda>" else name
    check_input_count(inputs)
    _check_arity(fn, inputs, name)
    fn = _framework_code(fn, inputs, framework)
    program = Program(fn, inputs, _default_convention(convention, framework))
    hook, reporter = progress_hook(progress)
    parallel = (workers is not None and workers != 1) or client is not None
    options = dict(max_strata=max_strata, max_events=max_events)
    try:
        with gc_paused():
            if out is not None:
                return _derive_to_file(program, out, name, hook, parallel, workers, client, options)
            if parallel:
                return _parallel(program, hook, workers, client, options).finish(
                    program.symbols, program.conv, graph=program.graph, program=program, name=name)
            records = explore(program, on_stratum=hook, **options)
            return PieceTable(records, program.symbols, program.conv, graph=program.graph, program=program,
                              name=name)
    except (TraceError, TypeError) as e:   # JAX may also fail on a traced array with its own TypeError
        if framework is None and _inside_jax(e):
            raise _jax_hint(e, name) from e
        raise
    except (LimitError, KeyboardInterrupt) as e:
        partial = getattr(e, "partial_records", None)
        if partial is not None:
            e.table = PieceTable(partial, program.symbols, program.conv, graph=program.graph, program=program,
                                 name=name)
            why = "interrupted" if isinstance(e, KeyboardInterrupt) else \
                f"stopped at {getattr(e, 'option', 'a limit')}={getattr(e, 'value', '?')}"
            e.table.incomplete = f"{why} after {len(partial):,} strata; other strata and pieces are missing"
        raise
    finally:
        if reporter is not None:
            reporter.close()


def _parallel(program, hook, workers, client, options):
    """A parallel enumeration's strata in a :class:`TableBuilder` (grouped into pieces as they come,
    while the workers walk); the strata found so far are kept on a limit error."""
    builder = TableBuilder()
    add, records = builder.add, builder.records

    def emit(r):
        add(r)
        if hook is not None:
            hook(r, len(records))
    blocks = builder if hook is None else _Reported(builder, hook)
    try:
        explore_parallel(program, emit, workers=workers, client=client, blocks=blocks, **options)
    except (LimitError, KeyboardInterrupt) as e:
        e.partial_records = list(records)
        raise
    return builder


class _Reported:
    """A :class:`TableBuilder`'s blocks (see :func:`mtsym.parallel.explore_parallel`), each stratum
    reported to the progress hook when its block is placed (in serial order)."""

    def __init__(self, builder, hook):
        self.add_block, self.builder, self.hook = builder.add_block, builder, hook

    def place(self, added):
        block = self.builder.place(added)
        count = len(self.builder.records) - len(block)
        for i, s in enumerate(block, count + 1):
            self.hook(s.record, i)
        return block


def _derive_to_file(program, out, name, hook, parallel, workers, client, options):
    """Stream the strata of ``program`` to ``out`` (nothing kept) and open the file lazily."""
    writer = StreamWriter(out, name, program.symbols, program.conv, program)

    def emit(r, count=None):
        writer.write(r)
        if hook is not None:
            hook(r, writer.count)

    def emit_line(line):
        writer.write_line(line)
        if hook is not None:
            hook(None, writer.count)
    try:
        if parallel:
            explore_parallel(program, emit, workers=workers, client=client, keep=False, emit_line=emit_line,
                             **options)
        else:
            explore(program, on_stratum=emit, keep=False, **options)
    except BaseException:
        writer.abort()
        raise
    writer.close(program.graph, program.output_shape)
    return open_table(out)


def _check_arity(fn, inputs, name):
    """An :class:`InputError` when ``fn`` cannot take the arguments ``inputs`` gives it."""
    spec = InputSpec(inputs)
    k = 1 if spec.vector else spec.n
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins, C functions: let the call say
        return
    try:
        sig.bind(*([None] * k))
    except TypeError as e:
        given = (f"inputs={inputs!r} calls {name}(x) with one vector of {spec.n} traced values" if spec.vector
                 else f"inputs={inputs!r} calls {name}({', '.join(spec.names)}) with {k} scalar argument"
                 + ("s" if k != 1 else ""))
        other = ("pass names, e.g. inputs='a b', for scalar arguments" if spec.vector
                 else f"pass inputs={spec.n} for one vector argument")
        raise InputError(f"{name}{sig} cannot be called so: {given} ({e}); {other}") from None


def _inside_jax(e):
    """True when a trace error was raised under a call into JAX's own files."""
    jax = sys.modules.get("jax")
    if jax is None or not getattr(jax, "__file__", None):
        return False
    root = os.path.dirname(jax.__file__) + os.sep
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(root):
            return True
        tb = tb.tb_next
    line = getattr(e, "line", "")
    return bool(line) and line.startswith(root)


def _jax_hint(e, name):
    op = getattr(e, "op", type(e).__name__)
    return UnsupportedOperationError(op, f"{name} is JAX code (the call fails inside JAX on a traced value: "
                                     f"{op!r} of a traced value); pass framework='jax' to derive "
                                     "(--framework jax on the command line)", line=_user_frame(e))


def _user_frame(e):
    """The innermost line of the traceback outside mtsym and JAX (the user's call into JAX)."""
    skip = [os.path.dirname(os.path.abspath(__file__)) + os.sep]
    jax = sys.modules.get("jax")
    if jax is not None and getattr(jax, "__file__", None):
        skip.append(os.path.dirname(jax.__file__) + os.sep)
    found, tb = None, e.__traceback__
    while tb is not None:
        fname = tb.tb_frame.f_code.co_filename
        if not any(fname.startswith(d) for d in skip) and not fname.startswith("<frozen"):
            import linecache
            code = linecache.getline(fname, tb.tb_lineno).strip()
            found = f"{fname}:{tb.tb_lineno}" + (f": {code}" if code else "")
        tb = tb.tb_next
    return found or getattr(e, "line", "")


def _default_convention(convention, framework):
    """The convention named, else the framework's own (``torch`` unless ``framework="jax"``)."""
    if convention is not None:
        return convention
    return "jax" if framework == "jax" else "torch"


def _framework_code(fn, inputs, framework):
    """``fn`` as code mtsym can run on traced values (a jaxpr interpreter for JAX code)."""
    if framework in (None, "torch"):
        return fn
    front = provided(f"framework.{framework}") if isinstance(framework, str) else None
    if front is None:
        raise InputError(f"framework={framework!r}: choose None, 'torch' or 'jax'")
    return front(fn, inputs)


def trace(fn: Callable, inputs: Inputs, convention: str | Convention | None = None, *,
          max_strata: int | None = None, max_events: int | None = None, framework: str | None = None) -> Graph:
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
    conv = _default_convention(convention, framework)
    graph = _graph_only(code, inputs, conv)
    if graph is not None:
        return graph
    program = Program(code, inputs, conv)
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
    ``None`` when the code compares traced values (its paths must be explored) or multiplies traced
    values (an exact trace says whether a switching quantity is then affine)."""
    program = Program(fn, inputs, convention, exact=False)
    try:
        program.run(_NoBranches())
    except _HasBranches:
        return None
    graph = program.graph
    if any(PRIMITIVES[graph.nodes[v]["op"]].kind == "smooth" for v in graph.nodes):
        return None
    return graph


def call_exact(fn: Callable, inputs: Inputs, point: Sequence) -> Any:
    """Run ``fn`` on exact numbers (no tracing): the program's own value at ``point``.

    mtsym's operations compute exactly on plain numbers, so this is an oracle
    independent of the partition.  The coordinates are
    :class:`~mtsym.exact.ExactNumber` rationals: a float in ``fn`` combines with
    them at its exact value, as it does when traced.

    Examples
    --------
    >>> import mtsym as mt
    >>> mt.call_exact(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 2, (3, 1))
    ExactNumber(2, 1)
    >>> from fractions import Fraction
    >>> mt.call_exact(lambda x: 0.1 * x[0], 1, (3,)) == 3 * Fraction(0.1)   # a float at its exact value
    True
    """
    spec = InputSpec(inputs)
    pt = [to_exact(v, what="coordinate") for v in point]
    if len(pt) != spec.n:
        raise InputError(f"point {point!r} has {len(pt)} coordinates, expected {spec.n}")
    return fn(*spec.arguments([ExactNumber(v) for v in pt]))
