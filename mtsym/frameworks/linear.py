"""Affine layers, one affine node per output entry: convolutions, average pooling, per-channel maps.

Every framework front end builds its linear layers here (``nn.Conv2d``,
``F.conv1d``, ``lax.conv_general_dilated``, ``nn.AvgPool2d``, adaptive average
pooling, batch normalisation in eval mode), on numpy object arrays of traced
values and exact numbers.  Coefficients are exact rationals (float weights at
the exact value they hold); terms with a zero coefficient are dropped, as
:func:`mtsym.arrays.lincomb` does.  Construction is vectorised over the
geometry: a convolution's coefficient rows are cut once per output channel and
border pattern, not once per output entry.

Examples
--------
>>> import numpy as np
>>> x = np.array([[[1, 2, 3, 4]]], dtype=object)          # (N, C, L)
>>> w = np.array([[[1, -1]]], dtype=object)               # (O, C, K)
>>> conv(x, w, None, strides=(1,), padding=((0, 0),)).tolist()
[[[-1, -1, -1]]]
>>> conv(x, w, np.array([10], dtype=object), strides=(2,), padding=((1, 1),), dilation=(2,)).tolist()
[[[8, 8]]]
>>> avg_pool(np.array([[1, 2, 3, 4, 5]], dtype=object), [[[0, 1], [2, 3], [4]]], [[2, 2, 2]]).tolist()
[[Fraction(3, 2), Fraction(7, 2), Fraction(5, 2)]]
"""

__all__ = ["conv", "conv_taps", "avg_pool", "channel_affine", "affine_of"]

from fractions import Fraction

import numpy as np

from ..arrays import lincomb
from ..primitives.pooling import pool_windows
from ..value import Value, apply


def affine_of(items, coefs, const):
    """``const + sum(c * v)`` for a row whose coefficients are exact and nonzero: one affine node.

    All-traced rows go straight to the ``affine`` primitive; rows holding numbers
    fold them into the constant (:func:`mtsym.arrays.lincomb`).
    """
    if not items:
        return const
    for v in items:
        if not isinstance(v, Value):
            return lincomb(coefs, items, const)
    return apply("affine", items, (coefs, const))


def conv_taps(length, kernel, stride, padding, dilation=1, lhs_dilation=1):
    """Input index of each (output position, kernel tap) along one axis, ``-1`` where the tap is padding.

    ``padding`` is ``(lo, hi)``; ``lhs_dilation`` spaces the input (a transposed
    convolution's zeros).  Shape ``(outputs, kernel)``.

    Examples
    --------
    >>> conv_taps(4, 3, 1, (1, 1)).tolist()
    [[-1, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, -1]]
    """
    lo, hi = padding
    span = lhs_dilation * (length - 1) + 1 + lo + hi
    eff = dilation * (kernel - 1) + 1
    if min(lo, hi) < 0 or stride < 1 or dilation < 1 or lhs_dilation < 1 or kernel < 1:
        raise ValueError(f"bad geometry: kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}")
    if span < eff:
        raise ValueError(f"input of length {length} (padded {span}) is shorter than the kernel ({eff})")
    q = np.arange((span - eff) // stride + 1)[:, None] * stride + np.arange(kernel)[None, :] * dilation - lo
    ok = (q >= 0) & (q <= lhs_dilation * (length - 1)) & (q % lhs_dilation == 0)
    return np.where(ok, q // lhs_dilation, -1)


def _positions(spatial, taps):
    """Flat input index per (output position, kernel tap) over all spatial axes, ``-1`` where padding."""
    D = len(taps)
    outs = tuple(t.shape[0] for t in taps)
    ks = tuple(t.shape[1] for t in taps)
    flat = np.zeros(outs + ks, dtype=np.intp)
    valid = np.ones(outs + ks, dtype=bool)
    stride = 1
    for d in reversed(range(D)):
        shape = [1] * (2 * D)
        shape[d], shape[D + d] = outs[d], ks[d]
        t = taps[d].reshape(shape)
        flat = flat + np.where(t >= 0, t, 0) * stride
        valid &= t >= 0
        stride *= spatial[d]
    P, K = int(np.prod(outs, dtype=int)), int(np.prod(ks, dtype=int))
    return np.where(valid, flat, -1).reshape(P, K), outs


def _nonzero(a):
    return np.array([c != 0 for c in a], dtype=bool) if len(a) else np.zeros(0, dtype=bool)


def conv(x, w, bias, strides, padding, dilation=None, lhs_dilation=None, groups=1):
    """N-d convolution (cross-correlation, as torch and jax compute it) of object arrays.

    Parameters
    ----------
    x : object array (N, C, *spatial)
    w : object array (O, C // groups, *kernel) of exact numbers
    bias : object array (O,) or None
    strides, padding, dilation, lhs_dilation : one entry per spatial axis
        ``padding`` entries are ``(lo, hi)`` pairs.
    groups : int

    Returns
    -------
    object array (N, O, *out)
    """
    D = x.ndim - 2
    N, C = x.shape[:2]
    n_out, Cg = w.shape[:2]
    dilation = dilation or (1,) * D
    lhs_dilation = lhs_dilation or (1,) * D
    if w.ndim != D + 2 or C != Cg * groups or n_out % groups:
        raise ValueError(f"input of shape {x.shape} does not match weight {w.shape} with groups={groups}")
    taps = [conv_taps(x.shape[2 + d], w.shape[2 + d], strides[d], padding[d], dilation[d], lhs_dilation[d])
            for d in range(D)]
    pos, outs = _positions(x.shape[2:], taps)
    patterns, which = np.unique(pos >= 0, axis=0, return_inverse=True)
    which = which.ravel()
    X = x.reshape(N, C, -1)
    W = w.reshape(n_out, Cg, -1)
    Og = n_out // groups
    b = [0] * n_out if bias is None else list(bias)
    # per (border pattern, output channel): the kept coefficients and where they sit in the window
    rows = []
    for pat in patterns:
        taps_kept = np.flatnonzero(pat)
        per_o = []
        for o in range(n_out):
            full = W[o][:, taps_kept].ravel()
            keep = _nonzero(full)
            per_o.append((keep, tuple(full[keep])))
        rows.append((taps_kept, per_o))
    out = np.empty((N, n_out, pos.shape[0]), dtype=object)
    for n in range(N):
        for p in range(pos.shape[0]):
            taps_kept, per_o = rows[which[p]]
            cols = pos[p, taps_kept]
            for g in range(groups):
                window = X[n, g * Cg:(g + 1) * Cg][:, cols].ravel()
                for o in range(g * Og, (g + 1) * Og):
                    keep, coefs = per_o[o]
                    out[n, o, p] = affine_of(tuple(window[keep]), coefs, b[o])
    return out.reshape((N, n_out) + outs)


def avg_pool(a, wins, sizes):
    """Average pooling of the last ``len(wins)`` axes: each window's entries over its divisor.

    ``wins[d]`` lists the windows' index lists along axis ``d`` and ``sizes[d]``
    each window's count along that axis (torch counts padding with
    ``count_include_pad``); the divisor is their product.
    """
    def reduce(items, oi):
        d = 1
        for axis, i in enumerate(oi):
            d *= sizes[axis][i]
        return affine_of(tuple(items), (Fraction(1, d),) * len(items), 0)
    return pool_windows(a, wins, reduce)


def channel_affine(x, scale, shift, axis=1):
    """``scale[c] * x + shift[c]`` along channel axis ``axis`` (batch normalisation in eval mode)."""
    out = np.empty(x.shape, dtype=object)
    for idx, v in np.ndenumerate(x):
        c = idx[axis] if x.ndim > axis else 0
        s, t = scale[c], shift[c]
        out[idx] = (s * v + t if not isinstance(v, Value) else
                    t if s == 0 else apply("affine", (v,), ((s,), t)))
    return out
