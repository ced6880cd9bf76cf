#!/usr/bin/env bash
# Soot's user-space instructions per durable CodeCarbon POST /emissions, counted by valgrind's callgrind: repeatable
# where CPU time on this shared machine is not. Soot runs under callgrind with instrumentation off until the load
# starts (so startup, bootstrap and the runs' creation are not counted), then wrk posts for the given seconds.
# Prints requests, instructions per request and the profile file (read it with callgrind_annotate). Under valgrind
# Soot is ~50x slower, so batches are small and per-batch costs weigh more than at full speed.
#
# Usage: [RUNS=64] Benchmarks/profile-ingest.sh [seconds, default 10] [connections, default 32]
# (RUNS: how many runs the posts are spread over; RUNS=256 with 256 connections gives batches closer to full speed.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-10}"; connections="${2:-32}"
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace profile
soot=.build/release/soot
soot_ingest_project
export TOKEN="$token"
export RUNS_FILE="$work/runs.txt"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  $soot serve --port "$port" --database-connections 8 > "$work/serve.log" 2>&1 &
server=$!
trap soot_stop EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
for _ in $(seq 1 "${RUNS:-64}"); do
  curl -sf -X POST "http://127.0.0.1:$port/runs" -H "x-api-token: $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S+00:00)\",\"experiment_id\":\"$experiment\",\"os\":\"Linux\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >> "$RUNS_FILE"
done
# Warm up (token and run caches, prepared statements), then count.
wrk -t1 -c"$connections" -d3s -s Benchmarks/lua/emissions.lua "http://127.0.0.1:$port/emissions" >/dev/null
callgrind_control -i on "$server" >/dev/null
out="$(wrk -t1 -c"$connections" -d"${duration}s" -s Benchmarks/lua/emissions.lua "http://127.0.0.1:$port/emissions")"
callgrind_control -i off "$server" >/dev/null
kill -INT "$server"; wait "$server" 2>/dev/null || true
requests="$(printf '%s\n' "$out" | awk '/requests in/{print $1}')"
total="$(callgrind_annotate "$work/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')"
kept=/tmp/soot-callgrind.out; cp "$work/callgrind.out" "$kept"
echo "requests: $requests; Soot user-space instructions per request: $((total / requests)); profile: $kept"
