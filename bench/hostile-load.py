#!/usr/bin/env python3
"""Hostile-and-valid load check: N clients (default 32) for a while (default 60 s) send a mix
of valid requests and crafted hostile ones to a running service, then report status codes per
request kind, any 5xx, the health status seen throughout and the largest JVM heap in use
(from /actuator/prometheus).

Standard library only. Usage (the service must be up; bench/hostile-load.sh starts one):
  bench/hostile-load.py --base http://localhost:8080 --model MODEL_ID --dataset DATASET_ID \
      [--clients 32] [--seconds 60] [--api-key KEY]
Exit status 1 when any response was a 5xx other than a 503 with Retry-After (busy, which
the contract allows under load) or health left UP.
"""
import argparse
import io
import json
import random
import struct
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
import zlib
from collections import Counter, defaultdict


def png(width, height, colour=(120, 80, 40)):
    """A real PNG (tiny images only: the pixels are written uncompressed-ish)."""
    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    return png_chunks(width, height, zlib.compress(raw))


def png_chunks(width, height, idat):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def noisy_png(rng, width=48, height=48):
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(3 * width)) for _ in range(height))
    return png_chunks(width, height, zlib.compress(raw))


def zip_bytes(entries, symlinks=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            info.create_system = 3
            z.writestr(info, target)
    return buf.getvalue()


def valid_dataset(rng):
    entries = []
    for label in ("alpha", "beta"):
        for i in range(3):
            entries.append((f"{label}/{i}.png", noisy_png(rng)))
    return zip_bytes(entries)


def tar_header(name, size, kind=b"0"):
    header = bytearray(512)
    header[0:len(name[:100])] = name[:100]
    header[100:108] = b"0000644\x00"
    header[108:116] = b"0000000\x00"
    header[116:124] = b"0000000\x00"
    header[124:136] = b"%011o\x00" % size
    header[136:148] = b"%011o\x00" % 0
    header[148:156] = b" " * 8
    header[156:157] = kind
    header[257:265] = b"ustar  \x00"
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header)


def tar_long_name_chain(count=20000):
    """Chained GNU long-name headers: what made commons-compress buffer without bound."""
    out = io.BytesIO()
    name = b"a" * 500 + b"\x00"
    block = tar_header(b"././@LongLink", len(name), b"L") + name + b"\x00" * (512 - len(name) % 512)
    for _ in range(count):
        out.write(block)
    out.write(tar_header(b"alpha/x.png", 0))
    out.write(b"\x00" * 1024)
    return gzip_bytes(out.getvalue())


def gzip_bytes(data):
    import gzip
    return gzip.compress(data, 6)


def tar_with_fifo():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as t:
        info = tarfile.TarInfo("alpha/pipe")
        info.type = tarfile.FIFOTYPE
        t.addfile(info)
    return gzip_bytes(out.getvalue())


def zip_bomb():
    return zip_bytes([("alpha/bomb.png", b"\x00" * (200 * 1024 * 1024))])


def tiff_huge_strip():
    # little-endian TIFF, one IFD: 1x1 image whose single strip claims 2^31-1 bytes
    entries = [(256, 4, 1, 1), (257, 4, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, 1, 2**31 - 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, cnt, val) if typ == 4 else struct.pack("<HHIHH", tag, typ, cnt, val, 0)
        for tag, typ, cnt, val in entries) + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def giant_png_header():
    return png_chunks(100000, 100000, zlib.compress(b"\x00" * 64))


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in fields:
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode())
    for name, filename, data in files:
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n".encode())
        body.write(data)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


class Client:
    def __init__(self, base, api_key):
        self.base = base.rstrip("/")
        self.api_key = api_key

    def call(self, method, path, body=None, content_type=None, headers=None, timeout=120):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.api_key:
            request.add_header("X-API-Key", self.api_key)
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
                return response.status, response.headers, payload
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()
        except Exception as e:  # connection reset, timeout: counted, never hidden
            return -1, {}, repr(e).encode()


def build_requests(args, rng):
    """(kind, method, path, body, content type, headers), the bodies made once."""
    api = "/api/v1"
    m = args.model
    photo = noisy_png(rng, 96, 80)
    pred_ok, pred_ok_type = multipart([("topK", "3")], [("image", "photo.png", photo)])
    pred_many, pred_many_type = multipart([], [("image", f"p{i}.png", noisy_png(rng, 200, 150)) for i in range(8)])
    pred_tiff, pred_tiff_type = multipart([], [("image", "x.tiff", tiff_huge_strip())])
    pred_giant, pred_giant_type = multipart([], [("image", "giant.png", giant_png_header())])
    pred_junk, pred_junk_type = multipart([], [("image", "junk.jpg", b"\xff\xd8\xff" + b"\x00" * 1000)])
    ds_ok, ds_ok_type = multipart([("name", "load-valid")], [("file", "valid.zip", valid_dataset(rng))])
    ds_chain, ds_chain_type = multipart([], [("file", "chain.tar.gz", tar_long_name_chain())])
    ds_fifo, ds_fifo_type = multipart([], [("file", "fifo.tar.gz", tar_with_fifo())])
    ds_symlink, ds_symlink_type = multipart([], [("file", "link.zip", zip_bytes(
        [("alpha/a.png", png(8, 8)), ("beta/b.png", png(8, 8))], symlinks=[("alpha/evil.png", "/etc/passwd")]))])
    ds_bomb, ds_bomb_type = multipart([], [("file", "bomb.zip", zip_bomb())])
    ds_ctrl, ds_ctrl_type = multipart([], [("file", "ctrl.zip", zip_bytes(
        [("al\npha/a.png", png(8, 8)), ("beta/b.png", png(8, 8))]))])
    ds_slip, ds_slip_type = multipart([], [("file", "slip.zip", zip_bytes([("../../evil.png", png(8, 8))]))])
    job = lambda spec: json.dumps(spec).encode()
    valid_spec = {"datasetId": args.dataset, "baseModel": "resnet50-scratch",
                  "hyperparameters": {"epochs": 1, "imageSize": 32}}
    return [
        # valid
        ("list-datasets", "GET", f"{api}/datasets?page=0&size=20", None, None, None),
        ("list-jobs", "GET", f"{api}/jobs?sort=createdAt,desc", None, None, None),
        ("get-model", "GET", f"{api}/models/{m}", None, None, None),
        ("predict", "POST", f"{api}/models/{m}/predictions", pred_ok, pred_ok_type, None),
        ("predict", "POST", f"{api}/models/{m}/predictions", pred_ok, pred_ok_type, None),
        ("predict-8", "POST", f"{api}/models/{m}/predictions", pred_many, pred_many_type, None),
        ("validate-job", "POST", f"{api}/jobs:validate", job(valid_spec), "application/json", None),
        ("upload-valid", "POST", f"{api}/datasets", ds_ok, ds_ok_type, None),
        # hostile
        ("huge-page", "GET", f"{api}/jobs?page=2147483647&size=2147483647", None, None, None),
        ("crafted-sort", "GET", f"{api}/models?sort=spec.__class__,desc", None, None, None),
        ("sql-sort", "GET", f"{api}/datasets?sort=name;drop%20table%20jobs", None, None, None),
        ("spec-object-id", "POST", f"{api}/jobs", b'{"datasetId": {}}', "application/json", None),
        ("spec-deep", "POST", f"{api}/jobs", b"[" * 5000 + b"]" * 5000, "application/json", None),
        ("spec-ssrf", "POST", f"{api}/jobs", job(dict(valid_spec, callbackUrl="http://169.254.169.254/latest")),
         "application/json", None),
        ("spec-unknown", "POST", f"{api}/jobs:validate", job(dict(valid_spec, evil=1)), "application/json", None),
        ("multipart-no-boundary", "POST", f"{api}/datasets", b"--x\r\n", "multipart/form-data", None),
        ("multipart-truncated", "POST", f"{api}/models/{m}/predictions", pred_ok[:len(pred_ok) // 2],
         pred_ok_type, None),
        ("predict-tiff", "POST", f"{api}/models/{m}/predictions", pred_tiff, pred_tiff_type, None),
        ("predict-giant-header", "POST", f"{api}/models/{m}/predictions", pred_giant, pred_giant_type, None),
        ("predict-junk", "POST", f"{api}/models/{m}/predictions", pred_junk, pred_junk_type, None),
        ("upload-tar-chain", "POST", f"{api}/datasets", ds_chain, ds_chain_type, None),
        ("upload-tar-fifo", "POST", f"{api}/datasets", ds_fifo, ds_fifo_type, None),
        ("upload-zip-symlink", "POST", f"{api}/datasets", ds_symlink, ds_symlink_type, None),
        ("upload-zip-bomb", "POST", f"{api}/datasets", ds_bomb, ds_bomb_type, None),
        ("upload-control-char", "POST", f"{api}/datasets", ds_ctrl, ds_ctrl_type, None),
        ("upload-zip-slip", "POST", f"{api}/datasets", ds_slip, ds_slip_type, None),
        ("unknown-model", "GET", f"{api}/models/{uuid.uuid4()}", None, None, None),
        ("bad-uuid", "GET", f"{api}/models/not-a-uuid%00", None, None, None),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--api-key")
    args = parser.parse_args()
    client = Client(args.base, args.api_key)
    requests = build_requests(args, random.Random(7))
    statuses = defaultdict(Counter)
    bad = []
    latencies = defaultdict(list)
    lock = threading.Lock()
    deadline = time.time() + args.seconds

    def worker(seed):
        rng = random.Random(seed)
        while time.time() < deadline:
            kind, method, path, body, ctype, headers = rng.choice(requests)
            started = time.time()
            status, response_headers, payload = client.call(method, path, body, ctype, headers)
            with lock:
                statuses[kind][status] += 1
                latencies[kind].append(time.time() - started)
                busy = status == 503 and response_headers.get("Retry-After")
                if status < 0 or (status >= 500 and not busy):
                    bad.append((kind, status, payload[:300].decode("utf-8", "replace")))

    health = Counter()
    heap_max = [0.0]

    def monitor():
        while time.time() < deadline:
            status, _, payload = client.call("GET", "/actuator/health", timeout=10)
            try:
                health[json.loads(payload).get("status", str(status))] += 1
            except ValueError:
                health[f"http {status}"] += 1
            status, _, payload = client.call("GET", "/actuator/prometheus", timeout=10)
            if status == 200:
                used = sum(float(line.rsplit(" ", 1)[1]) for line in payload.decode().splitlines()
                           if line.startswith("jvm_memory_used_bytes") and 'area="heap"' in line)
                heap_max[0] = max(heap_max[0], used)
            time.sleep(1)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=monitor))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    total = sum(sum(c.values()) for c in statuses.values())
    print(f"{args.clients} clients, {args.seconds} s, {total} requests")
    print(f"{'kind':24} {'n':>6} {'p50 ms':>8} {'max ms':>8}  statuses")
    for kind in sorted(statuses):
        lat = sorted(latencies[kind])
        print(f"{kind:24} {len(lat):6d} {1000 * lat[len(lat) // 2]:8.0f} {1000 * lat[-1]:8.0f}  "
              + ", ".join(f"{s}: {n}" for s, n in sorted(statuses[kind].items())))
    print("health:", dict(health))
    print(f"largest heap in use: {heap_max[0] / 2**20:.0f} MiB")
    print(f"5xx (other than busy 503 with Retry-After) or broken connections: {len(bad)}")
    for kind, status, payload in bad[:20]:
        print(f"  {kind}: {status} {payload}")
    ok = not bad and set(health) == {"UP"}
    print("HOSTILE LOAD OK" if ok else "HOSTILE LOAD FAILED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
