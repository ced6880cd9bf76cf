#!/usr/bin/env bash
# Dashboard benchmark: fills a demo organization with N samples (default 10 million) through `soot demo`, then
# times the organization, team, project and run pages (200 requests each, signed in) and prints p50/p99.
# Usage: Benchmarks/dashboards.sh [samples] [requests per page]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="${1:-10000000}"; requests="${2:-200}"
cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
# REUSE=DIR times the pages over a data folder kept by an earlier run (KEEP=1) instead of generating the data again.
soot_workspace dash
start=$(date +%s)
if [ -z "${REUSE:-}" ]; then
  .build/release/soot demo --samples "$samples" --runs 5000 >/dev/null 2>&1
  echo "demo data: $samples samples in $(( $(date +%s) - start )) s" >&2
fi
# A password of our own: a generated one must be changed at the first sign-in.
password="dashboard-bench-password"
.build/release/soot user reset-password --email demo@soot.local --password "$password" >/dev/null 2>&1
trap soot_stop EXIT
soot_serve
jar="$work/cookies"
soot_login "$jar" demo@soot.local "$password"
# A steady state: the bulk load's statistics gathered and dead rows gone (autovacuum would otherwise run during the timing).
soot_psql -qc "VACUUM ANALYZE"
run="$(soot_psql -Atc "SELECT id FROM runs ORDER BY sample_count DESC LIMIT 1")"
count="$(soot_psql -Atc "SELECT count(*) FROM emission_samples")"
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
