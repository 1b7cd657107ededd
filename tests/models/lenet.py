"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document recognition"),
as the PyTorch tutorial "Neural Networks" (pytorch.org/tutorials/beginner/blitz/neural_networks_tutorial.html)
writes it: two Conv2d + ReLU + F.max_pool2d stages on a 1x32x32 image, torch.flatten, three Linear layers.

The 8x8 digits are brought to 32x32 with F.interpolate (nearest: each pixel a 4x4 block, so the first
pooling windows tie on every image).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import torch_spec


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        # Convolution layer C1: 1 input image channel, 6 output channels, 5x5 square convolution
        c1 = F.relu(self.conv1(input))
        # Subsampling layer S2: 2x2 grid, purely functional
        s2 = F.max_pool2d(c1, (2, 2))
        # Convolution layer C3: 6 input channels, 16 output channels, 5x5 square convolution
        c3 = F.relu(self.conv2(s2))
        # Subsampling layer S4: 2x2 grid (a square: a single number)
        s4 = F.max_pool2d(c3, 2)
        # Flatten operation: purely functional, outputs a (N, 400) Tensor
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)


MODELS = {"LeNet-5": torch_spec(Net, 0, lambda net, x: net(F.interpolate(x.view(1, 1, 8, 8), scale_factor=4))[0])}
