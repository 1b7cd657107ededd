"""Object arrays of traced values and exact numbers: what framework tensors become while tracing.

A framework op on traced data works on numpy object arrays whose entries are
:class:`~mtsym.trace.Value` objects or exact numbers (``int``/``Fraction``).
This module converts in and out of that form, broadcasts elementwise rules and
reduces along axes.  It never imports a framework: a tensor is recognised by
its type's module and converted through its own methods.

Examples
--------
>>> from fractions import Fraction
>>> a = as_array([[1, 2], [3, 0.5]], "demo")
>>> a.shape, a[1, 1]
((2, 2), Fraction(1, 2))
>>> emap(lambda u, v: u + v, as_array([1, 2], "+"), as_array(10, "+")).tolist()
[11, 12]
>>> reduce_axes(as_array([[1, 5], [3, 2]], "max"), 1, False, max).tolist()
[5, 3]
"""

__all__ = ["as_array", "exact_array", "wrap", "emap", "reduce_axes", "along", "is_foreign_array", "DataDependent",
           "reducer", "normalize_axis", "refuse_kind", "WHY"]

from fractions import Fraction

import numpy as np

from ..errors import InputError, UnsupportedOperationError
from ..extensions import register
from ..exact import Infinite, is_exact_number, to_extended
from ..arrays import Array
from ..value import Value, apply


def is_foreign_array(x):
    """True for a torch tensor or a jax/numpy-like array of a framework (not traced)."""
    return type(x).__module__.partition(".")[0] in ("torch", "jax", "jaxlib")


def exact_array(x, op):
    """A framework tensor (or numpy array) as an object array of exact numbers.

    Floats become the exact rationals they represent (float32 values too: the
    conversion to float64 is exact); ``±inf`` become :class:`~mtsym.exact.Infinite`
    (the identity of max/min), ``nan`` :data:`~mtsym.exact.NAN` (refused where used).
    """
    if hasattr(x, "detach"):  # torch: drop autograd, go to CPU
        x = x.detach().cpu()
        if x.is_floating_point():
            x = x.double()
        elif x.is_complex():
            raise UnsupportedOperationError(op, "complex tensors are not supported")
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and np.isfinite(arr).all():    # finite floats: their exact ratios, in bulk
        flat = np.empty(arr.size, dtype=object)
        flat[:] = [_exact_float(v) for v in arr.astype(np.float64).ravel().tolist()]
        return flat.reshape(arr.shape)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        try:
            out[idx] = to_extended(v.item() if hasattr(v, "item") else v, what=f"tensor entry in {op}")
        except InputError as e:
            raise UnsupportedOperationError(op, str(e)) from None
    return out


def _exact_float(v):
    """A finite float as the exact rational it represents (``int`` when whole), as ``to_exact``."""
    n, d = v.as_integer_ratio()              # in lowest terms
    return n if d == 1 else Fraction(n, d)


def as_array(x, op):
    """Any tensor-like argument as an object array (Values and exact numbers)."""
    if isinstance(x, Array):
        return x.a
    if isinstance(x, Value):
        out = np.empty((), dtype=object)
        out[()] = x
        return out
    if isinstance(x, DataDependent):
        x.refuse()
    if is_foreign_array(x) or isinstance(x, np.ndarray) and x.dtype != object:
        return exact_array(x, op)
    if isinstance(x, (list, tuple)):
        parts = [as_array(v, op) for v in x]
        if not parts:
            return np.empty((0,), dtype=object)
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise UnsupportedOperationError(op, f"nested sequence with ragged shapes {sorted(shapes)}")
        out = np.empty((len(parts),) + parts[0].shape, dtype=object)
        for i, p in enumerate(parts):
            if p.ndim:
                out[i] = p
            else:
                out[i] = p[()]
        return out
    if isinstance(x, np.ndarray):
        return x
    if is_exact_number(x) or type(x) is Infinite:
        out = np.empty((), dtype=object)
        try:
            out[()] = to_extended(x, what=f"number in {op}")
        except InputError as e:
            raise UnsupportedOperationError(op, str(e)) from None
        return out
    raise UnsupportedOperationError(op, f"argument of type {type(x).__name__} is not a tensor, traced value "
                                    "or number")


def wrap(a):
    """An object array back to user land: 0-d -> its entry (Value or number), else an Array."""
    if a.ndim == 0:
        return a[()]
    return Array(a)


def emap(fn, *arrays):
    """``fn`` applied entrywise after numpy broadcasting; returns an object array."""
    try:
        b = np.broadcast(*arrays)
    except ValueError:
        raise UnsupportedOperationError(getattr(fn, "__name__", "elementwise op"),
                                        "shapes " + ", ".join(str(a.shape) for a in arrays)
                                        + " do not broadcast") from None
    out = np.empty(b.shape, dtype=object)
    flat = out.reshape(-1) if out.ndim else out.reshape(1)
    for i, vals in enumerate(b):
        flat[i] = fn(*vals)
    return out


def normalize_axis(axis, ndim, op):
    """A possibly negative axis as an index in ``range(ndim)`` (a 0-d array has axis 0/-1 too)."""
    n = max(ndim, 1)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not -n <= axis < n:
        raise UnsupportedOperationError(op, f"dim={axis!r} is out of range for a {ndim}-D input")
    return int(axis) % n


def reduce_axes(a, axes, keepdim, fn):
    """Reduce ``a`` over ``axes`` (int, tuple, or None for all): ``fn(list_of_entries)`` per slice.

    Entries of a slice are listed in row-major order of the reduced axes.
    """
    if a.ndim == 0:
        return a if not keepdim else a
    if axes is None or axes == ():
        axes = tuple(range(a.ndim))
    elif not isinstance(axes, (tuple, list)):
        axes = (axes,)
    axes = tuple(sorted({normalize_axis(ax, a.ndim, "reduction") for ax in axes}))
    keep = [d for d in range(a.ndim) if d not in axes]
    moved = np.transpose(a, keep + list(axes))
    kshape = tuple(a.shape[d] for d in keep)
    k = int(np.prod([a.shape[d] for d in axes], dtype=int))
    flat = moved.reshape(kshape + (k,))
    out = np.empty(kshape, dtype=object)
    for idx in np.ndindex(*kshape):
        out[idx] = fn(list(flat[idx]))
    if keepdim:
        out = out.reshape(tuple(1 if d in axes else a.shape[d] for d in range(a.ndim)))
    return out


class DataDependent:
    """A result whose values or shape depend on the input data (``torch.max(x, 0).indices``).

    Any use raises an :class:`~mtsym.errors.UnsupportedOperationError` naming
    the operation that produced it.
    """

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def refuse(self, *args, **kwargs):
        raise UnsupportedOperationError(self.op, "its result depends on the input's values (indices, "
                                        "data-dependent shape); mtsym traces values, not indices")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self.refuse()

    __getitem__ = __iter__ = __len__ = __index__ = __int__ = __float__ = __bool__ = refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __eq__ = __lt__ = __gt__ = refuse
    __array__ = refuse
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<data-dependent result of {self.op}>"


def along(a, dim, fn, op):
    """Apply ``fn(list of entries) -> list of m entries`` to every slice of ``a`` along ``dim``."""
    if a.ndim == 0:
        a = a.reshape(1)
        dim = 0
    d = normalize_axis(dim, a.ndim, op)
    moved = np.moveaxis(a, d, -1)
    rows = [fn(list(moved[idx])) for idx in np.ndindex(*moved.shape[:-1])]
    m = len(rows[0]) if rows else 0
    out = np.empty(moved.shape[:-1] + (m,), dtype=object)
    for idx, r in zip(np.ndindex(*moved.shape[:-1]), rows):
        for j, v in enumerate(r):
            out[idx + (j,)] = v
    return np.moveaxis(out, -1, d)


def reducer(prim, conv):
    """A k-ary ``prim`` node ("max", "min") over a list of entries, with the framework's rule ``conv``."""
    def red(xs):
        if not xs:
            raise UnsupportedOperationError(prim, "reduction over an empty array")
        return xs[0] if len(xs) == 1 else apply(prim, xs, (len(xs),), conv)
    return red


#: why an operation is refused, by kind (each framework layer files its refused names under these)
WHY = {
    "nonlinear": "is not piecewise linear; mtsym traces max, relu, clamp, sort, pooling and affine maps (its "
                 "pieces would not be polyhedra)",
    "discontinuous": "is discontinuous (it rounds or takes a sign); mtsym traces continuous piecewise-linear maps",
    "data": "its result or control flow depends on the input's values (indices, a shape, loops); mtsym "
            "traces values through max/relu/affine operations",
    "random": "draws random numbers (or uninitialised memory): the result is not a function of the input",
}


def refuse_kind(op, name, kinds, otherwise):
    """Refuse ``op``: the reason of the first ``(names, kind or reason)`` of ``kinds`` holding ``name``,
    else ``otherwise``."""
    for names, why in kinds:
        if name in names:
            raise UnsupportedOperationError(op, WHY.get(why, why))
    raise UnsupportedOperationError(op, otherwise)


register("trace.foreign_array", exact_array)
