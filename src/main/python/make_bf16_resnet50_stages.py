#!/usr/bin/python3
"""Writes resnet50-bf16-stages.pt: one ResNet-50 stage (stem, layer1..layer4) in bf16 mixed
precision, as a TorchScript module with no weights of its own. Bf16Stages (Java) calls
forward(x, p, flags) with a ResNet50Block stage's parameters, so DJL keeps owning the fp32 weights,
the optimizer and the running statistics, and only ever sees float tensors: DJL 0.36 has
no bf16 data type.

Run once with Debian's PyTorch (apt-get install -y python3-torch):
    /usr/bin/python3 src/main/python/make_bf16_resnet50_stages.py \
        src/main/resources/com/acme/finetune/training/nn/resnet50-bf16-stages.pt

Mixed precision as torch.autocast means it on CPUs: convolutions run in bf16 on bf16
copies of the fp32 weights (autograd casts their gradients back to fp32); activations stay
bf16 between operators; BatchNorm takes bf16 input with fp32 affine parameters and running
statistics, and computes its statistics in fp32; the stage's output is float. ReLU and the residual sum work in place,
as torchvision's do.

Layout of p, in the stage's order: the stem's conv weight then its BatchNorm's gamma,
beta, running mean and running variance; for each bottleneck conv1, bn1, conv2, bn2,
conv3, bn3 and, in the first bottleneck of a stage, the projection shortcut's conv and bn
(each conv one tensor, each bn four).
"""
import sys
from typing import List

import torch


class Bf16ResNet50Stages(torch.nn.Module):

    def forward(self, x: torch.Tensor, p: List[torch.Tensor], flags: torch.Tensor) -> torch.Tensor:
        """flags: the stage's index, batch statistics (0/1), BatchNorm momentum, layout (0 NCHW,
        1 channels-last, 2 channels-last with the 1x1 convolutions as matrix products), as one
        float tensor: DJL runs a module with autograd on only through its tensor-only forward."""
        return self.stage(x, int(flags[0].item()), p, bool(flags[1].item() > 0.5), float(flags[2].item()),
                          int(flags[3].item() + 0.5))

    @torch.jit.export
    def stage(self, x: torch.Tensor, index: int, p: List[torch.Tensor], batch_statistics: bool,
              momentum: float, layout: int) -> torch.Tensor:
        h = x.to(torch.bfloat16)
        if layout > 0:
            h = h.contiguous(memory_format=torch.channels_last)
        if index == 0:
            h = self.conv_bn(h, p, 0, 2, 3, batch_statistics, momentum, layout).relu_()
            h = torch.max_pool2d(h, [3, 3], [2, 2], [1, 1])
        else:
            blocks = [3, 4, 6, 3][index - 1]
            first_stride = 1 if index == 1 else 2
            k = 0
            for b in range(blocks):
                stride = first_stride if b == 0 else 1
                out = self.conv_bn(h, p, k, 1, 0, batch_statistics, momentum, layout).relu_()
                out = self.conv_bn(out, p, k + 5, stride, 1, batch_statistics, momentum, layout).relu_()
                out = self.conv_bn(out, p, k + 10, 1, 0, batch_statistics, momentum, layout)
                k += 15
                if b == 0:
                    h = self.conv_bn(h, p, k, stride, 0, batch_statistics, momentum, layout)
                    k += 5
                h = out.add_(h).relu_()
        return h.float()

    def conv_bn(self, x: torch.Tensor, p: List[torch.Tensor], k: int, stride: int, padding: int,
                batch_statistics: bool, momentum: float, layout: int) -> torch.Tensor:
        w = p[k].to(torch.bfloat16)
        pointwise = w.size(2) == 1 and w.size(3) == 1
        if pointwise and stride > 1 and layout != 1:
            # a strided 1x1 convolution is one on every stride-th pixel: oneDNN 3.7's kernel
            # for its input gradient (brgemm, strided) divides by zero on CPUs that report no
            # cache sizes; a slice's gradient is one cheap scatter (PointwiseConv2d does the same)
            x = x[:, :, ::stride, ::stride]
            if layout == 2:
                x = x.contiguous(memory_format=torch.channels_last)
            stride = 1
        if pointwise and layout == 2:
            # channels-last, a 1x1 convolution is a matrix product over the pixels: the same
            # numbers without oneDNN's channels-last 1x1 kernels (brgemm), which divide by zero
            # where the CPU reports no cache sizes; the 3x3 and 7x7 ones are sound there
            y = torch.nn.functional.linear(x.permute(0, 2, 3, 1), w.flatten(1)).permute(0, 3, 1, 2)
        else:
            y = torch.conv2d(x, w, None, [stride, stride], [padding, padding])
        return torch.batch_norm(y, p[k + 1], p[k + 2], p[k + 3], p[k + 4], batch_statistics, momentum, 1e-5,
                                False)

if __name__ == "__main__":
    torch.jit.script(Bf16ResNet50Stages()).save(sys.argv[1])
