#!/usr/bin/env bash
# Import benchmark: a CodeCarbon-shaped emissions.csv of about N MB (default 60) posted to
# POST /api/v1/projects/{id}/import, read as it arrives. Prints the rows per second and the server's resident memory
# before, at its peak (sampled every 20 ms) and after, and its growth as a share of the file: what holding the
# file in memory would have cost at the least.
# Usage: Benchmarks/import.sh [megabytes] [runs in the file, default 2000]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
megabytes="${1:-60}"; runs="${2:-2000}"
cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace import
trap soot_stop EXIT
file="$work/emissions.csv"
python3 - "$file" "$megabytes" "$runs" <<'PY'
import sys
path, megabytes, runs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
header = ("timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,"
          "cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,"
          "os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,"
          "tracking_mode,on_cloud,pue\n")
target = int(megabytes * 1024 * 1024)
with open(path, "w") as out:
    out.write(header)
    written, row = len(header), 0
    while written < target:
        run = row % runs
        step = row // runs + 1
        energy = step * 0.000125
        line = (f"2026-10-{1 + run % 28:02d}T{step // 3600 % 24:02d}:{step // 60 % 60:02d}:{step % 60:02d},Offline,"
                f"run-{run:06d},5b6d0b9e-0000-4000-8000-000000000000,{step * 15}.0,{energy * 0.056:.12f},0.0000037,"
                f"42.5,0.0,11.7,{energy * 0.7:.12f},0.0,{energy * 0.3:.12f},{energy:.12f},France,FRA,Ile-de-France,,,"
                f"Linux-6.1.0-x86_64-with-glibc2.36,3.11.7,3.3.2,32,AMD EPYC 7R13 48-Core Processor,0,,2.35,48.85,251.5,"
                f"machine,N,1.0\n")
        out.write(line)
        written += len(line)
        row += 1
print(row, file=sys.stderr)
PY
rows="$(($(wc -l < "$file") - 1))"
bytes="$(stat -c %s "$file")"
soot_serve
boot="$(.build/release/soot bootstrap --organization Bench --team Import --project Offline --email bench@soot.test)"
field() { printf '%s' "$boot" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
token="$(field personal_token)"; project="$(field project_id)"
rss() { awk '/VmRSS/{print $2}' "/proc/$server/status"; }
before="$(rss)"
peak="$before"
start="$(date +%s.%N)"
curl -s -o "$work/report.json" -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' \
  --data-binary @"$file" "http://127.0.0.1:$port/api/v1/projects/$project/import" > "$work/status" &
client=$!
while kill -0 "$client" 2>/dev/null; do
  now="$(rss)"; [ "$now" -gt "$peak" ] && peak="$now"
  sleep 0.02
done
wait "$client" || true
end="$(date +%s.%N)"
after="$(rss)"
status="$(cat "$work/status")"
imported="$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("samples_imported", r))' "$work/report.json")"
python3 - "$status" "$imported" "$rows" "$bytes" "$start" "$end" "$before" "$peak" "$after" <<'PY'
import sys
status, imported, rows, size, start, end, before, peak, after = sys.argv[1:]
rows, size, before, peak, after = int(rows), int(size), int(before), int(peak), int(after)
seconds = float(end) - float(start)
growth = (peak - before) * 1024
print(f"| file | rows | answer | samples imported | seconds | rows/s | RSS before | RSS peak | RSS after | peak growth | growth / file |")
print(f"|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| {size / 1048576:.1f} MB | {rows:,} | {status} | {imported} | {seconds:.1f} | {rows / seconds:,.0f} | {before / 1024:.1f} MB | "
      f"{peak / 1024:.1f} MB | {after / 1024:.1f} MB | {growth / 1048576:.1f} MB | {growth / size:.2f} |")
PY
