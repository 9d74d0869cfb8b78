#!/usr/bin/env bash
# Inference load benchmark: runs the packaged service (embedded H2 default), trains a
# 224-px model through the API, then measures predictions with wrk at 1, 4 and 16
# concurrent clients, dynamic batching on (max batch 16, default delay) and off (max batch 1).
# Needs: wrk (apt-get install -y wrk), curl, python3 (JSON parsing), a built jar
# (./mvnw -B -o package -DskipTests). Usage: bench/inference-benchmark.sh [seconds per run]
# Optional: BATCHES="16 1" CLIENTS="1 4 16" RSS_ROUNDS=3 (0 skips the eviction run);
# the environment is passed to the service (e.g. GLIBC_TUNABLES; APP_DJL_BF16=false serves
# fp32 only, else models serve in bf16 where the CPU has it and their probe images agree).
set -euo pipefail
DURATION=${1:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=$(ls "$ROOT"/target/finetune-service-*.jar | grep -v plain | head -1)
WORK=${BENCH_WORK:-$(mktemp -d -t inference-bench-XXXX)}
# a free port of our own: never talk to another instance that happens to listen
PORT=${BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE=http://localhost:$PORT/api/v1
trap '[ -f "$WORK/service.pid" ] && kill "$(cat "$WORK/service.pid")" 2> /dev/null || true' EXIT
JSON() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

start_service() { # $1 = max batch size, $2 = max loaded models; extra env from the caller
  pushd "$WORK" > /dev/null
  APP_INFERENCE_MAX_BATCH_SIZE=$1 APP_INFERENCE_MAX_LOADED_MODELS=$2 PORT=$PORT DJL_OFFLINE=true \
    DJL_CACHE_DIR=${DJL_CACHE_DIR:-$HOME/.djl.ai} APP_DJL_NUM_THREADS=2 \
    java -jar "$JAR" > "$WORK/service-$1-$2.log" 2>&1 &
  echo $! > "$WORK/service.pid"
  popd > /dev/null
  for _ in $(seq 1 120); do
    kill -0 "$(cat "$WORK/service.pid")" 2> /dev/null || { echo "service exited, see $WORK/service-$1.log" >&2; exit 1; }
    curl -sf "http://localhost:$PORT/actuator/health/readiness" > /dev/null && return 0
    sleep 1
  done
  echo "service did not start" >&2; exit 1
}
stop_service() { kill "$(cat "$WORK/service.pid")"; while kill -0 "$(cat "$WORK/service.pid")" 2> /dev/null; do sleep 0.5; done; }
rss_mib() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$(cat "$WORK/service.pid")/status") / 1024 )); }

train_model() { # one quick job at 224 px: the weights do not matter for speed
  local job
  job=$(curl -sf -X POST "$BASE/jobs" -H 'Content-Type: application/json' -d "{\"datasetId\":\"$DATASET\",
    \"baseModel\":\"resnet50-scratch\",\"freeze\":{\"upTo\":\"layer4\",\"batchNorm\":\"frozen\"},
    \"hyperparameters\":{\"epochs\":1,\"batchSize\":8,\"imageSize\":224}}" | JSON "['id']")
  for _ in $(seq 1 600); do
    local status
    status=$(curl -sf "$BASE/jobs/$job" | JSON "['status']")
    [ "$status" = SUCCEEDED ] && { curl -sf "$BASE/jobs/$job" | JSON "['modelId']"; return 0; }
    [ "$status" = FAILED ] && { echo "job failed" >&2; exit 1; }
    sleep 1
  done
}

if [ ! -f "$WORK/models.txt" ]; then
  /usr/bin/python3 - "$WORK/images" <<'PY'
import os, sys, numpy as np
from PIL import Image
rng = np.random.default_rng(0)
for c, colour in enumerate([(200, 40, 40), (40, 60, 200)]):
    d = os.path.join(sys.argv[1], f"class{c}"); os.makedirs(d, exist_ok=True)
    for i in range(6):
        img = np.clip(np.array(colour) + rng.integers(-40, 41, (300, 400, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(d, f"{i}.jpg"), quality=90)
PY
  (cd "$WORK/images" && python3 -m zipfile -c "$WORK/dataset.zip" class0 class1)
  cp "$WORK/images/class0/0.jpg" "$WORK/bench.jpg"
  start_service 16 3
  DATASET=$(curl -sf -F file=@"$WORK/dataset.zip" "$BASE/datasets" | JSON "['id']")
  for _ in 1 2 3; do train_model >> "$WORK/models.txt"; done
  stop_service
fi
MODEL=$(head -1 "$WORK/models.txt")
echo "work=$WORK model=$MODEL jar=$(basename "$JAR")"

for batch in ${BATCHES:-16 1}; do
  start_service "$batch" 3
  # load + warm-up; says what the model serves in (APP_DJL_BF16=false in the environment: fp32)
  echo "maxBatch=$batch precision=$(curl -sf -F image=@"$WORK/bench.jpg" "$BASE/models/$MODEL/predictions" | JSON "['precision']")"
  # warm-up: long enough for the JIT compilers to finish with the request path
  IMAGE="$WORK/bench.jpg" wrk -t2 -c16 -d10s --timeout 30s -s "$ROOT/bench/predict.lua" "$BASE/models/$MODEL/predictions" > /dev/null
  for clients in ${CLIENTS:-1 4 16}; do
    threads=$(( clients < 2 ? 1 : 2 ))
    result=$(IMAGE="$WORK/bench.jpg" wrk -t$threads -c$clients -d${DURATION}s --timeout 30s \
      -s "$ROOT/bench/predict.lua" "$BASE/models/$MODEL/predictions" | grep RESULT)
    echo "maxBatch=$batch clients=$clients $result rss_mib=$(rss_mib)"
  done
  curl -sf "http://localhost:$PORT/actuator/prometheus" | grep -E '^finetune_inference_batch_size_images_(count|sum)' \
    | awk '{v[$1]=$2} END {for (k in v) if (k ~ /count/) c=v[k]; else s=v[k]; printf "maxBatch='"$batch"' mean batch %.1f over %d passes\n", s/c, c}'

  stop_service
done

# RSS while three models are loaded and evicted in turn with a one-model cache
[ "${RSS_ROUNDS:-3}" -gt 0 ] || exit 0
start_service 16 1
for round in $(seq 1 "${RSS_ROUNDS:-3}"); do
  while read -r id; do
    curl -sf -F image=@"$WORK/bench.jpg" "$BASE/models/$id/predictions" > /dev/null
    echo "rss round=$round model=${id:0:8} rss_mib=$(rss_mib)"
  done < "$WORK/models.txt"
done
stop_service
