"""The network of the PyTorch MNIST example (github.com/pytorch/examples, mnist/main.py): Conv2d-ReLU-Conv2d-
ReLU-F.max_pool2d-Dropout-flatten-Linear-ReLU-Dropout-Linear, then F.log_softmax; widths divided by 8
(32, 64, 128 -> 4, 8, 16) so a test traces it in a second.

The example's last line, ``F.log_softmax(x, dim=1)``, is not piecewise linear: it is kept in
:func:`log_probs`, which mtsym refuses by name; the gallery traces the logits.  Dropout is the identity in
eval mode.  The 8x8 digits become 28x28 as the example's input: nearest upsampling to 24x24, then a
2-pixel border of zeros (F.pad).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_spec


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(1152, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return x


def log_probs(model, data):
    """The example's ``output = F.log_softmax(x, dim=1)``."""
    return F.log_softmax(model(data), dim=1)


def to_28x28(x):
    return F.pad(F.interpolate(x.view(1, 1, 8, 8), size=24), (2, 2, 2, 2))


MODELS = {"PyTorch MNIST example": torch_spec(Net, 1, lambda model, x: model(to_28x28(x))[0])}
