"""mtsym: exact nonsmooth automatic differentiation, after Murat–Trombetti.

Trace Python code built from max, relu, affine maps and max pooling; get every
polyhedral piece of the input space, the smooth f^alpha on each, and the
associated gradient — the gradient autodiff frameworks return at ties.

Examples
--------
>>> import mtsym as mt
>>> t = mt.derive(lambda x: mt.max(x) - mt.relu(x[0] - 2 * x[1]), 2)
>>> t.grad_at((2, 1))
Matrix([[1, 0]])
"""

__all__ = [
    "derive", "trace", "call_exact", "evaluate", "Evaluation", "audit", "AuditReport",
    "lex_grad", "directional", "is_clarke", "segment", "plane", "box",
    "PieceTable", "Piece", "Stratum", "Convention", "Graph",
    "relu", "leaky_relu", "abs", "clamp", "max", "min", "maximum", "minimum", "maxpool1d", "maxpool2d", "sort",
    "apply", "lincomb", "matmul", "declare",
    "MtsymError", "TraceError", "NonAffineError", "UnsupportedOperationError", "ConventionError",
    "InputError", "LimitError", "NondeterministicError", "FormatError",
]

__version__ = "0.1.0"

from .api import call_exact, derive, trace
from .arrays import lincomb, matmul
from .conventions import Convention
from .errors import (ConventionError, FormatError, InputError, LimitError, MtsymError, NonAffineError,
                     NondeterministicError, TraceError, UnsupportedOperationError)
from .graph import Graph
from .local import box, directional, is_clarke, lex_grad, plane, segment
from .ops import abs, clamp, leaky_relu, max, maximum, maxpool1d, maxpool2d, min, minimum, relu, sort
from .table import Piece, PieceTable, Stratum
from .value import apply

# the outer layers: importing them registers what the core offers through mtsym.extensions
from . import backends, export, frameworks, lipschitz, verify  # noqa: E402,F401
from .export import notebook, plot, text  # noqa: E402,F401
from .evaluate import Evaluation, evaluate  # noqa: E402
from .audit import AuditReport, audit  # noqa: E402
from .frameworks.declare import declare  # noqa: E402
