#!/usr/bin/python3
"""Checks a portable export (GET /models/{id}/export) against the service with PyTorch.

Usage: check_export_parity.py EXPORT_DIR INPUT.f32 EXPECTED.json

Runs the Python in the export's README.md exactly as written, in EXPORT_DIR (the test put
the image it names there), then feeds the model that code built the tensor the service
computed from the same image (INPUT.f32: float32 little-endian, shape in EXPECTED.json)
and compares the logits with the service's. Prints one JSON line:
{"maxAbsDiff", "top1", "expectedTop1", "readmeOutput", "torch"}.

Where the safetensors package is not installed (Debian has no package for it), a reader
written from the format's specification stands in (safetensors_shim/).
"""
import contextlib
import io
import json
import os
import re
import sys

import numpy as np
import torch

try:
    import safetensors.torch  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "safetensors_shim"))

export_dir, tensor_file, expected_file = (os.path.abspath(a) for a in sys.argv[1:4])
expected = json.load(open(expected_file))
os.chdir(export_dir)
readme = open("README.md", encoding="utf-8").read()
code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
namespace = {"__name__": "__readme__"}
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(compile(code, "README.md", "exec"), namespace)
model = namespace["model"]
x = torch.from_numpy(np.fromfile(tensor_file, dtype="<f4").reshape(expected["shape"]))
with torch.no_grad():
    logits = model(x)
reference = torch.tensor(expected["logits"], dtype=torch.float32).reshape(logits.shape)
print(json.dumps({
    "maxAbsDiff": (logits - reference).abs().max().item(),
    "top1": logits.argmax(dim=1).tolist(),
    "expectedTop1": reference.argmax(dim=1).tolist(),
    "readmeOutput": printed.getvalue(),
    "torch": torch.__version__,
}))
