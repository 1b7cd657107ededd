"""Numeric backends: batched float64 evaluation of piece tables and graphs.

:func:`compile_table` (what ``table.compile()`` returns) evaluates a piece table;
:mod:`mtsym.evaluate` sweeps a graph forward and backward without enumerating
pieces.  Both run on :class:`~mtsym.backends.sweep.Schedule`.
"""

__all__ = ["compile_table", "CompiledTable", "Schedule"]

from .numpy import CompiledTable, compile_table
from .sweep import Schedule
