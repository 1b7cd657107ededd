"""Check 3 of :mod:`mtsym.verify` compiled: the chain rule through the graph, stratum by stratum.

On a stratum, ``grad f^alpha`` must equal the product of every node's local associated
derivatives (``PRIMITIVES[op].linear(case, params, conv)``, the rule each primitive
declares) along the graph (Corollary 2 of the paper).  A :class:`ChainPlan` composes the
constant weights of the non-switching nodes once per table (exactly), so that each
switching node's arguments are fixed combinations of the inputs and of earlier switching
nodes.  A stratum then costs one forward pass over its switching nodes: the gradient of a
switching node is its case's weights times its arguments' gradients.  The gradient of the
``i``-th switching node depends only on the cases of the first ``i`` (program order), so
consecutive strata of the enumeration (which share their first decisions) share those
gradients: only the switching nodes from the first different case on are recomputed.

Nothing here comes from enumeration: the plan reads the graph and the primitives' rules.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.relu(x[0] - 2 * x[1]) + 3 * x[1], 2)
>>> plan = ChainPlan(t.graph, t.strata[0].output_nodes, t.convention, 2)
>>> [plan.gradient(s.cases) for s in t.strata]
[[1, 1], [0, 3], [0, 3]]
"""

__all__ = ["ChainPlan"]

from fractions import Fraction

from .primitives import PRIMITIVES

_EXACT = (int, Fraction)


def _zero(w):
    return type(w) in _EXACT and w == 0


def _combine(weights, exprs):
    """``sum(w * e)`` of expressions ``({input: coef}, {switching position: coef})``."""
    vec, terms = {}, {}
    for w, (v, t) in zip(weights, exprs):
        if _zero(w):
            continue
        for dst, src in ((vec, v), (terms, t)):
            for k, c in src.items():
                dst[k] = dst.get(k, 0) + w * c
    return vec, terms


class ChainPlan:
    """The graph feeding ``outs`` as switching nodes over composed affine maps.

    ``ok`` is False when the graph holds a node this plan cannot sweep without values
    (a smooth product, a primitive without a derivative rule): the caller then sweeps
    the graph node by node.
    """

    def __init__(self, graph, outs, convention, n):
        self.n = n
        self.ok = True
        self.sw, self.rules, self.args = [], [], []
        expr = {}
        for v in graph.ancestors_of(outs):
            data = graph.nodes[v]
            prim = PRIMITIVES[data["op"]]
            ins = data["inputs"]
            if prim.kind == "input":
                expr[v] = ({data["params"][0]: 1}, {})
            elif not ins:
                expr[v] = ({}, {})
            elif prim.linear is None:
                self.ok = False
                return
            else:
                conv = data.get("conv") or convention
                if prim.switching:
                    self.args.append([self._dense(expr[u]) for u in ins])
                    self.rules.append((prim, data["params"], conv))
                    expr[v] = ({}, {len(self.sw): 1})
                    self.sw.append(v)
                else:
                    expr[v] = _combine(prim.linear(None, data["params"], conv)[0], [expr[u] for u in ins])
        self.outs = [self._dense(expr[o]) for o in outs]
        self._weights = {}
        self._first = {}    # (position, case) -> gradient, for nodes over the inputs alone
        self._cases, self._grads = [], []

    def _dense(self, e):
        """An expression as ``(input terms, switching terms)``, each a tuple of ``(index, coef)``."""
        vec, terms = e
        return (tuple((i, c) for i, c in sorted(vec.items()) if not _zero(c)),
                tuple((p, c) for p, c in sorted(terms.items()) if not _zero(c)))

    def _node_gradient(self, i, case, grads):
        key = (i, case)
        w = self._weights.get(key)
        if w is None:
            prim, params, conv = self.rules[i]
            w = self._weights[key] = prim.linear(case, params, conv)[0]
        g = [0] * self.n
        for wk, expr in zip(w, self.args[i]):
            if not _zero(wk):
                acc = self._apply(expr, grads)
                for t, x in enumerate(acc):
                    if x:
                        g[t] = g[t] + wk * x
        return g

    def _apply(self, expr, grads):
        """The gradient of an expression, from the switching nodes' gradients."""
        vec, terms = expr
        acc = [0] * self.n
        for t, c in vec:
            acc[t] = c
        for p, c in terms:
            for t, x in enumerate(grads[p]):
                if x:
                    acc[t] = acc[t] + c * x
        return acc

    def gradient(self, cases):
        """The swept Jacobian (flattened row-major) on a stratum with these ``{node: case}``, or
        None when a switching node of the graph has no case there."""
        now = [cases.get(v) for v in self.sw]
        if None in now:
            return None
        old, grads = self._cases, self._grads
        j = 0
        while j < len(old) and old[j] == now[j]:
            j += 1
        del grads[j:]
        first = self._first
        for i in range(j, len(now)):
            case = now[i]
            if not any(terms for _, terms in self.args[i]):  # over the inputs alone: one per case
                g = first.get((i, case))
                if g is None:
                    g = first[(i, case)] = self._node_gradient(i, case, grads)
            else:
                g = self._node_gradient(i, case, grads)
            grads.append(g)
        self._cases = now
        out = []
        for expr in self.outs:
            out.extend(self._apply(expr, grads))
        return out
