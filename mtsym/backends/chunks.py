"""Chunked batch evaluation with an optional progress bar.

Memory stays bounded for any number of points: work is done ``chunk_size``
points at a time into preallocated results.  A progress bar is shown on long
runs when standard error is a terminal (``tqdm`` when installed, else one
plain line); ``progress=False`` turns it off, ``True`` forces it.

Examples
--------
>>> [(lo, hi) for lo, hi in chunks(10, 4, progress=False)]
[(0, 4), (4, 8), (8, 10)]
>>> out = np.zeros(10)
>>> def work(lo, hi):
...     out[lo:hi] = np.arange(lo, hi) ** 2
>>> run_chunks(10, 4, work, progress=False, threads=2)
>>> out.tolist()[:5]
[0.0, 1.0, 4.0, 9.0, 16.0]
"""

__all__ = ["chunks", "run_chunks", "chunk_threads", "as_points", "auto_chunk", "DEFAULT_CHUNK_BYTES", "CACHE_BYTES",
           "CACHE_POINTS"]

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


def chunk_threads(n_chunks):
    """How many threads run the chunks of one evaluation: the cores this process may use, at most
    the ``MTSYM_THREADS`` or else ``OMP_NUM_THREADS`` environment variable when set (``1``: every
    chunk in the calling thread), and no more than the chunks."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    for name in ("MTSYM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            cores = min(cores, int(value))
            break
    return max(1, min(cores, n_chunks))


def run_chunks(N, chunk_size, work, progress=None, desc="mtsym", threads=None, thread_init=None):
    """``work(lo, hi)`` for every chunk of ``range(N)``, on :func:`chunk_threads` threads (numpy
    releases the interpreter lock in its loops and products, so a sweep of chunks uses the cores
    torch and JAX use).  Thread ``t`` takes chunks ``t, t + T, ...`` in order (its buffers stay
    warm); ``thread_init()`` runs first in each other thread (a per-thread setting to copy).
    ``work`` must write disjoint results.  An exception in any chunk is raised here."""
    chunk_size = max(1, int(chunk_size))
    spans = [(lo, min(N, lo + chunk_size)) for lo in range(0, N, chunk_size)]
    T = chunk_threads(len(spans)) if threads is None else max(1, min(int(threads), len(spans)))
    if T == 1:
        for lo, hi in chunks(N, chunk_size, progress, desc):
            work(lo, hi)
        return
    if progress is None:
        progress = len(spans) > 4 and sys.stderr.isatty()
    bar = _bar(N, desc) if progress else None
    lock = threading.Lock()
    stop = threading.Event()

    def run(t):
        if thread_init is not None:
            thread_init()
        for lo, hi in spans[t::T]:
            if stop.is_set():
                return
            work(lo, hi)
            if bar is not None:
                with lock:
                    bar.update(hi - lo)
    try:
        with ThreadPoolExecutor(T, thread_name_prefix="mtsym-chunks") as pool:
            futures = [pool.submit(run, t) for t in range(T)]
            try:
                for f in futures:
                    f.result()
            except BaseException:
                stop.set()   # the other threads stop after their current chunk
                raise
    finally:
        if bar is not None:
            bar.close()
