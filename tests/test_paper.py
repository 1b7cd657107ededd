"""The paper's examples (sections 2.1, 2.2, 4.1, 4.3, 4.4) against its printed values.

These are tie/kink tests: exact values at exact points, no finite differences.
"""
import sympy as sp

import mtsym as mt
from conftest import flat, grid, max1

R = sp.Rational


def test_eq17_max1_loop_has_four_pieces_and_gradient_18():
    table = mt.derive(max1, 4)
    assert len(table) == 4
    # eq. (18): the associated gradient is e_k where k is the FIRST index of the max
    for p in grid(4):
        k = p.index(max(p))
        assert flat(table.grad_at(p)) == [1 if i == k else 0 for i in range(4)], p
    # the pieces are P^k = {x_k >= earlier, x_k > later}, each f^k = x_k
    x = table.symbols
    assert [p.expr for p in table.pieces] == list(x)


def test_eq19_torch_max_has_15_pieces_15_strata_and_gradient_20():
    table = mt.derive(lambda x: mt.max(x), 4, convention="torch")
    assert len(table) == 15 and len(table.strata) == 15
    assert sorted(s.dim for s in table.strata) == [1] + [2] * 4 + [3] * 6 + [4] * 4
    for p in grid(4):
        m = max(p)
        n = p.count(m)
        assert flat(table.grad_at(p)) == [R(1, n) if v == m else 0 for v in p], p
    # eq. (19) numbering: singles, pairs, triples, then P^15 = {x1 = x2 = x3 = x4}
    x1, x2, x3, x4 = table.symbols
    assert table.pieces[4].expr == (x1 + x2) / 2
    assert table.pieces[14].expr == (x1 + x2 + x3 + x4) / 4
    assert flat(table.grad_at((0, 0, 0, 0))) == [R(1, 4)] * 4  # eq. (21)
    p15 = table.pieces[14].strata[0]
    assert p15.dim == 1 and len(p15.equalities) == 3 and not p15.inequalities


def boustany(t):
    X = (1, 2, 3, 4)
    return max1([t * v for v in X]) - mt.max([t * v for v in X])


def test_table2_boustany():
    table = mt.derive(boustany, "t", convention="torch")
    assert len(table.strata) == 3
    assert sorted(s.dim for s in table.strata) == [0, 1, 1]
    for t, want in [(-1, 0), (R(-1, 2), 0), (R(-1, 100), 0), (0, R(-3, 2)),
                    (R(1, 100), 0), (R(1, 2), 0), (1, 0)]:
        assert flat(table.grad_at((t,))) == [want], t
    assert table.grad_at((0,)) == sp.Matrix([[R(-3, 2)]])


def test_table3_simplified_boustany_with_maxpool():
    def f(t):
        return mt.maxpool1d([t, 4 * t], 2, stride=1)[0] - mt.maxpool1d([4 * t, t], 2, stride=1)[0]
    table = mt.derive(f, "t", convention="torch")
    for t, want in [(-1, 0), (R(-1, 2), 0), (R(-1, 100), 0), (0, -3), (R(1, 100), 0), (R(1, 2), 0), (1, 0)]:
        assert flat(table.grad_at((t,))) == [want], t
    # under the "mean" convention a pooling tie is split: f'(0) = (1+4)/2 - (4+1)/2 = 0
    assert flat(mt.derive(f, "t", convention="mean").grad_at((0,))) == [0]


def test_section22_max_x_x_is_one_stratum_with_gradient_one_under_every_convention():
    for conv in ("torch", "jax", "first", "last", "mean"):
        table = mt.derive(lambda x: mt.max(x, x), "x", convention=conv)
        assert [s.dim for s in table.strata] == [1], conv
        for x in (-1, 0, 3):
            assert flat(table.grad_at((x,))) == [1], (conv, x)


def test_section41_parametric_relu0():
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(x), "x", convention=mt.Convention("torch", relu0=z))
    assert [flat(table.grad_at((x,)))[0] for x in (-1, 0, 1)] == [0, z, 1]
    assert len(table.strata) == 3


def test_section21_relu_of_zero_weight_has_derivative_zero_for_any_z():
    z = sp.Symbol("z")
    table = mt.derive(lambda x: mt.relu(0 * x), "x", convention=mt.Convention("torch", relu0=z))
    assert len(table.strata) == 1 and table.strata[0].dim == 1
    for x in (-1, 0, 1):
        assert flat(table.grad_at((x,))) == [0]


def test_section21_relu_w0_x_for_nonzero_w0():
    table = mt.derive(lambda x: mt.relu(-3 * x), "x")
    assert flat(table.grad_at((-1,))) == [-3]
    assert flat(table.grad_at((0,))) == [0]   # torch: relu'(0) = 0
    assert flat(table.grad_at((1,))) == [0]
    last = mt.derive(lambda x: mt.relu(-3 * x), "x", convention="last")
    assert flat(last.grad_at((0,))) == [-3]   # relu'(0) = 1, times w0
