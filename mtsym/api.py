"""The entry points: :func:`derive`, :func:`trace` and :func:`call_exact`."""

__all__ = ["derive", "trace", "call_exact", "framework_code"]

from .errors import InputError
from .exact import to_exact
from .extensions import provided
from .partition import explore
from .table import PieceTable
from .trace import InputSpec, Program


def derive(fn, inputs, convention="torch", *, max_strata=None, max_events=None, framework=None):
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

    Examples
    --------
    >>> import mtsym as mt
    >>> table = mt.derive(lambda x: mt.max(x), 3)
    >>> len(table), len(table.strata)
    (7, 7)
    >>> table.grad_at((1, 1, 0))
    Matrix([[1/2, 1/2, 0]])
    """
    name = getattr(fn, "__name__", "f")
    fn = framework_code(fn, inputs, framework)
    program = Program(fn, inputs, convention)
    records = explore(program, max_strata=max_strata, max_events=max_events)
    name = "f" if name == "<lambda>" else name
    return PieceTable(records, program.symbols, program.conv, graph=program.graph, program=program,
                      name=name)


def framework_code(fn, inputs, framework):
    """``fn`` as code mtsym can run on traced values (a jaxpr interpreter for JAX code)."""
    if framework in (None, "torch"):
        return fn
    front = provided(f"framework.{framework}") if isinstance(framework, str) else None
    if front is None:
        raise InputError(f"framework={framework!r}: choose None, 'torch' or 'jax'")
    return front(fn, inputs)


def trace(fn, inputs, convention="torch", *, max_strata=None, max_events=None, framework=None):
    """The traced graph of ``fn`` (every feasible path explored); prints as text.

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
    program = Program(framework_code(fn, inputs, framework), inputs, convention)
    explore(program, max_strata=max_strata, max_events=max_events)
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
        raise InputError(f"point {point!r} has {len(pt)} coordinates, expected {spec.n}")
    return fn(*spec.arguments(pt))
