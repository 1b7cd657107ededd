"""Trace a model once for an audit, and name the layer that made each node.

The program is traced in graph-only mode (as :func:`mtsym.evaluate` traces: no exact forms, so
large networks trace in a second).  When the model is a ``torch.nn.Module``, forward hooks on its
submodules record which module's ``forward`` created each node (node ids are a creation order,
so a module owns the id range opened by its pre-hook and closed by its hook; the innermost module
wins): a ReLU node of ``nn.Sequential(..., nn.ReLU(), ...)`` is in layer ``"1 (ReLU)"``.  Nodes
made outside every submodule have no layer; the audit names them by their source line.

Examples
--------
>>> import mtsym as mt
>>> t = trace_model(lambda x: mt.relu(x[0] - x[1]), 2, mt.Convention("torch"))
>>> t.outputs, t.layers
((3,), {})
"""

__all__ = ["trace_model", "Traced"]

import sys

from ..api import _framework_code
from ..errors import UnsupportedOperationError
from ..partition import DEFAULT_MAX_EVENTS, Decider
from ..trace import Program


class Traced:
    """A traced model: ``graph``, ``outputs`` (node ids), ``shape``, ``layers`` (node -> layer name),
    ``owned`` (nodes made inside a module that holds parameters of its own: its affine maps)."""

    __slots__ = ("graph", "outputs", "shape", "layers", "owned")

    def __init__(self, graph, outputs, shape, layers, owned):
        self.graph, self.outputs, self.shape, self.layers, self.owned = graph, outputs, shape, layers, owned


class _NoBranches(Decider):
    """Refuses Python ``if``/``while`` on traced values: an audit runs one graph on every sample."""

    __slots__ = ()

    def _decide(self, node, prim, vals, params):
        raise UnsupportedOperationError("if", "mt.audit needs branch-free code (one graph for every sample); "
                                        "this function compares traced values in an if/while. Write the "
                                        "choice with mt.maximum / mt.relu, or use mt.evaluate",
                                        line=self.program.graph.line_of(node))


def _torch_module(fn):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(fn, torch.nn.Module)


def trace_model(fn, inputs, conv, framework=None):
    """Trace ``fn`` (branch-free) into a graph, with the layer of every node when it is a torch module."""
    program = Program(_framework_code(fn, inputs, framework), inputs, conv, exact=False)
    layers, owned = {}, set()
    handles = _hook(fn, program, layers, owned) if _torch_module(fn) else []
    try:
        outs, shape = program.run(_NoBranches(program, DEFAULT_MAX_EVENTS))
    finally:
        for h in handles:
            h.remove()
    return Traced(program.graph, tuple(v.node for v in outs), shape, layers, owned)


def _hook(model, program, layers, owned):
    graph = program.graph
    handles = []
    stack = []

    def pre(mod, args):
        stack.append(graph.number_of_nodes())

    def post(mod, args, out, name=None, own=False):
        start = stack.pop()
        for v in range(start, graph.number_of_nodes()):
            layers.setdefault(v, name)
            if own:
                owned.add(v)

    for name, mod in model.named_modules():
        if not name:
            continue
        own = any(True for _ in mod.parameters(recurse=False))
        label = f"{name} ({type(mod).__name__})"
        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(
            lambda m, a, o, label=label, own=own: post(m, a, o, label, own)))
    return handles
