"""What enumeration keeps of one stratum: :class:`StratumRecord`, compact.

A table of a million strata must fit in memory, so a record holds only exact
data, shared wherever it can be:

* the decision path as bytes when the walk gives a :class:`~mtsym.walk.PathCodec`
  (one byte per relu-like node), decoded to ``((node, case), ...)`` on access;
* the constraints as a linked list ``(row, sign, rest)`` shared with the other
  strata of the same subtree, listed on access;
* the forms interned (the strata of one piece share them), as integers over a
  denominator (:class:`PackedForms`) until a user reads them;
* no closure: :attr:`StratumRecord.poly` rebuilds it from the constraints on
  demand (exact double description, the same one enumeration built);
* the witness, computed once.

Sympy objects are never stored: the table builds them when a user asks.
"""

__all__ = ["StratumRecord", "PackedForms", "nice_witness", "interior_point", "closure", "gc_paused", "gc_frozen",
           "CountedSetting", "chain_list", "chain_links"]

import contextlib
import gc
import math
import threading
from fractions import Fraction

from .polyhedra import Polyhedron


class PackedForms:
    """The forms of a stratum's outputs as integers: ``key`` holds one ``(numerators, d)`` per output
    (the form is ``numerators / d``, ``d > 0``, ``gcd(d, *numerators) == 1``: equal forms have equal
    keys).  The tuples of ints and Fractions the rest of mtsym reads are built on first use
    (:attr:`value`), once per object: enumeration groups and orders the pieces on the integers.

    Examples
    --------
    >>> PackedForms((((1, 3), 2), ((4, 0), 1))).value
    ((Fraction(1, 2), Fraction(3, 2)), (4, 0))
    """

    __slots__ = ("key", "_value")

    def __init__(self, key):
        self.key, self._value = key, None

    @property
    def value(self):
        """The forms as tuples of ``int``/``Fraction`` (built once)."""
        v = self._value
        if v is None:
            v = self._value = tuple(num if d == 1 else tuple(x // d if x % d == 0 else Fraction(x, d) for x in num)
                                    for num, d in self.key)
        return v

    def __eq__(self, other):
        return type(other) is PackedForms and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __reduce__(self):
        return PackedForms, (self.key,)

    def __repr__(self):
        return f"PackedForms({self.key!r})"


def unpacked(forms):
    """``forms`` as tuples of numbers (:attr:`PackedForms.value` for packed forms)."""
    return forms.value if type(forms) is PackedForms else forms


class StratumRecord:
    """What exploration knows of one stratum (internal; the user sees :class:`~mtsym.table.Stratum`).

    Attributes
    ----------
    path : tuple of (node, case)
        The decisions, in program order.
    constraints : list of (form, sign)
        The exact description ``sign(form) = sign``, forms as coprime integer
        rows (each one cut the stratum when it was added).
    forms : tuple
        f^alpha of each output: affine tuples (entries may hold convention
        symbols) or sympy expressions (stored as :class:`PackedForms` when rational).
    vals : tuple
        The outputs' rational ``val`` forms (equal to f on the stratum; stored
        as :class:`PackedForms` when the walk gives them so).
    output_nodes : tuple of int
        The graph nodes of the outputs.
    shape : tuple
        ``()`` for a scalar output, ``(m,)`` for m outputs.
    poly : Polyhedron or None
        The closure in double description, rebuilt from the constraints when
        asked (``None`` for a table read from JSON).
    dim : int
    witness : tuple of int/Fraction
        An exact point of the stratum, with small dyadic coordinates when one
        is near (:func:`nice_witness` of the double description's interior point).
    key : bytes or tuple
        The path in the compact form it is stored in (a dictionary key).
    """

    __slots__ = ("key", "codec", "_cons", "_forms", "_vals", "output_nodes", "shape", "_poly", "dim", "_wit", "_q")

    def __init__(self, path, constraints, forms, vals, output_nodes, shape, poly=None, dim=None,
                 witness=None, codec=None, point=None):
        self.key, self.codec, self._cons = path, codec, constraints
        self._forms, self._vals, self.output_nodes, self.shape = forms, vals, output_nodes, shape
        self.dim = poly.dim if dim is None else dim
        if witness is not None:
            self._wit, self._q = witness, None
        else:  # the raw point P / q (given, or the closure's), made nice on first use
            self._wit, self._q = interior_point(poly) if point is None else point
        self._poly = None

    @property
    def forms(self):
        """f^alpha of each output (tuples of numbers, convention symbols or sympy expressions)."""
        f = self._forms
        return f.value if type(f) is PackedForms else f

    @property
    def vals(self):
        """The outputs' rational ``val`` forms (tuples of ``int``/``Fraction``)."""
        f = self._vals
        return f.value if type(f) is PackedForms else f

    @property
    def witness(self):
        """An exact point of the stratum (tuple of int/Fraction), with small dyadic coordinates
        when one is near: see :func:`nice_witness` (computed on first use)."""
        if self._q is not None:
            P, q = self._wit, self._q
            # a point stratum: rounding could only find the point itself
            self._wit = tuple(x // q if x % q == 0 else Fraction(x, q) for x in P) if self.dim == 0 \
                else nice_witness(P, q, self.constraints)
            self._q = None
        return self._wit

    @property
    def point(self):
        """``(q, P)``: an exact point ``P / q`` of the stratum (integers), the witness if it was
        made nice already, else the interior point before rounding (no rounding is done)."""
        if self._q is not None:
            return self._q, self._wit
        q = 1
        for v in self._wit:
            if type(v) is not int:
                q = math.lcm(q, v.denominator)
        return q, tuple(int(v * q) for v in self._wit)

    @property
    def path(self):
        """The decisions ``((node, case), ...)`` in program order."""
        return self.key if self.codec is None else self.codec.decode(self.key)

    @property
    def constraints(self):
        """The exact description, as a list of ``(form, sign)``."""
        c = self._cons
        return c if type(c) is list else chain_list(c)

    @property
    def poly(self):
        """The closure in double description, rebuilt from the constraints on first use
        (``None`` for a record read from a file, whose constraints are not trusted as cuts)."""
        if self._poly is None and type(self._cons) is not list:
            self._poly = closure(self.constraints, len(self._wit))
        return self._poly


def chain_list(link):
    """A constraint chain ``(row, sign, rest)`` as a list, first constraint first."""
    out = []
    while link is not None:
        row, sign, link = link
        out.append((row, sign))
    out.reverse()
    return out


def chain_links(items, link=None):
    """:func:`chain_list` back to a chain (on top of ``link``)."""
    for row, sign in items:
        link = (row, sign, link)
    return link


def closure(constraints, n):
    """The closure of ``{sign(form) = sign}`` in double description, cut by cut from R^n."""
    P = Polyhedron.space(n)
    for form, s in constraints:
        cut = P.cut(form)
        if s not in cut.signs:
            raise ValueError("the constraints describe an empty set")
        P = cut.child(s)
    return P


def _round_div(a, b):
    """``round(a / b)`` for integers, ``b > 0``, halves to even (as Python rounds a Fraction)."""
    q, r = divmod(a, b)
    r2 = 2 * r
    if r2 > b or (r2 == b and q & 1):
        return q + 1
    return q


def interior_point(poly):
    """The double description's interior point as ``(P, q)`` (integers, the point ``P / q``):
    the average of the vertices plus the sum of the rays, as :meth:`Polyhedron.witness`."""
    n = poly.n
    verts = [g for g in poly.gens if g[0] > 0]
    L = 1
    for v in verts:
        L = L * v[0] // math.gcd(L, v[0])
    q = L * len(verts)
    P = [0] * n
    for v in verts:
        f = L // v[0]
        for i in range(n):
            if v[i + 1]:
                P[i] += v[i + 1] * f
    for r in poly.gens:
        if r[0] == 0:
            for i in range(n):
                if r[i + 1]:
                    P[i] += r[i + 1] * q
    g = q
    for x in P:
        g = math.gcd(g, x)
    if g > 1:
        q //= g
        P = [x // g for x in P]
    return tuple(P), q


def nice_witness(P, q, constraints):
    """The point ``P / q`` rounded to the coarsest grid ``1/2^k`` (k <= 24) that keeps every
    constraint; else ``P / q`` itself.

    A dyadic point is exactly representable in float64 and cheap to compute
    with.  Integer arithmetic: each grid rounds ``P * 2^k / q`` (halves to even);
    the constraints with the least room at ``P / q`` are checked first, so a
    grid that is too coarse fails at once.
    """
    if q == 1:
        return P
    eqs = [(f, s) for f, s in constraints if s == 0]   # checked first: they fail most grids
    strict = None                                      # sorted on first use
    # round(x * 2^k / q) from floor(x * 2^25 / q) by a shift, when no grid can hit a half
    # exactly (the odd part of q does not divide x); else exactly by _round_div
    odd = q >> ((q & -q).bit_length() - 1)
    top = [(x << 25) // q if odd > 1 and x % odd else None for x in P]
    for k in range(25):
        d = 1 << k
        m = [_round_div(x * d, q) if t is None else ((t >> (24 - k)) + 1) >> 1 for x, t in zip(P, top)]
        if not _holds(eqs, d, m):
            continue
        if strict is None:
            strict = []
            for f, s in constraints:
                if s != 0:
                    v = f[0] * q + sum(a * b for a, b in zip(f[1:], P) if a and b)
                    strict.append((abs(v) // (sum(abs(a) for a in f[1:]) or 1), f, s))
            strict.sort(key=lambda r: r[0])
            strict = [(f, s) for _, f, s in strict]
        if _holds(strict, d, m):
            return tuple(c // d if c % d == 0 else Fraction(c, d) for c in m)
    return tuple(x // q if x % q == 0 else Fraction(x, q) for x in P)


def _holds(rows, d, m):
    """Whether the point ``m / d`` satisfies every ``sign(form) = s`` of ``rows``."""
    for f, s in rows:
        v = f[0] * d
        for a, b in zip(f[1:], m):
            if a and b:
                v += a * b
        if (v > 0) - (v < 0) != s:
            return False
    return True


class CountedSetting:
    """A process-wide setting held while any of several concurrent blocks runs: the first block in
    applies it (``apply()`` returns what it replaced), the last one out restores that
    (``restore(saved)``), whichever threads they run in.

    Examples
    --------
    >>> state = {"x": 1}
    >>> held = CountedSetting(lambda: state.update(x=2) or 1, lambda saved: state.update(x=saved))
    >>> with held():
    ...     with held():
    ...         pass
    ...     inside = state["x"]
    >>> inside, state["x"]
    (2, 1)
    """

    def __init__(self, apply, restore):
        self._apply, self._restore = apply, restore
        self._lock = threading.Lock()
        self._count, self._saved = 0, None

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._count == 0:
                self._saved = self._apply()
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0:
                    self._restore(self._saved)


def _collector_off():
    was = gc.isenabled()
    gc.disable()
    return was


def _collector_back(was):
    if was:
        _age_young()
        gc.enable()


#: the cyclic garbage collector off while enumerations run (they allocate many small acyclic
#: objects, which only make the collector run often: up to 1.3x slower); back as it was after, with
#: the objects made meanwhile moved to the oldest generation (:func:`_age_young`).  Counted across
#: threads, so concurrent enumerations turn it back on only when the last ends.
gc_paused = CountedSetting(_collector_off, _collector_back)


def _age_young():
    """Move every object the collector tracks into its oldest generation, without a pass over them.

    An enumeration made its objects with the collector off, so they all sit in the youngest
    generation: the first collection after it would visit each of them (0.2-0.3 s CPU for the
    16,383 strata of max over 14) only to find them alive.  Freezing then unfreezing them
    (:func:`gc_frozen` around nothing) moves them to the oldest generation in constant time (they
    are still collected there, at the next full collection).
    """
    with gc_frozen():
        pass


@contextlib.contextmanager
def gc_frozen():
    """Every object the collector tracks in its permanent generation while the block runs (a forked
    process then never touches, and so copies, their pages in a collection), moved to the oldest
    generation after; nothing when the process froze objects of its own (unfreezing would undo that).
    """
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    try:
        yield
    finally:
        if ours:
            gc.unfreeze()
