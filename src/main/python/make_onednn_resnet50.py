#!/usr/bin/python3
"""Writes resnet50-onednn.pt: ResNet-50 inference on oneDNN's blocked tensors, as a
TorchScript module with no weights of its own. OneDnnResNet50 (Java) loads it next to a
served ResNet50Block, hands it the block's BatchNorm-folded convolutions once (pack) and
then calls forward for each batch.

Run once with Debian's PyTorch (apt-get install -y python3-torch):
    /usr/bin/python3 src/main/python/make_onednn_resnet50.py \
        src/main/resources/com/acme/finetune/training/nn/resnet50-onednn.pt

Why: PyTorch's NCHW convolutions reorder every input into oneDNN's blocked layout and
every output back; mkldnn tensors stay blocked from the first convolution to the pooling.
The code is recompiled by the libtorch that loads it (2.7 in the service), so it only uses
operators that exist in both.

bf16: pack_as(p, True) and features(x, p, plain, True) run the same network in bfloat16 on
CPUs with native bf16 (avx512_bf16, AMX); input and output stay float.

Layout of p (pack's input): for each convolution in torchvision's order (conv1, then per
bottleneck conv1, conv2, conv3 and, in the first bottleneck of a stage, the projection
shortcut) its folded weight and bias.

plain_shortcut: oneDNN's sum primitive for two tensors of the same blocked layout sizes its
blocks from the L1 cache size CPUID reports; where CPUID reports none (some VMs) it divides
by zero and kills the process. Reshaping the shortcut stores it plainly first (one copy),
so the sum runs oneDNN's reference implementation, which has no such blocking.
"""
import sys
from typing import List

import torch


class OneDnnResNet50(torch.nn.Module):

    @torch.jit.export
    def pack(self, p: List[torch.Tensor]) -> List[torch.Tensor]:
        """Weights reordered for oneDNN (each for its padding and stride), biases as mkldnn."""
        return self.pack_as(p, False)

    @torch.jit.export
    def pack_as(self, p: List[torch.Tensor], bf16: bool) -> List[torch.Tensor]:
        """As pack, in bfloat16 when bf16 (the caller never reads these tensors: DJL
        0.36 maps no bfloat16 type, so they only travel back into features)."""
        blocks = [3, 4, 6, 3]
        padding_stride: List[List[int]] = [[3, 2]]
        for s in range(4):
            for b in range(blocks[s]):
                stride = 2 if (s > 0 and b == 0) else 1
                padding_stride.append([0, 1])
                padding_stride.append([1, stride])
                padding_stride.append([0, 1])
                if b == 0:
                    padding_stride.append([0, stride])
        if len(p) != 2 * len(padding_stride):
            raise RuntimeError("expected a weight and a bias for each of ResNet-50's 53 convolutions")
        out: List[torch.Tensor] = []
        for j in range(len(padding_stride)):
            pad = padding_stride[j][0]
            stride = padding_stride[j][1]
            weight = p[2 * j].contiguous()
            bias = p[2 * j + 1].contiguous()
            if bf16:
                weight = weight.to(torch.bfloat16)
                bias = bias.to(torch.bfloat16)
            out.append(torch._C._nn.mkldnn_reorder_conv2d_weight(
                weight.to_mkldnn(), [pad, pad], [stride, stride], [1, 1], 1))
            out.append(bias.to_mkldnn())
        return out

    def forward(self, x: torch.Tensor, p: List[torch.Tensor], plain_shortcut: bool) -> torch.Tensor:
        """N x 2048 pooled features of an NCHW float batch."""
        return self.features(x, p, plain_shortcut, False)

    @torch.jit.export
    def features(self, x: torch.Tensor, p: List[torch.Tensor], plain_shortcut: bool, bf16: bool) -> torch.Tensor:
        """As forward; with bf16 (p from pack_as(..., True)) every convolution, pooling and
        residual sum runs in bfloat16 and the float features come back."""
        if bf16:
            y = x.contiguous().to(torch.bfloat16).to_mkldnn()
        else:
            y = x.contiguous().to_mkldnn()
        y = torch.relu_(torch.mkldnn_convolution(y, p[0], p[1], [3, 3], [2, 2], [1, 1], 1))
        y = torch.max_pool2d(y, [3, 3], [2, 2], [1, 1])
        i = 2
        blocks = [3, 4, 6, 3]
        for s in range(4):
            for b in range(blocks[s]):
                stride = 2 if (s > 0 and b == 0) else 1
                h = torch.relu_(torch.mkldnn_convolution(y, p[i], p[i + 1], [0, 0], [1, 1], [1, 1], 1))
                h = torch.relu_(torch.mkldnn_convolution(h, p[i + 2], p[i + 3], [1, 1], [stride, stride], [1, 1], 1))
                h = torch.mkldnn_convolution(h, p[i + 4], p[i + 5], [0, 0], [1, 1], [1, 1], 1)
                i += 6
                if b == 0:
                    shortcut = torch.mkldnn_convolution(y, p[i], p[i + 1], [0, 0], [stride, stride], [1, 1], 1)
                    i += 2
                else:
                    shortcut = y
                if plain_shortcut:
                    shortcut = shortcut.reshape([shortcut.size(0), -1]).reshape(h.size())
                y = torch.relu_(torch.add(h, shortcut))
        y = torch._C._nn.adaptive_avg_pool2d(y, [1, 1])
        return y.to_dense().float().flatten(1)


def check():
    """The module against torchvision's ResNet-50 (eval, BatchNorm folded by hand)."""
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet50().eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)

    def fold(conv, bn):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        return [(conv.weight * scale.reshape(-1, 1, 1, 1)).detach(), (bn.bias - bn.running_mean * scale).detach()]

    p = fold(net.conv1, net.bn1)
    for layer in [net.layer1, net.layer2, net.layer3, net.layer4]:
        for blk in layer:
            for conv, bn in [(blk.conv1, blk.bn1), (blk.conv2, blk.bn2), (blk.conv3, blk.bn3)]:
                p += fold(conv, bn)
            if blk.downsample is not None:
                p += fold(blk.downsample[0], blk.downsample[1])
    module = torch.jit.script(OneDnnResNet50())
    packed = module.pack(p)
    packed_bf16 = module.pack_as(p, True)
    features = torch.nn.Sequential(*list(net.children())[:-1])
    with torch.no_grad():
        for batch, size in [(1, 32), (3, 64), (2, 224)]:
            x = torch.randn(batch, 3, size, size)
            expected = features(x).flatten(1)
            for plain in [True, False]:
                diff = (module(x, packed, plain) - expected).abs().max().item()
                assert diff < 1e-3 * expected.abs().max().item(), (batch, size, plain, diff)
                # bfloat16 keeps 8 bits of mantissa: about 1 % per value, a few % after 53 layers
                diff = (module.features(x, packed_bf16, plain, True) - expected).abs().max().item()
                assert diff < 0.1 * expected.abs().max().item(), (batch, size, plain, "bf16", diff)
    return module


if __name__ == "__main__":
    check().save(sys.argv[1])
