"""A table read from a file must be the table of its own graph: every stratum is replayed.

A document is untrusted (see the security page of the documentation).  When it
carries its graph, each stratum is checked against the graph, exactly, at its
witness point:

* every switching node its outputs depend on is on its path, and each case on
  the path is the case the node takes at the witness;
* f^alpha (``forms``) and the ``vals`` forms are recomputed along the path with
  the primitives' own rules under the table's convention, and must be the
  stored ones;
* every stored constraint is one of the sign tests the path makes (so the
  stored set holds the stratum), and every tie those tests require is implied
  by the stored equalities (so it has the stratum's affine hull);
* the paths form one decision tree (two strata decide the same node after the
  same decisions, none is a prefix of another).

A table with a graph then locates points through the graph
(:meth:`~mtsym.table.PieceTable.stratum_at`), so no stored constraint decides
an answer.  A table stored without its graph can only be checked within itself
(:func:`check_alone`).  Each check raises ``ValueError`` saying what disagrees; the reader
turns it into a :class:`~mtsym.errors.FormatError` naming the stratum.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x), 2)
>>> r = t.strata[0].record
>>> check_stratum(t.graph, t.convention, t.symbols, r) is None
True
"""

__all__ = ["Replay", "check_stratum", "check_alone", "check_paths", "tests_at"]

from fractions import Fraction

from ..exact import aff_var, int_row
from ..linalg import exact_rank
from ..partition import ask
from ..primitives import PRIMITIVES, Choice, Restrict, sign
from ..trace import node_forms
from ..table import path_trie


def _at(form, point):
    return form[0] + sum(c * x for c, x in zip(form[1:], point) if c)


def tests_at(prim, vals, params, point):
    """``(case, [(form, sign), ...])``: the case of a switching node at an exact point and the
    sign tests its enumeration makes to reach it (``vals``: its inputs' affine forms), by the
    same replay of the primitive's tests as the enumeration (:func:`mtsym.partition.ask`)."""
    if any(type(g) is not tuple for g in vals):
        raise ValueError(f"an input of {prim.name} is not affine in the inputs")
    todo = [((), ())]
    while todo:
        answers, made = todo.pop()
        done, q = ask(prim, vals, params, answers)
        if done:
            return q, list(made)
        if isinstance(q, Choice):
            todo.extend((answers + (j,), made) for j in reversed(range(q.m)))
            continue
        form, allowed = (q.form, q.signs) if isinstance(q, Restrict) else (q, (1, 0, -1))
        if type(form) is not tuple:
            raise ValueError(f"a switching quantity of {prim.name} is not affine ({form})")
        s = sign(_at(form, point))
        if s in allowed:
            todo.append((answers + (s,), made + ((form, s),)))
    raise ValueError(f"no case of {prim.name} holds at the witness")  # pragma: no cover


def _same(a, b):
    if type(a) is tuple and type(b) is tuple:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is tuple or type(b) is tuple:
        return False
    d = a - b
    return d == 0 or getattr(d, "expand", lambda: d)() == 0


class Replay:
    """Replays strata records on one graph, one after the other.

    A node's forms depend only on the cases of the switching nodes before it (its
    ancestors have smaller ids), so the forms of the nodes before the first node
    whose case differs from the previous record's are kept: records in discovery
    order share long prefixes, and each is replayed from where it departs.
    """

    def __init__(self, graph, conv, symbols):
        self.graph, self.conv, self.symbols = graph, conv, symbols
        self.branch_free = not graph.has_branches()
        self.switching = sorted(graph.switching_nodes())
        self.outputs = {tuple(o) for o in graph.outputs}
        self.cases = {}
        self.forms = {}

    def _keep_before(self, cases):
        old = self.cases
        first = min((v for v in set(old) | set(cases) if old.get(v, self) != cases.get(v, self)), default=None)
        if first is not None:
            self.forms = {v: f for v, f in self.forms.items() if v < first}
        self.cases = cases

    def check(self, record):
        """``ValueError`` unless the record is the graph's stratum on its path (module docstring)."""
        graph, n = self.graph, len(self.symbols)
        w = record.witness
        cases = dict(record.path)
        if len(cases) != len(record.path):
            raise ValueError("a node appears twice on the path")
        if tuple(record.output_nodes) not in self.outputs:
            raise ValueError(f"output_nodes {list(record.output_nodes)} are not outputs of the graph")
        if self.branch_free and [v for v, _ in record.path] != self.switching:
            raise ValueError("the path does not decide the graph's switching nodes in order")
        self._keep_before(cases)
        forms, tests = self.forms, []
        for v in graph.ancestors_of(list(cases) + list(record.output_nodes)):
            d = graph.nodes[v]
            prim = PRIMITIVES[d["op"]]
            params = d["params"]
            if prim.kind == "input":
                forms[v] = (aff_var(params[0], n),) * 2
                continue
            iv = [forms[u][0] for u in d["inputs"]]
            case = None
            if prim.switching:
                if v not in cases:
                    raise ValueError(f"node {v} ({prim.name}) is not on the path")
                case, made = tests_at(prim, iv, params, w)
                if case != cases[v]:
                    raise ValueError(f"node {v} ({prim.name}) has case {cases[v]!r} on the path but {case!r} "
                                     "at the witness")
                tests.extend(made)
            elif v in cases:
                raise ValueError(f"node {v} ({prim.name}) is on the path but has no cases")
            if v not in forms:
                forms[v] = node_forms(prim, case, params, self.conv if d.get("conv") is None else d["conv"], iv,
                                      [forms[u][1] for u in d["inputs"]], self.symbols)
        outs = record.output_nodes
        for what, k, stored in (("vals", 0, record.vals), ("forms", 1, record.forms)):
            for j, (u, b) in enumerate(zip(outs, stored)):
                if not _same(forms[u][k], b):
                    raise ValueError(f"{what}[{j}] is not what the graph gives on this path")
        made = {(int_row(f), s) for f, s in tests if any(f[1:])}
        for j, (f, s) in enumerate(record.constraints):
            if (int_row(f), s) not in made:
                raise ValueError(f"constraint {j} is not a test the path makes")
        eqs = [list(f) for f, s in record.constraints if s == 0]
        ties = [list(f) for f, s in made if s == 0]
        if ties and exact_rank(eqs + ties) != exact_rank(eqs):
            raise ValueError("a tie the path requires is not among the equalities")


def check_stratum(graph, conv, symbols, record):
    """Replay one stratum record on the graph (see the module docstring); ``ValueError`` if it disagrees."""
    Replay(graph, conv, symbols).check(record)


def check_alone(record):
    """For a table stored without its graph: f^alpha equals the value forms on the stratum (its
    affine hull), where both are rational affine forms; ``ValueError`` otherwise.  (Without the
    graph nothing says which convention's derivative f^alpha has across a tie.)"""
    eqs = [list(f) for f, s in record.constraints if s == 0]
    base = exact_rank(eqs)
    for j, (f, v) in enumerate(zip(record.forms, record.vals)):
        if type(f) is tuple and type(v) is tuple and all(type(c) in (int, Fraction) for c in f + v):
            d = [a - b for a, b in zip(f, v)]
            if any(d) and exact_rank(eqs + [d]) != base:
                raise ValueError(f"forms[{j}] and vals[{j}] differ on the stratum")


def check_paths(paths):
    """``ValueError`` unless the paths form one decision tree (see :func:`mtsym.table.path_trie`)."""
    path_trie(paths, range(len(paths)))
