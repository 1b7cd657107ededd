"""The paper's examples, as a registry: functions, inputs, conventions and the values the paper prints.

``mtsym examples`` lists them and ``mtsym examples NAME`` derives one, prints
its table and compares the associated gradient with the paper's numbers.
The functions are ordinary traced code; ``mtsym derive mtsym/examples.py:max1
--inputs 4`` works as well.

Examples
--------
>>> ex = EXAMPLES["boustany"]
>>> table = ex.derive()
>>> [row.ok for row in ex.compare(table)]
[True, True, True, True, True, True, True]
>>> table.grad_at((0,))
Matrix([[-3/2]])
"""

__all__ = ["Example", "EXAMPLES", "max1", "torch_max", "boustany", "boustany_maxpool", "relu_zero_weight",
           "max_x_x", "example"]

from fractions import Fraction

import sympy as sp

import mtsym as mt  # absolute, so that ``mtsym derive mtsym/examples.py:max1`` can load this file
from mtsym.conventions import Convention
from mtsym.errors import InputError
from mtsym.exact import to_sympy

#: the relu'(0) symbol of section 4.1
Z = sp.Symbol("z")
_X = (1, 2, 3, 4)
_TS = (-1, Fraction(-1, 2), Fraction(-1, 100), 0, Fraction(1, 100), Fraction(1, 2), 1)


def max1(x):
    """``max_1`` of Table 1: a loop that keeps the first maximum (``>``)."""
    res = x[0]
    for i in range(1, len(x)):
        if x[i] > res:
            res = x[i]
    return res


def torch_max(x):
    """``max_2`` of Table 1, ``torch.max(x)``: a full reduction, ties share the gradient."""
    return mt.max(x)


def boustany(t):
    """Section 4.3: ``f(t) = max_1(t x) - max_2(t x)`` with ``x = (1, 2, 3, 4)``; f is zero."""
    tx = [t * v for v in _X]
    return max1(tx) - torch_max(tx)


def boustany_maxpool(t):
    """Section 4.4: ``maxpool1d(t, 4t) - maxpool1d(4t, t)``, ``MaxPool1d(2, stride=1)``."""
    return mt.maxpool1d([t, 4 * t], 2, stride=1)[0] - mt.maxpool1d([4 * t, t], 2, stride=1)[0]


def relu_zero_weight(x):
    """Section 2.1: ``R(w_0 x)`` with ``w_0 = 0``."""
    return mt.relu(0 * x)


def max_x_x(x):
    """Section 2.2: ``S_0(f_0(x)) = max(x, x)``, the identity."""
    return mt.max(x, x)


class Check:
    """One comparison with the paper: the point, the paper's gradient, mtsym's, and whether they agree."""

    __slots__ = ("point", "paper", "got", "ok")

    def __init__(self, point, paper, got):
        self.point, self.paper, self.got = point, paper, got
        self.ok = list(got) == [to_sympy(v) for v in paper]

    def __repr__(self):
        return f"Check({self.point}: paper {self.paper}, mtsym {list(self.got)}, ok={self.ok})"


class Example:
    """One example of the paper.

    Attributes
    ----------
    name, title, reference : str
    fn : callable
    inputs : int or str
        As for :func:`mtsym.derive`.
    convention : str or Convention
    paper : list of (point, gradient)
        The associated gradients the paper prints (Tables 2 and 3, eqs. (18), (20), (21), ...).
    """

    def __init__(self, name, title, reference, fn, inputs, convention, paper):
        self.name, self.title, self.reference = name, title, reference
        self.fn, self.inputs, self.convention, self.paper = fn, inputs, convention, paper

    def derive(self, **options):
        """The example's piece table."""
        table = mt.derive(self.fn, self.inputs, convention=self.convention, **options)
        table.name = self.fn.__name__
        return table

    def compare(self, table):
        """The paper's values against the table's associated gradient, one :class:`Check` each."""
        return [Check(p, g, list(table.grad_at(p))) for p, g in self.paper]

    def __repr__(self):
        return f"Example({self.name!r}: {self.title}, {self.reference})"


def _grid_max1():
    return [((2, 1, 1, 0), (1, 0, 0, 0)), ((0, 0, 0, 0), (1, 0, 0, 0)), ((0, 2, 2, 1), (0, 1, 0, 0)),
            ((1, 0, 3, 3), (0, 0, 1, 0)), ((1, 1, 1, 5), (0, 0, 0, 1))]


_Q, _T, _H = Fraction(1, 4), Fraction(1, 3), Fraction(1, 2)

EXAMPLES = {e.name: e for e in [
    Example("max1", "the max_1 loop of Table 1", "eqs. (17)-(18)", max1, 4, "torch", _grid_max1()),
    Example("torch-max", "torch.max over 4 values (max_2 of Table 1)", "eqs. (19)-(21)", torch_max, 4,
            "torch", [((0, 0, 0, 0), (_Q, _Q, _Q, _Q)), ((3, 1, 3, 2), (_H, 0, _H, 0)),
                      ((1, 3, 3, 3), (0, _T, _T, _T)), ((4, 1, 2, 3), (1, 0, 0, 0))]),
    Example("boustany", "f(t) = max_1(t x) - max_2(t x), x = (1, 2, 3, 4)", "section 4.3, Table 2",
            boustany, "t", "torch", [((t,), (Fraction(-3, 2) if t == 0 else 0,)) for t in _TS]),
    Example("boustany-maxpool", "f(t) = maxpool1d(t, 4t) - maxpool1d(4t, t)", "section 4.4, Table 3",
            boustany_maxpool, "t", "torch", [((t,), (-3 if t == 0 else 0,)) for t in _TS]),
    Example("relu-zero-weight", "f(x) = R(0 x) with R'(0) = z", "sections 2.1 and 4.1",
            relu_zero_weight, "x", Convention("torch", relu0=Z), [((-1,), (0,)), ((0,), (0,)), ((1,), (0,))]),
    Example("max-x-x", "f(x) = max(x, x), the identity", "section 2.2, eqs. (15)-(16)", max_x_x, "x",
            "torch", [((-1,), (1,)), ((0,), (1,)), ((3,), (1,))]),
]}


def example(name):
    """The :class:`Example` called ``name`` (raises :class:`~mtsym.errors.InputError` with the list)."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise InputError(f"no example {name!r}; the examples are {', '.join(EXAMPLES)}") from None
