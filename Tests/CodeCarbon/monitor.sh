#!/usr/bin/env bash
# Runs `codecarbon monitor` against Soot for a few seconds, then stops it the way a service manager would (SIGTERM,
# which the monitor handles by saving and posting its last sample).
# Usage: monitor.sh VENV_BIN ENDPOINT PROJECT_TOKEN EXPERIMENT_ID SECONDS
set -u
bin="$1"; export CODECARBON_API_ENDPOINT="$2" CODECARBON_API_KEY="$3" CODECARBON_EXPERIMENT_ID="$4"
export PYTHONUNBUFFERED=1
workdir="$(mktemp -d)"
cd "$workdir"
"$bin/codecarbon" monitor --measure-power-secs 1 --api-call-interval 2 --log-level error > monitor.log 2>&1 &
pid=$!
# Wait until the monitor is running (imports can take a while), then let it measure.
for _ in $(seq 1 120); do
  grep -q "infinite loop" monitor.log 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
sleep "$5"
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
status=$?
cat monitor.log >&2
rm -rf "$workdir"
exit $(( status == 0 ? 0 : status ))
