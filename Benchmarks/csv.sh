#!/usr/bin/env bash
# CSV export benchmark: an organization with N runs (default 1,000,000, written straight into PostgreSQL with
# generate_series: the runs table is what the report reads), then the streamed runs report over REST.
# Prints rows per second, time to first byte, total time, bytes, and the server's RSS before and at its peak.
# Usage: Benchmarks/csv.sh [runs] [repeats, default 3]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-1000000}"; repeats="${2:-3}"
cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace csv
soot=.build/release/soot
boot="$($soot bootstrap --organization "Bench, \"CSV\"" --team Reports --project Export --experiment Default --email bench@soot.test)"
field() { printf '%s' "$boot" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
token="$(field personal_token)"; org="$(field organization_id)"; experiment="$(field experiment_id)"
trap soot_stop EXIT
soot_serve
soot_psql -q <<SQL
INSERT INTO runs (organization_id, team_id, project_id, experiment_id, source, started_at, ended_at, last_seen_at, first_sample_at,
                  last_sample_at, os, python_version, codecarbon_version, cpu_count, cpu_model, gpu_count, gpu_model, country_name,
                  country_iso_code, ram_total_size, sample_count, duration_seconds, emissions_kg, energy_kwh, cpu_energy_kwh,
                  gpu_energy_kwh, ram_energy_kwh)
SELECT e.organization_id, e.team_id, e.project_id, e.id, 'api', t, t + interval '1 hour', t + interval '1 hour', t + interval '15 s',
       t + interval '1 hour', 'Linux-6.1-x86_64', '3.11.7', '3.3.2', 32, 'AMD EPYC 7R13, 48-Core', 1 + i % 8, 'NVIDIA A100-SXM4-40GB',
       'France', 'FRA', 256, 240, 3600, 0.0123 * (1 + i % 17), 0.25 * (1 + i % 17), 0.05, 0.18 * (1 + i % 17), 0.02
FROM experiments e, generate_series(1, $runs) i, LATERAL (SELECT now() - interval '300 days' + i * interval '25 s' AS t) s
WHERE e.id = '$experiment';
-- Runs written over months have long been vacuumed when someone exports them; without this the first export
-- after the bulk insert would also set the hint bits of a million new rows (and write those pages out).
VACUUM ANALYZE runs;
SQL
rss() { awk '/^VmRSS/{print $2}' /proc/$server/status; }
hwm() { awk '/^VmHWM/{print $2}' /proc/$server/status; }
url="http://127.0.0.1:$port/api/v1/reports/runs.csv?organization=$org&range=all"
echo "| export | rows | bytes | first byte ms | total s | rows/s | server RSS before → peak (MB) |"
echo "|---|---|---|---|---|---|---|"
for i in $(seq 1 "$repeats"); do
  before="$(rss)"
  # The export is counted as it streams, not written to this machine's disk: the client's file is not the server's
  # work, and 451 MB of page cache written back during the next export would slow the machine both share.
  out="$( { curl -s -H "Authorization: Bearer $token" -w '%{stderr}%{http_code} %{time_starttransfer} %{time_total} %{size_download}' "$url" \
            | wc -l > "$work/lines"; } 2>&1 )"
  peak="$(hwm)"
  rows=$(( $(cat "$work/lines") - 1 ))
  read -r status ttfb total size <<< "$out"
  python3 -c "print(f'| runs.csv, all time (HTTP $status) | $rows | $size | {$ttfb*1000:.0f} | {$total:.2f} | {$rows/$total:,.0f} | {$before/1024:.0f} → {$peak/1024:.0f} |')"
done
