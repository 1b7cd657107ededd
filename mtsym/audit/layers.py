"""Trace a model once for an audit, and name the layer that made each node.

The program is traced in graph-only mode (as :func:`mtsym.evaluate` traces: no exact forms, so
large networks trace in a second).  When the model is a ``torch.nn.Module``, forward hooks on its
submodules record which module's ``forward`` created each node (node ids are a creation order,
so a module owns the id range opened by its pre-hook and closed by its hook; the innermost module
wins): a ReLU node of ``nn.Sequential(..., nn.ReLU(), ...)`` is in layer ``"1 (ReLU)"``.  Nodes
made outside every submodule have no layer; the audit names them by their source line.

Code with Python ``if``/``while`` on traced values has several paths: it is traced here along the
first one met, and each chunk of samples then follows its own (``Traced.branching``).

Examples
--------
>>> import mtsym as mt
>>> t = trace_model(lambda x: mt.relu(x[0] - x[1]), 2, mt.Convention("torch"))
>>> t.outputs, t.layers, t.branching
((3,), {}, False)
"""

__all__ = ["trace_model", "Traced"]

import sys

import numpy as np

from ..api import _framework_code
from ..evaluate import trace_groups
from ..partition import DEFAULT_MAX_EVENTS, Decider
from ..trace import Program


class Traced:
    """A traced model.

    ``graph``; ``outputs`` (node ids) and ``shape``; ``layers`` (node -> layer name); ``owned``
    (nodes made inside a module that holds parameters of its own: its affine maps); ``program``
    (the :class:`~mtsym.trace.Program`, whose ``fn`` is the code as mtsym runs it); ``branching``
    (the code has Python branches: ``outputs`` are those of one path only).
    """

    __slots__ = ("graph", "outputs", "shape", "layers", "owned", "program", "branching")

    def __init__(self, graph, outputs, shape, layers, owned, program, branching):
        self.graph, self.outputs, self.shape, self.layers, self.owned = graph, outputs, shape, layers, owned
        self.program, self.branching = program, branching


class _Node:
    __slots__ = ("node",)

    def __init__(self, node):
        self.node = node


class _Branch(Exception):
    pass


class _NoBranches(Decider):
    """Stops at the first Python ``if``/``while`` on traced values (the code then has paths)."""

    __slots__ = ()

    def _decide(self, node, prim, vals, params):
        raise _Branch()




def _torch_module(fn):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(fn, torch.nn.Module)


def trace_model(fn, inputs, conv, framework=None, probe=None, dtype=np.float64):
    """Trace ``fn`` into a graph, with the layer of every node when it is a torch module.

    Code with Python branches is traced along the path of the sample ``probe`` (a row; default: 0),
    its comparisons decided in ``dtype``.
    """
    program = Program(_framework_code(fn, inputs, framework), inputs, conv, exact=False)
    layers, owned = {}, set()
    handles = _hook(fn, program, layers, owned) if _torch_module(fn) else []
    branching = False
    try:
        try:
            outs, shape = program.run(_NoBranches(program, DEFAULT_MAX_EVENTS))
        except _Branch:
            branching = True
            pt = np.zeros((1, program.n)) if probe is None else np.asarray(probe, dtype=np.float64).reshape(1, -1)
            _, outs, shape, _ = trace_groups(program, pt, None, {}, DEFAULT_MAX_EVENTS, dtype)[0]
            outs = [_Node(v) for v in outs]
    finally:
        for h in handles:
            h.remove()
    return Traced(program.graph, tuple(v.node for v in outs), shape, layers, owned, program, branching)


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
