#!/usr/bin/python3
"""Generates the TorchScript fixtures for serving torchvision ResNet-50 backbones on
oneDNN's blocked layout (OneDnnResNet50, TorchScriptClassifier.useOneDnnLayout).

Run with Debian's PyTorch (apt-get install -y python3-torch python3-torchvision):
    /usr/bin/python3 src/test/python/make_onednn_fixtures.py src/test/resources/fixtures

- tiny-resnet50-topology.pt: torchvision's ResNet-50 exactly (its Bottleneck blocks, 3-4-6-3,
  stride on the 3x3, projection shortcuts named downsample.0/.1, names conv1/bn1/layerN,
  flattened average pool as output) but 32x narrower (stem 2 channels, 64-d output), with
  BatchNorm statistics far from their defaults, traced in eval mode: the file the service
  writes for a model fine-tuned from resnet50-imagenet, in miniature.
- tiny-resnet50-topology-eps.pt: the same names, shapes and values, but BatchNorm eps 0.1:
  a different function, which must keep running as TorchScript.
"""
import os, sys
import torch
import torch.nn as nn
from torchvision.models.resnet import Bottleneck

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)


class TinyResNet50(nn.Module):
    def __init__(self, width=2, eps=1e-5):
        super().__init__()
        norm = lambda c: nn.BatchNorm2d(c, eps=eps)
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = norm(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = width
        for i, (blocks, stride) in enumerate(zip([3, 4, 6, 3], [1, 2, 2, 2])):
            planes = width * 2 ** i
            downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), norm(planes * 4))
            layers = [Bottleneck(inplanes, planes, stride, downsample, norm_layer=norm)]
            inplanes = planes * 4
            layers += [Bottleneck(inplanes, planes, norm_layer=norm) for _ in range(1, blocks)]
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


torch.manual_seed(0)
net = TinyResNet50()
for m in net.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 2)
        m.weight.data.uniform_(0.5, 1.5)
        m.bias.data.uniform_(-0.2, 0.2)
net.eval()
dummy = torch.randn(2, 3, 64, 64)
torch.jit.trace(net, dummy).save(os.path.join(out, "tiny-resnet50-topology.pt"))

other = TinyResNet50(eps=0.1)
other.load_state_dict(net.state_dict())
torch.jit.trace(other.eval(), dummy).save(os.path.join(out, "tiny-resnet50-topology-eps.pt"))
