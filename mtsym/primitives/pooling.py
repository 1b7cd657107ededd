"""Window geometry of pooling: every front end (``mt.maxpool2d``, ``nn.MaxPool2d``, JAX's
``reduce_window``) cuts its windows here, then reduces each one (a ``maxpool`` node).

Examples
--------
>>> windows_1d(4, 2, 1, 0)
[[0, 1], [1, 2], [2, 3]]
>>> windows_1d(3, 2, 2, 1)
[[0], [1, 2]]
>>> import numpy as np
>>> pool(np.array([[1, 5, 2], [3, 0, 4]], dtype=object), (2, 2), (1, 1), (0, 0), max).tolist()
[[5, 5]]
"""

__all__ = ["windows_1d", "pair", "pool"]

import numpy as np


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def pair(v, what):
    """``v`` as a pair of ints (an int is repeated)."""
    if _is_int(v):
        return (v, v)
    v = tuple(v)
    if len(v) != 2 or not all(_is_int(a) for a in v):
        raise ValueError(f"{what} must be an int or a pair of ints, got {v!r}")
    return v


def windows_1d(length, kernel, stride, padding):
    """Index lists of the pooling windows along one axis (padding positions dropped).

    ``padding`` is an int (torch: the same on both sides, at most half the
    kernel) or a pair ``(lo, hi)`` (jax's ``reduce_window``).  Padding positions
    hold ``-inf`` in the frameworks and never win, so a window is the max over
    its real positions.  Raises ``ValueError`` on a bad geometry.
    """
    lo, hi = (padding, padding) if _is_int(padding) else tuple(padding)
    if not all(_is_int(v) for v in (kernel, stride, lo, hi)):
        raise ValueError(f"kernel_size={kernel!r}, stride={stride!r}, padding={padding!r} must be ints")
    if kernel < 1 or stride < 1 or lo < 0 or hi < 0:
        raise ValueError(f"kernel_size={kernel}, stride={stride}, padding={padding} must be "
                         "positive (padding >= 0)")
    if _is_int(padding) and 2 * padding > kernel:
        raise ValueError(f"padding={padding} must be at most half of kernel_size={kernel}")
    span = length + lo + hi
    if span < kernel:
        raise ValueError(f"input of length {length} (padded {span}) is shorter than kernel_size={kernel}")
    out = []
    for start in range(0, span - kernel + 1, stride):
        idx = [i - lo for i in range(start, start + kernel) if 0 <= i - lo < length]
        if not idx:
            raise ValueError("a window holds padding only")
        out.append(idx)
    return out


def pool(a, kernel, stride, padding, reduce):
    """``reduce(window entries)`` over every window of the last ``len(kernel)`` axes of ``a``.

    ``a`` is an object array (traced values or numbers); leading axes (batch,
    channels) are kept.  ``kernel``, ``stride`` and ``padding`` give one entry per
    pooled axis (see :func:`windows_1d`); a window's entries are read row-major.
    Raises ``ValueError`` on a bad geometry.
    """
    nd = len(kernel)
    if a.ndim < nd:
        raise ValueError(f"input of shape {a.shape} has fewer than {nd} dimensions")
    lead = a.shape[:a.ndim - nd]
    wins = [windows_1d(a.shape[len(lead) + d], kernel[d], stride[d], padding[d]) for d in range(nd)]
    out = np.empty(lead + tuple(len(w) for w in wins), dtype=object)
    for li in np.ndindex(*lead):
        plane = a[li]
        for oi in np.ndindex(*(len(w) for w in wins)):
            out[li + oi] = reduce(list(plane[np.ix_(*[wins[d][oi[d]] for d in range(nd)])].ravel()))
    return out
