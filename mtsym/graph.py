"""The traced program as a ``networkx.DiGraph``, with a readable text form.

Nodes are integers in creation order (a topological order).  Each node has the
attributes ``op`` (a primitive name), ``params``, ``inputs`` (the ordered input
node ids; an input may repeat, as in ``max(x, x)``) and ``line`` (the user's
source line that created it).  Edges ``u -> v`` say that ``u`` feeds ``v``.
Nothing is ever fused or simplified away.

Examples
--------
>>> import mtsym as mt
>>> g = mt.trace(lambda x: mt.relu(x[0] - 2 * x[1]), 2)
>>> print(g)
graph (x1, x2) -> n4
  n0 = input x1
  n1 = input x2
  n2 = 2*n1
  n3 = n0 - n2
  n4 = relu(n3)
>>> g.expr(4)
Max(0, x1 - 2*x2)
"""

from __future__ import annotations

__all__ = ["Graph"]

from typing import Any, Iterable, Sequence

import sympy as sp
import networkx as nx

from .extensions import extension
from .primitives import PRIMITIVES


class Graph(nx.DiGraph):
    """A traced program.  ``graph.graph`` holds ``symbols`` and ``outputs``.

    ``outputs`` is the list of distinct output node tuples, one per program
    path that produced a different output (one entry for branch-free code).
    """

    @property
    def symbols(self):
        """The input symbols, in order."""
        return self.graph.get("symbols", ())

    @property
    def outputs(self):
        """Distinct output node tuples (one per path output)."""
        return self.graph.get("outputs", [])

    def add_input_edges(self, node: int, inputs: tuple) -> None:
        """The edges ``u -> node`` of a new node, each with ``pos``: where ``u`` sits among its inputs.

        The inputs exist already and the node has no edges yet, so the adjacency
        dicts are filled directly (networkx's per-edge checks dominate tracing a
        convolution, whose nodes read 100+ inputs).
        """
        pos = {}
        for p, u in enumerate(inputs):
            pos.setdefault(u, []).append(p)
        succ, pred = getattr(self, "_succ", None), getattr(self, "_pred", None)
        if succ is None or pred is None or node not in pred or any(u not in succ for u in pos):
            self.add_edges_from((u, node, {"pos": ps}) for u, ps in pos.items())
            return
        back = pred[node]
        for u, ps in pos.items():
            d = {"pos": ps}
            succ[u][node] = d
            back[u] = d

    def op(self, node: int) -> str:
        """The primitive name of a node."""
        return self.nodes[node]["op"]

    def inputs(self, node: int) -> tuple:
        """The ordered input nodes of a node."""
        return self.nodes[node]["inputs"]

    def expr(self, node: int) -> sp.Expr:
        """The sympy expression of a node in the input symbols (sympy's Max/Min for display).

        The graph, not this expression, is the source of truth: sympy's ``Max``
        flattens and sorts its arguments.
        """
        cache = self.graph.setdefault("_expr", {})
        if node in cache:
            return cache[node]
        for v in self.ancestors_of([node]):
            if v in cache:
                continue
            data = self.nodes[v]
            prim = PRIMITIVES[data["op"]]
            cache[v] = prim.symbolic([cache[u] for u in data["inputs"]], data["params"])
        return cache[node]

    def ancestors_of(self, nodes: Iterable[int]) -> list[int]:
        """The nodes that feed ``nodes`` (those included), in topological order."""
        seen, todo = set(nodes), list(nodes)
        while todo:
            for u in self.nodes[todo.pop()]["inputs"]:
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return sorted(seen)

    def values_at(self, point: Sequence, nodes: Iterable[int] | None = None) -> dict:
        """Exact values of ``nodes`` (default: all; closed under ancestors, in order) at an exact point.

        Input nodes take their coordinate (``params[0]``), the others their
        primitive's exact ``numeric`` rule.
        """
        vals = {}
        for v in (sorted(self.nodes) if nodes is None else nodes):
            data = self.nodes[v]
            prim = PRIMITIVES[data["op"]]
            if prim.kind == "input":
                vals[v] = point[data["params"][0]]
            else:
                vals[v] = prim.numeric([vals[u] for u in data["inputs"]], data["params"])
        return vals

    def switching_nodes(self) -> list[int]:
        """Nodes whose primitive has several cases (including Python branches)."""
        return [v for v in self.nodes if PRIMITIVES[self.nodes[v]["op"]].switching]

    def line_of(self, node: int) -> str:
        """The user's source line that created a node."""
        return self.nodes[node].get("line", "")

    def text(self) -> str:
        """The readable text form (one line per node)."""
        syms = self.symbols
        outs = self.outputs
        if len(outs) == 1:
            head = ", ".join(f"n{v}" for v in outs[0])
        else:
            head = f"{len(outs)} path outputs"
        lines = [f"graph ({', '.join(str(s) for s in syms)}) -> {head}"]
        for v in sorted(self.nodes):
            lines.append(f"  n{v} = {self._node_text(v)}")
        if len(outs) > 1:
            for k, o in enumerate(outs):
                lines.append(f"  out[{k}] = " + ", ".join(f"n{v}" for v in o))
        return "\n".join(lines)

    def _node_text(self, v):
        data = self.nodes[v]
        conv = data.get("conv")  # a framework op pins its own tie rule
        extra = () if conv is None else (f"ties {conv.name}",)
        return PRIMITIVES[data["op"]].text([f"n{u}" for u in data["inputs"]], data["params"], extra)

    def has_branches(self) -> bool:
        """Whether the program has Python branches (comparisons that choose a path)."""
        return any(PRIMITIVES[d["op"]].kind == "branch" for _, d in self.nodes(data=True))

    def plot(self, path: str | None = None, **options: Any) -> Any:
        """A matplotlib figure of the graph (needs matplotlib); see :func:`mtsym.export.plot.plot_graph`."""
        return extension("graph.plot")(self, path=path, **options)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return self.text()
