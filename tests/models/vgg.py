"""VGG-style blocks (Simonyan, Zisserman 2015, "Very deep convolutional networks for large-scale image
recognition"), written as torchvision's ``vgg.py`` does: ``make_layers`` from a configuration list
(Conv2d 3x3 padding 1 + ReLU(inplace=True), "M" for MaxPool2d(2, 2)), ``torch.flatten(x, 1)``, a classifier
of Linear + ReLU(True) + Dropout; the configuration ``[4, 4, "M", 8, 8, "M"]`` instead of VGG-16's.
"""

import torch
import torch.nn as nn

from . import Spec, dyadic_torch_

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


def build(dyadic, reference=False, batch_norm=False):
    torch.manual_seed(6)
    net = VGG(make_layers(CFG, batch_norm)).eval()
    if dyadic:
        dyadic_torch_(net, 6)
    if reference:
        net.double()
    return lambda x: net(x.view(1, 1, 8, 8))[0]


MODELS = {"VGG blocks": Spec(build),
          "VGG blocks with BatchNorm": Spec(lambda dyadic, reference=False: build(dyadic, reference, True))}
