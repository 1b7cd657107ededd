"""Custom ``torch.autograd.Function``: refused until declared (``mt.declare``).

Calling ``MyFunction.apply(x)`` on traced values runs its ``forward`` on them;
mtsym would record the forward's operations with *their* tie rules and never
see the hand-written ``backward`` -- a wrong table with no error.  So every
traced operation (a new graph node, a torch call, a tensor method) first asks
:func:`guard` whether it runs inside ``torch.autograd.Function.apply``; if so it
stops with an error naming the Function and the user's line that called it,
and saying how to declare it (:func:`mtsym.frameworks.declare.declare`
replaces ``apply`` for traced arguments, so a declared Function never gets
here).  A forward that makes no traced operation at all (returns its input
unchanged) cannot be seen; its result is what the forward computes.
"""

__all__ = ["guard", "running_function"]

import linecache
import sys

from ...errors import UnsupportedOperationError
from ...extensions import register

_APPLY = []


def _apply_code():
    if not _APPLY:
        mod = sys.modules.get("torch.autograd.function")
        if mod is None:
            return None
        _APPLY.append(mod.Function.apply.__func__.__code__)
    return _APPLY[0]


def running_function():
    """``(Function class, "file:line: code" of the call)`` when a custom Function's forward is running, else None."""
    code = _apply_code()
    if code is None:
        return None
    f = sys._getframe(1)
    while f is not None:
        if f.f_code is code:
            cls = f.f_locals.get("cls")
            caller = f.f_back
            line = ""
            if caller is not None:
                src = linecache.getline(caller.f_code.co_filename, caller.f_lineno).strip()
                line = f"{caller.f_code.co_filename}:{caller.f_lineno}" + (f": {src}" if src else "")
            return cls, line
        f = f.f_back
    return None


def guard():
    """Refuse tracing inside an undeclared custom autograd Function (see the module)."""
    found = running_function()
    if found is None:
        return
    cls, line = found
    name = getattr(cls, "__qualname__", repr(cls))
    raise UnsupportedOperationError(
        f"{name}.apply (a custom torch.autograd.Function)",
        f"its backward is hand-written, and tracing its forward would attach the forward's tie rules instead "
        f"(a wrong gradient at ties, silently); declare what it is in mtsym's terms: "
        f"mt.declare({name}, lambda <its arguments>: <mtsym operations>)", line=line)


register("trace.node", guard)
