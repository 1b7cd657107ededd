"""Traced scalars, and the one way to apply a primitive.

A :class:`Value` is one scalar of a running trace: it knows its *run* (one
call of the user's function, :class:`mtsym.trace.Run`), its graph node and its
exact affine forms.  Arithmetic records ``affine`` and ``mul`` nodes;
comparisons become ``branch`` nodes whose outcome the run's decider chooses.
A Value asks its run for everything else (turning user data into exact
numbers or traced arrays, recording a node), so this module needs neither the
tracer nor the arrays built on it.

:func:`apply` is the one way to apply a primitive, for mtsym's own operations
and for adapters (framework front ends, user code): on traced values it
records a node, on exact numbers it computes the primitive's exact forward,
so the same code runs as a trace and as an exact oracle.

Examples
--------
>>> apply("relu", (-3,)), apply("maximum", (1, 2), (2,)), apply("clamp", (5,), (0, 1))
(0, 2, 1)
>>> apply("relu", ("a",))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mtsym.errors.UnsupportedOperationError: relu at ...: argument 'a' of type str is not a number or traced value
"""

from __future__ import annotations

__all__ = ["Value", "apply", "apply_extended", "exact_number", "unknown_attribute", "foreign_method", "bad_operand",
           "UNSUPPORTED_OPERATORS", "refuse_operator"]

from typing import Any, Sequence
from fractions import Fraction

import numpy as np

from .errors import InputError, UnsupportedOperationError
from .exact import ExactNumber, Infinite, is_exact_number, is_infinite, to_exact, to_extended
from .extensions import provided
from .primitives import PRIMITIVES, Reapply
from .primitives.affine import COMPARE_OPS

_EXACT = (int, Fraction)


def exact_number(a, op):
    """A user number as ``int``/``Fraction`` for operation ``op`` (an mtsym error otherwise)."""
    if not is_exact_number(a):
        raise UnsupportedOperationError(op, f"argument {a!r} of type {type(a).__name__} is not a "
                                        "number or traced value")
    try:
        return to_exact(a, what=f"argument of {op}")
    except InputError as e:
        raise UnsupportedOperationError(op, str(e)) from None


def apply(name: str, args: Sequence, params: tuple = (), conv: Any = None) -> Any:
    """Apply primitive ``name`` to scalars: traced values give a node, numbers the exact forward.

    Parameters
    ----------
    name : str
        A registered primitive (``"relu"``, ``"max"``, ...; see :data:`mtsym.primitives.PRIMITIVES`).
    args : sequence
        Traced values and/or numbers (floats are taken at their exact value).
    params : tuple
        The primitive's parameters (``(k,)`` for a k-ary max, ``(lo, hi)`` for clamp, ...).
    conv : Convention, optional
        Pin this node's tie rule whatever the table's convention is (a framework op
        carries its framework's rule).
    """
    oracle = False
    for a in args:  # the exact oracle's fast path: ints, fractions and its ExactNumbers
        t = type(a)
        if t is ExactNumber:
            oracle = True
        elif t is not int and t is not Fraction:
            break
    else:
        out = PRIMITIVES[name].numeric(list(args), params)
        if oracle and (type(out) is int or type(out) is Fraction):  # the exact oracle stays exact
            out = ExactNumber.of(out)
        return out
    for a in args:
        if isinstance(a, Value):
            return a.run.apply(name, args, params, conv)
    for a in args:  # many exact points at once (verification's batched oracle, mtsym.oracle)
        batched = getattr(type(a), "__mtsym_apply__", None)
        if batched is not None:
            return batched(name, args, params, conv)
    if any(is_infinite(a) for a in args):
        return apply_extended(name, args, params, conv)
    out = PRIMITIVES[name].numeric([exact_number(a, name) for a in args], params)
    if any(isinstance(a, ExactNumber) for a in args) and type(out) in _EXACT:  # the exact oracle stays exact
        out = ExactNumber(out)
    return out


def apply_extended(name, args, params, conv=None):
    """:func:`apply` when some arguments are infinite: the primitive's ``extended`` rule, or an error.

    ``max(x, -inf)`` is ``x`` (no node), ``relu(-inf)`` is 0; a primitive
    without an ``extended`` rule refuses infinite arguments by name.
    """
    prim = PRIMITIVES[name]
    xs = [a if isinstance(a, Value) else to_extended(a, what=f"argument of {name}") for a in args]
    bad = next((a for a in xs if is_infinite(a)), None)
    if prim.extended is None or type(bad) is not Infinite and any(is_infinite(a) for a in xs):
        raise UnsupportedOperationError(name, f"an argument is {bad}, which is not finite; mtsym needs finite "
                                        "numbers here (±inf is accepted by max/min, maximum/minimum, pooling, "
                                        "sort, relu, abs, leaky_relu and clamp)")
    r = prim.extended(xs, params)
    return apply(name, r.args, r.params, conv) if isinstance(r, Reapply) else r


def _number(o):
    return type(o) in _EXACT


_UNSUPPORTED_CALLS = {
    "__float__": "float()", "__int__": "int()", "__index__": "int()/indexing",
    "__complex__": "complex()", "__round__": "round()", "__trunc__": "math.trunc()",
    "__floor__": "math.floor()", "__ceil__": "math.ceil()",
}


def bad_operand(other, op):
    """The error for an operand that is neither a real number nor traced data (a string, a complex)."""
    kind = "complex numbers are not supported" if isinstance(other, complex) or (
        hasattr(other, "imag") and not is_exact_number(other)) else "it is not a real number or traced value"
    return UnsupportedOperationError(op, f"operand {repr(other)[:60]} of type {type(other).__name__}: {kind}")


#: Python operators mtsym does not trace (they would not be piecewise affine, or are not arithmetic)
UNSUPPORTED_OPERATORS = {
    "__floordiv__": "//", "__rfloordiv__": "//", "__mod__": "%", "__rmod__": "%", "__divmod__": "divmod()",
    "__rdivmod__": "divmod()", "__rpow__": "**", "__lshift__": "<<", "__rlshift__": "<<", "__rshift__": ">>",
    "__rrshift__": ">>", "__and__": "&", "__rand__": "&", "__or__": "|", "__ror__": "|", "__xor__": "^",
    "__rxor__": "^", "__invert__": "~",
}


def refuse_operator(op):
    """A method that refuses the operator ``op`` with an mtsym error naming it."""
    def refuse(self, *args):
        raise UnsupportedOperationError(op, f"{op} of a traced value is not an operation mtsym can trace "
                                        "(supported: + - *, / by numbers, ** by a non-negative integer, "
                                        "comparisons, mt.relu, mt.max, ...)")
    return refuse


def unknown_attribute(name):
    """The error for an attribute of a traced object that is no traceable operation."""
    if name.startswith("_"):
        raise AttributeError(name)
    raise UnsupportedOperationError(name, f"'{name}' is not an operation mtsym can trace "
                                    "(supported: + - *, / by numbers, @, mt.relu, mt.max, ...)")


def foreign_method(obj, name):
    """A framework's method on a traced object (``x.max()`` with torch's meaning), when a layer provides it."""
    if name.startswith("__"):
        return None
    hook = provided("trace.tensor_method")
    return None if hook is None else hook(obj, name)


def torch_function(cls, func, types, args=(), kwargs=None):
    """Traced values and arrays take part in torch calls (``__torch_function__``), through the torch layer."""
    hook = provided("trace.torch_function")
    if hook is None:  # pragma: no cover - import mtsym registers it
        raise UnsupportedOperationError(getattr(func, "__name__", str(func)), "torch calls need mtsym's "
                                        "torch layer: import mtsym")
    return hook(func, types, args, kwargs)


class Value:
    """A traced scalar.  Arithmetic records affine nodes; comparisons become branch nodes.

    ``float()``, ``int()``, ``bool()`` and unknown methods raise an mtsym error
    naming the operation and the line.
    """

    __slots__ = ("run", "node", "val", "lin")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.maximum(v, 0)``, ``np.abs(v)``, ``ndarray + v``: through mtsym's numpy layer."""
        hook = provided("trace.numpy_ufunc")
        if hook is None:
            return NotImplemented
        return hook(ufunc, method, *inputs, **kwargs)

    def __init__(self, run, node, val, lin):
        self.run, self.node, self.val, self.lin = run, node, val, lin

    # arithmetic ---------------------------------------------------------
    def __add__(self, other):
        o = self.run.coerce(other, "+")
        if o is None:
            raise bad_operand(other, "+")
        if isinstance(o, Value):
            return self.run.affine([(1, self), (1, o)], 0)
        if _number(o):
            return self.run.affine([(1, self)], o)
        return o.__radd__(self)

    __radd__ = __add__

    def __sub__(self, other):
        o = self.run.coerce(other, "-")
        if o is None:
            raise bad_operand(other, "-")
        if isinstance(o, Value):
            return self.run.affine([(1, self), (-1, o)], 0)
        if _number(o):
            return self.run.affine([(1, self)], -o)
        return o.__rsub__(self)

    def __rsub__(self, other):
        o = self.run.coerce(other, "-")
        if o is None:
            raise bad_operand(other, "-")
        if isinstance(o, Value):
            return NotImplemented
        if _number(o):
            return self.run.affine([(-1, self)], o)
        return o.__sub__(self)

    def __neg__(self):
        return self.run.affine([(-1, self)], 0)

    def __pos__(self):
        return self

    def __mul__(self, other):
        o = self.run.coerce(other, "*")
        if o is None:
            raise bad_operand(other, "*")
        if isinstance(o, Value):
            return self.run.apply("mul", (self, o), ())
        if _number(o):
            return self.run.affine([(o, self)], 0)
        return o.__rmul__(self)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self.run.coerce(other, "/")
        if o is None:
            raise bad_operand(other, "/")
        if not (isinstance(o, Value) or _number(o)):
            return NotImplemented
        if isinstance(o, Value):
            raise UnsupportedOperationError("/", "division by a traced value is not supported; "
                                            "divide by numbers only")
        if o == 0:
            raise UnsupportedOperationError("/", "division by zero")
        return self.run.affine([(Fraction(1) / o, self)], 0)

    def __rtruediv__(self, other):
        raise UnsupportedOperationError("/", "division by a traced value is not supported; divide by numbers only")

    def __pow__(self, k):
        if isinstance(k, int) and not isinstance(k, bool) and k >= 0:
            out = None
            for _ in range(k):
                out = self if out is None else self * out
            return self.run.const(1, "**") if out is None else out
        raise UnsupportedOperationError("**", f"only non-negative integer powers are supported, got {k!r}")

    def __abs__(self):
        return self.run.apply("abs", (self,), ())

    # comparisons: Python branches ----------------------------------------
    def _compare(self, other, op):
        o = self.run.coerce(other, op)
        if type(o) is Infinite:  # a traced value is finite: decided without a branch
            return COMPARE_OPS[op](-o.sign)
        if o is None and op not in ("==", "!="):  # == with anything else stays Python's identity test
            raise bad_operand(other, op)
        if o is None or not (isinstance(o, Value) or _number(o)):
            return NotImplemented
        return COMPARE_OPS[op](self.run.compare(self, o, op))

    def __gt__(self, o):
        return self._compare(o, ">")

    def __ge__(self, o):
        return self._compare(o, ">=")

    def __lt__(self, o):
        return self._compare(o, "<")

    def __le__(self, o):
        return self._compare(o, "<=")

    def __eq__(self, o):
        return self._compare(o, "==")

    def __ne__(self, o):
        return self._compare(o, "!=")

    __hash__ = object.__hash__

    def __bool__(self):
        raise UnsupportedOperationError("bool()", "the truth value of a traced value is undefined; "
                                        "compare it (if v > 0: ...) instead")

    def __getitem__(self, idx):
        """A traced scalar indexed as a 0-d tensor is: ``v[None]`` is a traced array of one entry."""
        a = np.empty((), dtype=object)
        a[()] = self
        try:
            r = a[idx]
        except IndexError as e:
            raise UnsupportedOperationError("indexing", f"a traced scalar has no axes to index ({e})") from None
        return self.run.coerce(r, "indexing") if isinstance(r, np.ndarray) and r.ndim else self

    __torch_function__ = classmethod(torch_function)

    def __getattr__(self, name):
        method = foreign_method(self, name)
        if method is not None:
            return method
        if name in _UNSUPPORTED_CALLS:
            op = _UNSUPPORTED_CALLS[name]

            def refuse(*a, **k):
                raise UnsupportedOperationError(op, f"{op} of a traced value would drop the trace; "
                                                "use mtsym operations (mt.relu, mt.max, ...) instead")
            return refuse
        unknown_attribute(name)

    def __repr__(self):
        return f"Value(n{self.node})"


for _name in _UNSUPPORTED_CALLS:
    setattr(Value, _name, (lambda nm: lambda self, *a: Value.__getattr__(self, nm)())(_name))
for _name, _op in UNSUPPORTED_OPERATORS.items():
    setattr(Value, _name, refuse_operator(_op))
