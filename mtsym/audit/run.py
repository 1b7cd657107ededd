"""``mt.audit``: which samples of a data set put the framework on a tie, exactly, and what it costs.

Examples
--------
>>> import numpy as np, mtsym as mt
>>> f = lambda x: mt.relu(x[0] + x[1] - x[2])
>>> X = np.array([[1.0, 1e-8, 1.0], [0.5, 0.25, 0.75], [2.0, 1.0, 0.0]])
>>> r = mt.audit(f, X)                          # torch's rules, float32
>>> r.n, r.tied, r.exact_ties, r.rounding_ties, r.verdicts
(3, [0, 1], [1], [0], {0: 'no', 1: 'yes'})
>>> r.samples[0].ties[0].gap    # float32 rounds 1 + 1e-8 to 1; exactly, the pre-activation is float32(1e-8)
Fraction(11258999, 1125899906842624)
"""

from __future__ import annotations

__all__ = ["audit"]

import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..backends.chunks import auto_chunk
from ..backends.distributed import cluster_chunk, map_chunks
from ..conventions import Convention
from ..errors import InputError
from .chunk import AuditJob, audit_chunk
from .layers import trace_model
from .relu0 import LOSSES
from .report import AuditReport, Relu0Audit

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..api import Inputs

_DTYPES = {"float32": np.float32, "float64": np.float64}


def _dtype(dtype):
    name = getattr(dtype, "name", None) or str(dtype).replace("torch.", "")
    if name in ("float", "double"):
        name = "float32" if name == "float" else "float64"
    if name not in _DTYPES:
        raise InputError(f"audit: dtype={dtype!r}; choose 'float32' or 'float64'")
    return np.dtype(_DTYPES[name])


def _samples(X):
    """The data as a numpy array, one sample per row (images are flattened)."""
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.ndim == 0:
        raise InputError("audit: X must hold samples, one per row")
    if X.ndim == 1:
        X = X[:, None]
    X = X.reshape(X.shape[0], -1)
    if not np.issubdtype(X.dtype, np.number):
        raise InputError(f"audit: X holds {X.dtype}, not numbers")
    return X


def audit(fn: Callable, X: ArrayLike, inputs: Inputs | None = None, framework: str | None = "torch",
          dtype: Any = "float32", client: Any = None, *, convention: Any = None, loss: str | None = None,
          y: ArrayLike | None = None, chunk_size: int | None = None, progress: bool | None = None,
          max_strata: int = 10_000, verdicts: bool = True) -> AuditReport:
    """Audit a model on a data set: per sample, the ties its framework meets, exactly.

    Per sample (a row of ``X``, cast to ``dtype``: the point the framework computes at, taken at
    its exact value), every switching node (ReLU, max, max-pool window, ...) is decided twice: as
    the framework's float forward pass decides it (in ``dtype``, exact float comparisons), and in
    exact rational arithmetic.  A node where they meet a tie is an *exact tie*; one where they part
    ways is a *rounding tie* (with the exact gap) or a *flip*.  For every such sample the
    framework's gradient (the chain rule along its float cases, under its tie rules, exactly) is
    tested: is it a Clarke gradient of ``fn`` at the exact sample?

    Parameters
    ----------
    fn : callable
        The model, branch-free: PyTorch code or an ``nn.Module`` as written, JAX code with
        ``framework="jax"``, or mtsym code.  It gets one sample as a vector (reshape inside).
    X : array_like, (N, n) or (N, ...)
        The samples (numpy, torch or jax arrays; rows are flattened).
    inputs : int or str, optional
        As for :func:`mtsym.derive`; default: the number of entries of a row.
    framework : {"torch", "jax", None}
        Whose tie rules and code: ``"torch"`` (PyTorch code, torch's rules), ``"jax"``
        (JAX code, traced through its jaxpr, JAX's rules), ``None`` (mtsym code, ``convention``).
    dtype : {"float32", "float64"}
        The framework's float type: its forward pass runs in it.
    client : dask.distributed.Client, optional
        Run the chunks on that Dask cluster (results merged in order); default: in process.
    convention : str or Convention, optional
        The tie rules of nodes that do not pin their own (default: ``framework``'s, or torch's).
    loss : {"sum", "cross_entropy"}, optional
        Also audit the relu'(0) question on the parameter gradient of this loss (labels ``y``
        for cross entropy): ``report.relu0``.
    y : array_like, optional
        Labels, one per sample.
    chunk_size : int, optional
        Samples per chunk (default: from a 64 MiB working-memory budget).
    progress : bool, optional
        Progress bar (default: on for long runs on a terminal).
    max_strata : int
        Passed to :func:`mtsym.is_clarke`: the largest star enumerated before certificates.
    verdicts : bool
        False: count ties and rounding only (no gradients, no verdicts).

    Returns
    -------
    AuditReport
    """
    t0 = time.perf_counter()
    dt = _dtype(dtype)
    X = _samples(X)
    N, n = X.shape
    if framework not in ("torch", "jax", None):
        raise InputError(f"audit: framework={framework!r}; choose 'torch', 'jax' or None")
    if loss is not None and loss not in LOSSES:
        raise InputError(f"audit: loss={loss!r}; choose one of {LOSSES}")
    if loss == "cross_entropy" and y is None:
        raise InputError("audit: loss='cross_entropy' needs the labels y=")
    conv = Convention.get(convention if convention is not None else (framework or "torch"))
    inputs = n if inputs is None else inputs
    with np.errstate(over="ignore"):
        Xd = X.astype(dt)
    if not np.isfinite(Xd).all():
        raise InputError(f"audit: X holds numbers that are not finite in {dt.name} (nan, inf, or too large)")
    traced = trace_model(fn, inputs, conv, framework, probe=Xd[:1] if N else None, dtype=dt)
    if len(traced.graph.symbols) != n:
        raise InputError(f"audit: a sample has {n} entries but the function takes {len(traced.graph.symbols)} "
                         "inputs")
    job = AuditJob(traced, conv, dt, loss=loss, max_strata=max_strata, verdicts=verdicts, inputs=inputs,
                   framework=framework)
    if y is not None:
        y = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y).reshape(-1)
        if y.shape[0] != N:
            raise InputError(f"audit: {y.shape[0]} labels for {N} samples")
    arrays = (Xd,) if y is None else (Xd, y)
    size = cluster_chunk(client, N, auto_chunk(4 * job.passes().sched.row_bytes(), chunk_size), chunk_size)
    t1 = time.perf_counter()
    parts = map_chunks(client, _chunk, arrays, size, (job,), progress=progress, desc="audit")
    t2 = time.perf_counter()
    return _merge(parts, N, job, fn, framework, dt, {"trace": t1 - t0, "audit": t2 - t1})


def _chunk(arrays, lo, job):
    return audit_chunk(arrays[0], lo, job, y=arrays[1] if len(arrays) > 1 else None)


def _merge(parts, N, job, fn, framework, dt, seconds):
    samples, by_node = [], {}
    phases = {}
    for p in parts:
        samples.extend(p.samples)
        for key, c in p.by_node.items():
            acc = by_node.get(key)
            if acc is None:
                by_node[key] = dict(c)
            else:
                for k, v in c.items():
                    if k != "line":
                        acc[k] += v
        for k, v in p.seconds.items():
            phases[k] = phases.get(k, 0.0) + v
    relu0 = None
    if job.loss is not None:
        differs, gap, batch, tied = [], {}, {}, 0
        for p in parts:
            differs += p.relu0.differs
            gap.update(p.relu0.gap)
            tied += p.relu0.tied
            for v, vec in p.relu0.batch.items():
                batch[v] = vec if v not in batch else batch[v] + vec
        batch_gap = float(np.sqrt(sum(float(np.dot(v, v)) for v in batch.values()))) / max(N, 1)
        relu0 = Relu0Audit(job.loss, differs, gap, batch_gap, tied, N)
    name = getattr(fn, "__name__", None) or type(fn).__name__
    exact_seconds = [s.seconds for s in samples]
    meta = {"name": "f" if name == "<lambda>" else name, "framework": framework, "convention": job.conv.name,
            "dtype": dt.name, "seconds": dict(seconds, **phases),
            "seconds_per_event_sample": (sum(exact_seconds) / len(exact_seconds)) if exact_seconds else 0.0}
    return AuditReport(N, samples, by_node, meta, relu0=relu0)
