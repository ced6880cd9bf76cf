#!/usr/bin/env bash
# Dashboard benchmark: fills a demo organization with N samples (default 10 million) through `soot demo`, then
# times the organization, team, project and run pages (200 requests each, signed in) and prints p50/p99.
# Usage: Benchmarks/dashboards.sh [samples] [requests per page]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="${1:-10000000}"; requests="${2:-200}"
cd "$root"
swift build -c release --product soot >/dev/null
# REUSE=DIR times the pages over a data folder kept by an earlier run (KEEP=1) instead of generating the data again.
work="${REUSE:-$(mktemp -d /tmp/soot-dash-XXXXXX)}"; chmod 755 "$work"
export SOOT_DATA_DIR="$work/data" LOG_LEVEL=warning
port=$((20000 + RANDOM % 20000))
start=$(date +%s)
if [ -z "${REUSE:-}" ]; then
  .build/release/soot demo --samples "$samples" --runs 5000 >/dev/null 2>&1
  echo "demo data: $samples samples in $(( $(date +%s) - start )) s" >&2
fi
password="$(.build/release/soot user reset-password --email demo@soot.local 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')"
.build/release/soot serve --port "$port" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null; [ -n "${KEEP:-}${REUSE:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
jar="$work/cookies"
csrf="$(curl -s -c "$jar" "http://127.0.0.1:$port/login" | grep -o 'name="csrf_token" value="[^"]*"' | sed 's/.*value="//;s/"//')"
curl -s -b "$jar" -c "$jar" -o /dev/null -X POST "http://127.0.0.1:$port/login" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "email=demo@soot.local" --data-urlencode "password=$password"
# A steady state: the bulk load's statistics gathered and dead rows gone (autovacuum would otherwise run during the timing).
psql "host=$SOOT_DATA_DIR/run dbname=soot user=soot" -qc "VACUUM ANALYZE"
run="$(psql "host=$SOOT_DATA_DIR/run dbname=soot user=soot" -Atc "SELECT id FROM runs ORDER BY sample_count DESC LIMIT 1")"
count="$(psql "host=$SOOT_DATA_DIR/run dbname=soot user=soot" -Atc "SELECT count(*) FROM emission_samples")"
echo "| page ($count samples) | p50 ms | p99 ms | status |"
echo "|---|---|---|---|"
for page in "/o/demo-research?range=all" "/o/demo-research?range=30d" "/o/demo-research/vision?range=year" \
            "/o/demo-research/vision/detector-1?range=all" "/run/$run"; do
  curl -s -b "$jar" -o /dev/null "http://127.0.0.1:$port$page"   # warm
  times="$(for _ in $(seq 1 "$requests"); do curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port$page"; done)"
  printf '%s\n' "$times" | python3 -c "
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
statuses = sorted({r[0] for r in rows}); t = sorted(float(r[1]) * 1000 for r in rows)
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(f'| \`$page\` | {p(0.5):.1f} | {p(0.99):.1f} | {\",\".join(statuses)} |')"
done
