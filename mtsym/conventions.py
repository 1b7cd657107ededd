"""Conventions: which associated derivative a primitive takes on its tie cases.

A :class:`Convention` is a named set of parameters, one per kind of tie:

============  ====================================================  =====  =====  =====  =====  =====
parameter     meaning                                               torch  jax    first  last   mean
============  ====================================================  =====  =====  =====  =====  =====
``relu0``     relu'(0), relu(x) = max(0, x)                          0      0      0      1      1/2
``abs0``      abs'(0), abs(x) = max(x, -x)                           0      1      1      -1     0
``leaky0``    leaky_relu'(0): ``"slope"``, ``"one"``, ``"mean"``     slope  one    one    slope  mean
              or a number
``maximum``   weight of the first argument of ``maximum(a, b)``      1/2    1/2    1      0      1/2
              (and ``minimum``) at ``a = b``; the second gets 1 - w
``reduce``    ``max(x)``/``min(x)`` over k tied entries:             mean   mean   first  last   mean
              ``"mean"`` (1/k each), ``"first"``, ``"last"``
``pool``      max-pooling window ties: ``"first"`` (row-major),     first  first  first  last   mean
              ``"last"``, ``"mean"``
``clamp``     clamp'(x) at a bound; ``None`` = as                    1      None   None   None   None
              ``minimum(maximum(x, lo), hi)`` (1/2, or 1/4 when
              ``lo == hi`` under ``maximum = 1/2``)
============  ====================================================  =====  =====  =====  =====  =====

``torch`` and ``jax`` are the values measured in the frameworks (see the
conventions page of the documentation).  ``first``/``last`` send a tie to the
first/last tied argument, ``mean`` averages the tied branches' gradients (eq. (20)
of the paper).  Numeric parameters may be sympy symbols, which makes the table
parametric (section 4.1 of the paper)::

    mt.Convention("torch", relu0=sympy.Symbol("z"))

Python's own ``if``, builtin ``max``/``min`` (they compare with ``>``/``<``, the
first wins) need no convention: the code says what happens at a tie.

Examples
--------
>>> Convention("torch").relu0
0
>>> Convention("jax", relu0="1/2").relu0
Fraction(1, 2)
>>> Convention.get("mean").reduce
'mean'
"""

__all__ = ["Convention", "NAMED", "PARAMETERS"]

from fractions import Fraction

import sympy as sp

from .errors import ConventionError
from .exact import to_exact

_H = Fraction(1, 2)

PARAMETERS = ("relu0", "abs0", "leaky0", "maximum", "reduce", "pool", "clamp")
_CATEGORICAL = {
    "reduce": ("mean", "first", "last"),
    "pool": ("first", "last", "mean"),
    "leaky0": ("slope", "one", "mean"),
}

NAMED = {
    "torch": dict(relu0=0, abs0=0, leaky0="slope", maximum=_H, reduce="mean", pool="first", clamp=1),
    "jax": dict(relu0=0, abs0=1, leaky0="one", maximum=_H, reduce="mean", pool="first", clamp=None),
    "first": dict(relu0=0, abs0=1, leaky0="one", maximum=1, reduce="first", pool="first", clamp=None),
    "last": dict(relu0=1, abs0=-1, leaky0="slope", maximum=0, reduce="last", pool="last", clamp=None),
    "mean": dict(relu0=_H, abs0=0, leaky0="mean", maximum=_H, reduce="mean", pool="mean", clamp=None),
}


def _param_value(key, v):
    if key in _CATEGORICAL and isinstance(v, str) and v in _CATEGORICAL[key]:
        return v
    if key in ("reduce", "pool"):
        raise ConventionError(f"convention parameter {key}={v!r}: choose one of {_CATEGORICAL[key]}")
    if v is None and key == "clamp":
        return None
    if isinstance(v, sp.Basic) and not v.is_number:
        return v
    try:
        return to_exact(v, what=f"convention parameter {key}")
    except Exception as e:
        raise ConventionError(f"convention parameter {key}={v!r} is not a number, a sympy "
                              f"expression or one of the allowed words") from e


class Convention:
    """A named convention, optionally with parameters overridden.

    Parameters
    ----------
    base : str or Convention
        ``"torch"``, ``"jax"``, ``"first"``, ``"last"`` or ``"mean"``.
    **params
        Overrides, e.g. ``relu0=sympy.Symbol("z")``; see the module table.
    """

    __slots__ = ("name",) + PARAMETERS

    def __init__(self, base="torch", **params):
        if isinstance(base, Convention):
            values = {k: getattr(base, k) for k in PARAMETERS}
            name = base.name
        else:
            if base not in NAMED:
                raise ConventionError(f"unknown convention {base!r}: choose one of {sorted(NAMED)}")
            values = dict(NAMED[base])
            name = base
        for k, v in params.items():
            if k not in PARAMETERS:
                raise ConventionError(f"unknown convention parameter {k!r}: the parameters are "
                                      f"{', '.join(PARAMETERS)}")
            values[k] = _param_value(k, v)
        if params:
            name = name + "(" + ", ".join(f"{k}={values[k]}" for k in params) + ")"
        self.name = name
        for k, v in values.items():
            object.__setattr__(self, k, v)

    @classmethod
    def get(cls, conv):
        """A Convention from a name or a Convention."""
        return conv if isinstance(conv, Convention) else cls(conv)

    def symbols(self):
        """The sympy symbols this convention's parameters contain."""
        out = set()
        for k in PARAMETERS:
            v = getattr(self, k)
            if isinstance(v, sp.Basic):
                out |= v.free_symbols
        return out

    def params(self):
        """The parameters as a dict."""
        return {k: getattr(self, k) for k in PARAMETERS}

    def __eq__(self, other):
        return isinstance(other, Convention) and self.params() == other.params()

    def __hash__(self):
        return hash(tuple(str(v) for v in self.params().values()))

    def __repr__(self):
        return f"Convention({self.name!r})"
