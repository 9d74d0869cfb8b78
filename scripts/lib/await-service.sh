# Sourced by the scripts that start the service themselves (container smoke, Postman run).
# await_service LOG PID DEADLINE [PORT]: waits until the service logged its HTTP port
# (unless PORT is given and not 0) and answers /actuator/health/readiness; sets `port` and
# `base`. Calls the caller's `fail` when the process exits or SECONDS passes DEADLINE.
await_service() {
  local log="$1" pid="$2" deadline="$3"
  port="${4:-0}"
  if [[ "$port" == 0 ]]; then
    until port="$(grep -oE 'Tomcat started on port [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)" && [[ -n "$port" ]]; do
      kill -0 "$pid" 2>/dev/null || fail "the service exited"
      ((SECONDS < deadline)) || fail "no HTTP port before the deadline"
      sleep 1
    done
  fi
  base="http://127.0.0.1:$port"
  until curl -fsS -o /dev/null "$base/actuator/health/readiness" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "the service exited"
    ((SECONDS < deadline)) || fail "not ready before the deadline"
    sleep 1
  done
}
