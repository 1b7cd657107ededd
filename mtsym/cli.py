"""The ``mtsym`` command: derive a function from a file, run the paper's examples.

::

    mtsym derive FILE.py:FUNC --inputs 4 [--convention torch] [--latex|--json|--strata|--verify|--plot out.png]
                   [--slice POINT D1 D2] [--digits 4] [--max-rows N] [--max-strata N] [-o FILE]
    mtsym examples                 # list the paper's examples
    mtsym examples NAME [--latex|--json|--strata|--verify|--plot out.png]
    mtsym examples --all           # run every example against the paper's numbers
    mtsym audit FILE.py:MODEL --data FILE.npy|digits [--dtype float32] [--json out.json] [--plot out.png]

``python -m mtsym ...`` is the same command.  An error (a missing file, no such
function, code mtsym cannot trace) prints one line ``mtsym: error: ...`` on
standard error and exits with status 1; bad usage exits with status 2.  On a
terminal, long rows are wrapped and the listing stops after 200 rows
(``--max-rows``); with ``-o FILE`` or into a pipe every row is written whole.  An
enumeration that runs past ``--max-strata`` (or is stopped with Ctrl-C) prints the
strata found so far as a table marked INCOMPLETE and exits with status 1 (130
after Ctrl-C); progress is shown on a terminal after the first second.

Examples
--------
>>> main(["examples", "max-x-x", "--strata"])
S1  dim 1  in P1  everywhere  witness (0)
0
"""

__all__ = ["main", "build_parser", "load_function", "parse_convention"]

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import signal
import sys
import threading

from .errors import LimitError, MtsymError

_MODES = ("latex", "json", "strata", "verify", "plot")


class CliError(Exception):
    """An error the command reports in one line."""


# --------------------------------------------------------------------------- inputs
def load_function(spec):
    """The function named by ``FILE.py:FUNC`` (the file is run as a module)."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise CliError(f"{spec!r}: give the function as FILE.py:FUNC")
    if not os.path.isfile(path):
        raise CliError(f"no such file: {path}")
    modname = "mtsym_user_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    mod_spec = importlib.util.spec_from_file_location(modname, path)
    if mod_spec is None:
        raise CliError(f"cannot load {path}: not a Python file")
    module = importlib.util.module_from_spec(mod_spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        mod_spec.loader.exec_module(module)
    except SyntaxError as e:
        raise CliError(f"cannot load {path}: SyntaxError at line {e.lineno}: {e.msg}") from e
    except SystemExit as e:  # sys.exit() in the user's module is not a successful run of mtsym
        raise CliError(f"cannot load {path}: it called sys.exit({e.code!r})") from None
    except Exception as e:
        raise CliError(f"cannot load {path}: {type(e).__name__}: {_one_line(e)}") from e
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    fn = getattr(module, name, None)
    if fn is None:
        funcs = sorted(k for k, v in vars(module).items()
                       if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == modname)
        hint = f" (its functions: {', '.join(funcs)})" if funcs else ""
        raise CliError(f"{path} has no function {name!r}{hint}")
    if not callable(fn):
        raise CliError(f"{path}:{name} is a {type(fn).__name__}, not a function")
    return fn


def parse_inputs(text):
    """``"4"`` -> 4 (a vector); anything else is names (``"t"``, ``"a b"``)."""
    text = text.strip()
    return int(text) if text.isdigit() else text


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)(/\d+)?\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def parse_convention(text):
    """``NAME[,key=value...]`` -> a Convention.

    A value is ``None``, one of the parameter's words, an exact number
    (``1/2``, ``0.25``) or a name (a sympy symbol: a parametric convention).
    Nothing else is read: the text is never evaluated.

    Examples
    --------
    >>> parse_convention("torch,relu0=1/2").relu0
    Fraction(1, 2)
    >>> parse_convention("jax,relu0=z").name
    'jax(relu0=z)'
    >>> parse_convention("torch,relu0=__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mtsym.cli.CliError: --convention "...": relu0 must be None, a word, a number or a name, got "__import__('os')"
    """
    import sympy as sp

    from .conventions import Convention
    from .exact import to_exact
    from .primitives import TIE_PARAMS
    name, *items = [p.strip() for p in text.split(",")]
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--convention {text!r}: write parameters as key=value, e.g. torch,relu0=1/2")
        key, value = key.strip(), value.strip()
        tie = TIE_PARAMS.get(key)
        if value == "None":
            params[key] = None
        elif tie is not None and value in tie.choices:
            params[key] = value
        elif _NUMBER.match(value):
            try:
                params[key] = to_exact(value)
            except MtsymError as e:
                raise CliError(f"--convention {text!r}: cannot read {key}={value}") from e
        elif _NAME.match(value):
            params[key] = sp.Symbol(value)
        else:
            raise CliError(f'--convention "{text}": {key} must be None, a word, a number or a name, got "{value}"')
    return Convention(name, **params)


def parse_slice(texts, n):
    """``["0,0,0,0", "1,0,0,0", "0,1,0,0"]`` -> ``(point, d1, d2)`` of exact numbers (``1/2`` allowed).

    Examples
    --------
    >>> parse_slice(["0,0,1/2", "1,0,0", "0,1,0"], 3)
    ((0, 0, Fraction(1, 2)), (1, 0, 0), (0, 1, 0))
    """
    from .exact import to_exact
    out = []
    for name, text in zip(("POINT", "D1", "D2"), texts):
        items = [c.strip() for c in text.split(",")]
        try:
            vec = tuple(to_exact(c, what=f"--slice {name}") for c in items)
        except MtsymError as e:
            raise CliError(f"--slice {name} {text!r}: {e}") from None
        if len(vec) != n:
            raise CliError(f"--slice {name} {text!r} has {len(vec)} coordinates; the function has {n} inputs")
        out.append(vec)
    return tuple(out)


def _slice_example(n):
    eye = [",".join(str(int(i == j)) for j in range(n)) for i in range(2)]
    return f"--slice {','.join(['0'] * n)} {eye[0]} {eye[1]}"


def _one_line(e):
    return " ".join(str(e).split())


_FLAGS = {"max_strata": "--max-strata", "max_events": "--max-events"}


def _limit_message(e):
    """A :class:`LimitError` told in terms of the command's flags, not Python keywords."""
    option, value = getattr(e, "option", None), getattr(e, "value", None)
    flag = _FLAGS.get(option)
    if flag is None:
        return _one_line(e)
    what = ("more than {v:,} strata: the partition is too large to enumerate" if option == "max_strata" else
            "a path took more than {v:,} switching decisions (a loop may never end)").format(v=value)
    return f"{what}; pass {flag} N to raise the limit"


# --------------------------------------------------------------------------- output
def _rich_table(table):  # pragma: no cover  (only in a terminal with rich installed)
    from rich.console import Console
    from rich.table import Table

    from .export.conditions import describe_piece
    from .export.text import grad_text
    t = Table(title=table.text().splitlines()[0])
    for col in ("piece", "dim", "strata", "condition", "f", "gradient"):
        t.add_column(col)
    for p in table.pieces:
        t.add_row(p.label, str(p.dim), str(len(p.strata)), describe_piece(table, p).text(),
                  str(p.expr), grad_text(p.grad))
    Console().print(t)


def _terminal(args):
    """True when the output goes to a terminal (not ``-o FILE``, not a pipe)."""
    if getattr(args, "output", None):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _text(table, args, strata=False):
    """The text table as the flags and the output ask: wrapped and cut on a terminal, whole elsewhere."""
    tty = _terminal(args)
    max_rows = getattr(args, "max_rows", None)
    if max_rows is None:
        max_rows = 200 if tty else 0
    width = shutil.get_terminal_size().columns if tty else None
    return table.text(strata=strata, max_rows=max_rows or None, digits=getattr(args, "digits", None),
                      width=width)


def _plot(table, args):
    texts = getattr(args, "slice", None)
    if texts is None and table.n > 2:
        raise CliError(f"--plot: the function has {table.n} inputs; choose a plane through a point along two "
                       f"directions, e.g. {_slice_example(table.n)}")
    table.plot(path=args.plot, slice=None if texts is None else parse_slice(texts, table.n))


def _emit(table, args, out):
    """Write the table in the mode asked; returns the exit status."""
    if args.json:
        out(table.to_json(indent=2))
    elif args.latex:
        out(table.to_latex(env=args.env))
    elif args.strata:
        out(_text(table, args, strata=True))
    elif args.verify:
        report = table.verify()
        out(str(report))
        return 0 if getattr(report, "ok", True) else 1
    elif args.plot:
        _plot(table, args)
        out(f"wrote {args.plot}")
    elif getattr(args, "rich", False):  # pragma: no cover
        _rich_table(table)
    else:
        out(_text(table, args))
    return 0


def _partial(e, args, out):
    """After a limit or Ctrl-C: the strata found so far, marked INCOMPLETE; returns the exit status."""
    table = getattr(e, "table", None)
    interrupted = isinstance(e, KeyboardInterrupt)
    if table is not None and len(table.strata):
        out(_text(table, args, strata=bool(args.strata)))
        if any(getattr(args, m) for m in ("latex", "json", "verify", "plot")):
            print("mtsym: the table above is partial: --latex, --json, --verify and --plot need the whole "
                  "table, so they were not run", file=sys.stderr)
    why = "interrupted" if interrupted else _limit_message(e)
    found = "" if table is None else (f" ({len(table.strata):,} strata found, printed above as INCOMPLETE)"
                                      if len(table.strata) else " (no stratum found yet)")
    print(f"mtsym: {'' if interrupted else 'error: '}{why}{found}", file=sys.stderr)
    return 130 if interrupted else 1


def _writer(args):
    if getattr(args, "output", None):
        mode = ["w"]

        def out(text):
            with open(args.output, mode[0], encoding="utf-8") as fh:
                fh.write(text + "\n")
            mode[0] = "a"
        return out
    return print


@contextlib.contextmanager
def _sigint_latch():
    """``derive``'s ``progress`` for the command line: Ctrl-C raises ``KeyboardInterrupt`` as usual
    and is also latched, so the next stratum raises it again.  An interrupt that lands while Python
    finalises an object (a generator closed, a ``__del__``) is printed and dropped by Python itself;
    without the latch the enumeration would run on to its end.  The progress line is shown when
    standard error is a terminal, as ``derive`` does by default."""
    from .progress import progress_hook
    inner, reporter = progress_hook(None)
    hit = []

    def on_sigint(signum, frame):
        hit.append(signum)
        raise KeyboardInterrupt

    def progress(record, count):
        if hit:
            raise KeyboardInterrupt
        if inner is not None:
            inner(record, count)
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, on_sigint) if main else None
    try:
        yield progress
    finally:
        if main:
            signal.signal(signal.SIGINT, old)
        if reporter is not None:
            reporter.close()


# --------------------------------------------------------------------------- commands
def _derive(args):
    from .api import derive
    fn = load_function(args.function)
    conv = None if args.convention is None else parse_convention(args.convention)
    try:
        with _sigint_latch() as progress:
            table = derive(fn, parse_inputs(args.inputs), convention=conv, max_strata=args.max_strata,
                           max_events=args.max_events, framework=args.framework, progress=progress)
    except (LimitError, KeyboardInterrupt) as e:
        return _partial(e, args, _writer(args))
    except MtsymError:
        raise
    except SystemExit as e:
        raise CliError(f"{args.function} called sys.exit({e.code!r}) while being traced") from None
    except Exception as e:
        raise CliError(f"{args.function} raised {type(e).__name__} while being traced: {_one_line(e)}") from e
    try:
        return _emit(table, args, _writer(args))
    except (MtsymError, OSError):
        raise
    except SystemExit as e:  # --verify runs the function again
        raise CliError(f"{args.function} called sys.exit({e.code!r}) while being checked") from None
    except Exception as e:
        raise CliError(f"{args.function}: {type(e).__name__} while writing the output: {_one_line(e)}") from e


def _examples(args):
    from .examples import EXAMPLES, example
    out = _writer(args)
    if args.all:
        bad = 0
        for ex in EXAMPLES.values():
            checks = ex.compare(ex.derive())
            n_ok = sum(c.ok for c in checks)
            bad += len(checks) - n_ok
            out(f"{ex.name:18s} {ex.reference:28s} {n_ok}/{len(checks)} values as in the paper")
        return 1 if bad else 0
    if args.name is None:
        width = max(len(n) for n in EXAMPLES)
        for ex in EXAMPLES.values():
            print(f"{ex.name.ljust(width)}  {ex.reference:28s} {ex.title}")
        print("run one with: mtsym examples NAME")
        return 0
    ex = example(args.name)
    table = ex.derive()
    status = _emit(table, args, out)
    if any(getattr(args, m) for m in _MODES):
        return status
    out(f"\n{ex.reference}: the associated gradient against the paper")
    bad = 0
    for c in ex.compare(table):
        pt = ", ".join(str(v) for v in c.point)
        paper = ", ".join(str(v) for v in c.paper)
        got = ", ".join(str(v) for v in c.got)
        bad += not c.ok
        out(f"  at ({pt}): paper ({paper})  mtsym ({got})  {'ok' if c.ok else 'MISMATCH'}")
    return 1 if bad else status


def _add_modes(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--latex", action="store_true", help="the representation in LaTeX (eqs. (17), (19))")
    g.add_argument("--json", action="store_true", help="the table as JSON (exact)")
    g.add_argument("--strata", action="store_true", help="one line per stratum")
    g.add_argument("--verify", action="store_true", help="check Theorem 1 on every stratum")
    g.add_argument("--plot", metavar="PNG", help="draw the partition into a PNG file")
    p.add_argument("--env", choices=("aligned", "cases"), default="aligned", help="LaTeX environment")
    p.add_argument("--slice", nargs=3, metavar=("POINT", "D1", "D2"),
                   help="with --plot beyond 2 inputs: the plane POINT + u*D1 + v*D2, each a comma-separated "
                        "vector, e.g. --slice 0,0,0,0 1,0,0,0 0,1,0,0")
    p.add_argument("--digits", type=int, metavar="D",
                   help="print numbers as decimals with D significant digits (the table stays exact)")
    p.add_argument("--max-rows", type=int, metavar="N",
                   help="list at most N rows (0: all; default 200 on a terminal, all into a file or pipe)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the text/LaTeX/JSON there (whole)")


def build_parser():
    """The argument parser of the ``mtsym`` command."""
    from . import __version__
    parser = argparse.ArgumentParser(prog="mtsym", description="Exact nonsmooth automatic differentiation: "
                                     "piece tables and associated gradients (Murat-Trombetti).")
    parser.add_argument("--version", action="version", version=f"mtsym {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("derive", help="derive FILE.py:FUNC", description="Trace a function from a file "
                       "and print its piece table.")
    d.add_argument("function", metavar="FILE.py:FUNC")
    d.add_argument("--inputs", required=True, help="N (a vector x1..xN) or names, e.g. 't' or 'a b'")
    d.add_argument("--convention", default=None,
                   help="torch (the default; jax with --framework jax), jax, first, last, mean, optionally with "
                        "parameters: torch,relu0=1/2")
    d.add_argument("--max-strata", type=int, default=None, metavar="N",
                   help="stop past N strata (default 50,000) and print those found")
    d.add_argument("--max-events", type=int, default=None, metavar="N",
                   help="stop a path past N switching decisions (default 10,000: a loop that never ends)")
    d.add_argument("--framework", choices=("torch", "jax"), default=None,
                   help="jax: trace JAX code through its jaxpr (PyTorch code needs no option)")
    _add_modes(d)
    d.set_defaults(run=_derive)
    e = sub.add_parser("examples", help="list or run the paper's examples",
                       description="The paper's examples: list them, or derive one and compare with the paper.")
    e.add_argument("name", nargs="?", help="the example to run")
    e.add_argument("--all", action="store_true", help="run every example against the paper's values")
    _add_modes(e)
    e.set_defaults(run=_examples)
    from .audit.command import add_parser
    add_parser(sub, lambda run: lambda args: run(args, load_function, parse_convention, CliError))
    return parser


def main(argv=None):
    """Run the command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    args.rich = (not any(getattr(args, m, None) for m in _MODES) and not getattr(args, "output", None)
                 and sys.stdout.isatty()
                 and importlib.util.find_spec("rich") is not None)
    try:
        return args.run(args)
    except LimitError as e:
        print(f"mtsym: error: {_limit_message(e)}", file=sys.stderr)
        return 1
    except (CliError, MtsymError) as e:
        print(f"mtsym: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mtsym: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped early (``| head``): not an error
        _quiet_stdout()
        return 0
    except OSError as e:
        print(f"mtsym: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


def _quiet_stdout():
    """Point standard output at /dev/null, so that the final flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - a stdout without a file descriptor
        pass
