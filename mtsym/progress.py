"""Progress of a long enumeration: strata found and their rate, on one line of a terminal.

:func:`mtsym.derive` passes a :class:`Progress` to the enumeration hook
(:func:`mtsym.partition.explore`'s ``on_stratum``) when standard error is a
terminal: nothing is shown for the first second, then one line rewritten in place
a few times a second, erased at the end.

Examples
--------
>>> import io
>>> clock = iter([0.0, 0.5, 1.5, 1.6, 3.0]).__next__
>>> out = io.StringIO()
>>> p = Progress(out, clock=clock)
>>> for k in range(1, 5):
...     p(None, k * 1000)
>>> out.getvalue().split("\\r")[1:]
['mtsym: 2,000 strata, 1,333/s, 1.5 s ', 'mtsym: 4,000 strata, 1,333/s, 3.0 s ']
"""

__all__ = ["Progress", "progress_hook"]

import sys
import time


class Progress:
    """A ``(record, count)`` hook that shows the count and the rate on ``stream``.

    Parameters
    ----------
    stream : file-like, optional
        Where to write (default ``sys.stderr``).
    delay : float
        Seconds before the first line (short enumerations show nothing).
    every : float
        Seconds between two updates.
    clock : callable
        The time source (``time.monotonic``).
    """

    def __init__(self, stream=None, delay=1.0, every=0.25, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.delay, self.every, self.clock = delay, every, clock
        self.start = clock()
        self.last = None
        self.width = 0
        self.count = 0

    def __call__(self, record, count):
        self.count = count
        now = self.clock()
        elapsed = now - self.start
        if elapsed < self.delay or (self.last is not None and now - self.last < self.every):
            return
        self.last = now
        line = f"mtsym: {count:,} strata, {count / elapsed:,.0f}/s, {elapsed:.1f} s "
        self.width = max(self.width, len(line))
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()

    def close(self):
        """Erase the line (if one was shown)."""
        if self.last is not None:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def progress_hook(progress):
    """``(hook, reporter)`` for ``derive``'s ``progress``: ``None`` shows a :class:`Progress` when
    standard error is a terminal, ``True`` always, ``False`` never; a callable is the hook itself."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        progress = bool(isatty and isatty())
    if progress is True:
        p = Progress()
        return p, p
    if progress is False:
        return None, None
    if callable(progress):
        return progress, None
    from .errors import InputError
    raise InputError(f"progress={progress!r}: give None, True, False or a callable hook(record, count)")
