#!/usr/bin/python3
"""Generates the tiny TorchScript fixtures used by the training tests.

Run with Debian's PyTorch (apt-get install -y python3-torch python3-torchvision):
    /usr/bin/python3 src/test/python/make_torchscript_fixtures.py src/test/resources/fixtures

- tiny-resnet-classifier.pt: a miniature model whose class is named like torchvision's
  ResNet (so the TorchScript source lands in code/__torch__/torchvision/models/resnet.py)
  with conv1/bn1/layer1..layer4/fc, traced in eval mode like the DJL zoo's traced_resnet50.
  It exercises the classifier-removal surgery and the all-stages TorchScript path.
- tiny-backbone-partial.pt: a feature extractor with only conv1/bn1/layer1/layer2, traced in
  eval mode, mapping images to a 16-d vector: an uploaded backbone with fewer stages.
- tiny-backbone-scripted.pt: the same network scripted (torch.jit.script), whose BatchNorm
  follows the training flag, so it updates statistics when run in training mode.
- tiny-off-block-convs.pt: two traced 3x3 convolutions, 24 -> 40 -> 24 channels (off oneDNN's
  16-channel blocks), for TorchScriptConvolutions.layoutGuard.
- tiny-backbone-shortcut.pt / tiny-backbone-shortcut-scripted.pt: a feature extractor with a
  ResNet-style strided 1x1 shortcut and a strided unpadded 2x2 convolution (128-d output),
  traced and scripted, for the rewrite of strided 1x1 convolutions (TorchScriptConvolutions).
"""
import os, sys
import torch
import torch.nn as nn

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class ResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = block(4, 4, 1)
        self.layer2 = block(4, 8, 2)
        self.layer3 = block(8, 8, 2)
        self.layer4 = block(8, 16, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


ResNet.__module__ = "torchvision.models.resnet"


class Partial(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = block(8, 8, 1)
        self.layer2 = block(8, 16, 2)

    def forward(self, x):
        x = self.layer2(self.layer1(torch.relu(self.bn1(self.conv1(x)))))
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)


def randomise_bn(m):
    # non-trivial running statistics, so tests notice if they change
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.9, 1.1)


dummy = torch.randn(2, 3, 32, 32)
for name, model in [("tiny-resnet-classifier.pt", ResNet()), ("tiny-backbone-partial.pt", Partial())]:
    randomise_bn(model)
    model.eval()
    traced = torch.jit.trace(model, dummy)
    traced.save(os.path.join(out, name))
    print(name, tuple(traced(dummy).shape), sum(p.numel() for p in model.parameters()))

scripted = Partial()
randomise_bn(scripted)
torch.jit.script(scripted.eval()).save(os.path.join(out, "tiny-backbone-scripted.pt"))
print("tiny-backbone-scripted.pt")


class Shortcut(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.main = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.downsample = nn.Conv2d(8, 16, 1, 2, bias=False)
        self.patches = nn.Conv2d(16, 32, 2, 2, bias=True)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.main(x) + self.downsample(x))
        x = self.patches(x)
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 2), 1)


torch.manual_seed(1)
shortcut = Shortcut()
randomise_bn(shortcut)
torch.jit.trace(shortcut.eval(), dummy).save(os.path.join(out, "tiny-backbone-shortcut.pt"))
print("tiny-backbone-shortcut.pt", tuple(shortcut(dummy).shape))
torch.jit.script(shortcut.eval()).save(os.path.join(out, "tiny-backbone-shortcut-scripted.pt"))
print("tiny-backbone-shortcut-scripted.pt")


class OffBlocks(nn.Module):
    """3x3 convolutions with channel counts off oneDNN's 16-channel blocks (24 -> 40 -> 24)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(24, 40, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(40, 24, 3, 2, 1, bias=False)

    def forward(self, x):
        return self.conv2(self.conv1(x))


torch.manual_seed(2)
torch.jit.trace(OffBlocks().eval(), torch.randn(2, 24, 8, 8)).save(os.path.join(out, "tiny-off-block-convs.pt"))
print("tiny-off-block-convs.pt")
