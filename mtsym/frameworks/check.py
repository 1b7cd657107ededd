"""Hold a framework to a piece table: ``table.check(fn)`` and ``table.write_checker(path, fn)``.

:func:`check` evaluates the framework's own gradient of ``fn`` (PyTorch
autograd, ``jax.jacrev``) at one point of every stratum and compares it with
the table's associated gradient there.  The point is a small **dyadic**
rational (exact in binary floating point), found by
:func:`~mtsym.frameworks.points.dyadic_points`; before comparing, the checker
certifies with :func:`~mtsym.frameworks.points.float_exact` that the
framework's float forward pass computes every switching quantity exactly there
(so it lands on that stratum, ties included) and that mtsym's own tracer puts
the point on that stratum.  A stratum without such a point is skipped, and the
report says why (``3*x1 = 1`` has no dyadic point at all).

:func:`write_checker` writes a standalone pytest file (importing only the
framework, numpy, pytest, the standard library and the user's module) with the
points and the expected gradients embedded as exact fractions: dropped into a
test suite, it fails when a framework upgrade changes a tie rule.

The gradient code the written file runs is the code :func:`check` runs
(:mod:`mtsym.frameworks.calls`, embedded by its source), so the two cannot drift apart.
"""

__all__ = ["check", "write_checker", "CheckReport", "StratumCheck", "CheckError", "resolve_function", "RTOL"]

import importlib
import os
from fractions import Fraction

import numpy as np
import sympy as sp

from ..errors import InputError, MtsymError
from ..exact import tolerance
from ..display import ReprMixin
from ..extensions import register
from ..table import stratum_label
from .calls import CALLS, call_source
from .points import MANTISSA, dyadic_points, float_certified

#: tolerance of the gradient comparison (the tie rules differ by 1/k, far above it)
RTOL = {"float64": 1e-9, "float32": 1e-4}

#: the imports a written checker needs at module level: (standard library, third party)
CHECKER_IMPORTS = {
    "torch": ("", "import numpy as np\nimport pytest\n"),
    "jax": ("", "import numpy as np\nimport pytest\n"),
}


class CheckError(MtsymError):
    """A checker cannot be built (function not importable, framework disagrees with the table)."""


def _framework_call(framework):
    if framework not in CALLS:
        raise InputError(f"framework={framework!r}: choose one of {sorted(CALLS)}")
    return CALLS[framework]


def resolve_function(fn):
    """``(callable, "module:name" or None)`` for a callable or a ``"module:name"`` string."""
    if isinstance(fn, str):
        if ":" not in fn:
            raise InputError(f"{fn!r}: give the function as 'module:name'")
        mod, _, name = fn.partition(":")
        obj = importlib.import_module(mod)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj, fn
    if not callable(fn):
        raise InputError(f"check needs a function, got {type(fn).__name__}")
    mod, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    where = None
    if mod and name and mod != "__main__" and "<" not in name:
        try:
            obj = importlib.import_module(mod)
            for part in name.split("."):
                obj = getattr(obj, part)
            where = f"{mod}:{name}" if obj is fn else None
        except (ImportError, AttributeError):
            where = None
    return fn, where


def _is_vector(table):
    program = getattr(table, "program", None)
    if program is not None:
        return program.spec.vector
    return [str(s) for s in table.symbols] == [f"x{i + 1}" for i in range(len(table.symbols))]


def _spurious_indices(table):
    """Indices of the strata whose associated gradient is outside the Clarke gradient."""
    return {s.index for s in table.spurious()}


def _fractions(matrix):
    return [[Fraction(int(sp.Rational(v).p), int(sp.Rational(v).q)) for v in row] for row in matrix.tolist()]


class StratumCheck:
    """One stratum's line of a :class:`CheckReport`.

    Attributes
    ----------
    index, dim : int
        The stratum (``table.strata[index]``) and its dimension.
    condition : str
        The stratum's equalities and inequalities.
    point : tuple of Fraction or None
        The float-exact point used (``None`` when skipped).
    expected : list of list of Fraction or None
        The associated gradient (Jacobian rows) at the point.
    got : numpy.ndarray or None
        The framework's gradient there.
    status : str
        ``"agree"``, ``"differ"`` or ``"skipped"``.
    reason : str
        Why it was skipped or what differs.
    spurious : bool or None
        Whether the associated gradient is outside the Clarke gradient there
        (``None`` when :mod:`mtsym.verify` is not available).
    """

    __slots__ = ("index", "dim", "condition", "point", "expected", "got", "status", "reason", "spurious")

    def __init__(self, index, dim, condition, point=None, expected=None, got=None, status="skipped", reason="",
                 spurious=None):
        self.index, self.dim, self.condition, self.point = index, dim, condition, point
        self.expected, self.got, self.status, self.reason, self.spurious = expected, got, status, reason, spurious

    @property
    def agree(self):
        return self.status == "agree"

    @property
    def label(self):
        """``"S3"``: the stratum as every report names it (see :func:`mtsym.table.stratum_label`)."""
        return stratum_label(self.index)

    def line(self):
        def fmt(p):
            return "(" + ", ".join(str(c) for c in p) + ")"
        head = f"{self.label} dim {self.dim} {self.condition}"
        if self.status == "skipped":
            return f"{head}: skipped ({self.reason})"
        exp = "; ".join(fmt(r) for r in self.expected)
        got = "; ".join("(" + ", ".join(f"{v:.12g}" for v in r) + ")" for r in self.got)
        sp_ = "" if self.spurious is None else ("  spurious" if self.spurious else "")
        tail = f" [{self.reason}]" if self.reason else ""
        return f"{head}: at {fmt(self.point)} expected {exp}, framework {got}: {self.status}{sp_}{tail}"

    def __repr__(self):
        return f"StratumCheck({self.line()})"


class CheckReport(ReprMixin):
    """What :func:`check` found: one :class:`StratumCheck` per stratum.

    ``ok`` is true when no stratum differs and at least one was compared;
    ``complete`` when, besides, no lower-dimensional stratum (a tie or a kink,
    where frameworks differ) was skipped.
    """

    def __init__(self, framework, dtype, entries, function=None, n=None):
        self.framework, self.dtype, self.entries, self.function = framework, dtype, entries, function
        self.n = max((e.dim for e in entries), default=0) if n is None else n

    @property
    def ok(self):
        return not self.differ and bool(self.agreeing)

    @property
    def complete(self):
        return self.ok and not any(e.dim < self.n for e in self.skipped)

    @property
    def agreeing(self):
        return [e for e in self.entries if e.status == "agree"]

    @property
    def differ(self):
        return [e for e in self.entries if e.status == "differ"]

    @property
    def skipped(self):
        return [e for e in self.entries if e.status == "skipped"]

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def __str__(self):
        head = (f"{self.framework} ({self.dtype}) vs the piece table: {len(self.agreeing)} agree, "
                f"{len(self.differ)} differ, {len(self.skipped)} skipped")
        if self.ok and not self.complete:
            head += " -- INCOMPLETE: tie/kink strata were skipped, so their tie rules are not checked"
        return "\n".join([head] + ["  " + e.line() for e in self.entries])

    # notebook displays (mtsym.export.notebook.ReprMixin)
    def _repr_title(self):
        return (f"{self.framework} ({self.dtype}): {len(self.agreeing)} agree, {len(self.differ)} differ, "
                f"{len(self.skipped)} skipped")

    def _repr_columns(self):
        return ["stratum", "dim", "status", "spurious", "condition"]

    def _repr_rows(self):
        return [[e.label, e.dim, e.status, e.spurious, e.condition] for e in self.entries]

    def __repr__(self):
        return f"<CheckReport {self.framework}: ok={self.ok}, {len(self.agreeing)} agree, {len(self.differ)} " \
               f"differ, {len(self.skipped)} skipped>"


def _pick_dtype(call, fn, table, vector):
    """float64 when the function runs in it (modules are converted), else float32."""
    point = [0.0] * table.n
    try:
        call(fn, point, vector, "float64")
        return "float64"
    except (RuntimeError, TypeError):  # float32 weights the function does not let us convert
        call(fn, point, vector, "float32")
        return "float32"


def check(table, fn, framework="torch", *, dtype=None, rtol=None, max_log2=40):
    """Compare the framework's gradient of ``fn`` with the table's associated gradient on every stratum.

    Parameters
    ----------
    table : PieceTable
        From :func:`mtsym.derive` (the graph is needed to certify points).
    fn : callable or str
        The framework code (a function, an ``nn.Module``, or ``"module:name"``),
        taking the same inputs as the table: a vector of ``n`` or scalars.
    framework : {"torch", "jax"}
    dtype : {"float64", "float32"}, optional
        Default: float64 when ``fn`` runs in it (an ``nn.Module`` is converted
        to float64, which keeps its exact weights), else float32.
    rtol : float, optional
        Gradient tolerance (1e-9 in float64, 1e-4 in float32).
    max_log2 : int
        Largest ``k`` of the dyadic grid ``2^-k`` searched for points.

    Returns
    -------
    CheckReport
    """
    call = _framework_call(framework)
    if dtype is not None and dtype not in RTOL:
        raise InputError(f"check: dtype={dtype!r}; choose one of {', '.join(RTOL)}")
    rtol = tolerance(rtol, "rtol", positive=True)
    if isinstance(max_log2, bool) or not isinstance(max_log2, int) or not 0 <= max_log2 <= 1000:
        raise InputError(f"check: max_log2={max_log2!r} must be an integer from 0 to 1000")
    fn, where = resolve_function(fn)
    vector = _is_vector(table)
    dtype = dtype or _pick_dtype(call, fn, table, vector)
    rtol = RTOL[dtype] if rtol is None else rtol
    spurious = _spurious_indices(table)
    entries = [_check_stratum(table, s, fn, call, vector, dtype, rtol, max_log2, spurious) for s in table.strata]
    return CheckReport(framework, dtype, entries, function=where, n=table.n)


def _find_point(table, s, mantissa, max_log2):
    """A dyadic point of ``s`` where ``mantissa``-bit arithmetic is exact, or ``(None, reason)``."""
    why = None
    for p in dyadic_points(s, table.n, max_log2):
        ok, why_not = float_certified(table.graph, s, p, mantissa)
        if not ok:
            why = why or why_not
            continue
        if table.program is not None and table.stratum_at(p) is not s:
            why = why or f"mtsym locates {p} on another stratum"
            continue
        return p, ""
    return None, why or f"no dyadic point with denominator up to 2^{max_log2} (e.g. a tie like 3*x1 = 1)"


def _check_stratum(table, s, fn, call, vector, dtype, rtol, max_log2, spurious):
    entry = StratumCheck(s.index, s.dim, s.text,
                         spurious=None if spurious is None else s.index in spurious)
    piece = table.pieces[s.piece]
    if piece.grad.free_symbols - set(table.symbols):
        entry.reason = "the table's gradient is parametric here (convention symbols)"
        return entry
    if table.graph is None:
        entry.reason = "the table has no graph (read from JSON): derive it again to certify points"
        return entry
    p, why = _find_point(table, s, MANTISSA[dtype], max_log2)
    if p is None:
        entry.reason = why
        return entry
    out, jac, out_dtype = call(fn, [float(c) for c in p], vector, dtype)
    if MANTISSA.get(out_dtype, 0) < MANTISSA[dtype]:
        ok, why = float_certified(table.graph, s, p, MANTISSA.get(out_dtype, 11))
        if not ok:
            entry.reason = f"the framework computed in {out_dtype}: {why}"
            return entry
    sub = dict(zip(table.symbols, (sp.Rational(c.numerator, c.denominator) for c in p)))
    grad = piece.grad.subs(sub) if piece.grad.free_symbols else piece.grad
    expected = _fractions(grad)
    value = table.value_at(p)
    values = [value] if not isinstance(value, sp.MatrixBase) else list(value)
    want_val = np.array([float(v) for v in values])
    entry.point, entry.expected, entry.got = p, expected, jac
    want = np.array([[float(v) for v in row] for row in expected])
    reasons = []
    if out.shape != want_val.shape or not np.allclose(out, want_val, rtol=rtol, atol=rtol):
        reasons.append(f"the framework's value {out.tolist()} is not the table's {[str(v) for v in values]}: "
                       "is fn the traced function?")
    if jac.shape != want.shape or not np.allclose(jac, want, rtol=rtol, atol=rtol):
        reasons.append("the gradient differs")
    entry.status = "differ" if reasons else "agree"
    entry.reason = "; ".join(reasons)
    return entry


# --------------------------------------------------------------------------- written checkers
_HEADER = '''"""Pin a framework's gradient of a function to the associated gradient mtsym derived.

Written by mtsym {version} ({n_strata} strata, {n_cases} pinned here).  FUNCTION, FRAMEWORK and
CONVENTION below say what was checked.  Each case is a point of one stratum, exactly
representable in DTYPE, where DTYPE arithmetic is exact, with the associated gradient
(Jacobian rows) as exact fractions.  A failure means the framework's derivative at a tie or
kink changed (e.g. after an upgrade).  Regenerate with table.write_checker(path, FUNCTION,
framework=FRAMEWORK).
"""
{std}from fractions import Fraction
import importlib

{imports}
# every datum below is a Python literal written with repr()
FUNCTION = {where!r}
FRAMEWORK = {framework!r}
CONVENTION = {convention!r}
VECTOR = {vector!r}
DTYPE = {dtype!r}
RTOL = {rtol!r}

fn = importlib.import_module(FUNCTION.partition(":")[0])
for _name in FUNCTION.partition(":")[2].split("."):
    fn = getattr(fn, _name)

# (label, point, expected value(s), expected Jacobian rows); strings are exact fractions
CASES = [
{cases}
]
{skipped}
{source}

@pytest.mark.parametrize("label, point, value, jacobian", CASES, ids=[c[0] for c in CASES])
def test_gradient_at_stratum(label, point, value, jacobian):
    out, jac, _ = framework_call(fn, [float(Fraction(c)) for c in point], VECTOR, DTYPE)
    want_value = np.array([float(Fraction(v)) for v in value])
    want = np.array([[float(Fraction(v)) for v in row] for row in jacobian])
    np.testing.assert_allclose(out, want_value, rtol=RTOL, atol=RTOL, err_msg=f"{{label}}: value")
    np.testing.assert_allclose(jac, want, rtol=RTOL, atol=RTOL, err_msg=f"{{label}}: gradient")
'''


def write_checker(table, path, fn, framework="torch", *, force=False, **options):
    """Write a standalone pytest file that pins the framework's gradient of ``fn`` to this table.

    Parameters
    ----------
    table : PieceTable
    path : str or os.PathLike
        The file to write (e.g. ``tests/test_f_ties.py``).
    fn : callable or str
        Importable by its module and name, or ``"module:name"``.
    framework : {"torch", "jax"}
    force : bool
        Write even when the framework disagrees with the table today (the
        file then fails until the framework follows the table).
    **options
        Passed to :func:`check` (``dtype``, ``rtol``, ``max_log2``).

    Returns
    -------
    CheckReport
        The check the file was written from.
    """
    fn, where = resolve_function(fn)
    if where is None:
        raise CheckError("write_checker needs a function importable by its module and name (not a lambda or a "
                         "function of __main__); pass 'module:name'")
    report = check(table, fn, framework, **options)
    if not report.ok and not force:
        raise CheckError(f"{framework} does not agree with the table, so the checker would fail now "
                         f"(pass force=True to write it anyway):\n{report}")
    if not report.complete and not force:
        raise CheckError("tie or kink strata could not be checked (no float-exact point the framework is "
                         f"certified to land on), so the checker would pin no tie rule there (pass force=True "
                         f"to write it anyway):\n{report}")
    from .. import __version__
    std, third = CHECKER_IMPORTS[framework]
    cases = []
    for e in report.agreeing if not force else [e for e in report.entries if e.status != "skipped"]:
        value = table.value_at(e.point)
        values = [value] if not isinstance(value, sp.MatrixBase) else list(value)
        cases.append(f"    # {e.label}, dim {e.dim}: {e.condition!r}\n"
                     f"    ({e.label!r}, {tuple(str(c) for c in e.point)!r}, "
                     f"{tuple(str(v) for v in values)!r},\n"
                     f"     {tuple(tuple(str(v) for v in row) for row in e.expected)!r}),")
    # data (names, conditions, reasons: they may come from a file) enter the file only as repr()
    # literals, in comments too (a repr has no line break)
    skipped = "".join(f"# not pinned: {e.label} {e.condition!r}: {e.reason!r}\n" for e in report.skipped)
    text = _HEADER.format(framework=framework, where=where, version=__version__, convention=table.convention.name,
                          n_strata=len(table.strata), n_cases=len(cases), dtype=report.dtype,
                          std=std, imports=third, vector=bool(_is_vector(table)),
                          rtol=RTOL[report.dtype] if options.get("rtol") is None else float(options["rtol"]),
                          cases="\n".join(cases), skipped=("\n" + skipped) if skipped else "",
                          source=call_source(framework))
    with open(os.fspath(path), "w", encoding="utf-8") as f:
        f.write(text)
    return report


register("table.check", check)
register("table.write_checker", write_checker)
