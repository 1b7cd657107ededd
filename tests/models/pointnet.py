"""A PointNet encoder (Qi, Su, Mo, Guibas 2017, "PointNet: deep learning on point sets for 3D classification
and segmentation"), as the widely used pointnet.pytorch (github.com/fxia22/pointnet.pytorch) writes
``PointNetfeat`` without its T-Nets: shared MLPs as Conv1d(kernel 1) + BatchNorm1d (+ ReLU), a max over the
points (``torch.max(x, 2, keepdim=True)[0]``), ``x.view(-1, 1024)``; then the classification head
(Linear-BN-ReLU-Dropout-Linear).  Widths 64-128-1024 -> 8-16-32.

A digit is a cloud of 64 points (column, row, intensity / 16): the traced intensities sit next to
constant coordinates.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_spec

WIDTH = 32


class PointNetfeat(nn.Module):
    def __init__(self):
        super(PointNetfeat, self).__init__()
        self.conv1 = torch.nn.Conv1d(3, 8, 1)
        self.conv2 = torch.nn.Conv1d(8, 16, 1)
        self.conv3 = torch.nn.Conv1d(16, WIDTH, 1)
        self.bn1 = nn.BatchNorm1d(8)
        self.bn2 = nn.BatchNorm1d(16)
        self.bn3 = nn.BatchNorm1d(WIDTH)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        x = torch.max(x, 2, keepdim=True)[0]
        x = x.view(-1, WIDTH)
        return x


class PointNetCls(nn.Module):
    def __init__(self, k=10):
        super(PointNetCls, self).__init__()
        self.feat = PointNetfeat()
        self.fc1 = nn.Linear(WIDTH, 16)
        self.fc2 = nn.Linear(16, k)
        self.dropout = nn.Dropout(p=0.3)
        self.bn1 = nn.BatchNorm1d(16)

    def forward(self, x):
        x = self.feat(x)
        x = F.relu(self.bn1(self.dropout(self.fc1(x))))
        return self.fc2(x)


_COLS = torch.arange(64, dtype=torch.float64) % 8
_ROWS = torch.div(torch.arange(64, dtype=torch.float64), 8, rounding_mode="floor")


def _run(net, x):
    return net(torch.stack([_COLS, _ROWS, x / 16])[None])[0]


MODELS = {"PointNet encoder": torch_spec(PointNetCls, 4, _run)}
