"""torch's layers: linear maps and convolutions, batch normalisation, pooling, padding.

The affine ones (``linear``, ``conv1d/2d/3d``, ``conv_transpose1d/2d``,
``batch_norm`` in eval mode, ``avg_pool``, ``adaptive_avg_pool``, ``pad``) make
one affine node per output entry (:mod:`mtsym.frameworks.linear`); max pooling
(``max_pool1d/2d/3d`` with ``padding``, ``dilation``, ``ceil_mode``, and
``adaptive_max_pool1d/2d``) one ``maxpool`` node per window, ties to the first
element of the window as in torch.  What depends on the batch (batch norm in
training mode) or is not piecewise linear (layer/group/instance norm) is
refused by name, as are pooling indices (``return_indices=True``).
"""

__all__ = ["batch_norm_scale"]

import builtins
import math

import numpy as np

from ...arrays import lincomb
from ...errors import UnsupportedOperationError
from ...exact import to_exact
from ...ops import max_pool
from ...primitives.pooling import adaptive_windows_1d, pooled_length, windows_1d
from ...value import Value
from .. import linear as L
from ..arrays import as_array, wrap
from .base import TORCH, ints, rule, traced_weights


# --------------------------------------------------------------------------- linear
@rule("torch.nn.functional.linear")
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one affine node per output entry."""
    a, W = as_array(input, "linear"), as_array(weight, "linear")
    b = None if bias is None else as_array(bias, "linear")
    squeeze = W.ndim == 1
    if squeeze:
        W = W.reshape(1, -1)
    if a.ndim == 0 or a.shape[-1] != W.shape[1]:
        raise UnsupportedOperationError("linear", f"input of shape {a.shape} does not match weight {W.shape}")
    bias_of = (lambda j: 0) if b is None else (lambda j: b[()] if b.ndim == 0 else b[j])
    traced_w = any(isinstance(v, Value) for v in W.flat)
    out = np.empty(a.shape[:-1] + (W.shape[0],), dtype=object)
    for idx in np.ndindex(*a.shape[:-1]):
        row = list(a[idx])
        for j in range(W.shape[0]):
            if traced_w:
                out[idx + (j,)] = builtins.sum((u * v for u, v in zip(row, W[j])), bias_of(j))
            else:
                out[idx + (j,)] = lincomb(list(W[j]), row, bias_of(j))
    return wrap(out[..., 0] if squeeze else out)


# --------------------------------------------------------------------------- convolutions
def _batched(a, nd, op):
    if a.ndim == nd + 1:
        return a[None], True
    if a.ndim != nd + 2:
        raise UnsupportedOperationError(op, f"expects a {nd + 1}-D or {nd + 2}-D (batch) input like torch, got "
                                        f"shape {a.shape}")
    return a, False


def _conv(nd, op, input, weight, bias, stride, padding, dilation, groups):
    a, unbatched = _batched(as_array(input, op), nd, op)
    w = traced_weights(as_array(weight, op), op)
    b = None if bias is None else traced_weights(as_array(bias, op), op).reshape(-1)
    if w.ndim != nd + 2:
        raise UnsupportedOperationError(op, f"weight of shape {w.shape} is not {nd + 2}-D")
    s, d = ints(stride, nd, "stride", op), ints(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if s != (1,) * nd:
                raise UnsupportedOperationError(op, "padding='same' needs stride 1 (as in torch)")
            tot = [d[i] * (w.shape[2 + i] - 1) for i in range(nd)]
            pads = tuple((t // 2, t - t // 2) for t in tot)
        else:
            raise UnsupportedOperationError(op, f"padding={padding!r}: use an int, a tuple, 'valid' or 'same'")
    else:
        pads = tuple((p, p) for p in ints(padding, nd, "padding", op))
    try:
        out = L.conv(a, w, b, s, pads, d, groups=groups)
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None
    return wrap(out[0] if unbatched else out)


@rule("torch.conv1d", "torch.nn.functional.conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``nn.Conv1d`` / ``F.conv1d``: one affine node per output entry (float weights at their exact value)."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


@rule("torch.conv2d", "torch.nn.functional.conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``nn.Conv2d`` / ``F.conv2d``."""
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


@rule("torch.conv3d", "torch.nn.functional.conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``nn.Conv3d`` / ``F.conv3d``."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(nd, op, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """A transposed convolution is a convolution of the input spread by ``stride``, with the kernel
    flipped and its channel axes swapped."""
    a, unbatched = _batched(as_array(input, op), nd, op)
    w = traced_weights(as_array(weight, op), op)
    b = None if bias is None else traced_weights(as_array(bias, op), op).reshape(-1)
    s, p = ints(stride, nd, "stride", op), ints(padding, nd, "padding", op)
    op_, d = ints(output_padding, nd, "output_padding", op), ints(dilation, nd, "dilation", op)
    cin, cout_g = w.shape[:2]
    k = w.shape[2:]
    wt = w.reshape((groups, cin // groups, cout_g) + k).swapaxes(1, 2).reshape((groups * cout_g, cin // groups) + k)
    wt = wt[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    pads = tuple((d[i] * (k[i] - 1) - p[i], d[i] * (k[i] - 1) - p[i] + op_[i]) for i in range(nd))
    try:
        out = L.conv(a, wt, b, (1,) * nd, pads, d, lhs_dilation=s, groups=groups)
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None
    return wrap(out[0] if unbatched else out)


@rule("torch.conv_transpose1d", "torch.nn.functional.conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``nn.ConvTranspose1d``."""
    return _conv_transpose(1, "conv_transpose1d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@rule("torch.conv_transpose2d", "torch.nn.functional.conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``nn.ConvTranspose2d``."""
    return _conv_transpose(2, "conv_transpose2d", input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# --------------------------------------------------------------------------- normalisation
def _vector(v, n, default, op, what):
    if v is None:
        return np.full(n, float(default))
    a = traced_weights(as_array(v, op), op).reshape(-1)
    if len(a) != n:
        raise UnsupportedOperationError(op, f"{what} has {len(a)} entries for {n} channels")
    return np.array([float(c) for c in a])


def batch_norm_scale(running_mean, running_var, weight, bias, eps):
    """The per-channel ``(scale, shift)`` of batch normalisation in eval mode, as exact rationals.

    ``1/sqrt(var + eps)`` is irrational in general: it is computed in float64 as
    torch's CPU kernel does (``invstd = 1 / sqrt(var + eps)``, ``scale = weight *
    invstd``, ``shift = bias - mean * scale``), and each float is taken at its exact value.
    """
    invstd = 1.0 / np.sqrt(running_var + eps)
    scale = weight * invstd
    shift = bias - running_mean * scale
    return [to_exact(float(v)) for v in scale], [to_exact(float(v)) for v in shift]


@rule("torch.nn.functional.batch_norm", "torch.batch_norm")
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5,
               *args):
    """``nn.BatchNorm1d/2d/3d`` in eval mode: ``scale[c] * x + shift[c]`` per channel (dim 1)."""
    op = "batch_norm"
    if training or running_mean is None or running_var is None:
        raise UnsupportedOperationError(op, "in training mode (or without running statistics) batch "
                                        "normalisation uses the batch's own mean and variance: the result "
                                        "depends on the batch and is not piecewise linear; call model.eval()")
    a = as_array(input, op)
    if a.ndim < 2:
        raise UnsupportedOperationError(op, f"expects (N, C, ...) like torch, got shape {a.shape}")
    n = a.shape[1]
    if not isinstance(eps, (int, float)) or not math.isfinite(eps):
        raise UnsupportedOperationError(op, f"eps={eps!r} must be a number")
    mean, var = _vector(running_mean, n, 0, op, "running_mean"), _vector(running_var, n, 1, op, "running_var")
    scale, shift = batch_norm_scale(mean, var, _vector(weight, n, 1, op, "weight"), _vector(bias, n, 0, op, "bias"),
                                    float(eps))
    return wrap(L.channel_affine(a, scale, shift))


def _not_piecewise_linear(name, what):
    def refuse(*args, **kwargs):
        raise UnsupportedOperationError(name, f"{what}: not piecewise linear (a mean and a square root of the "
                                        "input's own entries); mtsym traces max/relu/affine programs")
    refuse.__name__ = name.rsplit(".", 1)[-1]
    return refuse


for _name in ("layer_norm", "group_norm", "instance_norm", "local_response_norm", "normalize", "rms_norm"):
    rule(f"torch.nn.functional.{_name}", f"torch.{_name}")(
        _not_piecewise_linear(f"torch.nn.functional.{_name}", f"{_name} normalises each input by its own statistics"))


# --------------------------------------------------------------------------- pooling
def _pool_args(nd, op, input, kernel_size, stride, padding, dilation=1):
    a = as_array(input, op)
    if a.ndim not in (nd + 1, nd + 2):
        raise UnsupportedOperationError(op, f"expects a {nd + 1}-D or {nd + 2}-D (batch) input like torch, got "
                                        f"shape {a.shape}")
    k = ints(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, int) and len(tuple(stride)) == 0) else \
        ints(stride, nd, "stride", op)
    return a, k, s, ints(padding, nd, "padding", op), ints(dilation, nd, "dilation", op)


def _max_pool(nd, op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if return_indices:
        raise UnsupportedOperationError(op, "return_indices=True: the indices of the maxima depend on the data "
                                        "(and at a tie on the kernel's scan order); use the values only")
    a, k, s, p, d = _pool_args(nd, op, input, kernel_size, stride, padding, dilation)
    return max_pool(a, k, s, p, op, TORCH, dilation=d, ceil_mode=bool(ceil_mode))


def _max_pool_rule(nd):
    def rule_(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        return _max_pool(nd, f"max_pool{nd}d", input, kernel_size, stride, padding, dilation, ceil_mode,
                         return_indices)
    rule_.__name__ = f"max_pool{nd}d"
    rule_.__doc__ = f"{nd}-D max pooling (``padding``, ``dilation``, ``ceil_mode``): window ties to the first element."
    return rule_


def _with_indices(nd):
    def rule_(*args, **kwargs):
        raise UnsupportedOperationError(f"max_pool{nd}d", "return_indices=True: the indices of the maxima depend "
                                        "on the data (and at a tie on the kernel's scan order); use the values only")
    return rule_


for _nd in (1, 2, 3):
    rule(f"torch.nn.functional.max_pool{_nd}d", f"torch.max_pool{_nd}d", f"torch.nn.functional._max_pool{_nd}d")(
        _max_pool_rule(_nd))
    rule(f"torch.nn.functional.max_pool{_nd}d_with_indices", f"torch.max_pool{_nd}d_with_indices")(_with_indices(_nd))


def _avg_pool(nd, op, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    a, k, s, p, _ = _pool_args(nd, op, input, kernel_size, stride, padding)
    lead = a.ndim - nd
    wins, sizes = [], []
    try:
        for i in range(nd):
            L_ = a.shape[lead + i]
            wins.append(windows_1d(L_, k[i], s[i], p[i], 1, bool(ceil_mode)))
            n_out = pooled_length(L_, k[i], s[i], p[i], p[i], 1, bool(ceil_mode))
            if divisor_override:
                sizes.append([1] * n_out)
            elif count_include_pad:   # torch: the window clipped to the padded input, padding counted
                sizes.append([builtins.min(o * s[i] - p[i] + k[i], L_ + p[i]) - (o * s[i] - p[i])
                              for o in range(n_out)])
            else:
                sizes.append([len(w) for w in wins[-1]])
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None
    if divisor_override:
        sizes[0] = [divisor_override] * len(sizes[0])
    return wrap(L.avg_pool(a, wins, sizes))


@rule("torch.avg_pool1d", "torch.nn.functional.avg_pool1d")
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """``nn.AvgPool1d``: one affine node per window."""
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


@rule("torch.nn.functional.avg_pool2d", "torch._C._nn.avg_pool2d")
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``nn.AvgPool2d`` (``count_include_pad``, ``divisor_override``, ``ceil_mode`` as in torch)."""
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_windows(nd, op, a, output_size):
    if a.ndim not in (nd + 1, nd + 2):
        raise UnsupportedOperationError(op, f"expects a {nd + 1}-D or {nd + 2}-D (batch) input, got {a.shape}")
    lead = a.ndim - nd
    sizes = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != nd:
        raise UnsupportedOperationError(op, f"output_size={output_size!r} must be an int or {nd} ints")
    sizes = tuple(a.shape[lead + i] if o is None else o for i, o in enumerate(sizes))
    try:
        return [adaptive_windows_1d(a.shape[lead + i], sizes[i]) for i in range(nd)]
    except ValueError as e:
        raise UnsupportedOperationError(op, str(e)) from None


def _adaptive_avg(nd):
    def rule_(input, output_size):
        op = f"adaptive_avg_pool{nd}d"
        a = as_array(input, op)
        wins = _adaptive_windows(nd, op, a, output_size)
        return wrap(L.avg_pool(a, wins, [[len(w) for w in ws] for ws in wins]))
    rule_.__name__ = f"adaptive_avg_pool{nd}d"
    rule_.__doc__ = "Adaptive average pooling: torch's windows ``[floor(iL/n), ceil((i+1)L/n))``, one affine node each."
    return rule_


def _adaptive_max(nd):
    def rule_(input, output_size, return_indices=False):
        op = f"adaptive_max_pool{nd}d"
        if return_indices:
            _with_indices(nd)()
        a = as_array(input, op)
        return max_pool(a, None, None, None, op, TORCH, windows=_adaptive_windows(nd, op, a, output_size))
    rule_.__name__ = f"adaptive_max_pool{nd}d"
    rule_.__doc__ = "Adaptive max pooling: torch's windows, ties to the first element of a window."
    return rule_


for _nd in (1, 2):
    rule(f"torch.nn.functional.adaptive_avg_pool{_nd}d", f"torch.adaptive_avg_pool{_nd}d",
         f"torch._C._nn.adaptive_avg_pool{_nd}d")(_adaptive_avg(_nd))
    rule(f"torch.nn.functional.adaptive_max_pool{_nd}d", f"torch.adaptive_max_pool{_nd}d",
         f"torch.nn.functional._adaptive_max_pool{_nd}d")(_adaptive_max(_nd))
    rule(f"torch.nn.functional.adaptive_max_pool{_nd}d_with_indices")(_with_indices(_nd))


# --------------------------------------------------------------------------- padding
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@rule("torch.nn.functional.pad", "torch._C._nn.pad", "torch.constant_pad_nd")
def pad(input, pad, mode="constant", value=None):
    """``F.pad``: constants (``value``; ``-inf`` too, for max pooling), ``reflect``, ``replicate``, ``circular``;
    negative padding crops."""
    a = as_array(input, "pad")
    pad = tuple(int(v) for v in pad)
    if len(pad) % 2 or len(pad) // 2 > a.ndim:
        raise UnsupportedOperationError("pad", f"pad={pad!r} must hold two ints per padded dimension")
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    crop = tuple(slice(-lo if lo < 0 else 0, a.shape[d] + hi if hi < 0 else None) for d, (lo, hi) in
                 enumerate(widths))
    a = a[crop]
    widths = [(builtins.max(lo, 0), builtins.max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        fill = as_array(0 if value is None else value, "pad")[()]
        out = np.empty(tuple(n + lo + hi for n, (lo, hi) in zip(a.shape, widths)), dtype=object)
        out.fill(fill)
        out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(a.shape, widths))] = a
        return wrap(out)
    if mode not in _PAD_MODES:
        raise UnsupportedOperationError("pad", f"mode={mode!r} is not one of constant, reflect, replicate, circular")
    try:
        return wrap(np.pad(a, widths, mode=_PAD_MODES[mode]))
    except ValueError as e:
        raise UnsupportedOperationError("pad", str(e)) from None


# --------------------------------------------------------------------------- resampling
@rule("torch.nn.functional.interpolate")
def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``F.interpolate(mode="nearest")`` (``nn.Upsample``): each output entry is an input entry
    (torch's ``floor(i * in / out)``); other modes are refused."""
    op = "interpolate"
    if mode != "nearest":
        raise UnsupportedOperationError(op, f"mode={mode!r} is not supported (only 'nearest', a selection)")
    a = as_array(input, op)
    nd = a.ndim - 2
    if nd < 1:
        raise UnsupportedOperationError(op, f"expects (N, C, ...) like torch, got shape {a.shape}")
    if size is not None:
        out = ints(size, nd, "size", op)
        scales = [a.shape[2 + d] / out[d] for d in range(nd)]
    elif scale_factor is not None:
        sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        out = tuple(int(math.floor(a.shape[2 + d] * sf[d])) for d in range(nd))
        scales = [a.shape[2 + d] / out[d] if recompute_scale_factor else 1.0 / sf[d] for d in range(nd)]
    else:
        raise UnsupportedOperationError(op, "give size or scale_factor")
    for d in range(nd):
        src = [builtins.min(int(math.floor(i * scales[d])), a.shape[2 + d] - 1) for i in range(out[d])]
        a = np.take(a, src, axis=2 + d)
    return wrap(a)
