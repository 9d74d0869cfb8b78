#!/usr/bin/python3
"""Generates the prediction-parity fixtures: what PyTorch/torchvision computes for a fixed
image and a tiny TorchScript backbone + linear head, to compare the service against.

Run once with Debian's PyTorch (apt-get install -y python3-torch python3-torchvision):
    /usr/bin/python3 src/test/python/make_parity_fixtures.py src/test/resources/fixtures/parity

How the two sides compute the same function:
- parity-backbone.pt: a small eval-mode traced feature extractor with torchvision-style
  stage names (conv1/bn1/layer1..layer4), mapping a 3x32x32 image to a 32-d vector. The
  Java test trains a model on it through the training core (BaseModel TORCHSCRIPT, every
  stage frozen, one epoch at learning rate 1e-30), so the artifact holds this exact
  module plus a linear head whose weights are the training core's seeded initialisation:
  java.util.Random(seed ^ 0x5DEECE66D), weight (classes x featureDim, row-major) then
  bias, each value (float) ((nextDouble() * 2 - 1) / sqrt(featureDim)). An update of
  1e-30 * gradient is far below float32 resolution of those weights, so the head is
  still exactly that initialisation. This script replays java.util.Random bit for bit.
- The image goes through torchvision's evaluation transform: Resize(round(32*256/224) =
  37) on the shorter side, CenterCrop(32), ToTensor, Normalize(ImageNet mean/std). The
  strict fixture is 37x50, already at the resize target, so both sides crop and
  normalise identical pixels; a second image (96x80) does need resizing and records how
  close the service's Java2D resize gets to PIL's antialiased bilinear one.
- Expected output: softmax(head(backbone(x))) for every label, in parity-expected.json.
"""
import json, math, os, sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision import transforms

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

IMAGE_SIZE = 32
RESIZE = int(round(IMAGE_SIZE * 256 / 224))
FEATURE_DIM = 32
LABELS = ["c0", "c1", "c2", "c3", "c4"]
SEED = 7  # the training seed the Java test uses


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class ParityBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = block(8, 8, 1)
        self.layer2 = block(8, 16, 2)
        self.layer3 = block(16, 16, 2)
        self.layer4 = block(16, FEATURE_DIM, 2)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        # features of a few units, so the head's logits spread the probabilities
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1) * 4.0


class JavaRandom:
    """java.util.Random, bit for bit."""

    MULT, ADD, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self, seed):
        self.seed = (seed ^ self.MULT) & self.MASK

    def next(self, bits):
        self.seed = (self.seed * self.MULT + self.ADD) & self.MASK
        return self.seed >> (48 - bits)

    def next_double(self):
        return ((self.next(26) << 27) + self.next(27)) * (1.0 / (1 << 53))


def java_head(num_classes, feature_dim, seed):
    # FineTuner.initHead: new Random(seed ^ 0x5DEECE66DL), bound 1/sqrt(featureDim)
    rnd = JavaRandom((seed ^ 0x5DEECE66D) & ((1 << 64) - 1))
    bound = 1.0 / math.sqrt(feature_dim)
    draw = lambda n: np.array([(rnd.next_double() * 2 - 1) * bound for _ in range(n)], dtype=np.float64).astype(np.float32)
    weight = draw(num_classes * feature_dim).reshape(num_classes, feature_dim)
    bias = draw(num_classes)
    return torch.from_numpy(weight), torch.from_numpy(bias)


def test_image(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(1, w - 1))
    g = (y * 255 // max(1, h - 1))
    b = ((x + y) * 7) % 256
    img = np.stack([r, g, b], axis=-1).astype(np.int32) + rng.integers(-40, 41, size=(h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


model = ParityBackbone()
for mod in model.modules():
    if isinstance(mod, nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.2, 0.2)
        mod.running_var.uniform_(0.5, 1.5)
        mod.weight.data.uniform_(0.8, 1.2)
        mod.bias.data.uniform_(-0.1, 0.1)
model.eval()
traced = torch.jit.trace(model, torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE))
traced.save(os.path.join(out, "parity-backbone.pt"))

weight, bias = java_head(len(LABELS), FEATURE_DIM, SEED)
transform = transforms.Compose([transforms.Resize(RESIZE), transforms.CenterCrop(IMAGE_SIZE), transforms.ToTensor(),
                                transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
loaded = torch.jit.load(os.path.join(out, "parity-backbone.pt"))
expected = {"imageSize": IMAGE_SIZE, "resizeShorter": RESIZE, "featureDim": FEATURE_DIM, "seed": SEED,
            "labels": LABELS, "torch": torch.__version__, "images": {}}
for name, (w, h, s) in {"parity-37x50.png": (37, 50, 1), "parity-96x80.png": (96, 80, 2)}.items():
    image = test_image(w, h, s)
    image.save(os.path.join(out, name))
    with torch.no_grad():
        x = transform(Image.open(os.path.join(out, name)).convert("RGB")).unsqueeze(0)
        logits = loaded(x).reshape(1, -1) @ weight.T + bias
        p = torch.softmax(logits, dim=1)[0].double().tolist()
    expected["images"][name] = {"probabilities": dict(zip(LABELS, p))}
    print(name, [round(v, 5) for v in p])
with open(os.path.join(out, "parity-expected.json"), "w") as f:
    json.dump(expected, f, indent=2)
    f.write("\n")
