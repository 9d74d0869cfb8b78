#!/usr/bin/python3
"""Writes a TorchScript feature extractor that is torchvision's ResNet-50 (full size, fc
replaced by Identity, eval-mode trace), as a user would upload it; used by the export
parity test at run time (too large to keep in the repository).

Usage: make_torchvision_backbone.py OUT.pt [OTHER.pt]
BatchNorm statistics come from random batches (as in a trained network) and the affine
parameters are moved off their defaults. OTHER.pt, when given, gets the same names,
shapes and values with BatchNorm eps 0.1: another function, which must not be exported
as torchvision's.
"""
import sys

import torch
import torchvision

out = sys.argv[1]
other = sys.argv[2] if len(sys.argv) > 2 else None
torch.manual_seed(0)
net = torchvision.models.resnet50()
net.fc = torch.nn.Identity()
norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
for m in norms:
    m.momentum = None  # a cumulative average over the calibration batches
    m.reset_running_stats()
net.train()
with torch.no_grad():
    for _ in range(2):
        net(torch.randn(4, 3, 64, 64))
    for m in norms:
        m.momentum = 0.1
        m.weight.uniform_(0.8, 1.2)
        m.bias.uniform_(-0.2, 0.2)
net.eval()
example = torch.randn(1, 3, 64, 64)
torch.jit.trace(net, example).save(out)
if other:
    for m in norms:
        m.eps = 0.1
    torch.jit.trace(net, example).save(other)
