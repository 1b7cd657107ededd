"""Byzantine-robust aggregation (Yin, Chen, Ramchandran, Bartlett 2018, "Byzantine-robust distributed learning:
towards optimal statistical rates"): the coordinate-wise median and trimmed mean of the workers' vectors, as
PyTorch code computes them with ``torch.median(x, dim=0)`` and ``torch.sort(x, dim=0)``, and the median of
all coordinates (``torch.median(x)``, which splits its gradient over tied entries).

The 8 rows of a digit are 8 workers' vectors of 8 coordinates.  ``torch.topk`` is left out here: which of
several tied entries it returns is implementation-defined (``tests/test_order_statistics.py`` shows
``table.check`` reporting it).
"""

import torch

from . import Spec


def coordinate_median(updates):
    return torch.median(updates, dim=0).values


def trimmed_mean(updates, b=2):
    s = torch.sort(updates, dim=0).values
    return s[b:updates.shape[0] - b].mean(dim=0)


def aggregate(x):
    updates = x.view(8, 8)
    return torch.cat([coordinate_median(updates), trimmed_mean(updates), torch.median(updates)[None]])


MODELS = {"robust aggregation (median, trimmed mean, top-k)": Spec(lambda dyadic, reference=False: aggregate)}
