"""A griffe extension for the API reference: Sphinx roles in docstrings rendered as code.

The docstrings use Sphinx's cross-reference roles (``:class:`~mtsym.table.PieceTable```),
which mkdocstrings would print as they are.  This extension rewrites each role, as the
docstrings are loaded, into inline code with the name Sphinx would show (the last
component after ``~``).  mkdocs.yml loads it (``extensions:``); it is not a page of the
site.
"""

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def render_roles(text):
    """``:func:`~mtsym.api.derive``` -> ```derive```; ``:class:`mtsym.Convention``` -> ```mtsym.Convention```.

    >>> render_roles("see :class:`~mtsym.table.PieceTable` and :func:`mtsym.derive`")
    'see `PieceTable` and `mtsym.derive`'
    """
    def one(m):
        name = m.group(2).strip()
        if m.group(1):
            name = name.rsplit(".", 1)[-1]
        return f"`{name}`"
    return ROLE.sub(one, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring griffe loads."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = render_roles(obj.docstring.value)
