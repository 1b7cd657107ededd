"""The ``mtsym`` command: derive a function from a file, run the paper's examples.

::

    mtsym derive FILE.py:FUNC --inputs 4 [--convention torch] [--latex|--json|--strata|--verify|--plot out.png]
    mtsym examples                 # list the paper's examples
    mtsym examples NAME [--latex|--json|--strata|--verify|--plot out.png]
    mtsym examples --all           # run every example against the paper's numbers
    mtsym audit FILE.py:MODEL --data FILE.npy|digits [--dtype float32] [--json out.json] [--plot out.png]

``python -m mtsym ...`` is the same command.  An error (a missing file, no such
function, code mtsym cannot trace) prints one line ``mtsym: error: ...`` on
standard error and exits with status 1; bad usage exits with status 2.

Examples
--------
>>> main(["examples", "max-x-x", "--strata"])
S^1  dim 1  in P^1  everywhere  witness (0)
0
"""

__all__ = ["main", "build_parser", "load_function", "parse_convention"]

import argparse
import importlib.util
import os
import re
import sys

from .errors import MtsymError

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


def _one_line(e):
    return " ".join(str(e).split())


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
        t.add_row(f"P^{p.index + 1}", str(p.dim), str(len(p.strata)), describe_piece(table, p).text(),
                  str(p.expr), grad_text(p.grad))
    Console().print(t)


def _emit(table, args, out):
    """Write the table in the mode asked; returns the exit status."""
    if args.json:
        out(table.to_json(indent=2))
    elif args.latex:
        out(table.to_latex(env=args.env))
    elif args.strata:
        out(table.text(strata=True))
    elif args.verify:
        report = table.verify()
        out(str(report))
        return 0 if getattr(report, "ok", True) else 1
    elif args.plot:
        table.plot(path=args.plot)
        out(f"wrote {args.plot}")
    elif getattr(args, "rich", False):  # pragma: no cover
        _rich_table(table)
    else:
        out(table.text())
    return 0


def _writer(args):
    if getattr(args, "output", None):
        mode = ["w"]

        def out(text):
            with open(args.output, mode[0], encoding="utf-8") as fh:
                fh.write(text + "\n")
            mode[0] = "a"
        return out
    return print


# --------------------------------------------------------------------------- commands
def _derive(args):
    from .api import derive
    fn = load_function(args.function)
    conv = parse_convention(args.convention)
    try:
        table = derive(fn, parse_inputs(args.inputs), convention=conv, max_strata=args.max_strata,
                       framework=args.framework)
    except MtsymError:
        raise
    except Exception as e:
        raise CliError(f"{args.function} raised {type(e).__name__} while being traced: {_one_line(e)}") from e
    try:
        return _emit(table, args, _writer(args))
    except (MtsymError, OSError):
        raise
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
    p.add_argument("-o", "--output", metavar="FILE", help="write the text/LaTeX/JSON there")


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
    d.add_argument("--convention", default="torch",
                   help="torch, jax, first, last, mean, optionally with parameters: torch,relu0=1/2")
    d.add_argument("--max-strata", type=int, default=None, help="stop past this many strata")
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
    except (CliError, MtsymError) as e:
        print(f"mtsym: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"mtsym: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
