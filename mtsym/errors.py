"""The exception hierarchy of mtsym, and how an error names the user's source line.

Every error mtsym raises on purpose is an :class:`MtsymError`.  Errors raised
while tracing user code carry the operation that failed and the user's own
source line (``file:line: code``), found by walking the stack to the first frame
outside the mtsym package.  A line set by :func:`source_line` is a context
variable: each thread (and each asyncio task) sees only its own.
"""

__all__ = [
    "MtsymError",
    "TraceError",
    "NonAffineError",
    "UnsupportedOperationError",
    "ConventionError",
    "InputError",
    "LimitError",
    "NondeterministicError",
    "FormatError",
    "user_line",
    "skip_frames_of",
    "source_line",
]

import contextlib
import contextvars
import linecache
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: directories whose frames are never "the user's line" (mtsym, and frameworks that call back into it)
SKIP_DIRS = [_PACKAGE_DIR]
#: the line :func:`source_line` reports, per thread / task
_LINE = contextvars.ContextVar("mtsym_source_line", default="")


class MtsymError(Exception):
    """Base class of every error mtsym raises on purpose."""


class InputError(MtsymError, ValueError):
    """A value or argument given by the user is unusable (non-finite number, bad input spec)."""


class ConventionError(MtsymError, ValueError):
    """An unknown convention name or parameter."""


class TraceError(MtsymError):
    """User code did something that cannot be traced exactly.

    Parameters
    ----------
    op : str
        The operation that failed (``"relu"``, ``"float()"``, ...).
    message : str
        What went wrong and what to do instead.
    line : str, optional
        The user's source line; found automatically when omitted.
    """

    def __init__(self, op, message, line=None):
        self.op = op
        self.line = user_line() if line is None else line
        self.reason = message
        where = f" at {self.line}" if self.line else ""
        super().__init__(f"{op}{where}: {message}")


class NonAffineError(TraceError):
    """A switching quantity (relu input, max argument, comparison) is not affine in the inputs."""


class UnsupportedOperationError(TraceError):
    """An operation mtsym cannot trace (``float()`` of a traced value, division by one, ...)."""


class NondeterministicError(TraceError):
    """The traced function took a different path when replayed with the same decisions."""


class LimitError(MtsymError):
    """An enumeration limit was reached; the message says which keyword raises it."""


class FormatError(MtsymError, ValueError):
    """A serialized table (JSON) is corrupted, of another format, or of an unsupported version."""


def skip_frames_of(module):
    """Never report frames of ``module``'s package as the user's line (torch calls back into mtsym)."""
    d = os.path.dirname(os.path.abspath(module.__file__))
    if d not in SKIP_DIRS:
        SKIP_DIRS.append(d)


@contextlib.contextmanager
def source_line(line):
    """Report ``line`` as the user's line meanwhile (a replayed program, e.g. a jaxpr, knows its own)."""
    token = _LINE.set(line)
    try:
        yield
    finally:
        _LINE.reset(token)


def user_line(skip_dirs=None):
    """Return ``"file:line: code"`` for the innermost stack frame outside mtsym.

    Frames of :data:`SKIP_DIRS` (mtsym, and frameworks registered with
    :func:`skip_frames_of`) are skipped; inside :func:`source_line` its line is returned.

    Returns
    -------
    str
        The location, or ``""`` when no such frame exists.

    Examples
    --------
    >>> user_line().split(":")[0].endswith(".py") or user_line().startswith("<")
    True
    """
    line = _LINE.get()
    if line:
        return line
    frame = sys._getframe(1)
    if skip_dirs is None:  # the usual case: which files are skipped is memoised per file name (threads may
        skipped = _SKIPPED  # share the memo: a stale answer is only recomputed, never wrong)
        if skipped.get(None) != len(SKIP_DIRS):  # a framework was registered since: start over
            skipped.clear()
            skipped[None] = len(SKIP_DIRS)
        while frame is not None:
            fname = frame.f_code.co_filename
            skip = skipped.get(fname)
            if skip is None:
                skip = skipped[fname] = _in_dirs(fname, SKIP_DIRS)
            if not skip:
                code = linecache.getline(fname, frame.f_lineno).strip()
                return f"{fname}:{frame.f_lineno}" + (f": {code}" if code else "")
            frame = frame.f_back
        return ""
    while frame is not None:
        fname = frame.f_code.co_filename
        if not _in_dirs(fname, skip_dirs):
            code = linecache.getline(fname, frame.f_lineno).strip()
            return f"{fname}:{frame.f_lineno}" + (f": {code}" if code else "")
        frame = frame.f_back
    return ""


_SKIPPED = {}


def _in_dirs(fname, dirs):
    absf = os.path.abspath(fname) if not fname.startswith("<") else fname
    return any(absf.startswith(d + os.sep) for d in dirs)
