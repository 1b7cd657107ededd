"""VGG-style blocks (Simonyan, Zisserman 2015, "Very deep convolutional networks for large-scale image
recognition"), written as torchvision's ``vgg.py`` does: ``make_layers`` from a configuration list
(Conv2d 3x3 padding 1 + ReLU(inplace=True), "M" for MaxPool2d(2, 2)), ``torch.flatten(x, 1)``, a classifier
of Linear + ReLU(True) + Dropout; the configuration ``[4, 4, "M", 8, 8, "M"]`` instead of VGG-16's.
"""

import torch
import torch.nn as nn

from . import torch_spec

CFG = [4, 4, "M", 8, 8, "M"]


def make_layers(cfg, batch_norm=False):
    layers = []
    in_channels = 1
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=10):
        super(VGG, self).__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(8 * 2 * 2, 16), nn.ReLU(True), nn.Dropout(), nn.Linear(16, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def _run(net, x):
    return net(x.view(1, 1, 8, 8))[0]


MODELS = {"VGG blocks": torch_spec(lambda: VGG(make_layers(CFG)), 6, _run),
          "VGG blocks with BatchNorm": torch_spec(lambda: VGG(make_layers(CFG, batch_norm=True)), 6, _run)}
