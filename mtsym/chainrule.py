"""Check 3 of :mod:`mtsym.verify` compiled: the chain rule through the graph, stratum by stratum.

On a stratum, ``grad f^alpha`` must equal the product of every node's local associated
derivatives (``PRIMITIVES[op].linear(case, params, conv)``, the rule each primitive
declares) along the graph (Corollary 2 of the paper).  A :class:`ChainPlan` composes the
constant weights of the non-switching nodes once per table (exactly), so that each
switching node's arguments are fixed combinations of the inputs and of earlier switching
nodes.  A stratum then costs one forward pass over its switching nodes: the gradient of a
switching node is its case's weights times its arguments' gradients.  Consecutive strata of
the enumeration differ in few cases: the plan keeps the gradients of the last stratum and
recomputes only the switching nodes whose case changed or that read one that changed,
passing each change on to its readers as a difference (exact numbers, so nothing drifts;
a convention with symbols recomputes everything).

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
from heapq import heapify, heappop, heappush

import numpy as np

from .exact import ExactNumber
from .primitives import PRIMITIVES

_EXACT = (int, Fraction, ExactNumber)


def _zero(w):
    return type(w) in _EXACT and w == 0


def _fast(x):
    """A fraction as an ExactNumber (the same value, cheaper arithmetic); anything else unchanged."""
    return ExactNumber.of(x) if type(x) is Fraction else x


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
        # who reads each switching node: (node position, argument, coef), and (output, coef)
        self._users = [[] for _ in self.sw]
        self._readers = [[] for _ in self.sw]
        for i, args in enumerate(self.args):
            for k, (_, terms) in enumerate(args):
                for p, c in terms:
                    self._users[p].append((i, k, c))
        for o, (_, terms) in enumerate(self.outs):
            for p, c in terms:
                self._readers[p].append((o, c))
        self._deep = [any(terms for _, terms in args) for args in self.args]  # reads switching nodes
        self._key = None    # the last stratum's path as bytes (see gradient_of)
        self._bytewise = {}  # id(codec) -> whether its keys are one byte per node of this plan
        self._cases = None  # the cases of the last stratum, and the gradients on it:
        self._H = self._G = self._out = None  # of each argument, each switching node, each output

    def _dense(self, e):
        """An expression as ``(input terms, switching terms)``, each a tuple of ``(index, coef)``."""
        vec, terms = e
        return (tuple((i, _fast(c)) for i, c in sorted(vec.items()) if not _zero(c)),
                tuple((p, _fast(c)) for p, c in sorted(terms.items()) if not _zero(c)))

    def _w(self, i, case):
        key = (i, case)
        w = self._weights.get(key)
        if w is None:
            prim, params, conv = self.rules[i]
            # fractions as ExactNumber: the same values, cheaper arithmetic
            w = self._weights[key] = tuple(map(_fast, prim.linear(case, params, conv)[0]))
        return w

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

    def _combine_args(self, w, H):
        g = [0] * self.n
        for wk, h in zip(w, H):
            if not _zero(wk):
                for t, x in enumerate(h):
                    if x:
                        g[t] = g[t] + wk * x
        return g

    def _over_inputs(self, w, args):
        """:meth:`_combine_args` for a node whose arguments read only inputs (sparse)."""
        g = [0] * self.n
        for wk, (vec, _) in zip(w, args):
            if type(wk) in _EXACT and wk == 0:
                continue
            for t, c in vec:
                x = g[t]
                y = wk if c == 1 else wk * c
                g[t] = y if type(x) is int and x == 0 else x + y
        return g

    def _full(self, now):
        """Every gradient from scratch."""
        H, G = [], []
        exact = True
        for i, case in enumerate(now):
            w = self._w(i, case)
            exact = exact and all(type(x) in _EXACT for x in w)
            h = [self._apply(e, G) for e in self.args[i]]
            H.append(h)
            G.append(self._combine_args(w, h))
        self._H, self._G = H, G
        self._out = [self._apply(e, G) for e in self.outs]
        return exact

    def _update(self, now, changed):
        """The gradients that change with the cases at positions ``changed`` (exact numbers:
        differences are propagated to the readers, each switching node recomputed once)."""
        H, G, out, users, readers = self._H, self._G, self._out, self._users, self._readers
        todo = list(changed)
        heapify(todo)
        done = set()
        while todo:
            i = heappop(todo)
            if i in done:
                continue
            done.add(i)
            w = self._w(i, now[i])
            if not all(type(x) in _EXACT for x in w):
                return False
            g = self._combine_args(w, H[i]) if self._deep[i] else self._over_inputs(w, self.args[i])
            delta = [a - b if a != b else 0 for a, b in zip(g, G[i])]
            G[i] = g
            if not any(delta):
                continue
            for i2, k2, c in users[i]:
                h = H[i2][k2]
                for t, x in enumerate(delta):
                    if x:
                        h[t] = h[t] + c * x
                heappush(todo, i2)
            for o, c in readers[i]:
                acc = out[o]
                for t, x in enumerate(delta):
                    if x:
                        acc[t] = acc[t] + c * x
        return True

    def gradient(self, cases):
        """The swept Jacobian (flattened row-major) on a stratum with these ``{node: case}``, or
        None when a switching node of the graph has no case there."""
        now = list(map(cases.get, self.sw))
        if None in now:
            return None
        old = self._cases
        return self._at(now, None if old is None else [i for i, (a, b) in enumerate(zip(old, now)) if a != b])

    def gradient_of(self, record):
        """:meth:`gradient` on a stratum's record: when its path is stored as one byte per switching
        node of this plan (relu-like nodes, ``sign + 1``), the changed cases are found by comparing
        bytes, without decoding the path."""
        codec, key = record.codec, record.key
        bytewise = self._bytewise.get(id(codec))
        if bytewise is None:
            bytewise = self._bytewise[id(codec)] = (codec is not None and codec.narrow
                                                     and list(codec.nodes) == self.sw)
        if not bytewise or self._cases is None or self._key is None:
            g = self.gradient(dict(record.path))
            self._key = key if bytewise and g is not None else None
            return g
        changed = np.flatnonzero(np.frombuffer(key, np.uint8) != np.frombuffer(self._key, np.uint8)).tolist()
        now = list(self._cases)
        for i in changed:
            now[i] = key[i] - 1
        self._key = key
        return self._at(now, changed)

    def _at(self, now, changed):
        if changed is None or not self._update(now, changed):
            self._cases = now if self._full(now) else None
        else:
            self._cases = now
        return [x for acc in self._out for x in acc]
