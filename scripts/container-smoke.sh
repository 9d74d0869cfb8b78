#!/usr/bin/env bash
# Container smoke test without a container engine.
#
# Does what the Dockerfile's CPU image does, on this machine: builds the jar, extracts it
# with the same layertools command, assembles the layers in the order the Dockerfile
# copies them, and starts the application with the Dockerfile's own ENTRYPOINT and ENV
# lines (read from the Dockerfile, /app and /data mapped to a temporary directory).
# Then it checks readiness, that the PyTorch natives load from the exploded layout, the
# metrics and docs endpoints, API-key enforcement and opt-in JSON logs.
#
# It does not check the base images, the non-root user or the HEALTHCHECK's curl (those
# need a container engine; CI with Docker can run `docker build` in addition).
#
# Usage: scripts/container-smoke.sh [--no-build]   (about 30 s plus the build; run by .ci/run after verify)
# Env:   SMOKE_PORT (default 0: a free port, read from the log), SMOKE_TIMEOUT seconds (default 240),
#        MAVEN_OFFLINE=1 to build with -o.
#        The image runs the prod profile, which needs PostgreSQL: SMOKE_DB_URL (default the test
#        server, jdbc:postgresql://127.0.0.1:5432/test, in a schema of its own that is dropped
#        afterwards), SMOKE_DB_USER (postgres), SMOKE_DB_PASSWORD (empty).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/await-service.sh

port="${SMOKE_PORT:-0}"
timeout="${SMOKE_TIMEOUT:-240}"
work="$(mktemp -d "${TMPDIR:-/tmp}/container-smoke.XXXXXX")"
schema="smoke_$$_$RANDOM"
db_url="${SMOKE_DB_URL:-jdbc:postgresql://127.0.0.1:5432/test?currentSchema=$schema}"
db_user="${SMOKE_DB_USER:-postgres}"
db_password="${SMOKE_DB_PASSWORD:-}"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [[ -z "${SMOKE_DB_URL:-}" ]] && command -v psql >/dev/null 2>&1; then
    psql -q -h 127.0.0.1 -U postgres -d test -c "drop schema if exists $schema cascade" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "SMOKE FAIL: $*" >&2; [[ -f "$work/app.log" ]] && tail -n 60 "$work/app.log" >&2; exit 1; }

if [[ "${1:-}" != "--no-build" ]]; then
  echo "==> building the jar"
  ./mvnw -B -q ${MAVEN_OFFLINE:+-o} -DskipTests package
fi
jar="$(ls target/finetune-service-*.jar | grep -v '\.original$' | head -1)"
[[ -f "$jar" ]] || fail "no jar in target/"

# The CPU runtime stage: from "FROM ... AS runtime" to the end of the file (it is last).
stage="$(awk '/^FROM .* AS runtime$/{on=1} on' Dockerfile)"
[[ -n "$stage" ]] || fail "no 'AS runtime' stage in the Dockerfile"

echo "==> extracting layers as the Dockerfile does"
java -Djarmode=tools -jar "$jar" extract --layers --launcher --destination "$work/layers" >/dev/null
mkdir -p "$work/app" "$work/data/artifacts" "$work/data/djl-cache"
layers="$(java -Djarmode=tools -jar "$jar" list-layers)"
copied="$(grep -E '^COPY --from=extract /extract/layers/' <<<"$stage" | sed -E 's|.*/extract/layers/([^/]+)/.*|\1|')"
[[ "$(tr '\n' ' ' <<<"$layers")" == "$(tr '\n' ' ' <<<"$copied")" ]] \
  || fail "Dockerfile copies layers [$(tr '\n' ' ' <<<"$copied")] but the jar has [$(tr '\n' ' ' <<<"$layers")]"
for layer in $copied; do
  cp -a "$work/layers/$layer/." "$work/app/"
done
ls "$work/app/BOOT-INF/lib/" | grep -q '^pytorch-native-cpu-.*-linux-x86_64\.jar$' \
  || fail "the PyTorch CPU natives are not in the image's dependencies"
ln -s "$work/data" "$work/app/data"
while read -r src dst; do
  cp "$src" "$work/app/${dst#/app/}"
done < <(grep -E '^COPY docker/' <<<"$stage" | sed -E 's/^COPY //')

# The GPU image's build-time prefetch program must still compile against these jars.
if command -v javac >/dev/null 2>&1; then
  javac -cp "$work/app/BOOT-INF/lib/*" -d "$work/prefetch" docker/Prefetch.java || fail "docker/Prefetch.java does not compile"
  echo "ok   docker/Prefetch.java compiles against the image's jars"
fi

# ENV lines of the stage, /data mapped to the temporary volume.
declare -a envs=()
while IFS= read -r line; do
  envs+=("$(sed -E "s|^ENV ||; s|=/data|=$work/data|" <<<"$line")")
done < <(grep -E '^ENV [A-Z_]+=' <<<"$stage")
envs+=("PORT=$port" "LOG_FORMAT=ecs" "API_KEYS=smoke-key-1,reader:smoke-read-2:read")
printf '%s\n' "${envs[@]}" | grep -qx 'SPRING_PROFILES_ACTIVE=prod' || fail "the image does not run the prod profile"

entry="$(grep -E '^ENTRYPOINT ' <<<"$stage" | tail -1 | sed -E 's/^ENTRYPOINT \[//; s/\]$//; s/"//g; s/, */ /g')"
[[ -n "$entry" ]] || fail "no ENTRYPOINT in the runtime stage"
read -r -a command <<<"${entry//\/app\//$work/app/}"

# Without DB_URL the prod profile must refuse to start (no silent embedded H2 per container).
echo "==> starting without DB_URL: must refuse"
set +e
(cd "$work/app" && exec timeout 120 env "${envs[@]}" "${command[@]}") >"$work/nodb.log" 2>&1
nodb=$?
set -e
[[ $nodb -ne 0 && $nodb -ne 124 ]] || fail "started (or hung) without DB_URL under the prod profile (exit $nodb)"
grep -q "The 'prod' profile is active" "$work/nodb.log" || { tail -n 30 "$work/nodb.log" >&2; fail "no clear message without DB_URL"; }
[[ ! -e "$work/data/finetune-db.mv.db" ]] || fail "an H2 database was created under the prod profile"
echo "ok   refuses to start without DB_URL (exit $nodb) and says why"
envs+=("DB_URL=$db_url" "DB_USER=$db_user" "DB_PASSWORD=$db_password")
# Flyway creates the smoke schema (the first of its schemas) before migrating into it
[[ -n "${SMOKE_DB_URL:-}" ]] || envs+=("SPRING_FLYWAY_SCHEMAS=$schema")
echo "==> starting: ${command[*]} (env names: $(printf '%s ' "${envs[@]%%=*}"))"
started=$SECONDS
(cd "$work/app" && exec env "${envs[@]}" "${command[@]}") >"$work/app.log" 2>&1 &
pid=$!

deadline=$((SECONDS + timeout))
await_service "$work/app.log" "$pid" "$deadline" "$port"
echo "==> ready $((SECONDS - started))s after start; waiting for the DJL engine to load from the exploded layout"
# health details (the engine's state) only for callers with a key
until curl -fsS -H 'X-API-Key: smoke-read-2' "$base/actuator/health" | grep -q '"state":"loaded"'; do
  curl -fsS -H 'X-API-Key: smoke-read-2' "$base/actuator/health" | grep -q '"state":"failed"' && fail "DJL engine failed to start"
  ((SECONDS < deadline)) || fail "DJL engine not loaded within ${timeout}s"
  sleep 2
done

check() { # name, expected status, curl args...
  local name="$1" want="$2"; shift 2
  local got
  got="$(curl -s -o "$work/body" -w '%{http_code}' "$@")"
  [[ "$got" == "$want" ]] || fail "$name: HTTP $got, expected $want: $(head -c 300 "$work/body")"
  echo "ok   $name ($got)"
}
check "health without key" 200 "$base/actuator/health"
grep -q '"components"' "$work/body" && fail "health shows details without a key"
check "liveness" 200 "$base/actuator/health/liveness"
check "readiness" 200 "$base/actuator/health/readiness"
check "info" 200 "$base/actuator/info"
check "prometheus" 200 "$base/actuator/prometheus"
grep -q '^jvm_memory_used_bytes' "$work/body" || fail "no jvm_ metrics in /actuator/prometheus"
check "openapi" 200 "$base/v3/api-docs"
grep -q '"title":"Transfer-learning service API"' "$work/body" || fail "OpenAPI title missing"
check "api without key" 401 "$base/api/v1/datasets"
grep -q 'problems/unauthorized' "$work/body" || fail "401 is not the unauthorized problem"
check "api with wrong key" 403 -H 'X-API-Key: nope' "$base/api/v1/datasets"
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: smoke-key-1' "$base/api/v1/datasets")"
[[ "$code" != 401 && "$code" != 403 ]] || fail "the right key was refused ($code)"
echo "ok   api with key ($code)"
check "read-only key deleting" 403 -X DELETE -H 'X-API-Key: smoke-read-2' "$base/api/v1/datasets/00000000-0000-0000-0000-000000000000"
grep -q "lacks the scope 'admin'" "$work/body" || fail "403 does not name the missing scope"
grep -q '"@timestamp"' "$work/app.log" || fail "LOG_FORMAT=ecs did not give JSON logs"
echo "ok   structured logs"
grep -q 'smoke-key-1\|smoke-read-2' "$work/app.log" && fail "an API key appeared in the log"
echo "ok   no key in the log"
[[ -e "$work/data/djl-cache/pytorch" ]] || fail "DJL did not use DJL_CACHE_DIR on the volume"
echo "ok   natives extracted under the volume's djl-cache"
echo "==> graceful stop"
kill -TERM "$pid"
for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
kill -0 "$pid" 2>/dev/null && fail "did not stop within 30s of SIGTERM"
wait "$pid" || true
pid=""
echo "SMOKE OK"
