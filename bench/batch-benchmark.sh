#!/usr/bin/env bash
# Batch predictions against the online endpoint: runs the packaged service (embedded H2
# default), trains a 224-px model through the API, then classifies the same kind of image
# (400x300 JPEGs) (1) online, one image per request from 16 concurrent clients for the
# given seconds, and (2) as one batch prediction of an archive of N images (wall clock from
# the POST to SUCCEEDED, and the worker's own images/s).
# Needs: curl, python3 (client and JSON), /usr/bin/python3 with numpy + PIL (images), a
# built jar (./mvnw -B -o package -DskipTests).
# Usage: bench/batch-benchmark.sh [seconds online] [images in the batch]
# Optional: APP_EVALUATIONS_BATCH_SIZE (default 32), BENCH_WORK (keeps the model).
set -euo pipefail
DURATION=${1:-30}
IMAGES=${2:-512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$(ls "$ROOT"/target/finetune-service-*.jar | grep -v plain | head -1)
WORK=${BENCH_WORK:-$(mktemp -d -t batch-bench-XXXX)}
PORT=${BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE=http://localhost:$PORT/api/v1
trap '[ -f "$WORK/service.pid" ] && kill "$(cat "$WORK/service.pid")" 2> /dev/null || true' EXIT
JSON() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# CPU seconds the service has used (user + system): on a shared machine, images per CPU
# second compare the two paths even when the wall clock does not
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$(cat "$WORK/service.pid")/stat"; }

mkdir -p "$WORK"
if [ ! -f "$WORK/batch.zip" ]; then
  /usr/bin/python3 - "$WORK" "$IMAGES" <<'PY'
import os, sys, zipfile, io, numpy as np
from PIL import Image
work, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
def jpeg(colour):
    img = np.clip(np.array(colour) + rng.integers(-40, 41, (300, 400, 3)), 0, 255).astype(np.uint8)
    b = io.BytesIO(); Image.fromarray(img).save(b, "JPEG", quality=90); return b.getvalue()
colours = [(200, 40, 40), (40, 60, 200)]
with zipfile.ZipFile(os.path.join(work, "dataset.zip"), "w") as z:
    for c, colour in enumerate(colours):
        for i in range(6):
            z.writestr(f"class{c}/{i}.jpg", jpeg(colour))
with zipfile.ZipFile(os.path.join(work, "batch.zip"), "w") as z:
    for i in range(n):
        z.writestr(f"folder{i % 7}/img{i}.jpg", jpeg(colours[i % 2]))
open(os.path.join(work, "bench.jpg"), "wb").write(jpeg(colours[0]))
PY
fi

pushd "$WORK" > /dev/null
PORT=$PORT DJL_OFFLINE=true DJL_CACHE_DIR=${DJL_CACHE_DIR:-$HOME/.djl.ai} APP_DJL_NUM_THREADS=2 \
  java -jar "$JAR" > "$WORK/service.log" 2>&1 &
echo $! > "$WORK/service.pid"
popd > /dev/null
for _ in $(seq 1 120); do
  curl -sf "http://localhost:$PORT/actuator/health/readiness" > /dev/null && break
  sleep 1
done

if [ ! -f "$WORK/model.txt" ]; then
  DATASET=$(curl -sf -F file=@"$WORK/dataset.zip" "$BASE/datasets" | JSON "['id']")
  JOB=$(curl -sf -X POST "$BASE/jobs" -H 'Content-Type: application/json' -d "{\"datasetId\":\"$DATASET\",
    \"baseModel\":\"resnet50-scratch\",\"freeze\":{\"upTo\":\"layer4\",\"batchNorm\":\"frozen\"},
    \"hyperparameters\":{\"epochs\":1,\"batchSize\":8,\"imageSize\":224}}" | JSON "['id']")
  until [ "$(curl -sf "$BASE/jobs/$JOB" | JSON "['status']")" = SUCCEEDED ]; do sleep 1; done
  curl -sf "$BASE/jobs/$JOB" | JSON "['modelId']" > "$WORK/model.txt"
fi
MODEL=$(cat "$WORK/model.txt")
echo "work=$WORK model=$MODEL jar=$(basename "$JAR") batchSize=${APP_EVALUATIONS_BATCH_SIZE:-32}"

# online: 16 clients, one image per request, after a 10 s warm-up (the client reads the
# service's CPU seconds over the timed part from /proc)
python3 - "$BASE/models/$MODEL/predictions" "$WORK/bench.jpg" "$DURATION" "$(cat "$WORK/service.pid")" <<'PY'
import os, sys, time, threading, urllib.request, uuid
url, image, duration = sys.argv[1], open(sys.argv[2], "rb").read(), float(sys.argv[3])
def cpu():
    f = open(f"/proc/{sys.argv[4]}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
boundary = uuid.uuid4().hex
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"b.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
def run(seconds, counts, errors):
    end = time.time() + seconds
    while time.time() < end:
        req = urllib.request.Request(url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            urllib.request.urlopen(req, timeout=60).read(); counts.append(1)
        except Exception:
            errors.append(1)
for label, seconds in (("warm-up", 10), ("online", duration)):
    counts, errors = [], []
    threads = [threading.Thread(target=run, args=(seconds, counts, errors)) for _ in range(16)]
    start, cpu0 = time.time(), cpu(); [t.start() for t in threads]; [t.join() for t in threads]
    if label == "online":
        used = cpu() - cpu0
        print(f"online clients=16 images={len(counts)} errors={len(errors)} images_per_s={len(counts) / (time.time() - start):.2f}"
              f" service_cpu_s={used:.1f} images_per_cpu_s={len(counts) / used:.2f} load={os.getloadavg()[0]:.1f}")
PY

# batch: the whole archive as one batch prediction
start=$(date +%s.%N)
cpu0=$(cpu_s)
BATCH=$(curl -sf -F file=@"$WORK/batch.zip" "$BASE/models/$MODEL/batch-predictions" | JSON "['id']")
until [ "$(curl -sf "$BASE/batch-predictions/$BATCH" | JSON "['status']")" != QUEUED ] \
  && [ "$(curl -sf "$BASE/batch-predictions/$BATCH" | JSON "['status']")" != RUNNING ]; do sleep 0.5; done
end=$(date +%s.%N)
cpu1=$(cpu_s)
curl -sf "$BASE/batch-predictions/$BATCH" | python3 -c "
import json, sys
b = json.load(sys.stdin)
p = b['progress']
print(f\"batch status={b['status']} images={p['images']} failed={p['failed']} worker_images_per_s={p['imagesPerSecond']:.2f}\"
      f\" wall_images_per_s={p['images'] / ($end - $start):.2f} wall_s={$end - $start:.1f}\"
      f\" service_cpu_s={$cpu1 - $cpu0:.1f} images_per_cpu_s={p['images'] / ($cpu1 - $cpu0):.2f}\")"
uptime
lines=$(curl -sf "$BASE/batch-predictions/$BATCH/results" | wc -l)
echo "result lines=$lines"
kill "$(cat "$WORK/service.pid")"
