"""Exports of a piece table: LaTeX (:mod:`.latex`), JSON (:mod:`.json`), tables streamed to disk
one stratum a line (:mod:`.stream`), notebook displays (:mod:`.notebook`) and plots (:mod:`.plot`,
needs matplotlib).

The compact conditions shared by the text formats live in :mod:`.conditions`.
"""

__all__ = ["to_latex", "to_json", "from_json"]

from .json import from_json, to_json
from .latex import to_latex
from . import stream  # noqa: F401  (registers PieceTable.open)
