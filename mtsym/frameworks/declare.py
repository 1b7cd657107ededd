"""``mt.declare``: what a function with a hand-written derivative is, in mtsym's terms.

A custom ``torch.autograd.Function`` (or a ``jax.custom_jvp``/``custom_vjp``
function) has a forward pass *and* a derivative its author wrote.  Tracing the
forward alone would attach the forward operations' tie rules, not the
author's: a wrong table, silently.  So mtsym refuses such a function by
default, naming it and the line that calls it, until the user declares what it
is::

    mt.declare(ReLUAlpha, lambda x, alpha: mt.relu(x, convention=mt.Convention(relu0=alpha)))

The declaration receives the function's own arguments (traced arrays and
values where the user passed traced data, the rest unchanged) and returns the
result built from mtsym operations, whose tie rules say what the hand-written
derivative does at a tie.  ``table.check`` then holds the author's backward
to the table.

For torch the declaration is installed as the Function's ``apply`` for traced
arguments (real tensors still run the Function itself); for JAX it is looked
up when the jaxpr calls the function (``custom_jvp_call``/``custom_vjp_call``).
"""

__all__ = ["declare", "declared_jax", "JAX_DECLARED"]

import sys
from typing import Any, Callable

from ..arrays import Array
from ..errors import InputError
from ..value import Value

#: (function name, file, first line) of a jax custom_jvp/custom_vjp function -> its declaration
JAX_DECLARED = {}


def _traced(args, kwargs):
    def any_traced(v):
        if isinstance(v, (Value, Array)):
            return True
        if isinstance(v, (list, tuple)):
            return any(any_traced(u) for u in v)
        return False
    return any(any_traced(a) for a in args) or any(any_traced(v) for v in kwargs.values())


def _torch_function_class(obj):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, type) and issubclass(obj, torch.autograd.Function)


def _jax_custom(obj):
    mod = type(obj).__module__ or ""
    return mod.startswith("jax") and type(obj).__name__ in ("custom_jvp", "custom_vjp")


def _jax_key(fun):
    code = fun.__code__
    return (fun.__name__, code.co_filename, code.co_firstlineno)


def declared_jax(src_info):
    """The declaration of the jax function named by a jaxpr's ``func_src_info`` (``"f at file:line"``)."""
    name, _, where = src_info.partition(" at ")
    file, _, line = where.rpartition(":")
    return JAX_DECLARED.get((name, file, int(line))) if line.isdigit() else None


def declare(fn: Any, what: Callable) -> Any:
    """Declare what ``fn`` (a custom ``torch.autograd.Function`` class, or a ``jax.custom_jvp`` /
    ``jax.custom_vjp`` function) is in mtsym's terms: ``what`` takes the same arguments and returns the
    same result, built from mtsym operations whose tie rules are the hand-written derivative's.

    Returns ``fn``.

    Examples
    --------
    >>> import torch, mtsym as mt
    >>> class Step(torch.autograd.Function):          # relu with relu'(0) = 1/2, hand-written
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.clamp(min=0)
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return g * ((x > 0).to(g.dtype) + 0.5 * (x == 0).to(g.dtype))
    >>> _ = mt.declare(Step, lambda x: mt.relu(x, convention=mt.Convention(relu0="1/2")))
    >>> mt.derive(lambda x: Step.apply(x[0]), 1).grad_at((0,))
    Matrix([[1/2]])
    """
    if not callable(what):
        raise InputError(f"declare: the declaration must be a function, got {type(what).__name__}")
    if _torch_function_class(fn):
        _declare_torch(fn, what)
        return fn
    if _jax_custom(fn):
        JAX_DECLARED[_jax_key(fn.fun)] = what
        return fn
    raise InputError(f"declare: {fn!r} is not a torch.autograd.Function subclass or a jax.custom_jvp / "
                     "custom_vjp function")


def _declare_torch(cls, what):
    current = cls.__dict__.get("apply")
    if isinstance(current, classmethod) and getattr(current.__func__, "_mtsym_declared", None) is not None:
        current.__func__._mtsym_declared[0] = what
        return
    original = cls.apply.__func__  # torch.autograd.Function.apply, or the class's own
    box = [what]

    def apply(c, *args, **kwargs):
        if c is cls and _traced(args, kwargs):   # a subclass may change the backward: it is declared on its own
            return box[0](*args, **kwargs)
        return original(c, *args, **kwargs)

    apply._mtsym_declared = box
    apply.__doc__ = original.__doc__
    cls.apply = classmethod(apply)
