"""Tracing: the graph, its text form, operations on traced values and arrays."""
from fractions import Fraction

import numpy as np
import sympy as sp

import mtsym as mt
from conftest import flat


def test_text_form_of_a_small_program():
    g = mt.trace(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 2)
    assert str(g).splitlines() == [
        "graph (x1, x2) -> n6",
        "  n0 = input x1",
        "  n1 = input x2",
        "  n2 = max(n0, n1)",
        "  n3 = 2*n1",
        "  n4 = n0 - n3",
        "  n5 = relu(n4)",
        "  n6 = n2 - n5",
    ]


def test_graph_is_never_flattened():
    nested = mt.trace(lambda a, b, c: mt.maximum(mt.maximum(a, b), c), "a b c")
    flat3 = mt.trace(lambda a, b, c: mt.max(a, b, c), "a b c")
    assert [nested.op(v) for v in nested.nodes].count("maximum") == 2
    assert [flat3.op(v) for v in flat3.nodes].count("max") == 1
    # ... and they have different associated gradients at a = b = c (conventions.md)
    t1 = mt.derive(lambda a, b, c: mt.maximum(mt.maximum(a, b), c), "a b c")
    t2 = mt.derive(lambda a, b, c: mt.max(a, b, c), "a b c")
    R = sp.Rational
    assert flat(t1.grad_at((0, 0, 0))) == [R(1, 4), R(1, 4), R(1, 2)]
    assert flat(t2.grad_at((0, 0, 0))) == [R(1, 3)] * 3


def test_graph_nodes_record_the_user_line():
    g = mt.trace(lambda x: mt.relu(x), "x")
    relu = next(v for v in g.nodes if g.op(v) == "relu")
    assert "test_trace.py" in g.line_of(relu) and "mt.relu(x)" in g.line_of(relu)


def test_matmul_with_numpy_and_nested_lists_is_exact():
    W = np.array([[0.5, -1.0], [2.0, 0.25]])
    table = mt.derive(lambda x: mt.relu(x @ W).sum(), 2)
    # at (1, 1): x @ W = (2.5, -0.75) -> gradient of 2.5 only: column 0 of W
    assert flat(table.grad_at((1, 1))) == [Fraction(1, 2), 2]
    t2 = mt.derive(lambda x: mt.relu([[1, 2], [3, -4]] @ x)[1], 2)
    assert flat(t2.grad_at((1, 0))) == [3, -4]
    assert flat(t2.grad_at((0, 1))) == [0, 0]


def test_floats_become_their_exact_rationals():
    table = mt.derive(lambda t: 0.1 * t, "t")
    assert flat(table.grad_at((0,)))[0] == sp.Rational(3602879701896397, 36028797018963968)


def test_builtin_max_min_abs_sum_and_python_if():
    def f(x):
        m = max(x[0], x[1])          # compares with >: the first wins a tie
        s = sum([x[0], x[1]])
        if s > 0:
            return m + abs(x[0])
        return min(x[0], x[1])
    table = mt.derive(f, 2)
    assert flat(table.grad_at((1, 1))) == [2, 0]     # s > 0, tie -> first; |x1|' = 1
    assert flat(table.grad_at((-1, -1))) == [1, 0]   # min, tie -> first
    assert flat(table.grad_at((0, 0))) == [1, 0]     # s = 0 goes to the else branch
    for p in [(1, 2), (3, -1), (-2, 1), (0, 0), (Fraction(1, 3), -1)]:
        assert table.value_at(p) == mt.call_exact(f, 2, p)


def test_vector_output_gives_a_jacobian():
    table = mt.derive(lambda x: [mt.relu(x[0]), mt.max(x[0], x[1])], 2)
    J = table.grad_at((1, 1))
    assert J.shape == (2, 2)
    assert J.tolist() == [[1, 0], [sp.Rational(1, 2), sp.Rational(1, 2)]]
    assert table.value_at((1, 3)) == sp.Matrix([1, 3])


def test_products_of_traced_values_are_smooth_outputs():
    table = mt.derive(lambda a, b: mt.relu(a) * b, "a b")
    a, b = table.symbols
    assert table.piece_at((1, 5)).expr == a * b
    assert flat(table.grad_at((2, 3))) == [3, 2]
    assert flat(table.grad_at((-2, 3))) == [0, 0]


def test_maxpool2d_windows_are_row_major_first_wins():
    def f(x):
        rows = [[x[0], x[1], x[2]], [x[3], x[4], x[5]], [x[6], x[7], x[8]]]
        return mt.maxpool2d(rows, 2, stride=1).sum()
    table = mt.derive(f, 9)
    # conventions.md: MaxPool2d(2, stride 1) on zeros(3x3) -> [[1,1,0],[1,1,0],[0,0,0]]
    assert flat(table.grad_at((0,) * 9)) == [1, 1, 0, 1, 1, 0, 0, 0, 0]
    # entries (0,1) and (1,1) tie: windows (0,0), (0,1) pick (0,1); windows (1,0), (1,1) hold only (1,1)
    assert flat(table.grad_at((0, 5, 0, 0, 5, 0, 0, 0, 0))) == [0, 2, 0, 0, 2, 0, 0, 0, 0]


def test_maxpool1d_geometry():
    assert mt.maxpool1d([1, 3, 3, 2], 2, stride=2).tolist() == [3, 3]
    assert mt.maxpool1d([1, 5, 2], 2, stride=1, padding=1).tolist() == [1, 5, 5, 2]


def test_scalar_times_numpy_array_and_list_gives_an_array():
    X = np.array([1.0, 2.0, 3.0, 4.0])
    table = mt.derive(lambda t: mt.max(t * X) - mt.max(X * t) + mt.relu(([1, -1] * t)[1]), "t")
    assert flat(table.grad_at((0,))) == [0]
    assert flat(table.grad_at((-1,))) == [-1]
    assert mt.trace(lambda t: t, "t").number_of_nodes() == 1   # the identity is its input node
