"""Smooth rows: inputs, constants, affine combinations, products, and Python comparisons.

Each row is declared with its exact rules and its numpy rule side by side.
"""

__all__ = ["INPUT", "CONST", "AFFINE", "MUL", "BRANCH", "COMPARE_OPS"]

from fractions import Fraction
from math import gcd

import numpy as np
import sympy as sp

from ..exact import to_sympy
from . import Primitive, register, sign
from . import params as P
from .vectorized import (Rule, Switching, WindowFamilies, cast, exact_float, gather, product, row_run, scatter_add,
                         sign_codes)


# =========================================================================== numpy rules
class _InputRule(Rule):
    stacked = True
    reads_points = True

    def build(self, stage, datas):
        stage.cols = np.array([d["params"][0] for d in datas], dtype=np.intp)

    def forward(self, stage, V, X=None):
        V[stage.out] = X.T[stage.cols]


class _ConstRule(Rule):
    stacked = True

    def build(self, stage, datas):
        stage.vals = np.array([exact_float(d["params"][0], what="constant") for d in datas])[:, None]

    def forward(self, stage, V):
        V[stage.out] = cast(stage, "vals", V.dtype)


def _floats(cs, subs, cache):
    """Exact coefficients as floats (correctly rounded).  ``cache`` maps ``id`` to floats: the nodes of one
    convolution share their coefficient tuples and objects, so each is converted once (all stay alive
    meanwhile, so an id is never reused)."""
    row = cache.get(id(cs))
    if row is not None:
        return row
    out = cache[id(cs)] = []
    for c in cs:
        f = cache.get(id(c))
        if f is None:
            f = cache[id(c)] = float(c) if type(c) is int else c.numerator / c.denominator \
                if type(c) is Fraction else exact_float(c, subs)
        out.append(f)
    return out


class _AffineRule(Rule):
    """``c0 + sum(c_i * in_i)``: a dense BLAS product when the stage is dense enough, else gathers."""

    stacked = True

    def build(self, stage, datas):
        rows = stage.rows
        outs = len(datas)
        stage.c0 = np.array([exact_float(d["params"][1], stage.subs) for d in datas])[:, None]
        stage.has_c0 = bool(np.any(stage.c0))
        cache = {}
        entries = [([rows[u] for u in d["inputs"]], _floats(d["params"][0], stage.subs, cache)) for d in datas]
        union = np.unique(np.array([r for rs, _ in entries for r in rs], dtype=np.intp))
        nnz = sum(len(rs) for rs, _ in entries)
        fan = max((len(rs) for rs, _ in entries), default=0)
        # a BLAS product when most of the (outs x union) block is used (a layer), else gathers
        stage.dense = fan > 1 and outs * len(union) <= 2 * nnz
        if stage.dense:
            where = {r: k for k, r in enumerate(union)}
            W = np.zeros((outs, len(union)))
            for i, (rs, cs) in enumerate(entries):
                for r, c in zip(rs, cs):
                    W[i, where[r]] += c
            stage.W, stage.union = W, union
            stage.contiguous = len(union) > 0 and union[-1] - union[0] == len(union) - 1
            # a row of ones just before the inputs: the bias is one more column of the product
            stage.Wb = np.hstack([stage.c0, W]) if stage.contiguous and stage.has_c0 \
                and int(union[0]) - 1 in getattr(stage, "ones_rows", ()) else None
        stage.plan = None if stage.dense else WindowFamilies.plan(entries, stage.c0)
        if stage.plan is None and not stage.dense:
            idx = np.zeros((outs, fan), dtype=np.intp)
            coef = np.zeros((outs, fan))
            for i, (rs, cs) in enumerate(entries):
                idx[i, :len(rs)] = rs
                idx[i, len(rs):] = rs[0] if rs else 0
                coef[i, :len(cs)] = cs
            stage.idx, stage.coef = idx, coef
            stage.idx_runs = [row_run(idx[:, j]) for j in range(fan)]   # views where a column is one run
            stage.dup = [len(np.unique(idx[:, j])) < outs for j in range(fan)]
            stage.unit = fan > 0 and bool((coef[:, 0] == 1).all())

    def forward(self, stage, V):
        if stage.plan is not None:
            stage.plan.forward(stage.out.start, V)
            return
        out = V[stage.out]
        c0 = cast(stage, "c0", V.dtype)
        if stage.dense:
            if len(stage.union) == 0:
                out[...] = 0.0
            else:
                u = stage.union
                if stage.Wb is not None:       # the bias times the row of ones before the inputs
                    product(cast(stage, "Wb", V.dtype), V[u[0] - 1:u[-1] + 1], out=out)
                    return
                src = V[u[0]:u[-1] + 1] if stage.contiguous else V[u]
                product(cast(stage, "W", V.dtype), src, out=out)
        elif stage.idx.shape[1] == 0:
            out[...] = 0.0
        else:
            coef = cast(stage, "coef", V.dtype)
            first = gather(V, stage.idx[:, 0], stage.idx_runs[0])
            late = getattr(stage, "c0_last", False)  # a folded bias add: after the sum, as unfolded
            if stage.unit and stage.has_c0 and not late:
                np.add(first, c0, out=out)
            else:
                np.multiply(coef[:, 0, None], first, out=out) if not stage.unit else np.copyto(out, first)
                if stage.has_c0 and not late:
                    out += c0
            for j in range(1, stage.idx.shape[1]):
                out += coef[:, j, None] * gather(V, stage.idx[:, j], stage.idx_runs[j])
            if stage.has_c0 and late:
                out += c0
            return
        if stage.has_c0:
            out += c0

    writes_owned = True

    def owned_inputs(self, stage):
        """A dense stage's input rows, when they are one run (its product can write them outright)."""
        return stage.union if stage.plan is None and stage.dense and stage.contiguous else None

    def constant_adjoint(self, stage, seeds):
        """The adjoint this dense stage passes its input rows when its own is ``seeds`` (rows, m) at
        every point: ``W.T @ seeds`` (None when the stage is not one product)."""
        if stage.plan is not None or not stage.dense:
            return None
        return stage.W.T @ seeds

    def scaled_weights(self, stage, c):
        """``W.T`` with its columns scaled by ``c`` (one per node), for ``backward(..., wt=)`` when
        the adjoints are ``c`` times what its rows hold (None when the stage is not one product)."""
        if stage.plan is not None or not stage.dense:
            return None
        return stage.W.T * c[None, :]

    def backward_owned(self, stage, V, C, A, rows, wt=None):
        """``W.T @ adjoints`` written straight into the input rows (no cleared rows, no add); one
        output row (a network's last layer): the outer product as a broadcast multiply, 2.7x faster
        than the rank-one BLAS product.  ``wt``: the matrix to use for ``W.T``
        (:meth:`scaled_weights`)."""
        adj = A[stage.out]
        R, m, N = adj.shape
        dst = A[rows].reshape(rows.stop - rows.start, m * N)
        WT = stage.W.T if wt is None else wt
        if R == 1:
            np.multiply(WT, adj.reshape(1, m * N), out=dst)
        else:
            product(WT, adj.reshape(R, m * N), out=dst)

    def backward(self, stage, V, C, A, wt=None):
        if stage.plan is not None:
            stage.plan.backward(stage.out.start, A)
            return
        adj = A[stage.out]
        if stage.dense:
            if len(stage.union) == 0:
                return
            u = stage.union
            m, N = adj.shape[1], adj.shape[2]
            g = product(stage.W.T if wt is None else wt, adj.reshape(adj.shape[0], m * N)).reshape(len(u), m, N)
            if stage.contiguous:
                A[u[0]:u[-1] + 1] += g
            else:
                A[u] += g
        else:
            for j in range(stage.idx.shape[1]):
                g = adj if j == 0 and stage.unit else stage.coef[:, j, None, None] * adj
                scatter_add(A, stage.idx[:, j], g, stage.dup[j])


class _MulRule(Rule):
    """``a * b`` (smooth): the weights are the other factor."""

    def forward(self, stage, V):
        np.multiply(V[stage.ins[0]], V[stage.ins[1]], out=V[stage.out])

    def backward(self, stage, V, C, A):
        adj = A[stage.out]
        a, b = stage.ins
        scatter_add(A, a, V[b][:, None, :] * adj, stage.dup[0])
        scatter_add(A, b, V[a][:, None, :] * adj, stage.dup[1])


class _BranchRule(Switching):
    """A Python comparison: no value, case ``sign(a - b)``."""

    has_value = False

    def forward(self, stage, V):
        pass

    def codes(self, stage, V, atol):
        a, b = V[stage.ins[0]], V[stage.ins[1]]
        if atol is None:
            return (a > b).view(np.int8) - (a < b).view(np.int8)
        return sign_codes(a - b, atol)

    def backward(self, stage, V, C, A):
        pass


# =========================================================================== declarations
_RATIONAL = (int, Fraction)


def _affine_numeric(xs, params):
    """``c0 + sum(c_i * x_i)`` exactly; on int/Fraction, one integer sum over a common denominator
    (a single normalisation instead of one per term: the products of float data are dyadic).

    >>> _affine_numeric([Fraction(1, 2), 3], ((Fraction(1, 4), -1), Fraction(1, 8)))
    Fraction(-11, 4)
    """
    coefs, const = params
    if type(const) not in _RATIONAL or not all(type(v) in _RATIONAL for v in xs) or \
            not all(type(c) in _RATIONAL for c in coefs):
        return sum((c * x for c, x in zip(coefs, xs)), const)
    num, den = const.numerator, const.denominator
    for c, x in zip(coefs, xs):
        if not c or not x:
            continue
        n, d = c.numerator * x.numerator, c.denominator * x.denominator
        if d == den:
            num += n
        elif den % d == 0:
            num += n * (den // d)
        elif d % den == 0:
            num = num * (d // den) + n
            den = d
        else:
            g = gcd(den, d)
            num = num * (d // g) + n * (den // g)
            den = den // g * d
    return num if den == 1 else Fraction(num, den)


def _affine_symbolic(xs, params):
    coefs, const = params
    return sp.Add(to_sympy(const), *[to_sympy(c) * x for c, x in zip(coefs, xs)])


def _symbolic_text(symbolic):
    def text(names, params, extra=()):
        return str(symbolic([sp.Symbol(n) for n in names], params))
    return text


INPUT = register(Primitive(
    "input", numeric=lambda xs, params: None, symbolic=lambda xs, params: sp.Symbol(params[1]),
    kind="input", numpy=_InputRule(), params=(P.INDEX, P.NAME), arity=0,
    linear=lambda case, params, conv: ((), 0), text=lambda names, params, extra=(): f"input {params[1]}",
    doc="input variable; params (index, name)"))

CONST = register(Primitive(
    "const", numeric=lambda xs, params: params[0], symbolic=lambda xs, params: to_sympy(params[0]),
    kind="const", numpy=_ConstRule(), params=(P.RATIONAL,), arity=0,
    linear=lambda case, params, conv: ((), params[0]), text=lambda names, params, extra=(): f"const {params[0]}",
    doc="a constant; params (value,)"))

AFFINE = register(Primitive(
    "affine", numeric=_affine_numeric, symbolic=_affine_symbolic,
    kind="affine", numpy=_AffineRule(), params=(P.RATIONALS, P.RATIONAL), arity=lambda p: len(p[0]),
    linear=lambda case, params, conv: params, text=_symbolic_text(_affine_symbolic),
    doc="sum(c_i * in_i) + c0; params (coefs, c0)"))


def _mul_symbolic(xs, params):
    return xs[0] * xs[1]


MUL = register(Primitive(
    "mul", numeric=lambda xs, params: xs[0] * xs[1], symbolic=_mul_symbolic,
    kind="smooth", numpy=_MulRule(), params=(), arity=2,
    linear=None, partials=lambda xs, params: (xs[1], xs[0]), text=_symbolic_text(_mul_symbolic),
    doc="product of two traced values (smooth, not affine)"))


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
    kind="branch", numpy=_BranchRule(), params=(P.word(*COMPARE_OPS),), arity=2,
    tests=_compare_tests, case_of=lambda xs, params: sign(xs[0] - xs[1]), linear=None,
    text=lambda names, params, extra=(): f"branch({names[0]} {params[0]} {names[1]})",
    tied=lambda case, params: (0, 1) if case == 0 else (),
    describe=lambda case, params: f"{'a > b' if case > 0 else 'a = b' if case == 0 else 'a < b'}"
                                  f" -> {COMPARE_OPS[params[0]](case)}",
    doc="a Python comparison a <op> b used in if/while; params (op,)"))
