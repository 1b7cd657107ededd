"""Exact rational arithmetic at one sample: values, cases, gradients along a case pattern, gaps.

Everything here is ``int``/``Fraction``: the sample's float coordinates are taken at their exact
values, every node is computed by its primitive's exact ``numeric`` rule, every case by its
``case_of``, and a gradient along a pattern of cases is the product of the primitives' exact local
weights (``linear(case, params, convention)``): what the framework's backward pass computes when
its forward pass took those cases, without rounding.

Examples
--------
>>> import mtsym as mt
>>> from fractions import Fraction
>>> g = mt.trace(lambda x: mt.relu(x[0] - 2 * x[1]) + x[1], 2)
>>> s = ExactSample(g, (Fraction(2), Fraction(1)))
>>> s.case(4), s.value(g.outputs[0][0])                 # n4 = relu(0): the tie case; f = 1
(0, 1)
>>> s.gradient(g.outputs[0], {4: 0}, mt.Convention("torch"))     # relu'(0) = 0
((0, 1),)
>>> s.gradient(g.outputs[0], {4: 0}, mt.Convention("torch", relu0=1))
((1, -1),)
"""

__all__ = ["ExactSample", "walk", "replay", "gaps"]   # walk, replay: from mtsym.flat

from fractions import Fraction

from ..flat import flat_tie, replay, walk
from ..primitives import PRIMITIVES, sign
from ..trace import VAL_CONV


class ExactSample:
    """The exact values and cases of a traced graph at one exact point (computed on demand)."""

    __slots__ = ("graph", "point", "_vals")

    def __init__(self, graph, point):
        self.graph, self.point = graph, tuple(point)
        self._vals = None

    @property
    def values(self):
        """Exact values of every node (``None`` for Python comparisons, which have none).

        Nodes added to the graph since the last call (a new program path) are computed then.
        """
        vals = self._vals
        if vals is None:
            vals = self._vals = {}
        g, pt = self.graph, self.point
        for v in range(len(vals), g.number_of_nodes()):   # node ids are a creation (topological) order
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            if prim.kind == "input":
                vals[v] = pt[d["params"][0]]
            elif prim.kind == "branch":
                vals[v] = None
            else:
                vals[v] = prim.numeric([vals[u] for u in d["inputs"]], d["params"])
        return vals

    def value(self, node):
        return self.values[node]

    def inputs_of(self, node):
        """The exact values of a node's inputs."""
        vals = self.values
        return [vals[u] for u in self.graph.nodes[node]["inputs"]]

    def case(self, node):
        """The exact case of a switching node."""
        d = self.graph.nodes[node]
        return PRIMITIVES[d["op"]].case_of(self.inputs_of(node), d["params"])

    def persists(self, tied, cases):
        """True when every tie of the nodes ``tied`` holds on a whole neighbourhood of the point.

        Each node's affine form (value and gradient in the inputs) is built along the exact
        ``cases``; a tie persists when it is flat (:func:`mtsym.flat.flat_tie`: every switching
        quantity its tests answer 0 is the zero form, e.g. a max-pool window of relu outputs that
        are all 0 near the point).  When every
        exact tie of the sample persists, every node keeps its case near the point: ``f`` is affine
        there and its Clarke gradient is its gradient.
        """
        g, vals = self.graph, self.values
        tied = set(tied)
        forms = {}
        for v in g.ancestors_of(list(tied)):
            d = g.nodes[v]
            prim = PRIMITIVES[d["op"]]
            ins = d["inputs"]
            if prim.kind == "input":
                forms[v] = {d["params"][0]: 1}
                continue
            if v in tied and not flat_tie(prim, d["params"], [forms[u] for u in ins], [vals[u] for u in ins]):
                return False
            if prim.kind == "branch":
                continue
            if prim.linear is None:           # a product of traced values: not followed here
                return False
            w, _ = prim.linear(cases.get(v, self.case(v) if prim.switching else None), d["params"], VAL_CONV)
            acc = {}
            for u, wu in zip(ins, w):
                if wu:
                    for i, c in forms[u].items():
                        acc[i] = acc.get(i, 0) + wu * c
            forms[v] = {i: c for i, c in acc.items() if c}
        return True

    def gradient(self, outputs, cases, conv, override=None):
        """The Jacobian of ``outputs`` with respect to the inputs along ``cases`` (node -> case).

        Parameters
        ----------
        outputs : tuple of int
        cases : dict
            The case of every switching node on the way (missing: its exact case).
        conv : Convention
            The tie rule of nodes that do not pin their own.
        override : dict, optional
            Convention parameters that replace the node's own, pinned or not (``{"relu0": 1}``:
            relu'(0) = 1 everywhere, the question of Bertoin et al.).

        Returns
        -------
        tuple of tuples of Fraction, ``(m, n)``.
        """
        adj = self.adjoints(outputs, cases, conv, override)
        n = len(self.graph.symbols)
        m = len(outputs)
        J = [[0] * n for _ in range(m)]
        for v, a in adj.items():
            d = self.graph.nodes[v]
            if PRIMITIVES[d["op"]].kind == "input":
                i = d["params"][0]
                for o in range(m):
                    J[o][i] += a[o]
        return tuple(tuple(r) for r in J)

    def adjoints(self, outputs, cases, conv, override=None):
        """``{node: [d output_o / d node for each output]}`` along ``cases``, exactly (reverse sweep)."""
        g = self.graph
        m = len(outputs)
        adj = {}
        for o, v in enumerate(outputs):
            adj.setdefault(v, [0] * m)[o] += 1
        convs = {}
        done = {}
        for v in reversed(g.ancestors_of(list(adj))):
            a = adj.get(v)
            if a is None:
                continue
            done[v] = a
            d = g.nodes[v]
            ins = d["inputs"]
            if not ins or not any(a):
                continue
            prim = PRIMITIVES[d["op"]]
            node_conv = d.get("conv") or conv
            if override:
                key = id(node_conv)
                if key not in convs:
                    convs[key] = type(conv)(node_conv, **override)
                node_conv = convs[key]
            case = None
            if prim.switching:
                case = cases[v] if v in cases else self.case(v)
            xs = self.inputs_of(v) if prim.linear is None else None
            w = prim.local(case, d["params"], node_conv, xs)
            for u, wu in zip(ins, w):
                if wu:
                    au = adj.get(u)
                    if au is None:
                        au = adj[u] = [0] * m
                    for o in range(m):
                        if a[o]:
                            au[o] += wu * a[o]
        return done


def gaps(prim, params, float_xs, exact_xs):
    """How far apart the float and the exact case of a node are.

    Returns ``(gap, float_gap)``: ``gap`` is the largest ``|exact quantity|`` among the sign tests
    the float pass answers differently from exact arithmetic along the float path (a float tie
    whose exact value is ``1e-9``: ``1e-9``); ``float_gap`` the largest ``|float quantity|`` among
    the tests exact arithmetic answers 0 and the float pass does not (an exact tie that the float
    pass misses).  Both exact rationals (0 when there is none).

    Examples
    --------
    >>> from mtsym.primitives import PRIMITIVES
    >>> gaps(PRIMITIVES["relu"], (), [0.0], [Fraction(1, 10**9)])
    (Fraction(1, 1000000000), Fraction(0, 1))
    >>> gaps(PRIMITIVES["max"], (3,), [2.0, 2.0, 1.0], [2, Fraction(3, 2), 1])
    (Fraction(1, 2), Fraction(0, 1))
    """
    _, fa, fq = walk(prim, float_xs, params)
    eq = replay(prim, exact_xs, params, fa)
    gap = max((abs(e) for a, e in zip(fa, eq) if e is not None and sign(e) != a), default=0)
    _, ea, _ = walk(prim, exact_xs, params)
    fq2 = replay(prim, float_xs, params, ea)
    float_gap = max((abs(f) for a, f in zip(ea, fq2) if f is not None and a == 0 and f != 0), default=0)
    return Fraction(gap), Fraction(float_gap)
