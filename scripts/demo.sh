#!/usr/bin/env bash
# The whole service in one run: upload the example dataset, fine-tune a small ResNet-50
# from scratch, watch it train, show its metrics, ask the model for a prediction, and
# print the report page's URL.
#
# Needs only curl and jq, and a running service (./mvnw spring-boot:run, docker compose up,
# or a cluster). Takes one to a few minutes on a laptop CPU.
#
# Usage: scripts/demo.sh [dataset.zip] [image-to-classify]
# Env:   BASE_URL    service root (default http://localhost:8080)
#        API_KEY     sent as X-API-Key when the service has API keys configured
#        EPOCHS      training epochs (default 3); IMAGE_SIZE pixels (default 64)
#        BASE_MODEL  default resnet50-scratch (no download needed); resnet50-imagenet learns
#                    far better where the service can fetch or already has the weights
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_URL="${BASE_URL:-http://localhost:8080}"
BASE_URL="${BASE_URL%/}"
API_KEY="${API_KEY:-}"
EPOCHS="${EPOCHS:-3}"
IMAGE_SIZE="${IMAGE_SIZE:-64}"
BASE_MODEL="${BASE_MODEL:-resnet50-scratch}"
DATASET="${1:-examples/shapes.zip}"
IMAGE="${2:-examples/predict/triangle.png}"

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "demo.sh needs '$tool' on the PATH (e.g. apt-get install $tool, brew install $tool)" >&2
    exit 2
  }
done
[[ -f "$DATASET" ]] || { echo "no dataset archive at $DATASET" >&2; exit 2; }
[[ -f "$IMAGE" ]] || { echo "no image at $IMAGE" >&2; exit 2; }

auth=()
[[ -n "$API_KEY" ]] && auth=(-H "X-API-Key: $API_KEY")
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

bold() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# call METHOD PATH [curl args...]: the body goes to $body, the status to $status; any
# status of 400 or more prints the problem and stops, except those listed in $ALLOW.
call() {
  local method="$1" path="$2"; shift 2
  status="$(curl -sS -o "$body" -w '%{http_code}' -X "$method" ${auth[@]+"${auth[@]}"} "$@" "$BASE_URL$path")" || {
    echo "cannot reach $BASE_URL (is the service running? start it with ./mvnw spring-boot:run)" >&2
    exit 1
  }
  if ((status >= 400)) && [[ " ${ALLOW:-} " != *" $status "* ]]; then
    echo "$method $path → HTTP $status" >&2
    jq . "$body" >&2 2>/dev/null || cat "$body" >&2
    exit 1
  fi
}

bold "Service at $BASE_URL"
call GET /actuator/health/readiness
jq -c '{status}' "$body"

bold "Uploading $DATASET"
call POST /api/v1/datasets -F "file=@$DATASET" -F name=demo-shapes -F validationSplit=0.2
dataset_id="$(jq -r .id "$body")"
jq '{id, classes, imageCount, split, warnings}' "$body"

spec="$(jq -n --arg ds "$dataset_id" --arg base "$BASE_MODEL" --argjson epochs "$EPOCHS" --argjson size "$IMAGE_SIZE" '{
  datasetId: $ds, baseModel: $base,
  freeze: {upTo: (if $base == "resnet50-scratch" then "none" else "layer3" end), batchNorm: (if $base == "resnet50-scratch" then "train" else "frozen" end)},
  hyperparameters: {epochs: $epochs, batchSize: 16, learningRate: 0.001, optimizer: "adam",
                    imageSize: $size, augmentation: "flip", seed: 42}}')"

bold "What the job would do (jobs:validate)"
call POST /api/v1/jobs:validate -H 'Content-Type: application/json' -d "$spec"
jq '{split, parameters: {total: .parameters.total, trainable: .parameters.trainable}, embeddingCache, estimatedEpochSeconds}' "$body"

bold "Submitting the job"
call POST /api/v1/jobs -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$(date +%s)-$$" -d "$spec"
job_id="$(jq -r .id "$body")"
echo "job $job_id is $(jq -r .status "$body")"

bold "Training (Server-Sent Events from /api/v1/jobs/$job_id/events)"
# Each SSE message is "event: <name>" then "data: <json>". The stream ends after "done";
# if a proxy cuts it, the polling loop below still waits for the end.
curl -sS -N --max-time 3600 ${auth[@]+"${auth[@]}"} -H 'Accept: text/event-stream' "$BASE_URL/api/v1/jobs/$job_id/events" 2>/dev/null |
  while IFS= read -r line; do
    line="${line%$'\r'}"
    case "$line" in
      event:*) event="${line#event:}"; event="${event# }" ;;
      data:*)
        data="${line#data:}"
        case "${event:-}" in
          progress) jq -r '"  epoch \(.epoch)/\(.totalEpochs)  step \(.step)/\(.totalSteps)  \(.percent|floor)%" +
                           (if .imagesPerSecond then "  \(.imagesPerSecond|floor) img/s" else "" end)' <<<"$data" 2>/dev/null || true ;;
          epoch) jq -r '"  epoch \(.epoch) done: train loss \(.trainLoss*1000|round/1000), val loss \(.valLoss*1000|round/1000), val acc \(.valAccuracy*1000|round/10)%"' <<<"$data" 2>/dev/null || true ;;
          status) jq -r '"  status \(.status)"' <<<"$data" 2>/dev/null || true ;;
          done) echo "  done"; break ;;
        esac ;;
    esac
  done || true
while :; do
  call GET "/api/v1/jobs/$job_id"
  job_status="$(jq -r .status "$body")"
  case "$job_status" in
    SUCCEEDED | FAILED | CANCELLED) break ;;
  esac
  sleep 2
done
if [[ "$job_status" != SUCCEEDED ]]; then
  echo "the job ended $job_status:" >&2
  jq '.error' "$body" >&2
  exit 1
fi
model_id="$(jq -r .modelId "$body")"
echo "job SUCCEEDED → model $model_id"

bold "Metrics"
call GET "/api/v1/jobs/$job_id/metrics"
jq -r '.epochs[] | "  epoch \(.epoch): train loss \(.trainLoss*1000|round/1000)  val loss \(.valLoss*1000|round/1000)  val acc \(.valAccuracy*1000|round/10)%  \(.durationMs/1000|round) s"' "$body"
jq -r '.final.perClass | to_entries[] | "  \(.key): precision \(.value.precision*100|round)%  recall \(.value.recall*100|round)%  F1 \(.value.f1*100|round)%"' "$body"

bold "Predicting $(basename "$IMAGE")"
call POST "/api/v1/models/$model_id/predictions" -F "image=@$IMAGE" -F topK=3
jq -r '.predictions[] | "  \(.file):", (.top[] | "    \(.label)  \(.probability*1000|round/10)%")' "$body"
jq -r '"  (\(.latencyMs) ms)"' "$body"

bold "Done"
echo "Report (charts, per-class table, confusion matrix): $BASE_URL/api/v1/jobs/$job_id/report"
echo "Model:     $BASE_URL/api/v1/models/$model_id"
echo "Swagger UI: $BASE_URL/swagger-ui.html"
if [[ -n "$API_KEY" ]]; then
  echo "(with API keys on, a browser cannot send the key: save the self-contained page with"
  echo "  curl -H \"X-API-Key: \$API_KEY\" -o report.html $BASE_URL/api/v1/jobs/$job_id/report )"
fi
