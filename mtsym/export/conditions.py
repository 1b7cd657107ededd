"""Compact conditions: pieces and strata described as the paper writes them.

A stratum is a list of exact sign conditions ``sign(form) = s``.  Printed one by
one they are hard to read (a tie of two arguments of a 4-way max is six
inequalities); the paper writes ``x_1 = x_2 > max(x_3, x_4)``.  This module turns
sign conditions into *chains* in three steps:

1. each condition becomes a relation ``A op B`` between two *atoms* (the
   positive and the negative part of its form, with integer coefficients);
2. equalities merge atoms into classes ``a = b = c``;
3. a group of relations sharing one side and one operator becomes
   ``A > max(B1, B2, ...)`` (or ``min(...) > B``), and single relations are
   strung into ``a < b < c`` where they meet.

A *piece* made of several strata gets one closed description when there is
one: for every form used by its strata, the set of signs it takes on the
piece is computed exactly (:meth:`~mtsym.polyhedra.Polyhedron.split` on each
stratum), and the conjunction of those sign sets is kept only after checking,
exactly, that it meets no stratum of any other piece (the strata partition
``R^n``, so it then *is* the piece).  Redundant relations are then dropped one by
one under the same exact test.  Otherwise the piece is printed as the union of
its strata.  This gives eq. (17): the 8 strata of ``max1``'s first piece
become ``x_1 >= max(x_2, x_3, x_4)``.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x), 3)
>>> [describe_piece(t, p).text() for p in t.pieces[3:]]
['x1 = x2 > x3', 'x1 = x3 > x2', 'x2 = x3 > x1', 'x1 = x2 = x3']
"""

__all__ = ["Chain", "Description", "describe_piece", "describe_stratum", "chains_of",
           "DEFAULT_COMPACT_LIMIT"]

import weakref
from fractions import Fraction

import sympy as sp

from ..errors import MtsymError
from ..exact import aff_to_expr, int_row
from ..polyhedra import Polyhedron

#: pieces of several strata get a closed description only in tables with at most this many strata
DEFAULT_COMPACT_LIMIT = 1000

_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "!=": "!="}
_SIGNS_REL = {  # sign set of (lhs - rhs) -> (relation, swap sides)
    frozenset({0}): ("=", False),
    frozenset({1}): (">", False),
    frozenset({-1}): (">", True),
    frozenset({0, 1}): (">=", False),
    frozenset({-1, 0}): (">=", True),
    frozenset({-1, 1}): ("!=", False),
}
_TEXT_OPS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


# --------------------------------------------------------------------------- chains
class Chain:
    """``t0 op0 t1 op1 t2 ...``; a term is an atom row or ``("max"|"min", [rows])``.

    An atom row is an integer affine form ``(c0, c1..cn)`` with nonnegative
    entries on one side of a relation.
    """

    __slots__ = ("terms", "ops")

    def __init__(self, terms, ops):
        self.terms, self.ops = list(terms), list(ops)

    def order(self):
        """Sort key: the first input that the chain mentions."""
        return min(_atom_order(a) for a in self.atoms())

    def atoms(self):
        for t in self.terms:
            if isinstance(t, tuple) and t and t[0] in ("max", "min"):
                yield from t[1]
            else:
                yield t

    def render(self, atom, ops, func):
        """Generic rendering: ``atom(row)``, ``ops[op]`` and ``func(name, [str])``."""
        out = []
        for k, t in enumerate(self.terms):
            if k:
                out.append(ops[self.ops[k - 1]])
            if isinstance(t, tuple) and t and t[0] in ("max", "min"):
                out.append(func(t[0], [atom(a) for a in t[1]]))
            else:
                out.append(atom(t))
        return " ".join(out)

    def __repr__(self):
        return f"Chain({self.terms!r}, {self.ops!r})"


def _is_func(t):
    return isinstance(t, tuple) and bool(t) and t[0] in ("max", "min")


def _atom_order(row):
    first = next((i for i, c in enumerate(row[1:]) if c != 0), len(row) - 1)
    return (first, tuple(-c for c in row[1:]), row[0])


def _canon(form):
    """``(row, flipped)``: integer row whose first input coefficient is positive."""
    row = int_row(tuple(Fraction(c) if not isinstance(c, int) else c for c in form))
    lead = next((c for c in row[1:] if c != 0), row[0])
    if lead < 0:
        return tuple(-c for c in row), True
    return row, False


def _is_const(row):
    return all(c == 0 for c in row[1:])


def _sides(row):
    """The two sides of ``row > 0``: positive terms left, negated negative terms right.

    A constant goes right when the right side has no input (``x1 > -1``), else
    with the positive terms (``x1 + 1 > 2 x2``).
    """
    lhs = [c if c > 0 else 0 for c in row]
    rhs = [-c if c < 0 else 0 for c in row]
    if _is_const(rhs):
        lhs[0], rhs[0] = 0, -row[0]
    return tuple(lhs), tuple(rhs)


def _relations(conds):
    """``(row, signset)`` pairs -> relations ``(A, op, B)``, op in ``= != > >=``."""
    rels = []
    for row, signs in conds:
        if _is_const(row):
            continue  # a constant: always true on a non-empty set
        rel = _SIGNS_REL.get(frozenset(signs))
        if rel is None:
            continue
        op, swap = rel
        a, b = _sides(row)
        rels.append((b, op, a) if swap else (a, op, b))
    return rels


def _classes(rels):
    """Union-find over the equalities: ``(find, {rep: sorted members})``."""
    parent = {}

    def find(a):
        if a not in parent:
            return a
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, op, b in rels:
        if op == "=":
            parent.setdefault(a, a)
            parent.setdefault(b, b)
            ra, rb = find(a), find(b)
            if ra != rb:
                lo, hi = sorted((ra, rb), key=_atom_order)
                parent[hi] = lo
    classes = {}
    for a in list(parent):
        classes.setdefault(find(a), []).append(a)
    for members in classes.values():
        members.sort(key=_atom_order)
    return find, classes


def _drop_weak_constants(rels):
    """Of ``A > c1``, ``A > c2`` (constants, same operator) keep the binding one."""
    best = {}
    for a, op, b in rels:
        if _is_const(b) and not _is_const(a):
            k = ("top", a, op)
            if k not in best or b[0] > best[k][2][0]:
                best[k] = (a, op, b)
        if _is_const(a) and not _is_const(b):
            k = ("bot", b, op)
            if k not in best or a[0] < best[k][0][0]:
                best[k] = (a, op, b)
    keep = set(best.values())
    return [r for r in rels if not (_is_const(r[0]) or _is_const(r[2])) or r in keep]


def chains_of(conds):
    """Compact chains for a conjunction of ``(row, signset)`` conditions (rows canonical)."""
    rels = _relations(conds)
    find, classes = _classes(rels)
    # a class holding a number is represented by it (x1 > 0, not x1 > x1 + x2 when x1 + x2 = 0)
    rep = {}
    for root, mem in list(classes.items()):
        const = next((m for m in mem if _is_const(m)), None)
        if const is not None and const != root:
            classes[const] = classes.pop(root)
        for m in mem:
            rep[m] = const if const is not None else root
    fixed = {r for r, mem in classes.items() if _is_const(r)}
    rest = []
    for a, op, b in rels:
        if op == "=":
            continue
        r = (rep.get(a, a), op, rep.get(b, b))
        if _is_const(r[0]) and _is_const(r[2]):
            continue  # both sides are known numbers: implied by the equalities
        if r not in rest:
            rest.append(r)
    order = _drop_weak_constants([r for r in rest if r[1] in (">", ">=")])

    def big(atom):  # a class written in place of its first mention: a = b > ...
        return len(classes.get(atom, ())) > 1 and atom not in fixed

    chains = []
    # groups A > max(B...) / min(A...) > B
    while True:
        groups = {}
        for a, op, b in order:
            groups.setdefault(("top", a, op), []).append(b)
            groups.setdefault(("bot", b, op), []).append(a)
        best = None
        for key, others in groups.items():
            if len(others) < 2:
                continue
            rank = (-len(others), key[0] != "top", _atom_order(key[1]), key[2])
            if best is None or rank < best[0]:
                best = (rank, key, others)
        if best is None:
            break
        _, (kind, pivot, op), others = best
        others = sorted(others, key=_atom_order)
        if kind == "top":
            order = [r for r in order if not (r[0] == pivot and r[1] == op)]
            if not big(pivot) and all(_atom_order(o) < _atom_order(pivot) for o in others):
                chains.append(Chain([("max", others), pivot], [_FLIP[op]]))
            else:
                chains.append(Chain([pivot, ("max", others)], [op]))
        else:
            order = [r for r in order if not (r[2] == pivot and r[1] == op)]
            if all(_atom_order(pivot) < _atom_order(o) for o in others):
                chains.append(Chain([pivot, ("min", others)], [_FLIP[op]]))
            else:
                chains.append(Chain([("min", others), pivot], [op]))
    # single relations, strung into a > b > c where an atom is met exactly twice
    chains.extend(_strings(order, big))
    for a, op, b in rest:
        if op == "!=":
            lo, hi = sorted((a, b), key=_atom_order)
            chains.append(Chain([lo, hi], ["!="]))
    chains.sort(key=Chain.order)
    # each equality class is written once, in place of its first plain mention
    done = set()
    for ch in chains:
        terms, ops = [], []
        for k, t in enumerate(ch.terms):
            if k:
                ops.append(ch.ops[k - 1])
            if not _is_func(t) and big(t) and t not in done:
                done.add(t)
                mem = classes[t]
                terms.extend(mem)
                ops.extend(["="] * (len(mem) - 1))
            else:
                terms.append(t)
        ch.terms, ch.ops = terms, ops
    for rep, mem in classes.items():
        if len(mem) > 1 and rep not in done:
            chains.append(Chain(mem, ["="] * (len(mem) - 1)))
    chains.sort(key=Chain.order)
    return chains


def _strings(rels, big):
    """Single relations ``(A, op, B)`` (A above B) strung into chains ``a > b > c``.

    An atom joins two relations into one string when it is the lower side of
    exactly one and the upper side of exactly one.
    """
    ups, downs = {}, {}
    for r in rels:
        downs.setdefault(r[0], []).append(r)
        ups.setdefault(r[2], []).append(r)

    def inner(x):
        return len(ups.get(x, ())) == 1 and len(downs.get(x, ())) == 1

    used, out = set(), []
    for r in rels:
        if r in used:
            continue
        start, seen = r, {r}
        while inner(start[0]) and ups[start[0]][0] not in used and ups[start[0]][0] not in seen:
            start = ups[start[0]][0]
            seen.add(start)
        atoms, ops = [start[0]], []
        cur = start
        while cur not in used:
            used.add(cur)
            ops.append(cur[1])
            atoms.append(cur[2])
            if not inner(cur[2]):
                break
            cur = downs[cur[2]][0]
        if not big(atoms[0]) and _atom_order(atoms[-1]) < _atom_order(atoms[0]):
            atoms.reverse()
            ops = [_FLIP[o] for o in reversed(ops)]
        out.append(Chain(atoms, ops))
    return out


# --------------------------------------------------------------------------- descriptions
class Description:
    """A set of the input space: ``kind`` is ``"all"``, ``"and"`` (chains) or ``"or"`` (lists of chains)."""

    __slots__ = ("kind", "parts", "symbols")

    def __init__(self, kind, parts, symbols):
        self.kind, self.parts, self.symbols = kind, parts, symbols

    def render(self, atom, ops, func, conj, disj, everywhere, group=("(", ")")):
        """Render with callbacks (see :meth:`Chain.render`) and the connective strings."""
        if self.kind == "all":
            return everywhere
        if self.kind == "and":
            return conj.join(c.render(atom, ops, func) for c in self.parts)
        out = []
        for chains in self.parts:
            s = conj.join(c.render(atom, ops, func) for c in chains)
            out.append(f"{group[0]}{s}{group[1]}" if len(chains) > 1 else s)
        return disj.join(out)

    def text(self):
        """Plain text, e.g. ``x1 = x2 > max(x3, x4)``."""
        syms = self.symbols
        return self.render(lambda r: str(aff_to_expr(r, syms)), _TEXT_OPS,
                           lambda f, args: f"{f}({', '.join(args)})", ", ", " or ", "everywhere")

    def __repr__(self):
        return f"Description({self.text()!r})"


class _Geometry:
    """Exact polyhedra of a table's strata (rebuilt from constraints for tables read from JSON),
    with caches of the sign sets of forms on strata and of their signs at the witnesses."""

    def __init__(self, table):
        self.table = table
        self._polys = {}
        self._signs = {}
        self._masks = {}
        self._wit = {}
        self._rows = None
        self.pieces = {}

    def poly(self, stratum):
        P = self._polys.get(stratum.index)
        if P is None:
            P = stratum.record.poly
            if P is None:
                P = Polyhedron.space(self.table.n)
                for form, s in stratum.constraints:
                    kids = P.split(int_row(form))
                    if s not in kids:
                        raise MtsymError(f"stratum {stratum.label}: its constraints describe an "
                                         "empty set; the table is corrupted")
                    P = kids[s]
            self._polys[stratum.index] = P
        return P

    def signs(self, stratum, row):
        """The signs ``row`` takes on the stratum (exact)."""
        key = (stratum.index, row)
        v = self._signs.get(key)
        if v is None:
            v = self._signs[key] = frozenset(self.poly(stratum).split(row))
        return v

    def masks(self, row):
        """Bitsets over the strata, per sign: where ``row`` may take it, where the witness has it."""
        m = self._masks.get(row)
        if m is None:
            may, wit = {-1: 0, 0: 0, 1: 0}, {-1: 0, 0: 0, 1: 0}
            for st in self.table.strata:
                bit = 1 << st.index
                for sg in self.signs(st, row):
                    may[sg] |= bit
                w = self._wit.get(st.index)
                if w is None:
                    w = self._wit[st.index] = int_row((1,) + tuple(st.record.witness))
                x = sum(c * y for c, y in zip(row, w))
                wit[(x > 0) - (x < 0)] |= bit
            m = self._masks[row] = (may, wit)
        return m

    def all_rows(self):
        if self._rows is None:
            self._rows = _rows_of(self.table.strata)
        return self._rows


_CACHE = weakref.WeakKeyDictionary()


def _geometry(table):
    g = _CACHE.get(table)
    if g is None:
        g = _CACHE[table] = _Geometry(table)
    return g


def _rows_of(strata):
    rows = []
    seen = set()
    for s in strata:
        for form, _ in s.constraints:
            row, _ = _canon(form)
            if row not in seen:
                seen.add(row)
                rows.append(row)
    return rows


def _stratum_conds(stratum):
    out = []
    for form, s in stratum.constraints:
        row, flip = _canon(form)
        out.append((row, frozenset({-s if flip else s})))
    return out


def describe_stratum(table, stratum):
    """The :class:`Description` of one stratum (its own constraints, compacted).

    Examples
    --------
    >>> import mtsym as mt
    >>> t = mt.derive(lambda x: mt.max(x), 4)
    >>> describe_stratum(t, t.strata[4]).text()
    'x1 = x2 > max(x3, x4)'
    """
    conds = _stratum_conds(stratum)
    if not conds:
        return Description("all", [], table.symbols)
    return Description("and", chains_of(conds), table.symbols)


def _meets(P, conds, k=0):
    """Whether the stratum of ``P`` meets the conjunction ``conds[k:]`` (exact)."""
    if k == len(conds):
        return True
    row, signs = conds[k]
    kids = P.split(row)
    return any(s in kids and _meets(kids[s], conds, k + 1) for s in signs)


def _exact(geo, piece, conds):
    """Whether ``conds`` describes exactly the union of ``piece``'s strata.

    It does when no stratum of another piece meets it (the strata partition
    ``R^n``).  Bitsets over the strata settle most strata at once: a witness
    satisfying every condition refutes, a condition missing a stratum clears
    it; the rest are split exactly.
    """
    others = ((1 << len(geo.table.strata)) - 1) & ~sum(1 << s.index for s in piece.strata)
    wit, may = others, others
    for row, signs in conds:
        m, w = geo.masks(row)
        mm = ww = 0
        for sg in signs:
            mm |= m[sg]
            ww |= w[sg]
        wit &= ww
        may &= mm
    if wit:
        return False
    strata = geo.table.strata
    while may:
        low = may & -may
        if _meets(geo.poly(strata[low.bit_length() - 1]), conds):
            return False
        may ^= low
    return True


def _closed(geo, piece, rows):
    conds = []
    for row in rows:
        signs = frozenset()
        for s in piece.strata:
            signs = signs | geo.signs(s, row)
            if len(signs) == 3:
                break
        if len(signs) < 3:
            conds.append((row, signs))
    # singletons first: they prune the exactness search soonest
    conds.sort(key=lambda c: len(c[1]))
    return conds


def describe_piece(table, piece, compact_limit=None):
    """The :class:`Description` of a piece: one closed condition when one exists, else a union.

    Parameters
    ----------
    table : PieceTable
    piece : Piece
    compact_limit : int, optional
        Look for a closed description of a piece of several strata only when the
        table has at most this many strata (default :data:`DEFAULT_COMPACT_LIMIT`);
        the exact test costs about (strata of the table) x (relations) splits.
    """
    limit = DEFAULT_COMPACT_LIMIT if compact_limit is None else compact_limit
    if len(piece.strata) == 1:
        return describe_stratum(table, piece.strata[0])
    geo = _geometry(table)
    key = (piece.index, limit)
    if key in geo.pieces:
        return geo.pieces[key]
    conds = None
    if len(table.strata) <= limit:
        for rows in (_rows_of(piece.strata), geo.all_rows()):
            cand = _closed(geo, piece, rows)
            if _exact(geo, piece, cand):
                conds = cand
                break
    if conds is not None:
        for c in list(reversed(conds)):
            trial = [d for d in conds if d is not c]
            if _exact(geo, piece, trial):
                conds = trial
        conds.sort(key=lambda c: _atom_order(c[0]))
        desc = (Description("and", chains_of(conds), table.symbols) if conds
                else Description("all", [], table.symbols))
    else:
        desc = Description("or", [describe_stratum(table, s).parts or [] for s in piece.strata],
                           table.symbols)
    geo.pieces[key] = desc
    return desc


def latex_atom(symbols, names=None):
    """A callback rendering an atom row in LaTeX (``names``: sympy ``symbol_names``)."""
    names = names or {}

    def atom(row):
        return sp.latex(aff_to_expr(row, symbols), symbol_names=names)
    return atom
