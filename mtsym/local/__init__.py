"""Exact analysis where the user looks: at a point, on a segment, on a 2-D slice, in a box.

* :mod:`mtsym.local.lex`: ``mt.lex_grad`` and ``mt.directional`` (one exact sweep);
* :mod:`mtsym.local.star`: ``mt.derive(f, n, around=x0)``, the strata whose closure holds ``x0``;
* :mod:`mtsym.local.regions`: ``mt.derive(f, n, on=mt.segment(a, b) | mt.plane(...) | mt.box(...))``;
* :mod:`mtsym.local.verdict`: ``mt.is_clarke``.
"""

__all__ = ["lex_grad", "directional", "is_clarke", "segment", "plane", "box", "derive_local"]

from .lex import directional, lex_grad
from .regions import box, plane, segment
from .star import derive_local
from .verdict import is_clarke

from ..extensions import register  # noqa: E402

register("derive.local", derive_local)      # mt.derive(..., around=x0) and mt.derive(..., on=region)
