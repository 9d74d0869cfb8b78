#!/usr/bin/python3
"""Generates image files that ImageIO decodes completely but warns about, for the tests
that such images are accepted (dataset upload, predictions), next to the truncated ones
that must be refused.

Run with Debian's Pillow (apt-get install -y python3-pil python3-numpy):
    /usr/bin/python3 src/test/python/make_image_fixtures.py src/test/resources/fixtures/images

- cmyk-no-profile.jpg: a 48x40 CMYK JPEG without an embedded ICC profile, as print
  workflows write them ("No embedded ICC color profile ... Colors may look incorrect").
- extraneous-bytes.jpg: a 48x40 RGB JPEG with stray bytes before its end marker,
  as some cameras write them ("Corrupt JPEG data: 3 extraneous bytes before marker 0xd9").
- tiny.webp: a 48x40 lossy WebP, which only the WebP plugin on the application's class path
  decodes (ImagePluginsTests).
"""
import io, os, sys
import numpy as np
from PIL import Image

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
pixels = np.clip(np.array((200, 60, 40)) + rng.integers(-30, 31, (40, 48, 3)), 0, 255).astype(np.uint8)
image = Image.fromarray(pixels)
image.convert("CMYK").save(os.path.join(out, "cmyk-no-profile.jpg"), quality=90)
buffer = io.BytesIO()
image.save(buffer, format="JPEG", quality=90)
data = buffer.getvalue()
assert data[-2:] == b"\xff\xd9"
with open(os.path.join(out, "extraneous-bytes.jpg"), "wb") as f:
    f.write(data[:-2] + b"\x00\x01\x02\x03" + data[-2:])
image.save(os.path.join(out, "tiny.webp"), quality=80)
