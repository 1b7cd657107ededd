"""The piece table: representation (6) of the paper and its associated gradient (7).

A :class:`PieceTable` holds the strata (relatively open polyhedra on which every
switching quantity has a fixed sign) and the pieces P^alpha (unions of strata
sharing the same smooth f^alpha).  Everything the user sees is sympy; the exact
affine forms underneath are kept for speed.
"""

from __future__ import annotations

__all__ = ["PieceTable", "Piece", "Stratum", "relation", "relation_text", "steps_inside", "stratum_label", "path_trie",
           "piece_label"]

import math
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Callable, Sequence
from fractions import Fraction

import numpy as np
import sympy as sp

from .errors import InputError
from .exact import aff_to_expr, as_integers, int_row, to_exact, to_sympy
from .extensions import extension
from .linalg import nullspace
from .partition import locate_path
from .primitives import PRIMITIVES
from .records import PackedForms, unpacked

if TYPE_CHECKING:
    from .conventions import Convention
    from .graph import Graph
    from .partition import StratumRecord
    from .trace import Program


def relation(form, sign, symbols):
    """The sympy relation ``sign(form) = sign`` written readably.

    Terms with positive coefficients go left, the rest right; the side of the
    first variable is kept on the left.

    Examples
    --------
    >>> x1, x2 = sp.symbols("x1 x2")
    >>> relation((0, -1, 1), 0, (x1, x2))
    Eq(x1, x2)
    >>> relation((1, 1, -2), 1, (x1, x2))
    x1 + 1 > 2*x2
    >>> relation((0, -1, 1), 1, (x1, x2))
    x1 < x2
    """
    coefs = list(form[1:])
    lead = next((c for c in coefs if c != 0), 0)
    flip = lead < 0
    if flip:
        form = tuple(-c for c in form)
        sign = -sign
    lhs, rhs = sp.Integer(0), sp.Integer(0)
    c0 = to_sympy(form[0])
    for c, s in zip(form[1:], symbols):
        if c > 0:
            lhs += to_sympy(c) * s
        elif c < 0:
            rhs += to_sympy(-c) * s
    if c0 > 0:
        lhs += c0
    elif c0 < 0:
        rhs += -c0
    if sign == 0:
        return sp.Eq(lhs, rhs, evaluate=False)
    return sp.StrictGreaterThan(lhs, rhs, evaluate=False) if sign > 0 else \
        sp.StrictLessThan(lhs, rhs, evaluate=False)


def steps_inside(constraints, point, basis, reach):
    """For each direction ``v``: a power of two ``h`` with ``point + reach * h * v`` inside the stratum.

    Only the strict constraints bound the step (``v`` is tangent to the equalities).  Integer
    arithmetic: each form is scaled to coprime integers (the bound ``g / -dg`` does not change)
    and the point written ``P / q``.
    """
    q, P = as_integers(point)
    strict = []
    for form, s in constraints:
        if s != 0:
            row = int_row(form)
            gq = row[0] * q
            for c, x in zip(row[1:], P):
                if c and x:
                    gq += c * x
            strict.append((row[1:], s, s * gq))
    out = []
    for v in basis:
        num = den = None                       # the bound num / (den * q), smallest so far
        for coefs, s, sg in strict:
            dg = -s * sum(c * x for c, x in zip(coefs, v) if x)
            if dg > 0 and (num is None or sg * den < num * dg):
                num, den = sg, dg
        e = 0
        if num is not None:
            while num * (1 << e) <= reach * den * q:
                e += 1
        out.append(Fraction(1, 1 << e) if e else 1)
    return out


def path_trie(paths, leaves):
    """The strata's decision paths as one tree: a leaf, or ``[node, {case: subtree}]``.

    Raises ``ValueError`` unless after the same decisions every path decides the
    same node next (as a deterministic program does), and no path is a prefix of
    another (or the same as another).

    Examples
    --------
    >>> path_trie([((3, 1),), ((3, 0),), ((3, -1),)], "abc")
    [3, {1: 'a', 0: 'b', -1: 'c'}]
    """
    root = None
    for path, leaf in zip(paths, leaves):
        if not path:
            if root is not None:
                raise ValueError("a stratum without decisions beside others")
            root = leaf
            continue
        if root is None:
            root = [path[0][0], {}]
        elif not isinstance(root, list):
            raise ValueError("a stratum without decisions beside others")
        t = root
        for k, (v, case) in enumerate(path):
            if t[0] != v:
                raise ValueError(f"after the same decisions, one path decides node {t[0]} and another node {v}")
            try:
                nxt = t[1].get(case)
            except TypeError:
                raise ValueError(f"the case {case!r} of node {v} is not a case") from None
            if k == len(path) - 1:
                if nxt is not None:
                    raise ValueError("two strata have the same path, or one path is a prefix of another")
                t[1][case] = leaf
            else:
                if nxt is None:
                    nxt = t[1][case] = [path[k + 1][0], {}]
                elif not isinstance(nxt, list):
                    raise ValueError("one path is a prefix of another")
                t = nxt
    return root


def stratum_label(index):
    """How every report, export and plot names ``table.strata[index]``: ``"S3"`` for index 2.

    The one numbering of mtsym: a stratum's and a piece's position in the table, printed
    1-based (``S1``, ``P1`` are ``table.strata[0]``, ``table.pieces[0]``); ``P^{2}`` in LaTeX
    and plots is the piece printed ``P2``.

    Examples
    --------
    >>> stratum_label(2), piece_label(0)
    ('S3', 'P1')
    """
    return f"S{index + 1}"


def piece_label(index):
    """How every report, export and plot names ``table.pieces[index]``: ``"P1"`` for index 0."""
    return f"P{index + 1}"


def _form_expr(form, symbols):
    return aff_to_expr(form, symbols) if type(form) is tuple else form


def _form_grad(form, symbols):
    if type(form) is tuple:
        return [to_sympy(c) for c in form[1:]]
    return [sp.diff(form, s) for s in symbols]


class Stratum:
    """One stratum: ``{equalities, strict inequalities}`` with a witness point.

    Attributes
    ----------
    index : int
        Position in ``table.strata`` (0-based); printed ``label``, ``S<index + 1>``.
    piece : int
        Index of its piece in ``table.pieces`` (printed ``P<piece + 1>``).
    dim : int
        Dimension.
    witness : tuple of sympy.Rational
        An exact point inside.
    equalities, inequalities : list of sympy relations
        The description (strict inequalities).
    """

    __slots__ = ("_table", "_record", "discovery", "index", "piece", "dim", "_witness")

    def __init__(self, table: PieceTable, record: StratumRecord, discovery: int) -> None:
        self._table = table
        self._record = record
        self.discovery = discovery
        self.index = None
        self.piece = None
        self.dim = record.dim
        self._witness = None

    @property
    def record(self):
        """The exact data enumeration found (a :class:`~mtsym.partition.StratumRecord`): the
        decision path, the constraints, the forms, the closure in double description, the witness."""
        return self._record

    @property
    def constraints(self):
        """The exact description: list of ``(form, sign)``, form ``(c0, c1..cn)``."""
        return self._record.constraints

    @property
    def witness(self):
        """An exact rational point of the stratum (tuple of sympy Rationals)."""
        if self._witness is None:
            self._witness = tuple(to_sympy(c) for c in self._record.witness)
        return self._witness

    @property
    def equalities(self):
        """The equalities, as sympy ``Eq``."""
        syms = self._table.symbols
        return [relation(f, s, syms) for f, s in self.constraints if s == 0]

    @property
    def inequalities(self):
        """The strict inequalities, as sympy relations."""
        syms = self._table.symbols
        return [relation(f, s, syms) for f, s in self.constraints if s != 0]

    @property
    def text(self):
        """The stratum's relations as plain text: ``"x1 = x2, x1 > x3"`` (``"everywhere"`` if none)."""
        return ", ".join(relation_text(r) for r in self.equalities + self.inequalities) or "everywhere"

    @property
    def condition(self):
        """The stratum as one sympy boolean."""
        rels = self.equalities + self.inequalities
        return sp.And(*rels) if rels else sp.true

    @property
    def tangent(self):
        """A basis of the tangent space (list of integer tuples of length n)."""
        rows = [list(f[1:]) for f, s in self.constraints if s == 0]
        n = len(self._table.symbols)
        if not rows:
            return [tuple(1 if j == i else 0 for j in range(n)) for i in range(n)]
        return [tuple(v) for v in nullspace(rows, n)]

    @property
    def forms(self):
        """The f^alpha forms of the outputs on this stratum (exact, internal)."""
        return self._record.forms

    @property
    def cases(self):
        """``{node: case}`` for every switching node decided on this stratum."""
        return dict(self._record.path)

    @property
    def path(self):
        """The decisions ``((node, case), ...)`` in program order."""
        return self._record.path

    @property
    def output_nodes(self):
        """The graph nodes this stratum's outputs come from."""
        return self._record.output_nodes

    @property
    def label(self) -> str:
        """``"S3"`` for ``table.strata[2]``: the name every report, export and plot uses."""
        return stratum_label(self.index)

    def contains(self, point: Sequence) -> bool:
        """Whether an exact point lies in this stratum."""
        point = tuple(to_exact(v, what="coordinate") for v in point)
        for f, s in self.constraints:
            v = f[0] + sum(c * x for c, x in zip(f[1:], point))
            if (v > 0) - (v < 0) != s:
                return False
        return True

    def __repr__(self):
        return f"Stratum({self.label}: dim {self.dim}, {self.condition}, in {piece_label(self.piece)})"

    def _repr_latex_(self):
        return extension("display.stratum_latex")(self._table, self)

    def _repr_html_(self):
        return extension("display.stratum_html")(self._table, self)


class Piece:
    """A piece P^alpha: strata sharing one smooth f^alpha.

    Attributes
    ----------
    index : int
        Position in ``table.pieces`` (0-based); printed ``label``, ``P<index + 1>`` (``P^{k}`` in LaTeX).
    strata : list of Stratum
    expr : sympy expression (Matrix for vector outputs), f^alpha
    grad : sympy Matrix, 1 x n (or m x n Jacobian), grad f^alpha
    dim : int, the largest stratum dimension
    condition : sympy boolean, the union of its strata
    """

    def __init__(self, table: PieceTable, forms: tuple, strata: list[Stratum]) -> None:
        self._table = table
        self._forms = forms
        self.strata = strata
        self.index = None
        self.dim = strata[0].dim if len(strata) == 1 else max(s.dim for s in strata)
        self._expr = self._grad = None

    @property
    def forms(self):
        """f^alpha of each output (exact tuples, convention symbols or sympy expressions)."""
        return unpacked(self._forms)

    @forms.setter
    def forms(self, forms):
        self._forms = forms

    @property
    def expr(self):
        if self._expr is None:
            syms = self._table.symbols
            exprs = [_form_expr(f, syms) for f in self.forms]
            self._expr = exprs[0] if self._table.shape == () else sp.Matrix(exprs)
        return self._expr

    @property
    def grad(self):
        if self._grad is None:
            syms = self._table.symbols
            self._grad = sp.Matrix([_form_grad(f, syms) for f in self.forms])
        return self._grad

    @property
    def label(self):
        """``"P2"`` for ``table.pieces[1]``: the name every report uses (``P^{2}`` in LaTeX and plots)."""
        return piece_label(self.index)

    @property
    def condition(self):
        conds = [s.condition for s in self.strata]
        return conds[0] if len(conds) == 1 else sp.Or(*conds)

    def __repr__(self):
        return f"Piece({self.label}: dim {self.dim}, {len(self.strata)} strata, f = {self.expr})"

    def _repr_latex_(self):
        return extension("display.piece_latex")(self._table, self)

    def _repr_html_(self):
        return extension("display.piece_html")(self._table, self)


def _sort_keys(pieces):
    """The order of the pieces: dimension (largest first), then the gradient coefficients (largest
    first) when they are all rational, then discovery.  Rationals are compared as integers over one
    common denominator (exact, and much faster than Fractions)."""
    flats = []
    den = 1
    for piece in pieces:
        flat = []
        for f in piece.forms:
            if type(f) is tuple and all(type(c) in (int, Fraction) for c in f):
                flat.extend(f[1:])
            else:
                flat = None
                break
        if flat:
            for c in flat:
                if type(c) is Fraction and den % c.denominator:
                    den = den * c.denominator // math.gcd(den, c.denominator)
        flats.append(flat)
    keys = []
    for piece, flat in zip(pieces, flats):
        ints = () if not flat else tuple(-c * den if type(c) is int else -c.numerator * (den // c.denominator)
                                         for c in flat)
        keys.append((-piece.dim, ints, piece.strata[0].discovery))
    return keys


def _rational_keys(all_forms):
    """Per forms tuple ``(constants, -coefficients)`` with the coefficients as integers over one
    common denominator, or ``None`` unless every entry of every form is an int or a Fraction.

    Two forms tuples are equal exactly when their keys are, and the keys' second parts order the
    pieces as :func:`_sort_keys` does (a common positive scale keeps the order); hashing integers
    is much cheaper than hashing Fractions, and each distinct Fraction object is scaled once.
    """
    seen = {}
    for forms in all_forms:
        for f in forms:
            if type(f) is not tuple:
                return None
            for c in f:
                t = type(c)
                if t is Fraction:
                    seen[id(c)] = c
                elif t is not int:
                    return None
    den = 1
    for c in seen.values():
        if den % c.denominator:
            den = den * c.denominator // math.gcd(den, c.denominator)
    neg = {i: -c.numerator * (den // c.denominator) for i, c in seen.items()}
    return [(tuple(f[0] for f in forms),
             tuple(-c * den if type(c) is int else neg[id(c)] for f in forms for c in f[1:]))
            for forms in all_forms]


def _packed_order(dims, packed_keys, first, flat=None, dens=None):
    """The order of pieces with packed forms (:func:`_sort_keys`'s: dimension, largest first, then
    the gradient coefficients, largest first, then discovery), as a list of indices.

    Every output's numerators are scaled to the least common multiple of the denominators (few
    distinct ones: 1 for integer weights, 1..k on a k-ary max) and sorted as integers: in one
    ``numpy.lexsort`` when they fit in int64 (checked, never wrapped), else as tuples of Python
    ints; past :data:`_SCALED_BITS` bits of that multiple the coefficients are compared by
    cross-multiplying, as far as a sort compares them (:class:`_Coefficients`).  ``flat``, ``dens``:
    the keys' numerators and denominators in order, when the caller gathered them already."""
    count = len(packed_keys)
    if flat is None:  # every key's numerators in one list, its denominators in another
        flat, dens = [], []
        for key in packed_keys:
            for num, d in key:
                flat += num
                dens.append(d)
    L = math.lcm(*set(dens)) if dens else 1
    if L.bit_length() > _SCALED_BITS:
        keys = [(-dim, _Coefficients(key), f) for dim, key, f in zip(dims, packed_keys, first)]
        return sorted(range(count), key=keys.__getitem__)
    outputs = len(dens) // count if count else 0
    width = len(flat) // len(dens) if dens else 0
    if count > 1 and L.bit_length() < 62 and len(dens) == count * outputs and len(flat) == len(dens) * width:
        try:
            nums = np.array(flat, dtype=np.int64).reshape(count, outputs, width)
        except OverflowError:  # past int64: the tuples below
            nums = None
        if nums is not None:
            scale = L // np.array(dens, dtype=np.int64).reshape(count, outputs)
            big = max(-int(nums.min(initial=0)), int(nums.max(initial=0)))   # exact (no abs of -2^63)
            if big * int(scale.max(initial=1)) < 2 ** 62:
                coeffs = -(nums[:, :, 1:] * scale[:, :, None]).reshape(count, -1)
                columns = [np.asarray(first)] + [coeffs[:, j] for j in range(coeffs.shape[1] - 1, -1, -1)]
                return np.lexsort(columns + [-np.asarray(dims)]).tolist()
    keys = [(-dim, tuple(-x * (L // d) for num, d in key for x in num[1:]), f)
            for dim, key, f in zip(dims, packed_keys, first)]
    return sorted(range(count), key=keys.__getitem__)


#: the largest common denominator (in bits) :func:`_packed_order` scales the coefficients to
_SCALED_BITS = 512


class _Coefficients:
    """The gradient coefficients of packed forms as a sort key: the order of :func:`_sort_keys`
    (largest first), compared exactly by cross-multiplying entries only as far as a sort compares
    them, instead of first scaling every coefficient of every piece to one common denominator."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def _pairs(self, other):
        for (a, d), (b, e) in zip(self.key, other.key):
            for x, y in zip(a[1:], b[1:]):
                yield x * e, y * d

    def __eq__(self, other):
        return self.key == other.key or all(u == v for u, v in self._pairs(other))

    def __lt__(self, other):
        for u, v in self._pairs(other):
            if u != v:
                return u > v
        return False

    __hash__ = None


_DIM = attrgetter("dim")
_DISCOVERY = attrgetter("discovery")
_RECORD = attrgetter("_record")


class Block:
    """Strata added to a :class:`TableBuilder` before their turn (:meth:`TableBuilder.add_block`):
    the strata, and each one's piece by its place in the builder's pieces (None: not grouped yet)."""

    __slots__ = ("strata", "where")

    def __init__(self, strata, where):
        self.strata, self.where = strata, where


class TableBuilder:
    """A :class:`PieceTable` made stratum by stratum, as enumeration emits them (a parallel
    enumeration groups its strata into pieces while the workers walk, not after the last one).

    ``add(record)`` in discovery order, then ``finish(...)`` for the table: the same table as
    ``PieceTable(records, ...)``, which is built this way.  Strata found out of order (a parallel
    run's tasks end in any order) go in by blocks: ``add_block(records)`` as soon as they are
    known (grouped into pieces then), ``place(block)`` when their turn comes in discovery order
    (numbering only); the table is the same.

    Examples
    --------
    >>> import mtsym as mt
    >>> t = mt.derive(lambda x: mt.relu(x[0] - x[1]), 2)
    >>> b = TableBuilder()
    >>> for s in sorted(t.strata, key=lambda s: s.discovery):
    ...     b.add(s.record)
    >>> u = b.finish(t.symbols, t.convention)
    >>> [(p.label, len(p.strata)) for p in u.pieces] == [(p.label, len(p.strata)) for p in t.pieces]
    True
    """

    __slots__ = ("table", "records", "strata", "_by_id", "_by_key", "_pieces", "_flat", "_dens", "_dims", "_keys",
                 "_unordered", "_first", "_seq", "_start")

    def __init__(self, table: PieceTable | None = None) -> None:
        self.table = PieceTable.__new__(PieceTable) if table is None else table
        self.records, self.strata = [], []
        # while every forms object is packed: the pieces in order of discovery, by the forms'
        # identity (enumeration shares one object per piece) and by value, and what the final
        # sort reads of them, gathered as they come (their dimensions, keys, and the keys'
        # numerators and denominators): the sort after the last stratum touches no piece object
        # (None: grouped in finish)
        self._by_id, self._by_key, self._pieces = {}, {}, []
        self._flat, self._dens, self._dims, self._keys = [], [], [], []
        # once blocks come (out of order), what orders the pieces by their first discovery: the first
        # discovery of each piece met before (``_first``), and for each stratum from stratum
        # ``_start`` on, its piece's place in ``_pieces`` (``_seq``)
        self._unordered = False
        self._first = self._seq = None
        self._start = 0

    def add(self, record: StratumRecord) -> None:
        """The next stratum, in discovery order (before any :meth:`add_block`)."""
        if self._unordered:   # its discovery would not count the blocks not yet placed
            raise RuntimeError("TableBuilder.add after add_block: place every block and add no more")
        s = Stratum(self.table, record, len(self.strata))
        self.records.append(record)
        self.strata.append(s)
        if self._pieces is not None:
            self._group(s, record)

    def add_block(self, records: Sequence[StratumRecord]) -> Block:
        """Strata whose place in discovery order is not known yet (a parallel task's, which may end
        before an earlier one's): grouped into pieces now, in :attr:`strata` once the block
        returned is given to :meth:`place`, when its turn comes (:meth:`add` only before the first
        block)."""
        if not self._unordered:
            self._unordered = True
            if self._pieces is not None:
                self._first = [p.strata[0].discovery for p in self._pieces]
            self._seq, self._start = [], len(self.strata)
        block = [Stratum(self.table, r, None) for r in records]
        where = []       # each stratum's piece, by its place in _pieces
        for s, r in zip(block, records):
            p = self._group(s, r) if self._pieces is not None else None
            if p is None:    # forms not all packed: grouped in finish, by value
                return Block(block, None)
            where.append(p.index)
        return Block(block, where)

    def place(self, added: Block) -> list[Stratum]:
        """A block from :meth:`add_block`, at its turn in discovery order (numbered here): its
        strata."""
        block, where = added.strata, added.where
        for i, s in enumerate(block, len(self.strata)):
            s.discovery = i
        self.strata += block
        self.records += map(_RECORD, block)
        if where is not None and self._pieces is not None:
            self._seq += where
        return block

    def _group(self, s, record):
        """``s`` into its piece, while every forms object is packed: the piece (None once they are
        not all packed: grouped in finish)."""
        forms = record._forms
        p = self._by_id.get(id(forms))
        if p is None:
            if type(forms) is not PackedForms:  # grouped in finish, by value
                self._pieces = self._by_id = self._by_key = self._flat = self._dens = self._dims = self._keys = None
                return None
            key = forms.key   # packed keys are equal exactly when the forms are
            p = self._by_key.get(key)
            if p is None:
                p = self._by_key[key] = Piece(self.table, forms, [s])
                p.index = len(self._pieces)        # its place in discovery order, until finish
                self._pieces.append(p)
                self._dims.append(p.dim)
                self._keys.append(key)
                for num, d in key:
                    self._flat += num
                    self._dens.append(d)
                self._by_id[id(forms)] = p
                return p
            self._by_id[id(forms)] = p
        p.strata.append(s)
        if s.dim > p.dim:
            p.dim = s.dim
            if self._dims is not None:
                self._dims[p.index] = s.dim
        return p

    def finish(self, symbols: Sequence[sp.Symbol], convention: Convention, graph: Graph | None = None,
               program: Program | None = None, name: str = "f") -> PieceTable:
        """The table of the strata added (the builder is spent)."""
        table = self.table
        table.symbols = tuple(symbols)
        table.convention = convention
        table.graph = graph
        table.program = program
        table.name = name
        table.shape = self.records[0].shape if self.records else ()
        if self._pieces is not None:   # (-dim, -coefficients, discovery) from the integers
            pieces = self._pieces        # in discovery order: a piece's position breaks ties
            first = self._first_discovery() if self._unordered else range(len(pieces))
            order = _packed_order(self._dims, self._keys, first, self._flat, self._dens)
        else:
            pieces, order = _grouped(table, self.strata)
        pieces = [pieces[i] for i in order]
        ordered = []
        j = 0
        for i, p in enumerate(pieces):   # one pass numbers the pieces and their strata
            p.index = i
            st = p.strata
            if len(st) > 1:   # (-dim, discovery): a piece's strata come in discovery order, the sort is stable
                if self._unordered:   # (blocks came in any order)
                    st.sort(key=_DISCOVERY)
                st.sort(key=_DIM, reverse=True)
            for s in st:
                s.piece, s.index = i, j
                j += 1
            ordered += st
        table.pieces = pieces
        table.strata = ordered
        table._by_key = None
        self.records = self.strata = self._pieces = self._by_id = self._by_key = None
        self._flat = self._dens = self._dims = self._keys = self._first = self._seq = None
        return table

    def _first_discovery(self):
        """Each piece's first stratum's discovery (pieces met first in a later block than another's
        first come before it), from the pieces' numbers in discovery order, in one pass of numpy."""
        count = len(self._pieces)
        first = np.full(count, len(self.strata), dtype=np.int64)
        first[:len(self._first)] = self._first
        if self._seq:
            met, at = np.unique(np.array(self._seq, dtype=np.int64), return_index=True)
            first[met] = np.minimum(first[met], at + self._start)
        return first.tolist()


def _grouped(table, strata):
    """The pieces of ``strata`` (forms not all packed) and their order: grouped by the forms'
    identity (enumeration shares one object per piece), then by value."""
    by_id = {}
    for s in strata:
        by_id.setdefault(id(s._record._forms), []).append(s)
    same = list(by_id.values())
    raw = [unpacked(ss[0]._record._forms) for ss in same]
    ikeys = _rational_keys(raw)
    groups = {}
    for k, ss in enumerate(same):
        g = groups.setdefault(raw[k] if ikeys is None else ikeys[k], (k, []))[1]
        if g:
            g.extend(ss)
            g.sort(key=lambda s: s.discovery)
        else:
            g[:] = ss
    pieces = [Piece(table, raw[k], ss) for k, ss in groups.values()]
    if ikeys is None:
        keys = _sort_keys(pieces)
    else:  # the same order from the integer keys: (-dim, -coefficients, discovery)
        keys = [(-p.dim, ikeys[k][1], p.strata[0].discovery) for p, (k, _) in zip(pieces, groups.values())]
    return pieces, sorted(range(len(pieces)), key=keys.__getitem__)


class PieceTable:
    """The exact representation of a traced function: pieces, strata, associated gradient.

    Built by :func:`mtsym.derive`.  ``len(table)`` is the number of pieces.  ``incomplete`` is
    ``None``, or why the table is partial (an enumeration stopped by a limit or by Ctrl-C:
    see :func:`mtsym.derive`); a partial table's strata do not cover the input space.
    """

    incomplete = None

    def __init__(self, records: Sequence[StratumRecord], symbols: Sequence[sp.Symbol], convention: Convention,
                 graph: Graph | None = None, program: Program | None = None, name: str = "f") -> None:
        builder = TableBuilder(self)
        for r in records:
            builder.add(r)
        builder.finish(symbols, convention, graph, program, name)

    # ----------------------------------------------------------- queries
    def __len__(self):
        return len(self.pieces)

    @property
    def n(self):
        return len(self.symbols)

    def _point(self, p):
        if not isinstance(p, (list, tuple)):
            try:
                p = tuple(p)
            except TypeError:
                p = (p,)
        if len(p) != self.n:
            raise InputError(f"point {p!r} has {len(p)} coordinates; this table has {self.n} inputs")
        return tuple(to_exact(v, what="coordinate") for v in p)

    def stratum_at(self, p: Sequence) -> Stratum:
        """The stratum holding an exact point (ints, Fractions, sympy Rationals; floats exactly)."""
        pt = self._point(p)
        if self.program is not None and self.strata:
            if self._by_key is None:
                self._by_key = {s.record.key: s for s in self.strata}
            codec = self.strata[0].record.codec
            path = locate_path(self.program, pt)
            s = self._by_key.get(path if codec is None else codec.encode(path))
            if s is not None:
                return s
        elif self.graph is not None:  # read from a file: the graph decides, not the stored constraints
            return self._graph_stratum(pt)
        for s in self.strata:
            if s.contains(pt):
                return s
        raise InputError(f"no stratum holds {pt}; the table is incomplete")  # pragma: no cover

    @property
    def _by_path(self):
        """``{path: stratum}``, built on first use (the strata keep their paths compact)."""
        d = self.__dict__.get("_by_path_cache")
        if d is None:
            d = self._by_path_cache = {s.path: s for s in self.strata}
        return d

    def _graph_stratum(self, pt):
        """The stratum whose decisions the graph takes at ``pt`` (exactly, node by node)."""
        t = self.__dict__.get("_trie")
        if t is None:
            t = self._trie = path_trie([s.path for s in self.strata], self.strata)
        vals = self.graph.values_at(pt)
        while isinstance(t, list):
            v, kids = t
            d = self.graph.nodes[v]
            t = kids.get(PRIMITIVES[d["op"]].case_of([vals[u] for u in d["inputs"]], d["params"]))
            if t is None:
                raise InputError(f"no stratum holds {pt}; the table is incomplete")
        return t

    def piece_at(self, p: Sequence) -> Piece:
        """The piece holding an exact point."""
        return self.pieces[self.stratum_at(p).piece]

    def value_at(self, p: Sequence) -> sp.Expr | sp.Matrix:
        """f at an exact point (sympy number, or Matrix for vector outputs)."""
        pt = self._point(p)
        piece = self.piece_at(pt)
        sub = dict(zip(self.symbols, (to_sympy(v) for v in pt)))
        e = piece.expr
        return e.subs(sub) if hasattr(e, "subs") else e

    def grad_at(self, p: Sequence) -> sp.Matrix:
        """The associated gradient at an exact point (sympy Matrix 1 x n, or the m x n Jacobian)."""
        pt = self._point(p)
        piece = self.piece_at(pt)
        g = piece.grad
        if g.free_symbols & set(self.symbols):
            g = g.subs(dict(zip(self.symbols, (to_sympy(v) for v in pt))))
        return g

    # ------------------------------------------- verification (mtsym.verify, mtsym.lipschitz)
    def verify(self) -> Any:
        """Check Theorem 1 / Corollaries 1-2 on every stratum; see :func:`mtsym.verify.verify`."""
        return extension("table.verify")(self)

    def spurious(self) -> list[Stratum]:
        """Strata whose associated gradient is outside the Clarke gradient; see :mod:`mtsym.verify`."""
        return extension("table.spurious")(self)

    def clarke_at(self, p: Sequence) -> Any:
        """The limiting gradients at an exact point and their convex hull; see :mod:`mtsym.verify`."""
        return extension("table.clarke_at")(self, p)

    def lipschitz(self, norm: int | str = 2, local: Any = None) -> Any:
        """The exact Lipschitz constant; see :func:`mtsym.lipschitz.lipschitz`."""
        return extension("table.lipschitz")(self, norm=norm, local=local)

    # ------------------------------------------- numeric backend (mtsym.backends)
    def compile(self, **options: Any) -> Any:
        """A numpy evaluator of the table; see :func:`mtsym.backends.numpy.compile_table`."""
        return extension("table.compile")(self, **options)

    # ------------------------------------------- export (mtsym.export)
    def to_latex(self, **options: Any) -> str:
        """The representation and its associated gradient in LaTeX; see :mod:`mtsym.export.latex`."""
        return extension("table.to_latex")(self, **options)

    def to_json(self, **options: Any) -> str:
        """The table as JSON; see :mod:`mtsym.export.json`."""
        return extension("table.to_json")(self, **options)

    @classmethod
    def from_json(cls, text: str) -> PieceTable:
        """A table read back from :meth:`to_json`."""
        return extension("table.from_json")(text)

    @classmethod
    def open(cls, path: str) -> PieceTable:
        """A table streamed to ``path`` by ``mt.derive(..., out=path)``, read lazily; see
        :mod:`mtsym.export.stream`."""
        return extension("table.open")(path)

    def plot(self, path: str | None = None, **options: Any) -> Any:
        """A matplotlib figure of the partition; see :mod:`mtsym.export.plot`."""
        return extension("table.plot")(self, path=path, **options)

    # ------------------------------------------- frameworks (mtsym.frameworks)
    def check(self, fn: Callable | str, framework: str = "torch", **options: Any) -> Any:
        """Hold a framework's gradient of ``fn`` to this table; see :mod:`mtsym.frameworks.check`."""
        return extension("table.check")(self, fn, framework=framework, **options)

    def write_checker(self, path: str, fn: Callable | str, framework: str = "torch", **options: Any) -> Any:
        """Write a standalone pytest file pinning the framework; see :mod:`mtsym.frameworks.check`."""
        return extension("table.write_checker")(self, path, fn, framework=framework, **options)

    # ----------------------------------------------------------- display
    def __repr__(self):
        return (f"<PieceTable {self.name}({', '.join(map(str, self.symbols))}): {len(self.pieces)} pieces, "
                f"{len(self.strata)} strata, convention {self.convention.name}"
                + (", INCOMPLETE" if self.incomplete else "") + ">")

    def __str__(self):
        return self.text()

    def _repr_latex_(self):
        return extension("display.table_latex")(self)

    def _repr_html_(self):
        return extension("display.table_html")(self)

    def text(self, strata: bool = False, max_rows: int | None = 200, **options: Any) -> str:
        """A terminal-readable table: per piece its condition, f^alpha and gradient; ``digits=4`` prints
        decimals, ``width=`` wraps (see :mod:`mtsym.export.text`)."""
        return extension("table.text")(self, strata=strata, max_rows=max_rows, **options)


def relation_text(r):
    """A sympy relation as plain text, ``=`` for equalities."""
    if isinstance(r, sp.Equality):
        return f"{r.lhs} = {r.rhs}"
    return str(r)
