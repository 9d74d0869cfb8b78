#!/usr/bin/env bash
# Hostile-and-valid load check (issue: trust boundaries): runs the packaged service on the
# embedded H2 default with a bounded heap, uploads a small dataset, trains a 32 px model,
# then lets bench/hostile-load.py send 32 clients of mixed valid and crafted hostile
# requests for a minute. Passes when no response is a 5xx (a busy 503 with Retry-After
# excepted), health stays UP and the service is still alive afterwards.
# Needs: a built jar (./mvnw -B -o package -DskipTests), curl, python3.
# Usage: bench/hostile-load.sh [seconds] [clients]; HEAP=-Xmx1g by default.
set -euo pipefail
SECONDS_RUN=${1:-60}
CLIENTS=${2:-32}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$(ls "$ROOT"/target/finetune-service-*.jar | grep -v plain | head -1)
WORK=${BENCH_WORK:-$(mktemp -d -t hostile-load-XXXX)}
PORT=${BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE=http://localhost:$PORT
trap '[ -f "$WORK/service.pid" ] && kill "$(cat "$WORK/service.pid")" 2> /dev/null || true' EXIT
JSON() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

mkdir -p "$WORK" && cd "$WORK"
PORT=$PORT DJL_OFFLINE=true DJL_CACHE_DIR=${DJL_CACHE_DIR:-$HOME/.djl.ai} \
  java ${HEAP:--Xmx1g} -jar "$JAR" > "$WORK/service.log" 2>&1 &
echo $! > "$WORK/service.pid"
for _ in $(seq 1 180); do
  kill -0 "$(cat service.pid)" 2> /dev/null || { echo "service exited, see $WORK/service.log" >&2; exit 1; }
  curl -sf "$BASE/actuator/health/readiness" > /dev/null && break
  sleep 1
done

python3 - "$WORK/data" <<'PY'
import os, random, struct, sys, zlib
def png(w, h, rng, tint):
    raw = b"".join(b"\x00" + bytes(min(255, max(0, tint[i % 3] + rng.randrange(-60, 61))) for i in range(3 * w)) for _ in range(h))
    def chunk(k, d): return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
rng = random.Random(1)
for label, tint in (("red", (200, 60, 60)), ("blue", (60, 60, 200))):
    os.makedirs(os.path.join(sys.argv[1], label), exist_ok=True)
    for i in range(8):
        open(os.path.join(sys.argv[1], label, f"{i}.png"), "wb").write(png(48, 48, rng, tint))
PY
(cd "$WORK/data" && python3 -m zipfile -c "$WORK/data.zip" red blue)
DATASET=$(curl -sf -F file=@"$WORK/data.zip" -F name=hostile-load "$BASE/api/v1/datasets" | JSON "['id']")
JOB=$(curl -sf -H 'Content-Type: application/json' "$BASE/api/v1/jobs" -d "{\"datasetId\": \"$DATASET\",
  \"baseModel\": \"resnet50-scratch\", \"hyperparameters\": {\"epochs\": 1, \"imageSize\": 32, \"batchSize\": 8}}" | JSON "['id']")
for _ in $(seq 1 600); do
  STATUS=$(curl -sf "$BASE/api/v1/jobs/$JOB" | JSON "['status']")
  [ "$STATUS" = SUCCEEDED ] && break
  [ "$STATUS" = FAILED ] && { echo "training job failed" >&2; exit 1; }
  sleep 1
done
MODEL=$(curl -sf "$BASE/api/v1/jobs/$JOB" | JSON "['modelId']")

set +e
python3 "$ROOT/bench/hostile-load.py" --base "$BASE" --model "$MODEL" --dataset "$DATASET" \
  --clients "$CLIENTS" --seconds "$SECONDS_RUN"
RESULT=$?
set -e
kill -0 "$(cat service.pid)" 2> /dev/null || { echo "the service died; see $WORK/service.log" >&2; exit 1; }
curl -sf "$BASE/actuator/health" | JSON "['status']"
echo "RSS after the run: $(( $(awk '/VmRSS/ {print $2}' "/proc/$(cat service.pid)/status") / 1024 )) MiB"
grep -c ' ERROR ' "$WORK/service.log" | sed 's/^/ERROR lines in the service log: /' || true
exit $RESULT
