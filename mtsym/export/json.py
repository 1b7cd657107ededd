"""A piece table as JSON, and back, exactly.

Every number is exact: rationals are strings ``"p/q"`` (``"3"`` for an
integer), sympy expressions (parametric conventions) are trees of a few
whitelisted sympy classes, symbols keep their assumptions.  The schema is
documented in ``docs/json-schema.md``; the document carries
``"format": "mtsym.piecetable"`` and ``"version": 1``.

A table read back has ``program=None``: :meth:`~mtsym.table.PieceTable.stratum_at`
then follows the graph's decisions at the point (or, for a table stored without
its graph, scans the strata's exact constraints), and gives the same answers.

A document is untrusted: nothing in it is ever evaluated (numbers are read by a
strict grammar, expressions are trees of the whitelisted classes, symbol names
are identifiers), its sizes are bounded (:data:`MAX_DIGITS`, :data:`MAX_DEPTH`,
:data:`MAX_DEGREE`), and a table that carries its graph is replayed on it
(:mod:`mtsym.export.validate`).  Anything else is a :class:`~mtsym.errors.FormatError`
naming the field.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x), 3)
>>> u = from_json(to_json(t))
>>> u.grad_at((1, 1, 0)), u.program is None, to_json(u) == to_json(t)
(Matrix([[1/2, 1/2, 0]]), True, True)
>>> from_json('{"format": "mtsym.piecetable", "version": 9}')
Traceback (most recent call last):
...
mtsym.errors.FormatError: mtsym.piecetable version 9 is not supported: this mtsym reads version 1
"""

__all__ = ["to_json", "from_json", "to_data", "from_data", "portable_line", "stratum_data", "head_data",
           "graph_data", "read_head", "read_graph", "read_stratum", "Reader", "FORMAT", "VERSION", "MAX_DIGITS",
           "MAX_DEPTH", "MAX_DEGREE"]

import json as _json
import os
import re
import sys
from fractions import Fraction

import sympy as sp
from sympy.core.assumptions import _assume_defined

from ..conventions import NAMED, PARAMETERS, Convention
from ..errors import ConventionError, FormatError
from ..exact import to_sympy
from ..extensions import register
from ..linalg import exact_rank
from ..conventions import check_symbols

FORMAT = "mtsym.piecetable"
VERSION = 1

#: the most digits of one integer (a numerator or denominator) in a document
MAX_DIGITS = 1000
#: the deepest nesting of an expression or a value in a document
MAX_DEPTH = 64
#: the largest total degree of an expression (f^alpha of a product of traced values)
MAX_DEGREE = 100
#: the node attributes a document may hold
_NODE_KEYS = {"id", "op", "params", "inputs", "conv", "line"}
#: the sympy assumptions a symbol may carry
_ASSUMPTIONS = frozenset(_assume_defined)

_RATIONAL = re.compile(r"-?[0-9]+(/[0-9]+)?\Z")
#: the sympy classes an expression may be built from
_FUNCS = {c.__name__: c for c in (sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min, sp.Abs, sp.sign,
                                  sp.Heaviside, sp.Piecewise, sp.Eq, sp.Ne, sp.Lt, sp.Le, sp.Gt,
                                  sp.Ge, sp.And, sp.Or, sp.Not)}


#: (fewest, most) arguments of an expression class (default: one or more)
_ARITY = {"Pow": (2, 2), "Abs": (1, 1), "sign": (1, 1), "Not": (1, 1), "Heaviside": (1, 2), "Add": (0, None),
          "Mul": (0, None), **{c: (2, 2) for c in ("Equality", "Unequality", "StrictLessThan", "LessThan",
                                                  "StrictGreaterThan", "GreaterThan")}}


# =========================================================================== writing
def _rat(v):
    if isinstance(v, Fraction):
        return f"{v.numerator}/{v.denominator}" if v.denominator != 1 else str(v.numerator)
    if isinstance(v, sp.Rational):
        return f"{v.p}/{v.q}" if v.q != 1 else str(v.p)
    return str(int(v))


def _symbol(s):
    orig = getattr(s, "_assumptions_orig", None)
    if orig is None:  # pragma: no cover  (sympy < 1.12)
        orig = s.assumptions0
    return {"name": s.name, "assumptions": {k: bool(v) for k, v in sorted(orig.items())}}


def _expr(e):
    """A sympy expression (or exact number) as a JSON tree."""
    if isinstance(e, (int, Fraction)) and not isinstance(e, bool):
        return _rat(e)
    e = to_sympy(e)
    if isinstance(e, sp.Rational):
        return _rat(e)
    if isinstance(e, sp.Symbol):
        return {"symbol": _symbol(e)}
    if e is sp.true or e is sp.false:
        return {"op": "true" if e is sp.true else "false", "args": []}
    name = type(e).__name__
    if isinstance(e, sp.Piecewise):
        return {"op": "Piecewise", "args": [[_expr(v), _expr(c)] for v, c in e.args]}
    if name not in _FUNCS:
        raise FormatError(f"to_json: cannot write the sympy {name} in {e}; mtsym tables hold "
                          f"rationals and {', '.join(sorted(_FUNCS))}")
    return {"op": name, "args": [_expr(a) for a in e.args]}


def _entry(c):
    if isinstance(c, (int, Fraction)) and not isinstance(c, bool):
        return _rat(c)
    return _expr(c)


def _form(f):
    if type(f) is tuple:
        return [_entry(c) for c in f]
    return {"expr": _expr(f)}


def _convention(c):
    return {"name": c.name, "base": c.base, "params": {k: _value(v) for k, v in c.params().items()}}


def _value(v):
    """Node parameters, cases and convention parameters (tagged where JSON is ambiguous)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, Fraction):
        return {"rational": _rat(v)}
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    if isinstance(v, list):
        return {"list": [_value(x) for x in v]}
    if isinstance(v, Convention):
        return {"convention": _convention(v)}
    if isinstance(v, sp.Basic):
        return {"expr": _expr(v)}
    raise FormatError(f"to_json: cannot write the value {v!r} of type {type(v).__name__}")


def portable_line(line, cwd=None):
    """A source line ``file:line: code`` with the file named without the writer's machine in it.

    A file under the working directory is named relative to it; a file of an installed
    package (on ``sys.path``) by its path inside the package folder; any other file by
    its name alone.  Names such as ``<string>`` are kept.

    Examples
    --------
    >>> portable_line("/home/ann/work/nets/model.py:12: return f(x)", cwd="/home/ann/work")
    'nets/model.py:12: return f(x)'
    >>> portable_line("/opt/elsewhere/model.py:3", cwd="/home/ann")
    'model.py:3'
    >>> portable_line("<string>:3")
    '<string>:3'
    """
    if not line or not isinstance(line, str):
        return line
    path, sep, rest = line.partition(":")
    if not sep or not os.path.isabs(path):
        return line
    cwd = os.path.abspath(os.getcwd() if cwd is None else cwd)
    roots = [cwd] + sorted((os.path.abspath(p) for p in sys.path if p and os.path.isabs(p)), key=len, reverse=True)
    for root in roots:
        if path.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.relpath(path, root).replace(os.sep, "/") + sep + rest
    return os.path.basename(path) + sep + rest


def _graph(g):
    nodes = []
    for v in sorted(g.nodes):
        data = g.nodes[v]
        node = {"id": v}
        for k in sorted(data):
            if k == "line":
                node[k] = _value(portable_line(data[k]))
            elif not k.startswith("_"):
                node[k] = _value(tuple(data[k]) if k == "inputs" else data[k])
        nodes.append(node)
    return {"nodes": nodes, "outputs": [list(o) for o in g.outputs]}


def stratum_data(r, path=True):
    """One stratum (a :class:`~mtsym.records.StratumRecord`) as a JSON-ready dict (``path=False``:
    without its path, which the caller writes in its own form)."""
    return {
        "path": [[node, _value(case)] for node, case in r.path] if path else None,
        "constraints": [[_form(f), s] for f, s in r.constraints],
        "forms": [_form(f) for f in r.forms],
        "vals": [_form(f) for f in r.vals],
        "output_nodes": list(r.output_nodes),
        "dim": r.dim,
        "witness": [_rat(c) for c in r.witness],
    }


def head_data(name, symbols, shape, convention):
    """The fields every document starts with (format, version, name, inputs, shape, convention)."""
    return {"format": FORMAT, "version": VERSION, "name": name, "inputs": [_symbol(s) for s in symbols],
            "shape": list(shape), "convention": _convention(convention)}


def graph_data(graph):
    """The graph as a JSON-ready dict (``None`` for none)."""
    return None if graph is None else _graph(graph)


def to_data(table):
    """The table as a JSON-ready dict (see :func:`to_json`)."""
    records = [s.record for s in sorted(table.strata, key=lambda s: s.discovery)]
    data = head_data(table.name, table.symbols, table.shape, table.convention)
    data["graph"] = graph_data(table.graph)
    data["strata"] = [stratum_data(r) for r in records]
    return data


def to_json(table, indent=None):
    """The table as a JSON string (exact: rationals as ``"p/q"`` strings).

    Parameters
    ----------
    table : PieceTable
    indent : int, optional
        Pretty-print with this indentation (default: one line).
    """
    return _json.dumps(to_data(table), indent=indent, ensure_ascii=False)


# =========================================================================== reading
class _Reader:
    """Reads one document, naming the field of any error (``strata[3].witness[1]``)."""

    def __init__(self):
        self.symbols = {}

    @staticmethod
    def fail(where, what):
        raise FormatError(f"{FORMAT}: {where}: {what}")

    def field(self, obj, key, types, where):
        if not isinstance(obj, dict):
            self.fail(where, f"expected an object, got {type(obj).__name__}")
        if key not in obj:
            self.fail(where, f"missing field {key!r}")
        v = obj[key]
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in _tuple(types)):
            self.fail(f"{where}.{key}", f"expected {_names(types)}, got {_json.dumps(v)[:60]}")
        return v

    def rational(self, v, where):
        if not isinstance(v, str) or not _RATIONAL.match(v):
            self.fail(where, f"{_json.dumps(v)[:60]} is not a rational \"p\" or \"p/q\"")
        p, _, q = v.partition("/")
        if len(p) > MAX_DIGITS + 1 or len(q) > MAX_DIGITS:
            self.fail(where, f"a number of more than MAX_DIGITS={MAX_DIGITS} digits")
        if q and int(q) == 0:
            self.fail(where, f"{v!r} has a zero denominator")
        f = Fraction(int(p), int(q) if q else 1)
        return f.numerator if f.denominator == 1 else f

    def text(self, v, where):
        """A string of printable characters (tabs allowed)."""
        if not isinstance(v, str):
            self.fail(where, f"expected a string, got {repr(v)[:60]}")
        if not all(c == "\t" or c.isprintable() for c in v):
            self.fail(where, "a string with control characters")
        return v

    def symbol(self, v, where):
        name = self.field(v, "name", str, where)
        if not name.isidentifier():
            self.fail(where + ".name", f"{name[:60]!r} is not a name (an identifier such as x1 or z)")
        assumptions = self.field(v, "assumptions", dict, where)
        for k, b in assumptions.items():
            if k not in _ASSUMPTIONS or not isinstance(b, bool):
                self.fail(f"{where}.assumptions", f"{k[:60]!r}: {_json.dumps(b)[:20]} is not a sympy assumption "
                          "and a boolean")
        try:
            s = sp.Symbol(name, **assumptions)
        except Exception as e:
            self.fail(where, f"bad symbol {name!r}: {e}")
        return s

    def expr(self, v, where):
        e, _ = self._expr(v, where, 0)
        return e

    def _expr(self, v, where, depth):
        """``(expression, degree)``: a tree of whitelisted classes, its total degree bounded."""
        if depth > MAX_DEPTH:
            self.fail(where, f"an expression nested deeper than MAX_DEPTH={MAX_DEPTH}")
        if isinstance(v, str):
            return sp.Rational(*_pq(self.rational(v, where))), 0
        if isinstance(v, dict) and "symbol" in v:
            if len(v) != 1:
                self.fail(where, "a symbol is {\"symbol\": {...}} alone")
            return self.symbol(v["symbol"], where + ".symbol"), 1
        op = self.field(v, "op", str, where)
        args = self.field(v, "args", list, where)
        if set(v) != {"op", "args"}:
            self.fail(where, f"unknown field(s) {sorted(set(v) - {'op', 'args'})}")
        if op in ("true", "false"):
            if args:
                self.fail(where + ".args", f"{op} takes no arguments")
            return (sp.true if op == "true" else sp.false), 0
        low, high = _ARITY.get(op, (1, None))
        if op not in _FUNCS and op != "Piecewise":
            self.fail(where, f"unknown expression {op[:60]!r}")
        if len(args) < low or (high is not None and len(args) > high):
            self.fail(where + ".args", f"{op} takes {low if high == low else f'{low} or more'} argument(s), "
                      f"got {len(args)}")
        if op == "Piecewise":
            pairs, deg = [], 0
            for k, a in enumerate(args):
                if not isinstance(a, list) or len(a) != 2:
                    self.fail(f"{where}.args[{k}]", "expected [value, condition]")
                (e, d), (c, _) = (self._expr(a[j], f"{where}.args[{k}][{j}]", depth + 1) for j in (0, 1))
                pairs.append((e, c))
                deg = max(deg, d)
            return self._build(sp.Piecewise, pairs, where), deg
        parts = [self._expr(a, f"{where}.args[{k}]", depth + 1) for k, a in enumerate(args)]
        items = [e for e, _ in parts]
        if op == "Pow":
            base, exp = items
            if not isinstance(exp, sp.Integer) or base.is_number:
                self.fail(where, "a power is an expression to an integer exponent")
            deg = parts[0][1] * abs(int(exp))
        elif op == "Mul":
            deg = sum(d for _, d in parts)
        else:
            deg = max((d for _, d in parts), default=0)
        if deg > MAX_DEGREE:
            self.fail(where, f"an expression of degree more than MAX_DEGREE={MAX_DEGREE}")
        return self._build(_FUNCS[op], items, where), deg

    def _build(self, cls, items, where):
        try:
            e = cls(*items)
        except (TypeError, ValueError, ArithmeticError, AttributeError) as err:
            self.fail(where, f"not a valid {cls.__name__}: {err}")
        if e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.fail(where, "an expression that is not finite")
        return e

    def entry(self, v, where):
        if isinstance(v, str):
            return self.rational(v, where)
        e = self.expr(v, where)
        return _exact_if_number(e)

    def form(self, v, n, where):
        if isinstance(v, dict):
            return self.expr(self.field(v, "expr", (dict, str), where), where + ".expr")
        if not isinstance(v, list):
            self.fail(where, "expected a list of coefficients or {\"expr\": ...}")
        if len(v) != n + 1:
            self.fail(where, f"an affine form over {n} inputs has {n + 1} coefficients, got {len(v)}")
        return tuple(self.entry(c, f"{where}[{k}]") for k, c in enumerate(v))

    def value(self, v, where, depth=0):
        if depth > MAX_DEPTH:
            self.fail(where, f"a value nested deeper than MAX_DEPTH={MAX_DEPTH}")
        if v is None or isinstance(v, (bool, int)):
            if isinstance(v, int) and not isinstance(v, bool) and len(str(abs(v))) > MAX_DIGITS:
                self.fail(where, f"a number of more than MAX_DIGITS={MAX_DIGITS} digits")
            return v
        if isinstance(v, str):
            return self.text(v, where)
        if isinstance(v, list):
            return tuple(self.value(x, f"{where}[{k}]", depth + 1) for k, x in enumerate(v))
        if isinstance(v, dict) and len(v) == 1:
            (tag, x), = v.items()
            if tag == "rational":
                return Fraction(*_pq(self.rational(x, where + ".rational")))
            if tag == "list":
                if not isinstance(x, list):
                    self.fail(where, "expected a list")
                return [self.value(y, f"{where}.list[{k}]", depth + 1) for k, y in enumerate(x)]
            if tag == "convention":
                return self.convention(x, where + ".convention")
            if tag == "expr":
                return self.expr(x, where + ".expr")
        self.fail(where, f"unreadable value {_json.dumps(v)[:60]}")

    def convention(self, v, where):
        """A convention: its declared parameters; one a file lacks takes its base convention's value
        (the base is the file's ``base``, else the named convention its name starts with, else torch)."""
        name = self.text(self.field(v, "name", str, where), where + ".name")
        params = self.field(v, "params", dict, where)
        base = v.get("base") if isinstance(v, dict) else None
        if base is None:
            head = name.split("(", 1)[0]
            base = head if head in NAMED else "torch"
        if base not in NAMED:
            self.fail(where + ".base", f"unknown convention {base!r}: one of {', '.join(NAMED)}")
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            self.fail(where + ".params", f"unknown parameter(s) {', '.join(map(repr, unknown))}; the "
                      f"parameters are {', '.join(PARAMETERS)}")
        values = {k: self.value(x, f"{where}.params.{k}") for k, x in params.items()}
        try:
            return Convention.restore(name, base, values)
        except ConventionError as e:
            self.fail(where + ".params", str(e))


def _tuple(t):
    return t if isinstance(t, tuple) else (t,)


def _names(types):
    words = {dict: "an object", list: "a list", str: "a string", int: "an integer", type(None): "null"}
    return " or ".join(words.get(t, t.__name__) for t in _tuple(types))


def _pq(q):
    return (q, 1) if isinstance(q, int) else (q.numerator, q.denominator)


def _exact_if_number(e):
    if isinstance(e, sp.Rational):
        return int(e.p) if e.q == 1 else Fraction(int(e.p), int(e.q))
    return e


def _read_graph(R, g, symbols, nout):
    from ..graph import Graph
    from ..primitives import PRIMITIVES
    if g is None:
        return None
    nodes = R.field(g, "nodes", list, "graph")
    outputs = R.field(g, "outputs", list, "graph")
    graph = Graph(symbols=symbols)
    seen_inputs = set()
    for k, node in enumerate(nodes):
        where = f"graph.nodes[{k}]"
        v = R.field(node, "id", int, where)
        if v != k:
            R.fail(where + ".id", f"node {k} has id {v}; nodes are numbered 0, 1, ... in order")
        unknown = sorted(set(node) - _NODE_KEYS)
        if unknown:
            R.fail(where, f"unknown field(s) {', '.join(repr(u[:30]) for u in unknown)}")
        attrs = {key: R.value(val, f"{where}.{key}") for key, val in node.items() if key != "id"}
        prim = PRIMITIVES.get(attrs.get("op")) if isinstance(attrs.get("op"), str) else None
        if prim is None:
            R.fail(where + ".op", f"unknown operation {str(attrs.get('op'))[:60]!r}")
        try:  # the primitive's declared parameter schema
            attrs["params"] = prim.check_params(attrs.get("params", ()))
        except ValueError as e:
            R.fail(where + ".params", f"{prim.name}: {e}")
        inputs = attrs.get("inputs", ())
        if not isinstance(inputs, tuple) or any(type(u) is not int or not 0 <= u < v for u in inputs):
            R.fail(where + ".inputs", "expected earlier node ids")
        attrs["inputs"] = inputs
        if len(inputs) != prim.n_inputs(attrs["params"]):
            R.fail(where + ".inputs", f"{prim.name} takes {prim.n_inputs(attrs['params'])} input(s), "
                   f"got {len(inputs)}")
        if prim.kind == "input":
            i, name = attrs["params"]
            if i >= len(symbols) or name != symbols[i].name or i in seen_inputs:
                R.fail(where + ".params", f"input {i} {name!r} is not a new input of the table")
            seen_inputs.add(i)
        conv = attrs.setdefault("conv", None)
        if conv is not None:
            if not isinstance(conv, Convention):
                R.fail(where + ".conv", "expected a convention or null")
            _symbols_apart(R, conv, symbols, where + ".conv")
        attrs["line"] = R.text(attrs.get("line", ""), where + ".line")
        graph.add_node(v, **attrs)
        for pos, u in enumerate(inputs):
            if graph.has_edge(u, v):
                graph.edges[u, v]["pos"].append(pos)
            else:
                graph.add_edge(u, v, pos=[pos])
    outs = []
    for k, o in enumerate(outputs):
        if not isinstance(o, list) or any(type(u) is not int or u not in graph for u in o):
            R.fail(f"graph.outputs[{k}]", "expected a list of node ids")
        if len(o) != nout:
            R.fail(f"graph.outputs[{k}]", f"the table has {nout} output(s), got {len(o)}")
        outs.append(tuple(o))
    graph.graph["outputs"] = outs
    return graph


def _symbols_apart(R, conv, symbols, where):
    try:
        check_symbols(conv, [s.name for s in symbols], where)
    except ConventionError as e:
        R.fail(where, str(e))


def _sign_of(form, point):
    v = form[0] + sum(c * x for c, x in zip(form[1:], point))
    return (v > 0) - (v < 0)


def _read_stratum(R, d, n, nout, shape, nodes, k):
    from ..partition import StratumRecord
    where = f"strata[{k}]"
    path = []
    for j, step in enumerate(R.field(d, "path", list, where)):
        if not isinstance(step, list) or len(step) != 2 or not isinstance(step[0], int) or isinstance(step[0], bool):
            R.fail(f"{where}.path[{j}]", "expected [node, case]")
        if nodes is not None and step[0] not in nodes:
            R.fail(f"{where}.path[{j}]", f"node {step[0]} is not in the graph")
        case = R.value(step[1], f"{where}.path[{j}][1]")
        if isinstance(case, list):
            R.fail(f"{where}.path[{j}][1]", "a case is a number, a word or a list of numbers")
        path.append((step[0], case))
    cons = []
    for j, c in enumerate(R.field(d, "constraints", list, where)):
        if not isinstance(c, list) or len(c) != 2 or c[1] not in (-1, 0, 1) or isinstance(c[1], bool):
            R.fail(f"{where}.constraints[{j}]", "expected [form, sign] with sign -1, 0 or 1")
        f = R.form(c[0], n, f"{where}.constraints[{j}][0]")
        if type(f) is not tuple or not all(isinstance(x, (int, Fraction)) for x in f):
            R.fail(f"{where}.constraints[{j}][0]", "a constraint is a rational affine form")
        cons.append((f, c[1]))
    forms = tuple(R.form(f, n, f"{where}.forms[{j}]") for j, f in enumerate(R.field(d, "forms", list, where)))
    vals = tuple(R.form(f, n, f"{where}.vals[{j}]") for j, f in enumerate(R.field(d, "vals", list, where)))
    outs = R.field(d, "output_nodes", list, where)
    if any(not isinstance(u, int) or (nodes is not None and u not in nodes) for u in outs):
        R.fail(f"{where}.output_nodes", "expected graph node ids")
    for what, seq in (("forms", forms), ("vals", vals), ("output_nodes", outs)):
        if len(seq) != nout:
            R.fail(f"{where}.{what}", f"the table has {nout} output(s) (shape {list(shape)}), got {len(seq)}")
    dim = R.field(d, "dim", int, where)
    if not 0 <= dim <= n:
        R.fail(f"{where}.dim", f"{dim} is not a dimension in R^{n}")
    wit = R.field(d, "witness", list, where)
    if len(wit) != n:
        R.fail(f"{where}.witness", f"expected {n} coordinates, got {len(wit)}")
    witness = tuple(R.rational(c, f"{where}.witness[{j}]") for j, c in enumerate(wit))
    for j, (f, s) in enumerate(cons):
        if _sign_of(f, witness) != s:
            R.fail(where, f"the witness does not satisfy constraint {j} (the data is corrupted)")
    eqs = [list(f[1:]) for f, s in cons if s == 0]
    r = exact_rank(eqs)
    if dim != n - r:
        R.fail(f"{where}.dim", f"{dim} is not the dimension its equalities give ({n - r})")
    return StratumRecord(tuple(path), cons, forms, vals, tuple(outs), shape, poly=None, dim=dim,
                         witness=witness)


def read_head(R, data):
    """``(name, symbols, shape, convention)`` from a document's first fields (see :func:`head_data`)."""
    if not isinstance(data, dict):
        R.fail("document", "expected a JSON object")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise FormatError(f"not an {FORMAT} document (format field: {_json.dumps(fmt)[:60]})")
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise FormatError(f"{FORMAT} version {_json.dumps(version)[:20]} is not supported: "
                          f"this mtsym reads version {VERSION}")
    name = R.text(R.field(data, "name", str, "document"), "name")
    symbols = tuple(R.symbol(s, f"inputs[{k}]") for k, s in enumerate(R.field(data, "inputs", list, "document")))
    if not symbols:
        R.fail("inputs", "a table has at least one input")
    if len({s.name for s in symbols}) != len(symbols):
        R.fail("inputs", "two inputs have the same name")
    shape = R.field(data, "shape", list, "document")
    if shape and not (len(shape) == 1 and isinstance(shape[0], int) and shape[0] >= 1):
        R.fail("shape", "expected [] (scalar output) or [m]")
    conv = R.convention(R.field(data, "convention", dict, "document"), "convention")
    _symbols_apart(R, conv, symbols, "convention")
    return name, symbols, tuple(shape), conv


def from_data(data):
    """A :class:`~mtsym.table.PieceTable` from a dict made by :func:`to_data`."""
    from ..table import PieceTable
    from .validate import Replay, check_alone, check_paths
    R = _Reader()
    name, symbols, shape, conv = read_head(R, data)
    n = len(symbols)
    nout = shape[0] if shape else 1
    graph = _read_graph(R, R.field(data, "graph", (dict, type(None)), "document"), symbols, nout)
    nodes = None if graph is None else set(graph.nodes)
    strata = R.field(data, "strata", list, "document")
    if not strata:
        R.fail("strata", "a table has at least one stratum")
    records = [_read_stratum(R, d, n, nout, shape, nodes, k) for k, d in enumerate(strata)]
    try:
        check_paths([r.path for r in records])
    except ValueError as e:
        R.fail("strata", f"the paths are not one decision tree: {e}")
    if graph is not None:
        replay = Replay(graph, conv, symbols)
        for k, r in enumerate(records):
            try:
                replay.check(r)
            except ValueError as e:
                R.fail(f"strata[{k}]", f"disagrees with the graph: {e}")
    else:
        for k, r in enumerate(records):
            try:
                check_alone(r)
            except ValueError as e:
                R.fail(f"strata[{k}]", str(e))
    return PieceTable(records, symbols, conv, graph=graph, program=None, name=name)


def from_json(text):
    """A :class:`~mtsym.table.PieceTable` read back from :func:`to_json`.

    Raises
    ------
    FormatError
        The text is not JSON, not an mtsym piece table, of another version, or
        corrupted (the message names the field).
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"{FORMAT}: the document is not UTF-8 text ({e})") from e
    if not isinstance(text, str):
        raise FormatError(f"from_json needs a JSON string, got {type(text).__name__}")
    try:
        data = _json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise FormatError(f"{FORMAT}: not valid JSON ({str(e)[:200]})") from None
    try:
        return from_data(data)
    except RecursionError:  # pragma: no cover - every nesting is bounded by MAX_DEPTH
        raise FormatError(f"{FORMAT}: the document is nested too deeply") from None


def _no_constant(name):
    raise ValueError(f"{name} is not a number mtsym reads")


register("table.to_json", to_json)
register("table.from_json", from_json)

#: the reading helpers, for the line-by-line format (:mod:`mtsym.export.stream`)
Reader, read_graph, read_stratum = _Reader, _read_graph, _read_stratum
