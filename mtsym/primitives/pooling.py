"""Window geometry of pooling: every front end (``mt.maxpool2d``, ``nn.MaxPool2d``, ``nn.AvgPool2d``,
adaptive pooling, JAX's ``reduce_window``) cuts its windows here, then reduces each one (a
``maxpool`` node, or one affine node for an average).

Examples
--------
>>> windows_1d(4, 2, 1, 0)
[[0, 1], [1, 2], [2, 3]]
>>> windows_1d(3, 2, 2, 1)
[[0], [1, 2]]
>>> windows_1d(5, 2, 2, 0, ceil_mode=True)       # torch's ceil_mode: a last, partial window
[[0, 1], [2, 3], [4]]
>>> windows_1d(5, 2, 1, 0, dilation=2)
[[0, 2], [1, 3], [2, 4]]
>>> adaptive_windows_1d(5, 3)                    # torch's adaptive pooling: floor/ceil bounds
[[0, 1], [1, 2, 3], [3, 4]]
>>> import numpy as np
>>> pool(np.array([[1, 5, 2], [3, 0, 4]], dtype=object), (2, 2), (1, 1), (0, 0), max).tolist()
[[5, 5]]
"""

__all__ = ["windows_1d", "adaptive_windows_1d", "pooled_length", "pair", "pool", "pool_windows"]

import numpy as np


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def pair(v, what):
    """``v`` as a pair of ints (an int is repeated)."""
    if _is_int(v):
        return (int(v), int(v))
    v = tuple(v)
    if len(v) != 2 or not all(_is_int(a) for a in v):
        raise ValueError(f"{what} must be an int or a pair of ints, got {v!r}")
    return tuple(int(a) for a in v)


def pooled_length(length, kernel, stride, lo, hi, dilation=1, ceil_mode=False):
    """The number of windows along one axis (torch's formula; ``ceil_mode`` keeps a last partial window
    that starts inside the input or its left padding)."""
    span = length + lo + hi - dilation * (kernel - 1) - 1
    if span < 0:
        raise ValueError(f"input of length {length} (padded {length + lo + hi}) is shorter than the "
                         f"window ({dilation * (kernel - 1) + 1})")
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= length + lo:
        out -= 1
    return out


def windows_1d(length, kernel, stride, padding, dilation=1, ceil_mode=False):
    """Index lists of the pooling windows along one axis (padding positions dropped).

    ``padding`` is an int (torch: the same on both sides, at most half the
    kernel) or a pair ``(lo, hi)`` (jax's ``reduce_window``).  Padding positions
    hold ``-inf`` in the frameworks and never win, so a window is the max over
    its real positions.  ``dilation`` spaces a window's taps; ``ceil_mode``
    (torch) keeps a last window that runs past the end.  Raises ``ValueError``
    on a bad geometry.
    """
    lo, hi = (padding, padding) if _is_int(padding) else tuple(padding)
    if not all(_is_int(v) for v in (kernel, stride, lo, hi, dilation)):
        raise ValueError(f"kernel_size={kernel!r}, stride={stride!r}, padding={padding!r}, dilation={dilation!r} "
                         "must be ints")
    if kernel < 1 or stride < 1 or lo < 0 or hi < 0 or dilation < 1:
        raise ValueError(f"kernel_size={kernel}, stride={stride}, padding={padding}, dilation={dilation} must be "
                         "positive (padding >= 0)")
    if _is_int(padding) and 2 * padding > kernel:
        raise ValueError(f"padding={padding} must be at most half of kernel_size={kernel}")
    out = []
    for o in range(pooled_length(length, kernel, stride, lo, hi, dilation, ceil_mode)):
        start = o * stride - lo
        idx = [start + dilation * j for j in range(kernel) if 0 <= start + dilation * j < length]
        if not idx:
            raise ValueError("a window holds padding only")
        out.append(idx)
    return out


def adaptive_windows_1d(length, out):
    """The windows of adaptive pooling to ``out`` outputs: ``[floor(i L / out), ceil((i + 1) L / out))``."""
    if not _is_int(out) or out < 1 or length < 1:
        raise ValueError(f"output size {out!r} must be a positive int (input length {length})")
    return [list(range(i * length // out, -(-(i + 1) * length // out))) for i in range(out)]


def pool_windows(a, wins, reduce):
    """``reduce(entries, out_index)`` over every window of the last ``len(wins)`` axes of ``a``.

    ``wins[d]`` lists the index lists of the windows along pooled axis ``d``;
    leading axes (batch, channels) are kept; a window's entries are read row-major.
    """
    nd = len(wins)
    if a.ndim < nd:
        raise ValueError(f"input of shape {a.shape} has fewer than {nd} dimensions")
    lead = a.shape[:a.ndim - nd]
    out = np.empty(lead + tuple(len(w) for w in wins), dtype=object)
    for li in np.ndindex(*lead):
        plane = a[li]
        for oi in np.ndindex(*(len(w) for w in wins)):
            out[li + oi] = reduce(list(plane[np.ix_(*[wins[d][oi[d]] for d in range(nd)])].ravel()), oi)
    return out


def pool(a, kernel, stride, padding, reduce, dilation=None, ceil_mode=False):
    """``reduce(window entries)`` over every window of the last ``len(kernel)`` axes of ``a``.

    ``a`` is an object array (traced values or numbers); leading axes (batch,
    channels) are kept.  ``kernel``, ``stride``, ``padding`` (and ``dilation``)
    give one entry per pooled axis (see :func:`windows_1d`).  Raises
    ``ValueError`` on a bad geometry.
    """
    nd = len(kernel)
    if a.ndim < nd:
        raise ValueError(f"input of shape {a.shape} has fewer than {nd} dimensions")
    dilation = (1,) * nd if dilation is None else dilation
    lead = a.ndim - nd
    wins = [windows_1d(a.shape[lead + d], kernel[d], stride[d], padding[d], dilation[d], ceil_mode)
            for d in range(nd)]
    return pool_windows(a, wins, lambda items, oi: reduce(items))
