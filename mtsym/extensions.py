"""The one registration point between the core and the layers built on it.

The core (tracing, graph, primitives, partition, table) never imports the
outer layers (verification, numeric backends, export, frameworks).  Where the
core offers a convenience that an outer layer implements -- ``table.verify()``,
``table.to_latex()``, ``graph.plot()``, a traced value inside a ``torch`` call
-- it looks the implementation up here by name, and the outer layer registers
it when it is imported (``import mtsym`` imports them all).

Examples
--------
>>> register("example.twice", lambda x: 2 * x)
>>> extension("example.twice")(21)
42
>>> extension("example.missing")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
mtsym.errors.UnsupportedOperationError: example.missing: no layer of mtsym provides 'example.missing' (...)
"""

__all__ = ["register", "extension", "provided", "EXTENSIONS"]

from .errors import UnsupportedOperationError

#: name -> implementation, filled by the outer layers when imported
EXTENSIONS = {}


def register(name, fn):
    """Provide ``name`` (``"table.verify"``, ``"trace.torch_function"``, ...); a later call replaces it."""
    EXTENSIONS[name] = fn


def provided(name):
    """The implementation of ``name``, or ``None`` when no layer registered one."""
    return EXTENSIONS.get(name)


def extension(name):
    """The implementation of ``name``; an error naming it when no layer registered one."""
    fn = EXTENSIONS.get(name)
    if fn is None:
        raise UnsupportedOperationError(name, f"no layer of mtsym provides {name!r} (import mtsym to "
                                        "load them all)", line="")
    return fn
