"""Smooth rows: inputs, constants, affine combinations, products, and Python comparisons."""

__all__ = ["INPUT", "CONST", "AFFINE", "MUL", "BRANCH", "COMPARE_OPS"]

import sympy as sp

from ..exact import to_sympy
from . import Primitive, register, sign


def _affine_numeric(xs, params):
    coefs, const = params
    return sum((c * x for c, x in zip(coefs, xs)), const)


def _affine_symbolic(xs, params):
    coefs, const = params
    return sp.Add(to_sympy(const), *[to_sympy(c) * x for c, x in zip(coefs, xs)])


INPUT = register(Primitive(
    "input", numeric=lambda xs, params: None, symbolic=lambda xs, params: sp.Symbol(params[1]),
    linear=lambda case, params, conv: ((), 0), doc="input variable; params (index, name)"))

CONST = register(Primitive(
    "const", numeric=lambda xs, params: params[0], symbolic=lambda xs, params: to_sympy(params[0]),
    linear=lambda case, params, conv: ((), params[0]), doc="a constant; params (value,)"))

AFFINE = register(Primitive(
    "affine", numeric=_affine_numeric, symbolic=_affine_symbolic,
    linear=lambda case, params, conv: params, doc="sum(c_i * in_i) + c0; params (coefs, c0)"))

MUL = register(Primitive(
    "mul", numeric=lambda xs, params: xs[0] * xs[1], symbolic=lambda xs, params: xs[0] * xs[1],
    linear=None, doc="product of two traced values (smooth, not affine)"))


def _compare_tests(vals, params):
    a, b = vals
    s = yield tuple(x - y for x, y in zip(a, b))
    return s


COMPARE_OPS = {
    ">": lambda s: s > 0, ">=": lambda s: s >= 0, "<": lambda s: s < 0,
    "<=": lambda s: s <= 0, "==": lambda s: s == 0, "!=": lambda s: s != 0,
}

_RELATIONS = {">": sp.StrictGreaterThan, ">=": sp.GreaterThan, "<": sp.StrictLessThan, "<=": sp.LessThan,
              "==": sp.Eq, "!=": sp.Ne}

BRANCH = register(Primitive(
    "branch",
    numeric=lambda xs, params: COMPARE_OPS[params[0]]((xs[0] > xs[1]) - (xs[0] < xs[1])),
    symbolic=lambda xs, params: _RELATIONS[params[0]](xs[0], xs[1], evaluate=False),
    tests=_compare_tests, case_of=lambda xs, params: sign(xs[0] - xs[1]), linear=None,
    describe=lambda case, params: f"{'a > b' if case > 0 else 'a = b' if case == 0 else 'a < b'}"
                                  f" -> {COMPARE_OPS[params[0]](case)}",
    doc="a Python comparison a <op> b used in if/while; params (op,)"))
