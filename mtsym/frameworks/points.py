"""Float-exact points of a stratum, and certificates that a float forward pass lands on the stratum.

A framework can only be held to a stratum at a point it can represent: a
*dyadic* rational ``y / 2^k``.  :func:`dyadic_points` finds such points inside a
stratum (its equalities are solved over the integers, so a stratum such as
``3*x1 = 1`` is seen to have none); :func:`float_exact` certifies that at such a
point every value that feeds a switching node (a max, relu, branch, ...) is
computed **exactly** in binary floating point with ``mantissa`` bits,
whatever order the framework sums in: then the framework's forward pass lands
on the same stratum as exact arithmetic, ties included.

Ordinary models (float32 weights, sums of many products) are rarely exact.  For
them :func:`float_certified` bounds the rounding error of every value instead
(the classical bound ``gamma_m = m u / (1 - m u)`` of a sum of ``m - 1`` products
in any order, ``u = 2^-mantissa``, propagated through the graph) and accepts
the point when every decision of the stratum keeps its sign for every value
within those bounds: a strict inequality needs a margin larger than the
error, a tie needs both sides computed exactly (or to be the same value).
Interior points of full-dimensional strata pass with a margin; tie strata still
need a float-exact dyadic point.

Examples
--------
>>> from fractions import Fraction
>>> representable(Fraction(3, 8), 24), representable(Fraction(1, 3), 53), representable(2**24 + 1, 24)
(True, False, False)
>>> solve_integer([[2, 4]], [6])     # 2*y1 + 4*y2 = 6 over the integers
((3, 0), [(-2, 1)])
>>> solve_integer([[2, 4]], [3]) is None
True
"""

__all__ = ["dyadic_points", "float_exact", "float_certified", "representable", "solve_integer",
           "log2_denominator", "MANTISSA"]

from fractions import Fraction

import numpy as np

from ..exact import int_row
from ..partition import ask
from ..primitives import PRIMITIVES, Choice, Restrict
from ..trace import VAL_CONV

#: significand bits (with the hidden bit) of the float types frameworks compute in
MANTISSA = {"float64": 53, "float32": 24}


def _v2(q):
    """2-adic valuation of a nonzero dyadic rational; ``None`` if it is not dyadic."""
    q = Fraction(q)
    den = q.denominator
    if den & (den - 1):
        return None
    num = abs(q.numerator)
    return (num & -num).bit_length() - 1 - (den.bit_length() - 1)


def representable(q, mantissa):
    """True when the rational ``q`` is a float with ``mantissa`` significand bits (range ignored)."""
    if q == 0:
        return True
    v = _v2(q)
    if v is None:
        return False
    odd = abs(Fraction(q)) / Fraction(2) ** v
    return odd.denominator == 1 and odd.numerator < 2 ** mantissa and abs(v) < 960


def _exact_sum(terms, mantissa):
    """Every partial sum of ``terms`` (in any order) is representable: all are multiples of 2^e below 2^(m+e)."""
    terms = [Fraction(t) for t in terms if t != 0]
    if not terms:
        return True
    vs = [_v2(t) for t in terms]
    if any(v is None for v in vs):
        return False
    e = min(vs)
    return sum(abs(t) for t in terms) < Fraction(2) ** (mantissa + e)


def solve_integer(E, b):
    """An integer solution of ``E y = b`` and a basis of the integer kernel, or ``None``.

    Column-style Hermite reduction with extended gcds (``E``, ``b`` integers).
    """
    m = len(E)
    n = len(E[0]) if m else 0
    A = [list(map(int, row)) for row in E]
    U = [[int(i == j) for j in range(n)] for i in range(n)]

    def colop(c1, c2, a, b_, c, d):  # (col c1, col c2) <- (a*c1 + b*c2, c*c1 + d*c2)
        for M in (A, U):
            for row in M:
                x, y = row[c1], row[c2]
                row[c1], row[c2] = a * x + b_ * y, c * x + d * y

    col, pivots = 0, []
    for r in range(m):
        if col >= n:
            break
        for j in range(col + 1, n):
            if A[r][j] != 0:
                a, bb = A[r][col], A[r][j]
                g, x, y = _egcd(a, bb)
                colop(col, j, x, y, -bb // g, a // g)
        if A[r][col] != 0:
            pivots.append((r, col))
            col += 1
    z = [0] * n
    done = 0
    pivot_of = dict(pivots)
    for r in range(m):
        acc = sum(A[r][k] * z[k] for k in range(done))
        if r in pivot_of:
            c = pivot_of[r]
            q, rem = divmod(int(b[r]) - acc, A[r][c])
            if rem:
                return None
            z[c] = q
            done = c + 1
        elif acc != int(b[r]):
            return None
    y0 = tuple(sum(U[i][k] * z[k] for k in range(n)) for i in range(n))
    kernel = [tuple(U[i][k] for i in range(n)) for k in range(col, n)]
    return y0, kernel


def _egcd(a, b):
    """``(g, x, y)`` with ``x*a + y*b = g = gcd(a, b) > 0``."""
    x0, y0, x1, y1 = 1, 0, 0, 1
    while b:
        q, a, b = a // b, b, a - (a // b) * b
        x0, x1 = x1, x0 - q * x1
        y0, y1 = y1, y0 - q * y1
    if a < 0:
        a, x0, y0 = -a, -x0, -y0
    return a, x0, y0


def _base_points(stratum, n):
    """Real points of the stratum's relative interior to round from, small ones first.

    ``mean(vertices) + eps * sum(rays / |ray|)`` lies in the relative interior
    for every ``eps > 0``; small ``eps`` keeps coordinates small (the witness
    adds whole integer rays, which can be huge).  The witness comes last.
    """
    w = np.array([float(c) for c in stratum.witness], dtype=float)
    poly = getattr(getattr(stratum, "record", None), "poly", None)
    if poly is None:
        return [w]
    verts = [g for g in poly.gens if g[0] > 0]
    rays = [np.array(g[1:], dtype=float) for g in poly.gens if g[0] == 0]
    if not verts:
        return [w]
    base = np.mean([np.array(g[1:], dtype=float) / g[0] for g in verts], axis=0)
    if not rays:
        return [base, w]
    direction = np.sum([r / np.max(np.abs(r)) for r in rays], axis=0)
    return [base + direction * 2.0 ** -j for j in range(0, 14, 2)] + [w]


def dyadic_points(stratum, n, max_log2=60):
    """Dyadic points ``y / 2^k`` of a stratum, smallest ``k`` first.

    For each ``k``, the lattice points of the stratum's affine hull on the grid
    ``2^-k`` nearest to a few interior points (:func:`_base_points`); the
    stratum's exact membership test decides.  Yields nothing when the affine
    hull has no dyadic point at all (``3*x1 = 1``).
    """
    eqs = [int_row(f) for f, s in stratum.constraints if s == 0]
    E = [list(r[1:]) for r in eqs]
    rhs = [-r[0] for r in eqs]
    bases = _base_points(stratum, n)
    seen = set()
    for k in range(max_log2 + 1):
        scale = 2 ** k
        if E:
            sol = solve_integer(E, [c * scale for c in rhs])
        else:
            sol = ((0,) * n, [tuple(int(i == j) for j in range(n)) for i in range(n)])
        if sol is None:
            continue
        y0, kernel = sol
        K = np.array(kernel, dtype=float).T if kernel else None
        for base in bases:
            y = np.array(y0, dtype=object)
            if kernel:
                t = np.linalg.lstsq(K, base * scale - np.array(y0, dtype=float), rcond=None)[0]
                for j, tj in enumerate(np.rint(t)):
                    y = y + np.array(kernel[j], dtype=object) * int(tj)
            p = tuple(Fraction(int(v), scale) for v in y)
            if p in seen:
                continue
            seen.add(p)
            if stratum.contains(p):
                yield p


def float_exact(graph, stratum, point, mantissa):
    """``(True, "")`` when a float forward pass at ``point`` computes every switching input exactly.

    Walks the ancestors of the switching nodes decided on ``stratum``, at exact
    values: each input and constant must be representable, each node's value
    ``sum(w_i * in_i) + b`` (its linear rule on the case at the point) must have
    all partial sums representable, each product too.  Also checks that every
    case at the point is the one the stratum decided.  Otherwise returns
    ``(False, reason)``.
    """
    decided = dict(stratum.path)
    values = {}
    for v in graph.ancestors_of(decided):
        d = graph.nodes[v]
        op, params, ins = d["op"], d["params"], d["inputs"]
        prim = PRIMITIVES[op]
        xs = [values[u] for u in ins]
        if prim.kind == "input":
            values[v] = Fraction(point[params[0]])
            ok = representable(values[v], mantissa)
        elif prim.kind == "const":
            values[v] = Fraction(prim.numeric(xs, params))
            ok = representable(values[v], mantissa)
        else:
            case = prim.case_of(xs, params) if prim.switching else None
            if v in decided and case != decided[v]:
                return False, f"node n{v} ({op}) has case {case} at the point, the stratum says {decided[v]}"
            if not prim.numpy.has_value:  # a comparison: a case, no value
                continue
            if prim.linear is None:  # smooth, not affine (a product)
                values[v] = Fraction(prim.numeric(xs, params))
                ok = representable(values[v], mantissa)
            else:
                w, b = prim.linear(case, params, VAL_CONV)
                terms = [Fraction(c) * x for c, x in zip(w, xs)] + [Fraction(b)]
                ok = all(representable(c, mantissa) for c in w) and _exact_sum(terms, mantissa)
                values[v] = sum(terms, Fraction(0))
        if not ok:
            return False, (f"node n{v} ({op}, {graph.line_of(v) or 'no line'}) is not computed exactly with "
                           f"{mantissa}-bit floats there")
    return True, ""


def log2_denominator(point):
    """The largest ``k`` with ``2^k`` a denominator in ``point``."""
    return max((Fraction(c).denominator.bit_length() - 1 for c in point), default=0) if point else 0



#: log2 of the smallest subnormal, per significand size (the absolute error floor of one rounding)
_TINY = {11: -24, 24: -149, 53: -1074}
#: values beyond 2^_HUGE are refused (far below float32's overflow at 2^128)
_HUGE = 100
_BITS = 40


def _up(q):
    """An upper bound of ``q >= 0`` with at most :data:`_BITS` significant bits (keeps the bounds small)."""
    if q == 0:
        return q
    k = q.numerator.bit_length() - q.denominator.bit_length()
    shift = _BITS - k
    if shift >= 0:
        m = -((-q.numerator << shift) // q.denominator)
        return Fraction(m, 1 << shift)
    m = -((-q.numerator) // (q.denominator << -shift))
    return Fraction(m << -shift)


def _stored(x, mantissa):
    """The error of storing the exact number ``x`` as a float: 0 when it is one, else (two roundings) ``2u|x|``."""
    return Fraction(0) if representable(x, mantissa) else abs(x) * Fraction(2, 1 << mantissa)


def _bound(weights, bias, xs, es, mantissa):
    """The exact value and an error bound of ``sum(w_i * x^_i) + b`` computed in floats, any order.

    ``x^_i`` is within ``e_i`` of ``x_i``; a weight or bias that is not a float is stored
    rounded; ``m - 1`` additions and one product per term give ``gamma_m``, plus the
    subnormal floor per rounding.  The bound is 0 when the inputs are exact and every
    partial sum is a float (as in :func:`float_exact`).
    """
    u = Fraction(1, 1 << mantissa)
    terms = [(Fraction(w), x, e) for w, x, e in zip(weights, xs, es) if w != 0]
    b = Fraction(bias)
    exact = sum((w * x for w, x, _ in terms), b)
    if not terms:
        return exact, _stored(b, mantissa)
    if len(terms) == 1 and abs(terms[0][0]) == 1 and b == 0:   # a copy or a negation: no rounding
        return exact, terms[0][2]
    if (all(e == 0 and representable(w, mantissa) for w, _, e in terms) and representable(b, mantissa)
            and _exact_sum([w * x for w, x, _ in terms] + [b], mantissa)):   # every partial sum is a float
        return exact, Fraction(0)
    m = len(terms) + 1
    gamma = m * u / (1 - m * u)
    err, size = Fraction(0), abs(b) + _stored(b, mantissa)
    for w, x, e in terms:
        dw = _stored(w, mantissa)
        aw = abs(w) + dw
        err += aw * e + dw * abs(x)
        size += aw * (abs(x) + e)
    err += _stored(b, mantissa) + gamma * size + m * Fraction(2) ** _TINY.get(mantissa, -1074)
    return exact, err


def _certain_sign(g):
    """The sign of ``g0 + sum(g_j t_j)`` for every ``t`` in ``[-1, 1]^k``, or None when it can change."""
    spread = sum(abs(c) for c in g[1:])
    if spread == 0 or abs(g[0]) > spread:
        return (g[0] > 0) - (g[0] < 0)
    return None


def _certain_case(prim, ins, xs, es, params):
    """The case of a switching node for every input within its error bound, or None when it can change.

    Each input is the form ``x_i + e_i * t_node`` (one unknown per distinct node, so an input
    met twice is tied to itself); the primitive's own ``tests`` are run on these forms and a
    branch is followed only where its sign is certain.
    """
    nodes = list(dict.fromkeys(ins))
    k = len(nodes)
    forms = []
    for u, x, e in zip(ins, xs, es):
        row = [Fraction(0)] * (k + 1)
        row[0] = x
        row[1 + nodes.index(u)] = e
        forms.append(tuple(row))
    cases, todo = set(), [()]
    while todo:
        answers = todo.pop()
        done, q = ask(prim, forms, params, answers)
        if done:
            cases.add(q)
            continue
        if isinstance(q, Choice):
            todo.extend(answers + (j,) for j in range(q.m))
            continue
        g, allowed = (q.form, q.signs) if isinstance(q, Restrict) else (q, (1, 0, -1))
        s = _certain_sign(g)
        if s is None:
            return None
        if s in allowed:
            todo.append(answers + (s,))
    return cases.pop() if len(cases) == 1 else None


def float_certified(graph, stratum, point, mantissa):
    """``(True, "")`` when a float forward pass at ``point`` provably takes every decision of ``stratum``.

    Exact values and rounding-error bounds are carried through the ancestors of the
    stratum's switching nodes (:func:`_bound`); each switching node must have one case
    for all values within the bounds (:func:`_certain_case`), the stratum's.  Weaker than
    :func:`float_exact` in what it asks (only the ties must be exact), so it accepts
    interior points of full-dimensional strata of float32 models.  Otherwise
    ``(False, reason)``.

    Examples
    --------
    >>> import mtsym as mt
    >>> t = mt.derive(lambda x: mt.relu(0.1 * x[0] - 0.3 * x[1]), 2)
    >>> s = t.stratum_at((1, 0))
    >>> float_certified(t.graph, s, (1, 0), 24)[0], float_exact(t.graph, s, (1, 0), 24)[0]
    (True, False)
    >>> tie = t.stratum_at((3, 1))        # 0.1*x1 = 0.3*x2 needs exact arithmetic
    >>> float_certified(t.graph, tie, (3, 1), 24)[0]
    False
    """
    decided = dict(stratum.path)
    values, errors = {}, {}
    limit = Fraction(2) ** _HUGE
    for v in graph.ancestors_of(decided):
        d = graph.nodes[v]
        op, params, ins = d["op"], d["params"], d["inputs"]
        prim = PRIMITIVES[op]
        xs = [values[u] for u in ins]
        es = [errors[u] for u in ins]
        where = f"node n{v} ({op}, {graph.line_of(v) or 'no line'})"
        if prim.kind == "input":
            x = Fraction(point[params[0]])
            if not representable(x, mantissa):
                return False, f"input {params[1]} = {x} is not a {mantissa}-bit float"
            values[v], errors[v] = x, Fraction(0)
            continue
        if prim.kind == "const":
            x = Fraction(prim.numeric(xs, params))
            values[v], errors[v] = x, _stored(x, mantissa)
            continue
        case = None
        if prim.switching:
            case = _certain_case(prim, ins, xs, es, params)
            if case is None:
                return False, f"{where} is within {mantissa}-bit rounding of a tie there"
            if v in decided and case != decided[v]:
                return False, f"{where} has case {case} at the point, the stratum says {decided[v]}"
        if not prim.numpy.has_value:  # a comparison: a case, no value
            continue
        if prim.linear is None:  # a product of two rounded values, rounded
            (a, b), (ea, eb) = xs, es
            x = a * b
            e = abs(a) * eb + abs(b) * ea + ea * eb
            e += (abs(a) + ea) * (abs(b) + eb) / (1 << mantissa) + Fraction(2) ** _TINY.get(mantissa, -1074)
        else:
            w, b = prim.linear(case, params, VAL_CONV)
            x, e = _bound(w, b, xs, es, mantissa)
        if abs(x) + e > limit:
            return False, f"{where} is too large to bound ({float(x):.3g})"
        values[v], errors[v] = x, _up(e)
    return True, ""
