#!/usr/bin/env bash
# Runs the Postman collection with newman against a freshly started local service.
#
# Builds nothing: starts the jar that `./mvnw -B verify` (or `package`) left in target/,
# on a free port, with the zero-install defaults pointed into a temporary directory (H2
# file database, artifact root), offline. Waits for readiness, runs
# docs/postman/finetune-service.postman_collection.json, stops the service and exits
# non-zero when any request or test failed.
#
# newman is pinned by docs/postman/package-lock.json and installed with `npm ci` into
# docs/postman/node_modules on first use (needs the npm registry once; later runs reuse
# it, and `npm ci --prefer-offline` serves from the npm cache when the folder was removed).
#
# Usage: scripts/postman.sh [extra newman options, e.g. --reporters cli,junit]
# Env:   POSTMAN_TIMEOUT  seconds to wait for readiness (default 240)
#        KEEP_WORKDIR=true  keep the temporary directory (database, artifacts, app.log)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/await-service.sh

timeout="${POSTMAN_TIMEOUT:-240}"
jar="$(ls target/finetune-service-*.jar 2>/dev/null | grep -v '\.original$' | head -1 || true)"
[[ -f "$jar" ]] || { echo "no jar in target/: build it first (./mvnw -B verify or ./mvnw -B -DskipTests package)" >&2; exit 1; }
for tool in java npm curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "postman.sh needs '$tool' on the PATH" >&2; exit 1; }
done

newman=docs/postman/node_modules/.bin/newman
if [[ ! -x "$newman" ]]; then
  echo "==> installing newman (pinned in docs/postman/package-lock.json)"
  npm ci --prefix docs/postman --prefer-offline --no-audit --no-fund --loglevel=error
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/finetune-postman.XXXXXX")"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ "${KEEP_WORKDIR:-}" == "true" ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() { echo "POSTMAN FAIL: $*" >&2; tail -n 60 "$work/app.log" >&2 || true; exit 1; }

echo "==> starting $jar (H2 and artifacts under $work)"
started=$SECONDS
# PORT=0: the OS picks a free port; it is read back from the log. The DJL natives are
# extracted once into ./data/djl-cache (as ./mvnw spring-boot:run does), not per run.
PORT=0 \
  DB_URL="jdbc:h2:file:$work/finetune-db;MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH" \
  ARTIFACT_ROOT="$work/artifacts" \
  DJL_OFFLINE=true \
  DJL_CACHE_DIR="${DJL_CACHE_DIR:-$PWD/data/djl-cache}" \
  API_KEYS= \
  java -jar "$PWD/$jar" >"$work/app.log" 2>&1 &
pid=$!

deadline=$((SECONDS + timeout))
await_service "$work/app.log" "$pid" "$deadline"
echo "==> ready on $base after $((SECONDS - started))s; running newman"

newman_started=$SECONDS
status=0
"$newman" run docs/postman/finetune-service.postman_collection.json \
  -e docs/postman/local.postman_environment.json \
  --env-var "baseUrl=$base" \
  --working-dir . \
  --color off \
  --timeout 300000 \
  "$@" || status=$?
echo "==> newman finished in $((SECONDS - newman_started))s with status $status"
((status == 0)) || fail "newman reported failures"
echo "POSTMAN OK"
