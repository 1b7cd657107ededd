"""Pictures of an audit: ties per layer, and the samples whose framework gradient is spurious.

Built on :class:`matplotlib.figure.Figure` (no pyplot state); matplotlib is the ``plot`` extra.
"""

__all__ = ["plot_report"]

import numpy as np

from ..export.plot import _matplotlib


def plot_report(report, path=None, *, images=None, shape=None, max_images=12):
    """Ties per layer (samples with an exact tie / a rounding tie / a flip), and spurious samples.

    Parameters
    ----------
    report : AuditReport
    path : str, optional
        Also write the figure there (PNG, or any format matplotlib knows).
    images : array_like, optional
        The audited data (one row per sample), to draw the spurious samples.
    shape : tuple, optional
        The picture shape of a row (``(8, 8)`` for the digits).
    max_images : int
        At most this many spurious samples are drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _, Figure = _matplotlib()
    bad = report.spurious[:max_images]
    draw = images is not None and shape is not None and bad
    cols = min(len(bad), 6) if draw else 0
    rows_img = -(-len(bad) // 6) if draw else 0
    fig = Figure(figsize=(7 + 1.3 * cols, max(3.0, 0.45 * len(report.by_node) + 1.5, 1.6 * rows_img + 1)))
    grid = fig.add_gridspec(max(1, rows_img), 1 + cols, width_ratios=[5] + [1] * cols)
    ax = fig.add_subplot(grid[:, 0])
    keys = sorted(report.by_node, key=lambda k: (str(k[1]), k[0]))
    labels = [f"{op} | {layer}" for op, layer in keys]
    y = np.arange(len(keys))
    left = np.zeros(len(keys))
    for kind, color in (("exact", "#1f77b4"), ("rounding", "#d62728"), ("flips", "#ff7f0e")):
        vals = np.array([report.by_node[k][kind] for k in keys], dtype=float)
        if vals.any():
            ax.barh(y, vals, left=left, color=color, label=kind)
            left += vals
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"samples (of {report.n})")
    m = report.meta
    ax.set_title(f"ties per layer ({m.get('convention')} rules, {m.get('dtype')})", fontsize=10)
    if keys:
        ax.legend(fontsize=8, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no tie", ha="center", va="center", transform=ax.transAxes)
    if draw:
        data = np.asarray(images).reshape(np.asarray(images).shape[0], -1)
        for k, i in enumerate(bad):
            a = fig.add_subplot(grid[k // 6, 1 + k % 6])
            a.imshow(data[i].reshape(shape), cmap="gray_r")
            a.set_title(f"#{i}", fontsize=8, color="#cf222e")
            a.set_xticks([])
            a.set_yticks([])
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
