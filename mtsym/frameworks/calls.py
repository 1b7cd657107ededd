"""A framework's own value and Jacobian of a function at a point.

:func:`torch_call` (PyTorch autograd) and :func:`jax_call` (``jax.jacrev``) are
what ``table.check`` runs, and what a checker written by ``table.write_checker``
embeds (:func:`call_source`: the same function's source, renamed
``framework_call``), so the check and the written file cannot drift apart.  Each
imports its framework inside, so this module needs neither.
"""

__all__ = ["torch_call", "jax_call", "CALLS", "call_source"]

import inspect
import textwrap


def torch_call(fn, point, vector, dtype):
    """The output (flattened), Jacobian and output dtype of fn at point, by torch autograd."""
    import copy

    import numpy as np
    import torch

    # torch's default dtype is process-wide: it is never changed here (other threads would see
    # it); the inputs and a module's parameters are made in ``dtype``, constants the function
    # creates keep the default, and the output's dtype is returned so the caller can tell
    dt = getattr(torch, dtype)
    if isinstance(fn, torch.nn.Module):
        fn = copy.deepcopy(fn).to(dt)
    if vector:
        args = (torch.tensor(point, dtype=dt, requires_grad=True),)
    else:
        args = tuple(torch.tensor(p, dtype=dt, requires_grad=True) for p in point)
    out = fn(*args)
    if isinstance(out, (list, tuple)):
        out = torch.stack([torch.as_tensor(o, dtype=dt).reshape(-1) for o in out])
    out = torch.as_tensor(out).reshape(-1)
    jac = np.zeros((out.numel(), len(point)))
    for k in range(out.numel() if out.requires_grad else 0):
        grads = torch.autograd.grad(out[k], args, retain_graph=True, allow_unused=True)
        row = [torch.zeros(a.numel(), dtype=dt) if g is None else g.reshape(-1) for a, g in zip(args, grads)]
        jac[k] = torch.cat(row).detach().double().numpy()
    return out.detach().double().numpy(), jac, str(out.dtype).replace("torch.", "")


def jax_call(fn, point, vector, dtype):
    """The output (flattened), Jacobian and output dtype of fn at point, by jax.jacrev."""
    import importlib

    import jax
    import jax.numpy as jnp
    import numpy as np

    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # older JAX
        enable = importlib.import_module("jax.experimental").enable_x64
    with enable(dtype == "float64"):
        dt = jnp.dtype(dtype)
        n = len(point)
        args = (jnp.asarray(point, dtype=dt),) if vector else tuple(jnp.asarray(p, dtype=dt) for p in point)

        def flat(*a):
            return jnp.ravel(jnp.asarray(fn(*a)))
        out = flat(*args)
        if vector:
            jac = jax.jacrev(flat)(*args)
        else:
            jac = jnp.stack(jax.jacrev(flat, argnums=tuple(range(n)))(*args), axis=-1)
        return np.asarray(out, dtype=float), np.asarray(jac, dtype=float).reshape(out.size, n), str(out.dtype)


#: framework name -> its call
CALLS = {"torch": torch_call, "jax": jax_call}


def call_source(framework):
    """The source of the framework's call, as a standalone function named ``framework_call``."""
    fn = CALLS[framework]
    src = textwrap.dedent(inspect.getsource(fn))
    return src.replace(f"def {fn.__name__}(", "def framework_call(", 1)
