"""Primitives: one row of rules per kind of graph node.

A :class:`Primitive` holds everything a node kind means, side by side:

``numeric(xs, params)``
    exact forward on numbers (``int``/``Fraction``);
``symbolic(xs, params)``
    sympy forward, for display;
``tests(vals, params)`` (switching primitives only)
    a generator that enumerates the *cases*: it yields an affine form (a sign
    test; it receives the sign -1/0/1), a :class:`Restrict` (a sign test where
    only some signs belong to a case) or a :class:`Choice` (it receives an
    index), and returns the case.  Each case's set must be the relatively open
    polyhedron of that case, not a refinement of it;
``case_of(xs, params)``
    the case at exact numbers (for locating a point);
``linear(case, params, conv)``
    on a case, the node is ``sum(w_i * in_i) + bias`` on the stratum: returns
    ``(weights, bias)`` under a :class:`~mtsym.conventions.Convention`.  The
    weights are the associated (partial) derivatives autodiff uses;
``describe(case, params)``
    the case in words.

Adding an operation is adding one row with :func:`register`; nothing else
dispatches on names.

Examples
--------
>>> from mtsym.conventions import Convention
>>> PRIMITIVES["relu"].linear(0, (), Convention("torch"))
((0,), 0)
>>> PRIMITIVES["max"].linear((0, 2), (3,), Convention("torch"))
((Fraction(1, 2), 0, Fraction(1, 2)), 0)
"""

__all__ = ["Primitive", "PRIMITIVES", "register", "Choice", "Restrict", "sign"]


class Primitive:
    """One node kind and its rules (see the module docstring)."""

    __slots__ = ("name", "numeric", "symbolic", "tests", "case_of", "linear", "describe", "doc")

    def __init__(self, name, numeric, symbolic, tests=None, case_of=None, linear=None, describe=None,
                 doc=""):
        self.name = name
        self.numeric, self.symbolic = numeric, symbolic
        self.tests, self.case_of, self.linear = tests, case_of, linear
        self.describe = describe or (lambda case, params: "" if case is None else str(case))
        self.doc = doc

    @property
    def switching(self):
        """True when the node has several cases."""
        return self.tests is not None

    def __repr__(self):
        return f"Primitive({self.name!r})"


PRIMITIVES = {}


def register(prim):
    """Add a primitive row; the name must be new."""
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} is already registered")
    PRIMITIVES[prim.name] = prim
    return prim


class Choice:
    """Yielded by ``tests``: branch over ``m`` alternatives (the generator receives the index)."""

    __slots__ = ("m",)

    def __init__(self, m):
        self.m = m


class Restrict:
    """Yielded by ``tests``: a sign test of ``form`` where only ``signs`` lead to a case."""

    __slots__ = ("form", "signs")

    def __init__(self, form, signs):
        self.form, self.signs = form, signs


def sign(v):
    """-1, 0 or 1."""
    return (v > 0) - (v < 0)


from . import affine, maxlike, pooling, relu  # noqa: E402,F401  (register the rows)
