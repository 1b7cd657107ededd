"""Traced arrays: what a vector input ``x`` is, and ``@`` with numeric matrices.

An :class:`Array` wraps a numpy object array of :class:`~mtsym.value.Value`
(or exact numbers, when the same user code runs as an exact oracle).  A
product with a numeric matrix makes one ``affine`` node per output entry.

:func:`lincomb` and :func:`matmul` are the public helpers for linear maps
(framework front ends build on them): exact on numbers, one ``affine`` node
per traced result.

Examples
--------
>>> lincomb([2, -1], [3, 4], 1)
3
>>> matmul([[1, 2], [3, 4]], [1, 1]).tolist()
[3, 7]
"""

from __future__ import annotations

__all__ = ["Array", "lincomb", "matmul", "as_exact_array", "coerce"]

from typing import Any, Sequence
from fractions import Fraction

import numpy as np

from .errors import InputError, UnsupportedOperationError
from .exact import NAN, Infinite, is_exact_number, to_extended
from .extensions import provided
from .value import (UNSUPPORTED_OPERATORS, Value, apply, foreign_method, refuse_operator, torch_function,
                    unknown_attribute)

_FRAMEWORK_MODULES = ("torch", "jax", "jaxlib")


def coerce(other, op):
    """User data next to a traced value: a Value, an exact number, an :class:`Array`, or ``None``.

    Lists, tuples and numpy arrays become Arrays; numbers become exact (floats at
    their exact value); anything else is ``None`` (the operation is not defined).
    """
    if isinstance(other, (Value, Array)):
        return other
    if isinstance(other, (np.ndarray, list, tuple)) or _is_foreign(other):
        return Array(as_exact_array(other, op))
    if is_exact_number(other) or type(other) is Infinite:
        try:
            c = to_extended(other, what=f"number in {op}")
        except InputError as e:
            raise UnsupportedOperationError(op, str(e)) from None
        if c is NAN:
            raise UnsupportedOperationError(op, "number nan is not finite; mtsym needs finite numbers")
        return c
    return None


def _is_foreign(x):
    return type(x).__module__.partition(".")[0] in _FRAMEWORK_MODULES and hasattr(x, "shape")


def as_exact_array(x, op):
    """A numpy object array of exact numbers / Values from user data (lists, numpy, framework tensors)."""
    if isinstance(x, Array):
        return x.a
    if _is_foreign(x):
        hook = provided("trace.foreign_array")
        if hook is not None:
            return hook(x, op)
    arr = np.asarray(x, dtype=object)
    flat = arr.ravel()
    for i, v in enumerate(flat):
        if isinstance(v, (Value, Array, Fraction)) or type(v) is int:   # exact already (ExactNumber kept)
            continue
        if getattr(type(v), "__mtsym_apply__", None) is not None:  # exact points in a batch (mtsym.oracle)
            continue
        c = coerce(v, op)
        if c is None:
            raise UnsupportedOperationError(op, f"entry {v!r} of type {type(v).__name__} is not a number")
        flat[i] = c
    return flat.reshape(arr.shape)


def lincomb(coefs: Sequence, items: Sequence, const: Any = 0) -> Any:
    """``const + sum(c * v)``: one affine node when any item is traced, else the exact number."""
    terms = [(c, v) for c, v in zip(coefs, items) if c != 0]
    traced = [(c, v) for c, v in terms if isinstance(v, Value)]
    plain = sum((c * v for c, v in terms if not isinstance(v, Value)), const)
    if not traced:
        # zero coefficients on traced items: the result is still traced (a constant node)
        first = next((v for v in items if isinstance(v, Value)), None)
        return plain if first is None else first.run.const(plain, "linear combination")
    return traced[0][1].run.affine(traced, plain)


def matmul(a: Any, b: Any) -> np.ndarray:
    """``a @ b`` of 1-D/2-D object arrays, Arrays or nested lists (traced values and/or numbers).

    Returns an object array (0-d for two vectors), numpy's shape rules; each
    traced entry is one affine node.
    """
    A = a.a if isinstance(a, Array) else as_exact_array(a, "@")
    B = b.a if isinstance(b, Array) else as_exact_array(b, "@")
    return _matmul(A, B)


class Array:
    """A traced (or exact) array: what a vector input ``x`` is.

    Supports ``len``, indexing and slicing, iteration, ``+ - *`` and ``/`` by
    numbers elementwise, ``@`` with numpy arrays or nested lists of numbers
    (one affine node per output entry), ``.T``, ``reshape``, ``flatten``,
    ``sum``, ``tolist``, and the numpy functions ``np.maximum``,
    ``np.minimum``, ``np.abs``.
    """

    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a

    # container --------------------------------------------------------------
    def __len__(self):
        return len(self.a)

    def __getitem__(self, idx):
        r = self.a[idx]
        return Array(r) if isinstance(r, np.ndarray) else r

    def __iter__(self):
        for r in self.a:
            yield Array(r) if isinstance(r, np.ndarray) else r

    @property
    def shape(self):
        return self.a.shape

    @property
    def ndim(self):
        return self.a.ndim

    @property
    def T(self):
        return Array(self.a.T)

    def reshape(self, *shape):
        return Array(self.a.reshape(*shape))

    def flatten(self, start_dim=0, end_dim=-1):
        """All axes into one (``torch.flatten``'s ``start_dim``/``end_dim`` select a range)."""
        a = self.a
        if a.ndim == 0:
            return Array(a.reshape(1))
        s, e = (_axis(d, a.ndim, "flatten") for d in (start_dim, end_dim))
        return Array(a.reshape(a.shape[:s] + (int(np.prod(a.shape[s:e + 1], dtype=int)),) + a.shape[e + 1:]))

    def tolist(self):
        return self.a.tolist()

    def sum(self, *args, **kwargs):
        """The sum of all entries (one affine node); with arguments, torch's ``sum(dim, keepdim)`` or
        numpy's ``sum(axis=..., keepdims=...)``."""
        if not args and not kwargs:
            return lincomb([1] * self.a.size, list(self.a.ravel()))
        return _foreign(self, "sum")(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        return self.a

    # arithmetic ---------------------------------------------------------------
    def _bin(self, other, fn, op):
        if isinstance(other, Value):  # elementwise by hand: numpy would defer back to the Value
            out = np.empty(self.a.shape, dtype=object)
            for i, v in np.ndenumerate(self.a):
                out[i] = fn(v, other)
            return Array(out)
        o = other.a if isinstance(other, Array) else as_exact_array(other, op)
        return Array(fn(self.a, o))

    def __add__(self, o):
        return self._bin(o, lambda a, b: a + b, "+")

    def __radd__(self, o):
        return self._bin(o, lambda a, b: b + a, "+")

    def __sub__(self, o):
        return self._bin(o, lambda a, b: a - b, "-")

    def __rsub__(self, o):
        return self._bin(o, lambda a, b: b - a, "-")

    def __mul__(self, o):
        return self._bin(o, lambda a, b: a * b, "*")

    def __rmul__(self, o):
        return self._bin(o, lambda a, b: b * a, "*")

    def __truediv__(self, o):
        return self._bin(o, lambda a, b: a / b, "/")

    def __neg__(self):
        return Array(-self.a)

    def __pos__(self):
        return self

    def __abs__(self):
        return Array(_elementwise(abs, self.a))

    def __matmul__(self, other):
        fast = _matmul_numeric(self.a, other, left=True)
        if fast is not None:
            return _wrap(fast)
        return _wrap(_matmul(self.a, as_exact_array(other, "@")))

    def __rmatmul__(self, other):
        fast = _matmul_numeric(self.a, other, left=False)
        if fast is not None:
            return _wrap(fast)
        return _wrap(_matmul(as_exact_array(other, "@"), self.a))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        hook = provided("trace.numpy_ufunc")
        if hook is not None:
            return hook(ufunc, method, *inputs, **kwargs)
        fn = _UFUNCS.get(ufunc)
        if method != "__call__" or fn is None or kwargs:
            raise UnsupportedOperationError(f"numpy.{ufunc.__name__}", "this numpy function is not an "
                                            "operation mtsym can trace")
        args = []
        for x in inputs:
            if isinstance(x, (np.ndarray, list)):
                x = Array(as_exact_array(x, ufunc.__name__))
            elif isinstance(x, np.generic):  # a numpy scalar, e.g. W[0, 0]: an exact number
                x = coerce(x, ufunc.__name__)
            args.append(x)
        return fn(*args)

    def __array_function__(self, func, types, args, kwargs):
        hook = provided("trace.numpy_function")
        if hook is None:
            raise UnsupportedOperationError(f"numpy.{func.__name__}", "numpy functions on traced arrays need "
                                            "mtsym's numpy layer: import mtsym")
        return hook(func, types, args, kwargs)

    def __bool__(self):
        """A vector of traced values is a non-empty sequence (``if not x`` is False, as for a list);
        numbers follow numpy (one entry: its truth value)."""
        a = self.a
        if a.size == 0:
            return False
        if any(isinstance(v, Value) for v in a.flat):
            if a.ndim == 1:
                return True
            raise UnsupportedOperationError("bool()", "the truth value of a traced array is undefined; compare "
                                            "its entries (x[0] > x[1]) instead")
        if a.size == 1:
            return bool(a.flat[0])
        raise UnsupportedOperationError("bool()", "the truth value of an array with more than one entry is "
                                        "ambiguous; use .all() or .any()")

    def _compare(self, other, fn, op):
        o = other.a if isinstance(other, Array) else other
        if not isinstance(o, Value):
            o = as_exact_array(o, op)
        return Array(_elementwise(fn, self.a, o))

    def __gt__(self, o):
        """Entry by entry, each a Python comparison (a branch: every outcome is explored)."""
        return self._compare(o, lambda u, v: u > v, ">")

    def __ge__(self, o):
        return self._compare(o, lambda u, v: u >= v, ">=")

    def __lt__(self, o):
        return self._compare(o, lambda u, v: u < v, "<")

    def __le__(self, o):
        return self._compare(o, lambda u, v: u <= v, "<=")

    def __eq__(self, o):
        return self._compare(o, lambda u, v: u == v, "==")

    def __ne__(self, o):
        return self._compare(o, lambda u, v: u != v, "!=")

    __hash__ = object.__hash__

    def _logical(self, other, fn, op):
        o = other.a if isinstance(other, Array) else as_exact_array(other, op)

        def entry(u, v):
            if isinstance(u, Value) or isinstance(v, Value):
                raise UnsupportedOperationError(op, "logical operators take comparison results (decided entry "
                                                "by entry), not traced values")
            return fn(bool(u), bool(v))
        return Array(_elementwise(entry, self.a, o))

    def __and__(self, o):
        """Logical and of comparison results (``(x > 0) & (x < 1)``)."""
        return self._logical(o, lambda u, v: u and v, "&")

    __rand__ = __and__

    def __or__(self, o):
        return self._logical(o, lambda u, v: u or v, "|")

    __ror__ = __or__

    def __invert__(self):
        return self._logical(True, lambda u, v: not u, "~")

    def __pow__(self, k):
        """Entry by entry for an array of numbers; a power of traced values is refused (use ``x * x``)."""
        if any(isinstance(v, Value) for v in self.a.flat):
            refuse_operator("**")(self)
        return Array(_elementwise(lambda u: u ** k, self.a))

    def __setitem__(self, idx, value):
        raise UnsupportedOperationError("item assignment", "in-place changes of a traced array are not "
                                        "traced; build a new array (torch.stack, torch.cat, list) instead")

    __torch_function__ = classmethod(torch_function)

    def __getattr__(self, name):
        if name == "a":  # not yet set (copy, pickle)
            raise AttributeError(name)
        method = foreign_method(self, name)
        if method is not None:
            return method
        unknown_attribute(name)

    def __repr__(self):
        return f"Array({self.a.tolist()!r})"


for _name, _op in {**UNSUPPORTED_OPERATORS, "__rtruediv__": "/"}.items():
    if _name not in Array.__dict__:  # Array defines ** (entry by entry) and & | ~ (of comparison results)
        setattr(Array, _name, refuse_operator(_op))


def _foreign(obj, name):
    """The torch (or numpy, with ``axis=``) meaning of a method, from the layer that provides it."""
    method = foreign_method(obj, name)
    if method is None:
        unknown_attribute(name)
    return method


def _wrap(r):
    return r.item() if r.ndim == 0 else Array(r)


def _axis(d, ndim, op):
    if not isinstance(d, int) or not -ndim <= d < ndim:
        raise UnsupportedOperationError(op, f"dimension {d!r} is out of range for {ndim} dimensions")
    return d % ndim


def _elementwise(fn, *arrays):
    """``fn`` entry by entry over object arrays of one shape (numbers, Values); broadcasting as numpy."""
    arrays = np.broadcast_arrays(*[a if isinstance(a, np.ndarray) else np.array(a, dtype=object) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=object)
    for idx in np.ndindex(out.shape):
        out[idx] = fn(*(a[idx] for a in arrays))
    return out


def _binary_map(name):
    def fn(a, b):
        A = a.a if isinstance(a, Array) else np.asarray(a, dtype=object)
        B = b.a if isinstance(b, Array) else np.asarray(b, dtype=object)
        return _wrap(_elementwise(lambda u, v: apply(name, (u, v), (2,)), A, B))
    return fn


#: numpy ufuncs on traced arrays
_UFUNCS = {np.add: lambda a, b: a + b, np.subtract: lambda a, b: a - b,
           np.multiply: lambda a, b: a * b, np.true_divide: lambda a, b: a / b,
           np.matmul: lambda a, b: a @ b, np.maximum: _binary_map("maximum"), np.minimum: _binary_map("minimum"),
           np.negative: lambda a: -a, np.absolute: lambda a: abs(a)}


def _exact_entries(M):
    """The entries of a numeric (int/float) ndarray as exact ``int``/``Fraction``, as nested lists."""
    if M.dtype.kind in "iub":
        return M.astype(object).tolist() if M.dtype.kind == "u" else M.astype(np.int64).tolist()
    if not np.isfinite(M).all():
        raise UnsupportedOperationError("@", "the matrix has non-finite entries; mtsym needs finite numbers")
    ints = M == np.round(M)
    out = M.astype(object)
    flat, iflat = out.ravel(), ints.ravel()
    for i, v in enumerate(flat):
        if iflat[i]:
            flat[i] = int(v)
        else:
            num, den = v.as_integer_ratio()
            flat[i] = Fraction(num, den)
    return out.tolist()


def _matmul_numeric(T, other, left):
    """``T @ other`` (``left``) or ``other @ T`` for a numeric int/float matrix: the fast path.

    Same graph as :func:`_matmul` (one affine node per output entry, exact
    coefficients, zero coefficients dropped) without per-entry Python number
    checks.  ``None`` when it does not apply (``T`` not all traced, ``other``
    not a plain numeric array).
    """
    M = other if isinstance(other, np.ndarray) else None
    if M is None and isinstance(other, (list, tuple)):
        try:
            M = np.asarray(other)
        except (ValueError, TypeError):
            return None
    if M is None or M.dtype.kind not in "iubf" or T.ndim not in (1, 2) or M.ndim not in (1, 2):
        return None
    if not all(isinstance(v, Value) for v in T.flat):
        return None
    A, B = (T, M) if left else (M, T)
    A1, B1 = A.ndim == 1, B.ndim == 1
    A2 = A.reshape(1, -1) if A1 else A
    B2 = B.reshape(-1, 1) if B1 else B
    if A2.shape[1] != B2.shape[0]:
        raise UnsupportedOperationError("@", f"shapes {A.shape} and {B.shape} do not match")
    # the numeric matrix as rows of coefficients, one row per output entry along its free axis
    coefs = _exact_entries(np.ascontiguousarray(B2.T if left else A2))
    traced = A2 if left else B2.T
    out = np.empty((A2.shape[0], B2.shape[1]), dtype=object)
    for r in range(traced.shape[0]):
        vals = list(traced[r])
        for k, row in enumerate(coefs):
            terms = [(c, v) for c, v in zip(row, vals) if c != 0]
            if terms:
                node = apply("affine", [v for _, v in terms], (tuple(c for c, _ in terms), 0))
            else:  # an all-zero row: still a traced value (a constant), as framework code expects a tensor
                node = vals[0].run.const(0, "@") if vals else 0
            if left:
                out[r, k] = node
            else:
                out[k, r] = node
    return _unsqueeze_back(out, A1, B1)


def _unsqueeze_back(out, A1, B1):
    """Drop the axes a 1-D operand of ``@`` was given (numpy's matmul rule)."""
    if A1 and B1:
        return out.reshape(())
    if A1:
        return out[0]
    if B1:
        return out[:, 0]
    return out


def _matmul(A, B):
    """Object-array matmul with one affine node per output entry."""
    A1, B1 = A.ndim == 1, B.ndim == 1
    A2 = A.reshape(1, -1) if A1 else A
    B2 = B.reshape(-1, 1) if B1 else B
    if A2.ndim != 2 or B2.ndim != 2 or A2.shape[1] != B2.shape[0]:
        raise UnsupportedOperationError("@", f"shapes {A.shape} and {B.shape} do not match")
    out = np.empty((A2.shape[0], B2.shape[1]), dtype=object)
    for i in range(A2.shape[0]):
        row = list(A2[i])
        row_traced = any(isinstance(v, Value) for v in row)
        for j in range(B2.shape[1]):
            col = list(B2[:, j])
            if row_traced and any(isinstance(v, Value) for v in col):
                out[i, j] = sum((a * b for a, b in zip(row, col)), 0)
            elif row_traced:
                out[i, j] = lincomb(col, row)
            else:
                out[i, j] = lincomb(row, col)
    return _unsqueeze_back(out, A1, B1)
