"""Run chunks of samples on a Dask cluster (``dask.distributed``, the optional extra ``mtsym[dask]``).

:func:`map_chunks` cuts the rows of ``X`` into chunks, sends one task per chunk to the cluster
(the shared, read-only arguments are scattered once to every worker), and returns the results in
chunk order, with a progress bar on long runs.  :func:`mtsym.evaluate` and :func:`mtsym.audit`
use it when given ``client=``; without a client they run the same chunk function in process.

A worker needs mtsym importable (the same environment as the client: a ``LocalCluster``, or
workers started from the same virtual environment).

Examples
--------
>>> def double(X, lo, k):
...     return (lo, (k * X).tolist())
>>> import numpy as np
>>> map_chunks(None, double, np.arange(5.0).reshape(5, 1), 2, (3,), progress=False)
[(0, [[0.0], [3.0]]), (2, [[6.0], [9.0]]), (4, [[12.0]])]
"""

__all__ = ["map_chunks", "map_row_blocks", "require_distributed", "is_dask_array", "workers_of",
           "cluster_chunk", "local_scheduler"]

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..errors import InputError
from .chunks import _bar, chunks


def require_distributed(what="client="):
    """Import ``dask.distributed``, or say clearly how to get it."""
    try:
        import distributed
    except ImportError:
        raise InputError(f"{what} needs dask.distributed, which is not installed: "
                         "pip install 'mtsym[dask]' (or 'dask[distributed]')") from None
    return distributed


def _check_client(client):
    distributed = require_distributed()
    if not isinstance(client, distributed.Client):
        raise InputError(f"client={client!r}: give a dask.distributed.Client (or None to run in process)")


def map_chunks(client, fn, X, size, args=(), *, progress=None, desc="mtsym"):
    """``[fn(X[lo:hi], lo, *args) for each chunk]``, in order; on ``client``'s cluster when given.

    ``X`` may be a tuple of arrays with the same number of rows: ``fn`` then gets the tuple of
    their slices.

    Parameters
    ----------
    client : dask.distributed.Client or None
        ``None``: run every chunk here, one after the other.
    fn : callable
        A module-level function (it travels to the workers by reference).
    X : ndarray (N, ...), or a tuple of them
    size : int
        Rows per chunk.
    args : tuple
        Shared arguments: scattered once to every worker (broadcast), not sent with each task.
    progress : bool, optional
        A progress bar (default: on for long runs on a terminal).
    """
    many = isinstance(X, tuple)
    N = (X[0] if many else X).shape[0]

    def part(lo, hi):
        return tuple(a[lo:hi] for a in X) if many else X[lo:hi]

    if client is None:
        return [fn(part(lo, hi), lo, *args) for lo, hi in chunks(N, size, progress, desc=desc)]
    _check_client(client)
    distributed = require_distributed()
    [shared] = client.scatter([tuple(args)], broadcast=True, hash=False)   # one object, on every worker
    bounds = list(chunks(N, size, progress=False))
    # the chunks go straight to the workers (not through the scheduler inside the tasks)
    data = client.scatter([part(lo, hi) for lo, hi in bounds], hash=False)
    futures = {}
    for (lo, _), d in zip(bounds, data):
        futures[client.submit(_apply, fn, d, lo, shared, pure=False)] = len(futures)
    results = [None] * len(futures)
    n_chunks = len(futures)
    show = progress if progress is not None else n_chunks > 4 and sys.stderr.isatty()
    bar = _bar(N, desc) if show else None
    try:
        for fut in distributed.as_completed(list(futures)):
            k = futures[fut]
            results[k] = fut.result()
            if bar is not None:
                bar.update(min(size, N - k * size))
    finally:
        if bar is not None:
            bar.close()
        for fut in list(futures) + data:
            fut.release()
    return results


def _apply(fn, X, lo, args):
    return fn(X, lo, *args)


def is_dask_array(X):
    """True for a ``dask.array.Array`` (without importing dask when it is not loaded)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(X, da.Array)


def workers_of(client):
    """The number of workers of a client's cluster (at least 1)."""
    _check_client(client)
    return max(1, len(client.scheduler_info().get("workers", {})))


def cluster_chunk(client, N, size, chunk_size=None):
    """Rows per task on a cluster: two tasks per worker (each task costs tens of milliseconds of
    scheduling and transfer), but at most four times the in-process chunk ``size`` (its memory
    budget); the user's ``chunk_size`` when given, and ``size`` itself without a client."""
    if client is None or chunk_size is not None:
        return size
    per = -(-N // (2 * workers_of(client)))
    return max(1, min(per, 4 * size))


def map_row_blocks(X, fn, cols, args=()):
    """A lazy ``dask.array`` ``(N, cols)``: ``fn(block, *args)`` on each block of rows of ``X``.

    ``X`` is rechunked to whole rows (all columns in one block); ``args`` travel with the task graph.
    """
    X = X.rechunk({1: -1})
    return X.map_blocks(fn, *args, dtype=np.float64, chunks=(X.chunks[0], (cols,)), meta=np.empty((0, 0)))


@contextlib.contextmanager
def local_scheduler(workers=1, threads=1, timeout=60, memory_limit="2GiB", lifetime=900):
    """A Dask scheduler and ``workers`` worker processes on 127.0.0.1; yields the scheduler's address.

    Started as subprocesses (``python -m distributed.cli.dask_scheduler`` / ``dask_worker``),
    listening on 127.0.0.1 only, with bounded lives (the scheduler quits after ``lifetime`` seconds
    idle, the workers after ``lifetime`` seconds or ``timeout`` seconds without a scheduler), and
    stopped when the block ends.  For trying code that takes ``client=`` against a scheduler
    address: ``Client(address)``.
    """
    require_distributed("local_scheduler")
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "scheduler.json")
        procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file", path,
                                   "--idle-timeout", f"{lifetime}s"], **quiet)]
        try:
            deadline = time.monotonic() + timeout
            address = None
            while address is None:
                if procs[0].poll() is not None:
                    raise InputError("local_scheduler: the Dask scheduler did not start")
                if time.monotonic() > deadline:
                    raise InputError(f"local_scheduler: no Dask scheduler after {timeout} s")
                try:
                    with open(path) as f:
                        address = json.load(f)["address"]
                except (OSError, ValueError, KeyError):
                    time.sleep(0.1)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", path, "--nworkers",
                 str(workers), "--nthreads", str(threads), "--no-dashboard", "--host", "127.0.0.1",
                 "--memory-limit", str(memory_limit), "--death-timeout", str(timeout), "--lifetime",
                 f"{lifetime}s"], **quiet))
            yield address
        finally:
            for p in reversed(procs):
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
