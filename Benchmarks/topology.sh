#!/usr/bin/env bash
# Each hop's cost, in one run on one embedded cluster: ingest (the CodeCarbon POST /emissions, wrk, 64 connections)
# and pages (signed in, one request at a time) through four entries, measured in turn, ROUNDS times:
#   direct     Soot A, its pool straight to PostgreSQL
#   pgbouncer  Soot B, its pool through pgbouncer in transaction mode, its ingest writers straight to PostgreSQL
#   nginx→1    nginx in front of A
#   nginx→2    nginx balancing A and B
# Everything shares the machine's cores (PostgreSQL, pgbouncer, nginx, both Soot and wrk), as on one small host.
# Usage: Benchmarks/topology.sh [seconds per ingest point, default 5] [rounds, default 3] [demo samples, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"; rounds="${2:-3}"; samples="${3:-1000000}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace topology
extra=()
cleanup() { bench_stop_extras; soot_stop; }
trap cleanup EXIT

.build/release/soot demo --samples "$samples" --runs 500 >/dev/null 2>&1
password="topology-bench-password"
.build/release/soot user reset-password --email demo@soot.local --password "$password" >/dev/null 2>&1
soot_serve --database-connections 8 --metrics-listen off
a=$port
soot_ingest_project
direct="host=$SOOT_DATA_DIR/run dbname=soot user=soot"
bench_pgbouncer $((port + 2))
b=$((port + 3))
DATABASE_URL="$pgbouncer_url" SOOT_DATABASE_POOLING=transaction SOOT_INGEST_DATABASE_URL="$direct" \
  .build/release/soot serve --port "$b" --database-connections 8 --metrics-listen off > "$work/b.log" 2>&1 & extra+=($!)
bench_wait_ready "$b" "$work/b.log"
bench_nginx $((port + 4)) "$a"
bench_nginx $((port + 5)) "$a" "$b"
declare -A entry=([direct]=$a [pgbouncer]=$b [nginx→1]=$((port + 4)) [nginx→2]=$((port + 5)))
order=(direct pgbouncer "nginx→1" "nginx→2")

jar="$work/cookies"
soot_login "$jar" demo@soot.local "$password"
psql "$direct" -qc "VACUUM ANALYZE"
run="$(psql "$direct" -Atc "SELECT id FROM runs ORDER BY sample_count DESC LIMIT 1")"
pages=("/o/demo-research?range=all" "/o/demo-research/vision?range=year" "/run/$run")
runs="$work/runs.txt"
bench_make_runs 64 "$a" "$runs"
count() { psql "$direct" -Atc "SELECT sum(sample_count) FROM runs WHERE experiment_id = '$experiment'"; }

results="$work/results.txt"
for round in $(seq 1 "$rounds"); do
  for name in "${order[@]}"; do
    p=${entry[$name]}
    psql "$direct" -qc "CHECKPOINT" >/dev/null
    before="$(count)"
    out="$(TOKEN="$token" RUNS_FILE="$runs" wrk -t2 -c64 -d"${duration}s" --latency -s Benchmarks/lua/emissions.lua "http://127.0.0.1:$p/emissions")"
    after="$(count)"
    non2xx="$(printf '%s\n' "$out" | awk '/Non-2xx/{print $5}')"
    echo "$round|$name|ingest|$(( (after - before) / duration ))|${non2xx:-0}" >> "$results"
    for page in "${pages[@]}"; do
      curl -s -b "$jar" -o /dev/null "http://127.0.0.1:$p$page"   # warm
      for _ in $(seq 1 40); do
        curl -s -b "$jar" -o /dev/null -w "$round|$name|$page|%{time_total}|%{http_code}\n" "http://127.0.0.1:$p$page" >> "$results"
      done
    done
  done
done

python3 - "$results" "${order[@]}" <<'PY'
import statistics, sys
path, order = sys.argv[1], sys.argv[2:]
ingest, pages, bad = {}, {}, []
for line in open(path):
    round_, name, what, value, status = line.rstrip("\n").split("|")
    if what == "ingest":
        ingest.setdefault(name, []).append(int(value))
        if status != "0": bad.append(f"{name} round {round_}: {status} non-2xx posts")
    else:
        pages.setdefault((name, what), []).append(float(value) * 1000)
        if status != "200": bad.append(f"{name} {what}: HTTP {status}")
paths = list(dict.fromkeys(what for _, what in pages))
base = statistics.median(ingest["direct"])
print("| entry | ingest samples/s (median of rounds) | × direct | " + " | ".join(f"`{p[:40]}` p50 ms" for p in paths) + " |")
print("|---|---|---|" + "---|" * len(paths))
for name in order:
    rate = statistics.median(ingest[name])
    cells = [f"{statistics.median(pages[(name, p)]):.1f}" for p in paths]
    print(f"| {name} | {rate:,} ({', '.join(f'{x:,}' for x in ingest[name])}) | {rate / base:.2f} | " + " | ".join(cells) + " |")
for p in paths:
    d = statistics.median(pages[("direct", p)])
    print(f"\n`{p}`: " + ", ".join(f"{name} +{statistics.median(pages[(name, p)]) - d:.2f} ms" for name in order[1:]), end="")
print()
if bad: print("\nnot all answers were successes: " + "; ".join(bad[:10]))
PY
