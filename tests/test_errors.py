"""Bad input gets a specific mtsym error naming the operation and the user's line."""
import math

import numpy as np
import pytest

import mtsym as mt


def test_non_affine_switching_quantity():
    with pytest.raises(mt.NonAffineError) as e:
        mt.derive(lambda a, b: mt.relu(a * b), "a b")
    assert e.value.op == "relu"
    assert "test_errors.py" in str(e.value) and "mt.relu(a * b)" in str(e.value)
    assert "not affine" in str(e.value)


def test_non_affine_comparison():
    def f(a, b):
        if a * b > 0:
            return a
        return b
    with pytest.raises(mt.NonAffineError) as e:
        mt.derive(f, "a b")
    assert e.value.op == "branch" and "if a * b > 0" in str(e.value)


@pytest.mark.parametrize("call,op", [(float, "float()"), (int, "int()"), (bool, "bool()"),
                                     (round, "round()"), (math.floor, "math.floor()")])
def test_conversions_of_traced_values_are_refused(call, op):
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda t: call(t), "t")
    assert e.value.op == op and "test_errors.py" in str(e.value)


def test_unknown_function_names_itself():
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: np.exp(x), 2)
    assert "exp" in str(e.value)
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda t: t.sin(), "t")
    assert e.value.op == "sin"


def test_division_by_traced_value():
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda a, b: a / b, "a b")
    assert e.value.op == "/"


def test_non_finite_numbers_are_refused():
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda t: t * float("inf"), "t")
    assert "not finite" in str(e.value)
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x[0], 1).value_at((float("nan"),))


def test_endless_loop_hits_max_events():
    def f(t):
        while t > 0:   # t - 1 stays positive on ever smaller pieces: the path never ends for large t
            t = t - 1
        return t
    with pytest.raises(mt.LimitError) as e:
        mt.derive(f, "t", max_events=50)
    assert "max_events" in str(e.value) and "test_errors.py" in str(e.value)


def test_too_many_strata_says_how_to_raise_the_limit():
    with pytest.raises(mt.LimitError) as e:
        mt.derive(lambda x: mt.max(x), 6, max_strata=20)
    assert "max_strata" in str(e.value)


def test_bad_inputs_and_conventions():
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x, 0)
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x, "1x")
    with pytest.raises(mt.ConventionError):
        mt.derive(lambda x: x, "x", convention="tensorflowish")
    with pytest.raises(mt.ConventionError):
        mt.Convention("torch", relu1=0)
    with pytest.raises(mt.InputError):
        mt.derive(lambda x: x[0], 2).grad_at((1, 2, 3))


def test_nondeterministic_code_is_detected():
    import random
    rng = random.Random(0)

    def f(t):
        if t > 0:
            return mt.relu(t - rng.randint(0, 1000))
        return mt.relu(t + rng.randint(0, 1000)) if rng.random() < 0.5 else -t
    with pytest.raises(mt.MtsymError):
        mt.derive(f, "t")


def test_bad_operation_arguments():
    with pytest.raises(mt.UnsupportedOperationError):
        mt.derive(lambda t: mt.clamp(t, 2, 1), "t")
    with pytest.raises(mt.UnsupportedOperationError):
        mt.derive(lambda t: mt.maxpool1d([t], 3), "t")
    with pytest.raises(mt.UnsupportedOperationError):
        mt.derive(lambda x: x @ np.ones((3, 1)), 2)


def test_a_loop_on_an_unchanging_comparison_stops_at_max_events():
    def f(x):
        y = x
        while x > 0:      # x never changes: a Python loop that never ends for x > 0
            y = y + 1
        return y
    with pytest.raises(mt.LimitError) as e:
        mt.derive(f, "x", max_events=30)
    assert "max_events=30" in str(e.value)


def test_paths_returning_different_shapes_are_refused():
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda a: a if a > 0 else [a, 2 * a], "a")
    assert "same shape" in str(e.value)


def test_the_truth_value_of_a_whole_array_comparison_is_refused():
    """``x == 0`` compares entry by entry (each a Python branch); ``if`` on the two results is ambiguous."""
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(lambda x: x[0] if x == 0 else x[1], 2)
    assert e.value.op == "bool()" and "ambiguous" in str(e.value)
    assert "test_errors.py" in e.value.line


# a non-affine switching quantity that is 0 at the origin (the first run decides ties there): the
# tie rules then read it as a sympy expression; it must be refused by name, as relu(x * y) is
@pytest.mark.parametrize("fn, op", [
    (lambda x: mt.maximum(x[0] * mt.relu(x[0]), 0), "maximum"),
    (lambda x: mt.max([x[0] * mt.relu(x[0]), 0 * x[1]]), "max"),
    (lambda x: mt.clamp(x[0] * mt.relu(x[0]), 0, 1), "clamp"),
    (lambda x: mt.maxpool1d([x[0] * mt.relu(x[0]), x[1] - x[1]], 2), "maxpool"),
    (lambda x: x[0] if x[0] * mt.relu(x[0]) > 0 else -x[0], "branch"),
])
def test_a_non_affine_quantity_vanishing_at_the_origin_is_refused_by_name(fn, op):
    with pytest.raises(mt.NonAffineError) as e:
        mt.derive(fn, 2)
    assert e.value.op == op and "test_errors.py" in e.value.line and "x1**2" in str(e.value)


@pytest.mark.parametrize("fn, op", [
    (lambda x: x[0] // 2, "//"), (lambda x: x[0] % 2, "%"), (lambda x: 2 ** x[0], "**"),
    (lambda x: 2 // x[0], "//"), (lambda x: divmod(x[0], 2), "divmod()"), (lambda x: x[0] << 1, "<<"),
    (lambda x: (1 + 2j) * x[0], "*"), (lambda x: x[0] / 1j, "/"), (lambda x: np.complex128(1j) * x[0], "*"),
    (lambda x: x[0] + "abc", "+"), (lambda x: "abc" + x[0], "+"), (lambda x: x[0] - None, "-"),
    (lambda x: x[0] > "a", ">"), (lambda x: sum([x[0], "a"]), "+"),
    (lambda x: x // 2, "//"), (lambda x: x % 2, "%"), (lambda x: 2 ** x, "**"), (lambda x: x ** 2, "**"),
])
def test_unsupported_python_operators_are_mtsym_errors(fn, op):
    with pytest.raises(mt.UnsupportedOperationError) as e:
        mt.derive(fn, 2)
    assert e.value.op == op and "test_errors.py" in e.value.line


def test_equality_with_something_else_stays_pythons_identity_test():
    # v in (None, "a") compares v == None: no error, False (ordering comparisons are refused above)
    t = mt.derive(lambda x: x[0] if x[0] in (None, "a") else x[1], 2)
    assert len(t.strata) == 1 and t.grad_at((1, 2)) == mt.derive(lambda x: x[1], 2).grad_at((1, 2))
