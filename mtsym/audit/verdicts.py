"""The verdict at a sample with an exact tie: is the framework's gradient a Clarke gradient there?

At an exact tie the local analysis applies (:func:`mtsym.is_clarke`, :func:`mtsym.lex_grad`):
the star of the sample when it can be enumerated (an exact yes/no), a certificate otherwise, and
"undecided" with the reason when neither exists (deciding it is NP-hard in general).  The
lexicographic derivative is always a certified Clarke gradient; the distance from the framework's
gradient to the nearest certified one is the max-norm distance to the convex hull of the limiting
gradients when the star was enumerated (an exact linear program), else to the nearest limiting
gradient found (an upper bound on the distance to the Clarke set).
"""

__all__ = ["clarke_verdict", "distance_to_hull"]

from fractions import Fraction

from ..exact import from_sympy
from ..local import is_clarke, lex_grad
from ..lp import linprog

#: above this many unknowns the distance goes to the nearest limiting gradient, not the hull
LP_LIMIT = 400


def _rows(M):
    return tuple(tuple(Fraction(from_sympy(M[i, j])) for j in range(M.cols)) for i in range(M.rows))


def _flat(rows):
    return tuple(v for r in rows for v in r)


def distance_to_hull(points, g):
    """``min over the convex hull of points of max |g - p|``, exactly (a linear program).

    Examples
    --------
    >>> distance_to_hull([(0, 0), (2, 0)], (1, 1))
    Fraction(1, 1)
    """
    k, D = len(points), len(g)
    # variables: lambda_1..k >= 0, t >= 0; minimise t
    c = [0] * k + [1]
    A_ub, b_ub = [], []
    for j in range(D):
        A_ub.append([-p[j] for p in points] + [-1])
        b_ub.append(-g[j])
        A_ub.append([p[j] for p in points] + [-1])
        b_ub.append(g[j])
    r = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=[[1] * k + [0]], b_eq=[1])
    return Fraction(r.value)


def clarke_verdict(job, es, sample, g):
    """Fill ``sample``'s verdict, Clarke gradient and distance for the framework's gradient ``g``."""
    if job.branching:
        fn, inputs = job.code, job.inputs
    else:
        fn, inputs = job.graph, None
    rep = is_clarke(fn, es.point, g=[list(r) for r in g], inputs=inputs, convention=job.conv,
                    max_strata=job.max_strata)
    lex = _rows(lex_grad(fn, es.point, inputs=inputs, convention=job.conv))
    sample.verdict, sample.method, sample.reason = rep.verdict, rep.method, rep.reason
    sample.clarke = lex
    limiting = [_flat(_rows(M)) for M in rep.certificate.get("limiting", [])]
    gf = _flat(g)
    if rep.verdict == "yes":
        sample.distance, sample.distance_to = Fraction(0), "the Clarke gradient (it is one)"
    elif rep.method == "star" and limiting and len(limiting) * len(gf) <= LP_LIMIT:
        sample.distance, sample.distance_to = distance_to_hull(limiting, gf), "the Clarke set (exact)"
    else:
        found = limiting + [_flat(lex)]
        sample.distance = min(max(abs(a - b) for a, b in zip(gf, p)) for p in found)
        sample.distance_to = "the nearest limiting gradient found (an upper bound)"
