"""Traced values: operator overloading that records a graph and asks for decisions.

A :class:`Program` wraps the user's function.  Each :meth:`Program.run` calls the
function once on fresh :class:`Value` inputs; every operation adds (or finds) a
node in the shared :class:`~mtsym.graph.Graph` and computes two affine forms:

``val``
    a rational affine form equal to the node's true value on the current
    stratum (ties resolved by a fixed rational rule), used for every sign test;
``lin``
    the node's f^alpha under the user's convention (the composition of the
    primitives' case-wise linear rules): its gradient is the associated
    gradient, what autodiff returns.  It may contain convention symbols.

A switching node (relu, max, a Python comparison, ...) asks the run's *decider*
for its case.  The decider is the explorer of :mod:`mtsym.partition` (which
splits the current polyhedron) or a point locator.  Tracing knows nothing about
polyhedra.

Forms are tuples ``(c0, c1..cn)``; a product of two non-constant values gives a
sympy expression instead (smooth, allowed in outputs, refused in switches).
"""

__all__ = ["Value", "Array", "Program", "Run", "InputSpec", "node_forms", "combine", "VAL_CONV", "MAX_INPUTS",
           "check_input_count"]

import re

import numpy as np
import sympy as sp

from .arrays import Array, coerce
from .conventions import Convention, check_symbols
from .errors import InputError, LimitError, UnsupportedOperationError, user_line
from .exact import (aff_comb, aff_const, aff_is_const, aff_to_expr, aff_var, from_sympy, is_exact_number,
                    is_infinite, to_exact, to_sympy)
from .extensions import provided
from .graph import Graph
from .primitives import PRIMITIVES
from .primitives.affine import BRANCH
from .records import gc_paused
from .value import Value, apply_extended

#: the rational rule used for ``val`` forms (any rule with rational weights works)
VAL_CONV = Convention("first")
#: the most inputs exact tracing accepts (forms are dense: n + 1 rationals per node)
MAX_INPUTS = 4096


# --------------------------------------------------------------------------- inputs
def check_input_count(inputs):
    """A :class:`LimitError` for more inputs than exact tracing takes (:data:`MAX_INPUTS`)."""
    if isinstance(inputs, int) and not isinstance(inputs, bool) and inputs > MAX_INPUTS:
        raise LimitError(f"inputs={inputs}: exact tracing keeps every node's affine form as {inputs + 1} "
                         f"rationals ({inputs}^2 numbers for the inputs alone, about "
                         f"{8 * inputs * (inputs + 1) / 2**30:.1f} GiB); mtsym.derive takes at most "
                         f"{MAX_INPUTS} inputs. mt.evaluate traces the graph only and works at any size.")



class InputSpec:
    """How ``derive``'s ``inputs`` argument maps to function arguments.

    ``4`` -> one vector argument ``x`` with ``x[0]`` the symbol ``x1``;
    ``"t"`` or ``"a b"`` (or ``["a", "b"]``) -> scalar arguments.

    Examples
    --------
    >>> InputSpec(3).names, InputSpec("a b").names, InputSpec("t").vector
    (('x1', 'x2', 'x3'), ('a', 'b'), False)
    """

    __slots__ = ("names", "vector", "symbols")

    def __init__(self, inputs):
        if isinstance(inputs, InputSpec):
            self.names, self.vector, self.symbols = inputs.names, inputs.vector, inputs.symbols
            return
        if isinstance(inputs, bool) or not isinstance(inputs, (int, str, list, tuple)):
            raise InputError(f"inputs={inputs!r}: give an int n (a vector x1..xn) or names like 't' or 'a b'")
        if isinstance(inputs, int):
            if inputs < 1:
                raise InputError(f"inputs={inputs}: the number of inputs must be at least 1")
            names, vector = tuple(f"x{i + 1}" for i in range(inputs)), True
        else:
            names = tuple(re.split(r"[\s,]+", inputs.strip())) if isinstance(inputs, str) else tuple(inputs)
            vector = False
            if not names or not all(isinstance(s, str) and s.isidentifier() for s in names):
                raise InputError(f"inputs={inputs!r}: names must be Python identifiers, e.g. 't' or 'a b'")
            if len(set(names)) != len(names):
                raise InputError(f"inputs={inputs!r}: names repeat")
        self.names, self.vector = names, vector
        self.symbols = tuple(sp.Symbol(s, real=True) for s in names)

    @property
    def n(self):
        return len(self.names)

    def arguments(self, elements):
        """The call arguments for a list of per-input elements."""
        if self.vector:
            return (Array(np.array(elements + [None], dtype=object)[:-1]),)
        return tuple(elements)


# --------------------------------------------------------------------------- forms
def _as_expr(form, symbols):
    return aff_to_expr(form, symbols) if type(form) is tuple else form


def _to_form(expr, symbols):
    """A sympy expression as an affine tuple when it is affine, else the expression."""
    expr = sp.expand(expr)
    if not expr.free_symbols & set(symbols):
        return aff_const(from_sympy(expr), len(symbols))
    poly = sp.Poly(expr, *symbols)
    if poly.total_degree() <= 1:
        row = [from_sympy(poly.coeff_monomial(1))]
        for s in symbols:
            row.append(from_sympy(poly.coeff_monomial(s)))
        return tuple(row)
    return expr


def combine(weights, forms, bias, symbols):
    """``bias + sum(w * f)`` over forms; sympy only when some form is not affine."""
    if all(type(f) is tuple for f in forms):
        if not forms:
            return aff_const(bias, len(symbols))
        return aff_comb(weights, forms, bias)
    expr = to_sympy(bias) + sum((to_sympy(w) * _as_expr(f, symbols) for w, f in zip(weights, forms)),
                                  sp.Integer(0))
    return _to_form(expr, symbols)


def _product(a, b, symbols):
    if type(a) is tuple and aff_is_const(a):
        return combine((a[0],), (b,), 0, symbols)
    if type(b) is tuple and aff_is_const(b):
        return combine((b[0],), (a,), 0, symbols)
    return _to_form(_as_expr(a, symbols) * _as_expr(b, symbols), symbols)


# --------------------------------------------------------------------------- program
class Program:
    """A user function being traced: the shared graph, the convention, the input spec."""

    def __init__(self, fn, inputs, convention="torch", exact=True):
        if not callable(fn):
            raise InputError(f"derive needs a function, got {type(fn).__name__}")
        self.fn = fn
        if exact:
            check_input_count(inputs)
        self.spec = InputSpec(inputs)
        self.conv = Convention.get(convention)
        check_symbols(self.conv, self.spec.names, "convention")
        self.symbols = self.spec.symbols
        self.n = self.spec.n
        self.graph = Graph(symbols=self.symbols)
        self.graph.graph["outputs"] = []
        #: False: record the graph only (no affine forms; ``val``/``lin`` are None).  Only Python
        #: comparisons ask the decider (it must answer them without forms); other switching nodes
        #: are recorded undecided.  This is how :func:`mtsym.evaluate` traces large programs.
        self.exact = exact
        self._keys = {}
        self._outputs = set()
        self._input_forms = None

    def node(self, op, inputs, params, conv=None):
        """The node for ``op(inputs; params)``, created on first sight.

        ``conv`` (a Convention) pins the node's tie rule whatever the table's
        convention is (a framework op carries its framework's rule); it is the
        node attribute ``conv`` (``None``: the table's convention).
        """
        key = (op, inputs, params, None if conv is None else conv.name)
        nid = self._keys.setdefault(key, len(self._keys))  # hashes the key once
        if nid not in self.graph:
            guard = provided("trace.node")  # a layer may refuse the context (a custom autograd Function)
            if guard is not None:
                guard()
            self.graph.add_node(nid, op=op, params=params, inputs=inputs, conv=conv,
                                line=user_line())
            self.graph.add_input_edges(nid, inputs)
        return nid

    def run(self, decider):
        """Call the function once; returns ``(output Values, shape)``.

        ``shape`` is ``()`` for a scalar output, else the output's length.
        """
        with gc_paused():
            return self._run(decider)

    def _run(self, decider):
        run = Run(self, decider)
        n = self.n
        if self._input_forms is None:  # made once: n forms of n + 1 entries
            self._input_forms = [aff_var(i, n) if self.exact else None for i in range(n)]
        elems = [Value(run, self.node("input", (), (i, self.spec.names[i])), f, f)
                 for i, f in enumerate(self._input_forms)]
        out = self.fn(*self.spec.arguments(elems))
        outs, shape = _flatten_output(out)
        values = [o if isinstance(o, Value) else run.const(o, "output") for o in outs]
        key = tuple(v.node for v in values)
        if self.graph.graph.setdefault("shape", shape) != shape:
            raise UnsupportedOperationError("return", f"the function returned shape {shape} on one path and "
                                            f"{self.graph.graph['shape']} on another; every path must "
                                            "return the same shape")
        self.output_shape = shape
        if key not in self._outputs:
            self._outputs.add(key)
            self.graph.graph["outputs"].append(key)
        return values, shape


def _flatten_output(out):
    if isinstance(out, Array):
        out = out.a
    if isinstance(out, np.ndarray):
        if out.ndim == 0:
            return [out.item()], ()
        return list(out.ravel()), (out.size,)
    if isinstance(out, (list, tuple)):
        flat = []
        for o in out:
            sub, _ = _flatten_output(o)
            flat.extend(sub)
        return flat, (len(flat),)
    if isinstance(out, Value) or is_exact_number(out):
        return [out], ()
    if is_infinite(out):
        raise UnsupportedOperationError("return", f"the function returned {out}, which is not finite; mtsym "
                                        "needs finite outputs")
    raise UnsupportedOperationError("return", f"the function returned {type(out).__name__}; return a "
                                    "traced value, a number, or a list/array of them")


class Run:
    """One call of the user function: what its traced values ask of the trace.

    Values record nodes through :meth:`apply` (and :meth:`affine`,
    :meth:`const`), turn user data into traced or exact operands through
    :meth:`coerce`, and have comparisons decided through :meth:`compare`.
    """

    __slots__ = ("program", "decider")

    def __init__(self, program, decider):
        self.program, self.decider = program, decider

    def const(self, c, op):
        """A constant node for the number ``c`` (met in operation ``op``)."""
        try:
            c = to_exact(c, what=f"constant in {op}")
        except InputError as e:
            raise UnsupportedOperationError(op, str(e)) from None
        form = aff_const(c, self.program.n) if self.program.exact else None
        return Value(self, self.program.node("const", (), (c,)), form, form)

    coerce = staticmethod(coerce)

    def apply(self, name, args, params, conv=None):
        """Record primitive ``name`` on ``args`` (Values of this run, or numbers); returns a Value.

        ``conv`` pins this node's convention (see :meth:`Program.node`).
        """
        prim = PRIMITIVES[name]
        vs = []
        for a in args:
            if isinstance(a, Value):
                if a.run is not self:
                    raise UnsupportedOperationError(name, "mixes values from two different traces")
                vs.append(a)
            elif is_infinite(a):  # max(x, -inf): the primitive's rule for infinite arguments
                return apply_extended(name, args, params, conv)
            else:
                vs.append(self.const(a, name))
        program = self.program
        node = program.node(name, tuple(v.node for v in vs), params, conv)
        if not program.exact:
            return Value(self, node, None, None)
        vals = [v.val for v in vs]
        case = self.decider.event(node, prim, vals, params) if prim.tests is not None else None
        val, lin = node_forms(prim, case, params, program.conv if conv is None else conv,
                              vals, [v.lin for v in vs], program.symbols)
        return Value(self, node, val, lin)

    def affine(self, terms, const):
        """One ``affine`` node: ``const + sum(c * v for c, v in terms)`` (terms hold Values)."""
        vals = [v for _, v in terms]
        try:
            coefs = tuple(to_exact(c, what="coefficient") for c, _ in terms)
            const = to_exact(const, what="constant")
        except InputError as e:
            raise UnsupportedOperationError("affine", str(e)) from None
        return self.apply("affine", vals, (coefs, const))

    def compare(self, a, b, op):
        """The sign of ``a - b`` on the current path (a ``branch`` node the decider answers)."""
        b = b if isinstance(b, Value) else self.const(b, op)
        node = self.program.node("branch", (a.node, b.node), (op,))
        return self.decider.event(node, BRANCH, [a.val, b.val], (op,))


def node_forms(prim, case, params, conv, vals, lins, symbols):
    """A node's ``(val, lin)`` forms on a case, from its inputs' forms.

    ``val`` uses the rational :data:`VAL_CONV` rule, ``lin`` the node's
    convention; ``lin is val`` when the two coincide (the usual case).
    """
    if prim.linear is None:  # mul: the product rule of smooth values
        val = _product(vals[0], vals[1], symbols)
        if lins[0] is vals[0] and lins[1] is vals[1]:
            return val, val
        return val, _product(lins[0], lins[1], symbols)
    wv, bv = prim.linear(case, params, VAL_CONV)
    val = combine(wv, vals, bv, symbols)
    wl, bl = prim.linear(case, params, conv)
    if wl == wv and bl == bv and all(lin is v for lin, v in zip(lins, vals)):
        return val, val
    return val, combine(wl, lins, bl, symbols)
