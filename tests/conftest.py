import itertools
from fractions import Fraction

import pytest
import sympy as sp


def flat(m):
    """A gradient / Jacobian as a flat list of sympy numbers."""
    if isinstance(m, sp.MatrixBase):
        return list(m)
    if isinstance(m, (list, tuple)):
        out = []
        for v in m:
            out.extend(flat(v))
        return out
    return [sp.sympify(m)]


def grid(n, values=(0, 1, 2)):
    return list(itertools.product(values, repeat=n))


from mtsym.examples import max1  # noqa: E402,F401  (Table 1 of the paper, unchanged)


@pytest.fixture
def half():
    return Fraction(1, 2)
