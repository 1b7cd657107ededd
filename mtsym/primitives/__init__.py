"""Primitives: one declaration per kind of graph node, holding everything it means.

A :class:`Primitive` is declared once, in its family's file, with:

``numeric(xs, params)``
    exact forward on numbers (``int``/``Fraction``);
``symbolic(xs, params)``
    sympy forward, for display;
``tests(vals, params)`` (switching primitives only)
    a generator that enumerates the *cases*: it yields an affine form (a sign
    test; it receives the sign -1/0/1), a :class:`Restrict` (a sign test where
    only some signs belong to a case) or a :class:`Choice` (it receives an
    index), and returns the case.  Each case's set must be the relatively open
    polyhedron of that case, not a refinement of it;
``sign_input`` (optional)
    an input position ``i`` when the case is exactly the sign ``-1/0/1`` of
    input ``i`` (relu, abs, leaky_relu): enumeration then tests many such
    nodes at once;
``case_of(xs, params)``
    the case at exact numbers (default: the ``tests`` generator driven by the
    signs at the point, see :func:`case_by_tests`);
``linear(case, params, conv)``
    on a case, the node is ``sum(w_i * in_i) + bias`` on the stratum: returns
    ``(weights, bias)`` under a :class:`~mtsym.conventions.Convention`.  The
    weights are the associated (partial) derivatives autodiff uses.  ``None``
    for a smooth non-affine node, whose ``partials(xs, params)`` give the
    derivatives at exact input values instead;
``ties``
    the :class:`TieParam` convention parameters its tie cases read, each with
    its value under every named convention;
``numpy``
    its vectorised float64 rule (a :class:`~mtsym.primitives.vectorized.Rule`);
``tied(case, params)`` (switching primitives only)
    the positions of the arguments that take part in the case's tie (``()``
    for a strict case, whose set is open in the primitive's input space): a
    relu at 0 gives ``(0,)``, a 3-way tie of a max its three positions;
``homogeneous`` (optional)
    true when ``numeric(s * xs, params) = s * numeric(xs, params)`` for every ``s > 0``
    (relu, abs, leaky_relu, the max-like rows, order): the batched exact oracle
    (:mod:`mtsym.oracle`) then applies ``numeric`` to integer numerators over a
    common positive denominator;
``extended(xs, params)`` (optional)
    the primitive on arguments of which some are infinite (:class:`~mtsym.exact.Infinite`,
    e.g. ``-inf`` starting a running maximum): the result (an argument, a number,
    an infinity) or :class:`Reapply` (the primitive on fewer, finite arguments).
    Without it, an infinite argument is refused by name;
``params``, ``arity``, ``show``, ``text``, ``validate``
    the schema of its parameters (checked when a graph is read from a file,
    with ``validate(params)`` for what the schema alone cannot say),
    its number of inputs, how its parameters print, and a node's line in a
    graph's text form (``text(input names, params, extra=())``; by default
    ``name(n0, n1; shown params; extra)``).

Adding an operation is one :func:`register` call in one file, plus the
user-facing function (see the contributor's page of the documentation).
Nothing else in mtsym dispatches on a primitive's name; the completeness test
(``tests/test_registry.py``) checks every declaration.

Examples
--------
>>> from fractions import Fraction
>>> from mtsym.conventions import Convention
>>> PRIMITIVES["relu"].linear(0, (), Convention("torch"))
((0,), 0)
>>> PRIMITIVES["max"].linear((0, 2), (3,), Convention("torch"))
((Fraction(1, 2), 0, Fraction(1, 2)), 0)
>>> PRIMITIVES["clamp"].case_of([Fraction(1)], (Fraction(1), None))
'lo'
>>> print(PRIMITIVES["leaky_relu"].text(["n0"], (Fraction(1, 100),)))
leaky_relu(n0; slope=1/100)
"""

__all__ = ["Primitive", "PRIMITIVES", "TieParam", "TIE_PARAMS", "NAMED_CONVENTIONS", "register",
           "Choice", "Restrict", "Reapply", "sign", "case_by_tests", "path_by_tests", "replay", "KINDS"]

from . import params as P  # noqa: F401  (the parameter schemas, for declarations)

#: the named conventions every tie parameter gives a value for
NAMED_CONVENTIONS = ("torch", "jax", "first", "last", "mean")

#: what a node is, for the layers that treat families alike (display, sweeps, verification)
KINDS = ("input", "const", "affine", "smooth", "switching", "branch")


class TieParam:
    """A convention parameter: one kind of tie, and its value under each named convention.

    Parameters
    ----------
    name : str
        The keyword of :class:`~mtsym.conventions.Convention` (``relu0``).
    meaning : str
        One line for the documentation's table.
    values : dict
        ``{convention name: value}`` for every name in :data:`NAMED_CONVENTIONS`.
    choices : tuple of str, optional
        Words the parameter accepts besides numbers (``"mean"``, ``"first"``, ...).
    numeric : bool
        Whether numbers (and sympy expressions: a parametric convention) are accepted.
    none : str, optional
        When given, ``None`` is accepted and means this (shown in the table).
    """

    __slots__ = ("name", "meaning", "values", "choices", "numeric", "none")

    def __init__(self, name, meaning, values, *, choices=(), numeric=True, none=None):
        missing = [c for c in NAMED_CONVENTIONS if c not in values]
        if missing:
            raise ValueError(f"tie parameter {name!r} has no value under {', '.join(missing)}")
        self.name, self.meaning, self.values = name, meaning, dict(values)
        self.choices, self.numeric, self.none = tuple(choices), numeric, none

    def __repr__(self):
        return f"TieParam({self.name!r})"


#: every convention parameter, by name, in declaration order
TIE_PARAMS = {}


def sign(v):
    """-1, 0 or 1."""
    return (v > 0) - (v < 0)


class Choice:
    """Yielded by ``tests``: branch over ``m`` alternatives (the generator receives the index).

    ``scores`` (optional, ``m`` affine forms) is a pruning hint for the
    enumeration: alternative ``j`` has no case where ``sense * score_i > sense *
    score_j`` for some ``i``, or ``score_i == score_j`` with ``i < j`` (``j`` is
    the first maximum, for ``sense = 1``).  An explorer may skip an alternative
    that another's score dominates on the whole stratum; the cases found do not
    depend on it, only the time (a k-ary max on one stratum: O(k) tests, not
    O(k^2)).
    """

    __slots__ = ("m", "scores", "sense")

    def __init__(self, m, scores=None, sense=1):
        self.m, self.scores, self.sense = m, scores, sense


class Restrict:
    """Yielded by ``tests``: a sign test of ``form`` where only ``signs`` lead to a case.

    ``form`` may be a zero-argument callable that returns the form: it is then
    computed only when the sign is tested, not when a branch is replayed.
    """

    __slots__ = ("_form", "signs")

    def __init__(self, form, signs):
        self._form, self.signs = form, signs

    @property
    def form(self):
        f = self._form
        return f() if callable(f) else f


def replay(tests, vals, params, answers):
    """A ``tests`` generator started and given ``answers``: ``(generator, next question)``.

    ``StopIteration`` (its ``value`` the case) when the answers already decide the case.  A
    ``tests`` function with a ``resume(vals, params, answers)`` attribute (a k-ary max) starts
    its generator past the answers directly instead.
    """
    resume = getattr(tests, "resume", None)
    if resume is not None:
        return resume(vals, params, answers)
    gen = tests(vals, params)
    q = next(gen)
    for a in answers:
        q = gen.send(a)
    return gen, q


class Reapply:
    """Returned by ``extended``: apply the primitive again to ``args`` (finite) with ``params``."""

    __slots__ = ("args", "params")

    def __init__(self, args, params):
        self.args, self.params = args, params


def path_by_tests(tests, xs, params):
    """The path of a ``tests`` generator at exact numbers ``xs``: ``(case, answers)``.

    The numbers become constant affine forms ``(x,)``, so each yielded form is a
    number whose sign answers the test; a :class:`Choice` is answered by trying
    its alternatives in order, a :class:`Restrict` whose sign is not allowed
    abandons that alternative.  ``answers`` are the Choice indices and signs sent.
    """
    vals = [(x,) for x in xs]
    todo = [()]
    while todo:
        answers = todo.pop()
        try:
            gen, q = replay(tests, vals, params, answers)
            while True:
                if isinstance(q, Choice):
                    todo.extend(answers + (j,) for j in reversed(range(q.m)))
                    break
                form, allowed = (q.form, q.signs) if isinstance(q, Restrict) else (q, (1, 0, -1))
                s = sign(form[0])
                if s not in allowed:
                    break
                answers += (s,)
                q = gen.send(s)
        except StopIteration as stop:
            return stop.value, answers
    raise ValueError(f"no case holds at {xs}")  # pragma: no cover - the cases partition space


def case_by_tests(tests):
    """A ``case_of`` from a ``tests`` generator: the case whose sign tests hold at exact numbers
    (see :func:`path_by_tests`)."""
    def case_of(xs, params):
        return path_by_tests(tests, xs, params)[0]
    return case_of


def _default_text(name, show):
    def text(names, params, extra=()):
        shown = ([show(params)] if show is not None else []) + list(extra)
        return f"{name}({', '.join(names)}{''.join('; ' + e for e in shown if e)})"
    return text


class Primitive:
    """One node kind and everything it means (see the module docstring).

    ``kind`` is one of :data:`KINDS`; ``switching`` primitives have ``tests``.
    """

    __slots__ = ("name", "numeric", "symbolic", "tests", "case_of", "linear", "partials", "describe",
                 "doc", "numpy", "ties", "params", "arity", "show", "text", "kind", "validate",
                 "sign_input", "extended", "tied", "homogeneous")

    def __init__(self, name, numeric, symbolic, *, kind, numpy, params, arity, tests=None, case_of=None,
                 linear=None, partials=None, describe=None, ties=(), show=None, text=None, validate=None,
                 sign_input=None, extended=None, tied=None, homogeneous=False, doc=""):
        if kind not in KINDS:
            raise ValueError(f"primitive {name!r}: kind {kind!r} is not one of {KINDS}")
        self.name, self.kind = name, kind
        self.numeric, self.symbolic = numeric, symbolic
        self.tests, self.linear, self.partials = tests, linear, partials
        self.case_of = case_of if case_of is not None or tests is None else case_by_tests(tests)
        self.describe = describe or (lambda case, params: "" if case is None else str(case))
        self.numpy, self.ties, self.params = numpy, tuple(ties), tuple(params)
        self.arity, self.validate, self.extended = arity, validate, extended
        self.sign_input = sign_input
        self.homogeneous = homogeneous
        self.show = show
        self.tied = tied
        self.text = text or _default_text(name, show)
        self.doc = doc

    @property
    def switching(self):
        """True when the node has several cases."""
        return self.tests is not None

    def n_inputs(self, params):
        """The number of inputs a node with these parameters takes."""
        return self.arity(params) if callable(self.arity) else self.arity

    def check_params(self, params):
        """``params`` checked against the declared schema (and normalised); raises ``ValueError``."""
        if not isinstance(params, (tuple, list)) or len(params) != len(self.params):
            raise ValueError(f"{self.name} takes {len(self.params)} parameter(s), got {params!r}")
        params = tuple(spec.check(v) for spec, v in zip(self.params, params))
        if self.validate is not None:
            self.validate(params)
        return params

    def local(self, case, params, conv, xs=None):
        """The node's associated partial derivatives on ``case`` (``xs``: exact input values,
        needed only by smooth non-affine nodes, whose ``linear`` is ``None``)."""
        if self.linear is None:
            return self.partials(xs, params)
        return self.linear(case, params, conv)[0]

    def __repr__(self):
        return f"Primitive({self.name!r})"


#: every primitive, by name
PRIMITIVES = {}


def register(prim):
    """Add a primitive declaration (its name must be new) and its convention parameters."""
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} is already registered")
    for t in prim.ties:
        if TIE_PARAMS.setdefault(t.name, t) is not t:
            raise ValueError(f"tie parameter {t.name!r} is declared twice")
    PRIMITIVES[prim.name] = prim
    return prim


from . import affine, relu, maxlike, clamp, pooling, sort  # noqa: E402,F401  (declare the rows, in this order)
