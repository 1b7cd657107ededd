"""1-D convolutional networks on the digit read as a sequence of 64 pixels.

``FCN``: the fully convolutional baseline of Wang, Yan, Oates 2017 ("Time series classification from scratch
with deep neural networks: a strong baseline"): three Conv1d + BatchNorm1d + ReLU blocks (kernels 8, 5, 3,
'same' padding), global average pooling (nn.AdaptiveAvgPool1d(1)), a Linear classifier; widths 128-256-128
divided by 16.

``PoolNet``: the pooling family in one network, as 1-D CNN tutorials mix them: MaxPool1d with ceil_mode and
with dilation, AvgPool1d with padding (count_include_pad), nn.AdaptiveMaxPool1d, nn.Flatten, nn.PReLU.
"""

import torch.nn as nn

from . import torch_spec


class FCN(nn.Module):
    def __init__(self, in_channels=1, n_classes=10):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv1d(in_channels, 8, 8, padding="same"), nn.BatchNorm1d(8), nn.ReLU())
        self.block2 = nn.Sequential(nn.Conv1d(8, 16, 5, padding="same"), nn.BatchNorm1d(16), nn.ReLU())
        self.block3 = nn.Sequential(nn.Conv1d(16, 8, 3, padding="same"), nn.BatchNorm1d(8), nn.ReLU())
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(8, n_classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        x = self.gap(x).squeeze(-1)
        return self.fc(x)


class PoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, 4, 3, padding=1), nn.PReLU(4),
            nn.MaxPool1d(3, stride=2, ceil_mode=True),            # 64 -> 32
            nn.Conv1d(4, 4, 3), nn.ReLU(),                         # 32 -> 30
            nn.MaxPool1d(2, stride=1, dilation=2),                 # 30 -> 28
            nn.AvgPool1d(2, stride=2, padding=1),                  # 28 -> 15
            nn.AdaptiveMaxPool1d(4),                               # 15 -> 4
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def _run(net, x):
    return net(x.view(1, 1, 64))[0]


MODELS = {"FCN (1-D, BatchNorm, GAP)": torch_spec(FCN, 2, _run), "1-D pooling family": torch_spec(PoolNet, 3, _run)}
