"""Chunked batch evaluation with an optional progress bar.

Memory stays bounded for any number of points: work is done ``chunk_size``
points at a time into preallocated results.  A progress bar is shown on long
runs when standard error is a terminal (``tqdm`` when installed, else one
plain line); ``progress=False`` turns it off, ``True`` forces it.

Examples
--------
>>> [(lo, hi) for lo, hi in chunks(10, 4, progress=False)]
[(0, 4), (4, 8), (8, 10)]
"""

__all__ = ["chunks", "as_points", "auto_chunk", "DEFAULT_CHUNK_BYTES", "CACHE_BYTES", "CACHE_POINTS"]

import sys
import time

import numpy as np

from ..errors import InputError

#: the working memory one chunk may take (values, adjoints, codes), in bytes
DEFAULT_CHUNK_BYTES = 64 * 2 ** 20
#: the working set a chunk aims at (a share of the last-level cache), and the fewest points it takes
CACHE_BYTES = 8 * 2 ** 20
CACHE_POINTS = 1024


def as_points(X, n, what="X"):
    """``X`` as a float64 array of shape (N, n); a 1-D array is N points when n == 1."""
    if np.iscomplexobj(X):
        raise InputError(f"{what} holds complex numbers; mtsym evaluates real points")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"{what} is not an array of real numbers ({e})") from None
    if X.ndim == 1 and n == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != n:
        raise InputError(f"{what} has shape {X.shape}; expected (N, {n}) points of {n} coordinates")
    if not np.isfinite(X).all():
        raise InputError(f"{what} holds non-finite numbers (nan or inf)")
    return X


def auto_chunk(bytes_per_point, chunk_size=None, budget=DEFAULT_CHUNK_BYTES, cache=CACHE_BYTES):
    """The chunk size: the user's, else as many points as fit ``cache`` (a sweep's rows stay in the
    processor's cache between stages: 2-3x faster than chunks of 10^5 points, measured on MLPs),
    but at least :data:`CACHE_POINTS` (fewer points per numpy call cost more in calls than they save)
    and at most as many as fit ``budget`` (32 to 2**18: a LeNet-5's 15,000 rows x 10 outputs take
    1.3 MB per point, so 1024 points would take 1.3 GB)."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise InputError(f"chunk_size={chunk_size} must be a positive integer")
        return int(chunk_size)
    per = max(1, bytes_per_point)
    return int(min(2 ** 18, max(32, budget // per), max(CACHE_POINTS, cache // per)))


class _Line:
    """A one-line progress display on stderr (used when tqdm is not installed)."""

    def __init__(self, total, desc):
        self.total, self.desc, self.done, self.t0 = total, desc, 0, time.perf_counter()

    def update(self, k):
        self.done += k
        rate = self.done / max(time.perf_counter() - self.t0, 1e-9)
        sys.stderr.write(f"\r{self.desc}: {self.done}/{self.total} points ({rate:,.0f}/s)")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")


def _bar(total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return _Line(total, desc)
    return tqdm(total=total, desc=desc, unit="pt", unit_scale=True, leave=False)


def chunks(N, chunk_size, progress=None, desc="mtsym"):
    """Yield ``(lo, hi)`` slices of ``range(N)``; show progress when asked or on a long TTY run."""
    chunk_size = max(1, int(chunk_size))
    n_chunks = -(-N // chunk_size)
    if progress is None:
        progress = n_chunks > 4 and sys.stderr.isatty()
    bar = _bar(N, desc) if progress else None
    try:
        for lo in range(0, N, chunk_size):
            hi = min(N, lo + chunk_size)
            yield lo, hi
            if bar is not None:
                bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()
