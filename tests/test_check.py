"""Checkers: table.check(fn) and table.write_checker(path, fn), and the float-exact points behind them."""
import subprocess
import sys
import textwrap
from fractions import Fraction

import pytest

import mtsym as mt
from mtsym.frameworks.points import dyadic_points, float_exact, representable, solve_integer

torch = pytest.importorskip("torch")

MODULE = '''
import torch

a = 4


def max1(x):
    res = x[0]
    for i in range(1, a):
        if x[i] > res: res = x[i]
    return res


def boustany(t):
    x = t * torch.tensor([1., 2., 3., 4.])
    return max1(x) - torch.max(x)


def mix(x):
    return torch.max(x) + torch.relu(x[0] - 2 * x[1]) + torch.abs(x[2])


def third(x):
    return torch.relu(3 * x[0] - 1) + x[1]


torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
'''


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's module on sys.path (write_checker needs an importable function)."""
    d = tmp_path_factory.mktemp("user")
    (d / "usermod.py").write_text(MODULE)
    sys.path.insert(0, str(d))
    import usermod
    yield usermod, d
    sys.path.remove(str(d))
    sys.modules.pop("usermod", None)


def test_check_agrees_on_every_stratum_of_the_boustany_code(user):
    mod, _ = user
    table = mt.derive(mod.boustany, "t")
    report = table.check(mod.boustany)
    assert report.ok and len(report) == 3 and not report.skipped
    tie = next(e for e in report if e.point == (0,))
    assert tie.expected == [[Fraction(-3, 2)]] and tie.got.tolist() == [[-1.5]]


def test_check_points_are_dyadic_and_on_their_stratum(user):
    mod, _ = user
    table = mt.derive(mod.mix, 3)
    report = table.check(mod.mix)
    assert report.ok and len(report.agreeing) == len(table.strata) == 41
    for e in report:
        s = table.strata[e.index]
        assert s.contains(e.point) and table.stratum_at(e.point) is s
        assert all(Fraction(c).denominator & (Fraction(c).denominator - 1) == 0 for c in e.point)
    # the three-way tie with the relu kink: torch splits the max 1/3 each
    origin = next(e for e in report if e.dim == 0)
    assert origin.expected == [[Fraction(1, 3)] * 3]


def test_check_finds_the_strata_where_a_table_disagrees_with_torch(user):
    """A table of mtsym ops under "first" differs from torch's code exactly on the max ties."""
    mod, _ = user
    table = mt.derive(lambda x: mt.max(x) + mt.relu(x[0] - 2 * x[1]) + mt.abs(x[2]), 3, convention="first")
    report = table.check(mod.mix)
    assert not report.ok
    for e in report:
        case = table.strata[e.index].cases
        max_node = next(v for v, c in case.items() if table.graph.op(v) == "max")
        tie_in_max = len(case[max_node]) > 1
        abs_at_zero = any(table.graph.op(v) == "abs" and c == 0 for v, c in case.items())
        assert (e.status == "differ") == (tie_in_max or abs_at_zero), e.line()


def test_strata_without_a_dyadic_point_are_skipped_visibly(user):
    mod, _ = user
    table = mt.derive(mod.third, 2)
    report = table.check(mod.third)
    assert report.ok
    (skipped,) = report.skipped
    assert skipped.condition == "3*x1 = 1" and "no dyadic point" in skipped.reason
    assert "skipped" in str(report)


def test_module_with_float32_weights_is_checked_in_float64(user):
    mod, _ = user
    table = mt.derive(lambda x: mod.net(x)[0], 2)
    report = table.check(mod.net)
    assert report.ok and report.dtype == "float64"
    assert len(report.agreeing) >= 12
    # vertices where two float32 hyperplanes meet have odd denominators: no dyadic point
    assert all(e.dim == 0 for e in report.skipped)


def test_written_checker_passes_and_fails_when_tampered(user, tmp_path):
    mod, d = user
    table = mt.derive(mod.boustany, "t")
    path = tmp_path / "test_pin_boustany.py"
    table.write_checker(path, "usermod:boustany")
    text = path.read_text()
    assert "'-3/2'" in text
    imports = {line.split()[1] for line in text.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"copy", "fractions", "importlib", "numpy", "pytest", "torch"}

    def run(p):
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(p)],
                              cwd=d, capture_output=True, text=True, timeout=300)
    ok = run(path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "3 passed" in ok.stdout
    bad = tmp_path / "test_pin_tampered.py"
    bad.write_text(text.replace("'-3/2'", "'-1'"))
    res = run(bad)
    assert res.returncode == 1 and "1 failed, 2 passed" in res.stdout


def test_write_checker_needs_an_importable_function_and_agreement(user, tmp_path):
    mod, _ = user
    table = mt.derive(mod.boustany, "t")
    with pytest.raises(mt.MtsymError, match="importable"):
        table.write_checker(tmp_path / "t.py", lambda t: mod.boustany(t))
    wrong = mt.derive(lambda x: mt.max(x), 3, convention="first")
    with pytest.raises(mt.MtsymError, match="does not agree"):
        wrong.write_checker(tmp_path / "t.py", "usermod:mix")


def test_check_with_jax(user):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy

    def f(x):
        return jnp.abs(x[0]) + jax.nn.relu(x[1] - x[0]) + jnp.clip(x[2], -1., 1.)
    table = mt.derive(f, 3, framework="jax")
    report = table.check(f, framework="jax")
    assert report.ok and not report.skipped and report.framework == "jax"
    # the same code checked against a torch-convention table of mtsym ops differs at abs(0) and the clip bounds
    other = mt.derive(lambda x: mt.abs(x[0]) + mt.relu(x[1] - x[0]) + mt.clamp(x[2], -1, 1), 3)
    assert not other.check(f, framework="jax").ok


# --------------------------------------------------------------------------- points
def test_representable_and_integer_solutions():
    assert representable(Fraction(3, 2 ** 60), 53) and not representable(Fraction(2 ** 53 + 1), 53)
    assert representable(Fraction(2 ** 53 + 2), 53)
    y0, kernel = solve_integer([[3, 5]], [1])
    assert 3 * y0[0] + 5 * y0[1] == 1 and len(kernel) == 1 and 3 * kernel[0][0] + 5 * kernel[0][1] == 0
    assert solve_integer([[2, 4], [1, 1]], [1, 0]) is None


def test_dyadic_points_of_a_tie_plane_and_none_on_an_odd_one():
    table = mt.derive(lambda x: mt.relu(3 * x[0] - 1) + mt.max(x[0], x[1]), 2)
    for s in table.strata:
        pts = list(dyadic_points(s, 2, max_log2=12))
        third = any(f[1:] == (3, 0) and sgn == 0 for f, sgn in s.constraints)
        assert (not pts) == third, s
        for p in pts[:3]:
            assert s.contains(p)


def test_float_exact_rejects_rounding_points():
    table = mt.derive(lambda x: mt.relu(x[0] + x[1] - 1), 2)
    (s,) = [s for s in table.strata if s.dim == 1]
    ok, _ = float_exact(table.graph, s, (Fraction(1, 2), Fraction(1, 2)), 53)
    assert ok
    # 2^-60 + (1 - 2^-60) = 1 exactly, but 1 - 2^-60 is not a double: the float sum would round
    ok, why = float_exact(table.graph, s, (Fraction(1, 2 ** 60), 1 - Fraction(1, 2 ** 60)), 53)
    assert not ok and "not computed exactly" in why


def test_check_report_text_names_every_stratum(user):
    mod, _ = user
    report = mt.derive(mod.boustany, "t").check("usermod:boustany")
    lines = str(report).splitlines()
    assert lines[0].startswith("torch (float64) vs the piece table: 3 agree, 0 differ, 0 skipped")
    assert any("t = 0" in line and "-3/2" in line for line in lines)
    assert report.function == "usermod:boustany"


def test_spurious_column_is_filled_when_verify_exists(user):
    mod, _ = user
    report = mt.derive(mod.boustany, "t").check(mod.boustany)
    try:
        import mtsym.verify  # noqa: F401
    except ImportError:
        assert all(e.spurious is None for e in report)
    else:  # Boustany's t = 0: -3/2 is outside the Clarke gradient {0}
        assert [e.spurious for e in report if e.point == (0,)] == [True]


def test_generated_gradient_code_is_the_checked_code():
    import inspect

    from mtsym.frameworks.calls import call_source, torch_call
    src = call_source("torch")
    assert src.strip().startswith("def framework_call(fn, point, vector, dtype):")
    assert src.replace("framework_call", "torch_call", 1) == textwrap.dedent(inspect.getsource(torch_call))


def test_a_check_that_skipped_a_tie_is_ok_but_not_complete():
    import numpy as np
    from mtsym.frameworks.check import CheckReport, StratumCheck
    entries = [StratumCheck(0, 2, "x1 > x2", point=(1, 0), expected=[[1, 0]], got=np.array([[1.0, 0.0]]),
                            status="agree"),
               StratumCheck(1, 1, "x1 = x2", status="skipped", reason="not certified in float32")]
    report = CheckReport("torch", "float32", entries, n=2)
    assert report.ok and not report.complete and "INCOMPLETE" in str(report)
    entries[1] = StratumCheck(1, 2, "x1 < x2", status="skipped", reason="no dyadic point")
    assert CheckReport("torch", "float32", entries, n=2).complete
