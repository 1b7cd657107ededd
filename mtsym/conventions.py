"""Conventions: which associated derivative a primitive takes on its tie cases.

A :class:`Convention` is a named set of parameters, one per kind of tie.  The
parameters are declared by the primitives themselves (each
:class:`~mtsym.primitives.TieParam` gives its value under every named
convention), so the table below is built from the declarations:
``help(mt.Convention)`` shows it.

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
>>> print(parameter_table().splitlines()[3].split()[0], parameter_table().splitlines()[3].split()[-5:])
relu0 ['0', '0', '0', '1', '1/2']
"""

from __future__ import annotations

__all__ = ["Convention", "NAMED", "PARAMETERS", "parameter_table", "symbol_values", "check_symbols"]

from typing import Any
import sympy as sp

from .errors import ConventionError, MtsymError
from .exact import to_exact
from .primitives import NAMED_CONVENTIONS, TIE_PARAMS

#: the named conventions
NAMED = NAMED_CONVENTIONS


class _Parameters:
    """The parameter names, read from the declarations each time (a primitive registered later adds its own)."""

    def __iter__(self):
        return iter(tuple(TIE_PARAMS))

    def __len__(self):
        return len(TIE_PARAMS)

    def __contains__(self, k):
        return k in TIE_PARAMS

    def __repr__(self):
        return repr(tuple(TIE_PARAMS))


#: the convention parameters (declared by the primitives)
PARAMETERS = _Parameters()


def _param_value(key, v):
    t = TIE_PARAMS[key]
    if isinstance(v, str) and v in t.choices:
        return v
    if v is None and t.none is not None:
        return None
    if not t.numeric:
        raise ConventionError(f"convention parameter {key}={v!r}: choose one of {t.choices}")
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
        Overrides, e.g. ``relu0=sympy.Symbol("z")``; the parameters are in the table below.
    """

    def __init__(self, base: str | Convention = "torch", **params: Any) -> None:
        if isinstance(base, Convention):
            overrides, name, root = dict(base._overrides), base.name, base.base
        else:
            if base not in NAMED:
                raise ConventionError(f"unknown convention {base!r}: choose one of {sorted(NAMED)}")
            overrides, name, root = {}, base, base
        for k, v in params.items():
            if k not in TIE_PARAMS:
                raise ConventionError(f"unknown convention parameter {k!r}: the parameters are "
                                      f"{', '.join(TIE_PARAMS)}")
            overrides[k] = _param_value(k, v)
        if params:
            name = name + "(" + ", ".join(f"{k}={overrides[k]}" for k in params) + ")"
        self._set(name, root, overrides)

    def _set(self, name, base, overrides):
        d = self.__dict__
        d.update({k: t.values[base] for k, t in TIE_PARAMS.items()})  # plain attributes: read in hot loops
        d.update(overrides)
        d["name"], d["base"], d["_overrides"] = name, base, overrides

    def __getattr__(self, key):  # a parameter declared after this convention was made
        t = TIE_PARAMS.get(key)
        if t is None or key.startswith("_") or "base" not in self.__dict__:
            raise AttributeError(key)
        return t.values[self.base]

    def __setattr__(self, key, value):
        raise AttributeError("a Convention is immutable: build a new one, Convention(base, **params)")

    def __reduce__(self):
        return (Convention.restore, (self.name, self.base, self._overrides))

    @classmethod
    def get(cls, conv: "str | Convention") -> "Convention":
        """A Convention from a name or a Convention."""
        return conv if isinstance(conv, Convention) else cls(conv)

    @classmethod
    def restore(cls, name: str, base: str, values: dict) -> "Convention":
        """A convention with exactly these parameter values (read from a file); missing
        parameters take ``base``'s value."""
        if base not in NAMED:
            raise ConventionError(f"unknown convention {base!r}: choose one of {sorted(NAMED)}")
        overrides = {}
        for k, v in values.items():
            if k not in TIE_PARAMS:
                raise ConventionError(f"unknown convention parameter {k!r}")
            overrides[k] = _param_value(k, v)
        c = cls.__new__(cls)
        c._set(name, base, overrides)
        return c

    def symbols(self) -> set:
        """The sympy symbols this convention's parameters contain."""
        out = set()
        for v in self.params().values():
            if isinstance(v, sp.Basic):
                out |= v.free_symbols
        return out

    def params(self) -> dict:
        """The parameters as a dict (every declared parameter)."""
        return {k: getattr(self, k) for k in TIE_PARAMS}

    def __eq__(self, other):
        return isinstance(other, Convention) and self.params() == other.params()

    def __hash__(self):
        return hash(tuple(str(v) for v in self.params().values()))

    def __repr__(self):
        return f"Convention({self.name!r})"


def symbol_values(params, symbols, what="params"):
    """Values of convention symbols from a user's ``params`` dict, as ``{Symbol: Rational}``.

    A key is one of ``symbols`` (a sympy Symbol) or its name, looked up, never
    parsed; a value is a finite real number, taken exactly (a float at its exact
    value, ``"1/2"`` read as a fraction).  Nothing is evaluated.

    Examples
    --------
    >>> z = sp.Symbol("z")
    >>> symbol_values({"z": 0.5}, {z}), symbol_values({z: "1/3"}, {z})
    ({z: 1/2}, {z: 1/3})
    >>> symbol_values({"__import__('os')": 1}, {z})
    Traceback (most recent call last):
    ...
    mtsym.errors.ConventionError: params: "__import__('os')" is not a convention symbol here (the symbols are z)
    """
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ConventionError(f"{what} must be a dict {{symbol: value}}, got {type(params).__name__}")
    by_name = {s.name: s for s in symbols}
    out = {}
    for key, v in params.items():
        name = key.name if isinstance(key, sp.Symbol) else key if isinstance(key, str) else None
        sym = by_name.get(name)
        if sym is None:
            have = ", ".join(sorted(by_name)) or "none"
            shown = repr(key)[:60] if not isinstance(key, str) else '"' + key[:60] + '"'
            raise ConventionError(f"{what}: {shown} is not a convention symbol here (the symbols are {have})")
        if isinstance(v, bool) or (isinstance(v, sp.Basic) and not v.is_number):
            raise ConventionError(f"{what}: {name}={v!r} is not a number")
        try:
            q = to_exact(v, what=f"{what} {name}")
        except MtsymError as e:
            raise ConventionError(str(e)) from None
        out[sym] = sp.Rational(q.numerator, q.denominator) if not isinstance(q, int) else sp.Integer(q)
    return out


def check_symbols(conv, names, where):
    """Refuse a convention symbol named like an input (it would read as, or merge with, that input)."""
    clash = sorted({s.name for s in conv.symbols()} & set(names))
    if clash:
        raise ConventionError(f"{where}: the convention symbol(s) {', '.join(clash)} are named like inputs; "
                              "give the tie parameter another name (e.g. relu0=sympy.Symbol('z'))")


def _cell(t, v):
    if v is None:
        return "None"
    return str(v)


def parameter_table() -> str:
    """The convention parameters and their values under each named convention, as an RST table."""
    rows = [("parameter", "meaning") + NAMED]
    for t in TIE_PARAMS.values():
        rows.append((t.name, t.meaning) + tuple(_cell(t, t.values[c]) for c in NAMED))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    fmt = [("  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip() for r in rows]
    return "\n".join([rule, fmt[0], rule] + fmt[1:] + [rule])


Convention.__doc__ += "\n    Notes\n    -----\n    " + parameter_table().replace("\n", "\n    ") + "\n"
