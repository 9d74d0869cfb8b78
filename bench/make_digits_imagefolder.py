#!/usr/bin/python3
"""Writes a real labelled image set: the UCI handwritten digits that Debian's python3-sklearn
ships (sklearn.datasets.load_digits: 1797 scans of digits written by 43 people, 8x8 pixels,
16 grey levels; file /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz).

Each scan is upscaled with bicubic interpolation to SIZE px and saved as a greyscale PNG in
an image folder, train/<digit>/ and val/<digit>/, split by position (every fifth scan of a
class goes to val), so the set is the same on every machine.

    apt-get install -y python3-sklearn python3-pil
    /usr/bin/python3 bench/make_digits_imagefolder.py OUT [--size 64] [--per-class N] [--zip FILE]

--per-class takes the first N scans of each class (N/5 of them validation); --val-per-class
N puts the last N scans of each class in val instead (100: 1,000 held-out images, as the bf16
agreement benchmark wants); --zip also writes the folder as a zip to upload as a dataset.
"""
import argparse
import os
import zipfile

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--size", type=int, default=64)
parser.add_argument("--per-class", type=int, default=0)
parser.add_argument("--val-per-class", type=int, default=0)
parser.add_argument("--zip")
args = parser.parse_args()

digits = load_digits()
totals = {c: int((digits.target == c).sum()) for c in range(10)}
seen = {c: 0 for c in range(10)}
written = []
for image, label in zip(digits.images, digits.target):
    label = int(label)
    if args.per_class and seen[label] >= args.per_class:
        continue
    index = seen[label]
    seen[label] += 1
    if args.val_per_class:
        split = "val" if index >= totals[label] - args.val_per_class else "train"
    else:
        split = "val" if index % 5 == 4 else "train"
    folder = os.path.join(args.out, split, str(label))
    os.makedirs(folder, exist_ok=True)
    # 0..16 ink -> white paper, dark ink, like a scan
    pixels = (255 - np.asarray(image) * 255.0 / 16.0).clip(0, 255).astype(np.uint8)
    big = Image.fromarray(pixels, mode="L").resize((args.size, args.size), Image.BICUBIC)
    path = os.path.join(folder, "digit_%04d.png" % index)
    big.save(path, optimize=True)
    written.append(path)

if args.zip:
    with zipfile.ZipFile(args.zip, "w", zipfile.ZIP_DEFLATED) as z:
        for path in written:
            z.write(path, os.path.relpath(path, args.out))
print(len(written), "images in", args.out)
