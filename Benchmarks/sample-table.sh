#!/usr/bin/env bash
# What the samples table's shape costs PostgreSQL: pgbench inserting 100-row batches (the ingest statement's size)
# into four shapes side by side, in turns, on one embedded cluster with Soot's settings:
#   plain-pk-id        one table, primary key (id)                     (Soot before migration 0011)
#   part-pk-org-id-ts  partitioned by month, primary key (organization_id, id, "timestamp")   (Soot since 0011)
#   part-pk-id-ts      partitioned by month, primary key (id, "timestamp")
#   part-no-pk         partitioned by month, no primary key
# each with the run index (run_id, "timestamp"). Usage: Benchmarks/sample-table.sh [seconds per point, default 10] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"; rounds="${2:-3}"
bin=/usr/lib/postgresql/15/bin; [ -x "$bin/pgbench" ] || bin="$(dirname "$(command -v pgbench)")"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace sample-table
trap soot_stop EXIT
soot_serve --metrics-listen off
url="host=$SOOT_DATA_DIR/run dbname=soot user=soot"
month="date_trunc('month', now())"
psql "$url" -q <<SQL
CREATE TABLE "plain-pk-id" (LIKE emission_samples INCLUDING DEFAULTS);
ALTER TABLE "plain-pk-id" ADD PRIMARY KEY (id);
CREATE TABLE "part-pk-org-id-ts" (LIKE emission_samples INCLUDING DEFAULTS) PARTITION BY RANGE ("timestamp");
ALTER TABLE "part-pk-org-id-ts" ADD PRIMARY KEY (organization_id, id, "timestamp");
CREATE TABLE "part-pk-id-ts" (LIKE emission_samples INCLUDING DEFAULTS) PARTITION BY RANGE ("timestamp");
ALTER TABLE "part-pk-id-ts" ADD PRIMARY KEY (id, "timestamp");
CREATE TABLE "part-no-pk" (LIKE emission_samples INCLUDING DEFAULTS) PARTITION BY RANGE ("timestamp");
SQL
shapes=(plain-pk-id part-pk-org-id-ts part-pk-id-ts part-no-pk)
for shape in "${shapes[@]}"; do
  psql "$url" -qc "CREATE INDEX ON \"$shape\" (run_id, \"timestamp\")"
  if [ "$shape" != plain-pk-id ]; then
    for m in -1 0 1; do
      psql "$url" -qc "CREATE TABLE \"$shape-$m\" PARTITION OF \"$shape\" FOR VALUES FROM ($month + interval '$m month') TO ($month + interval '$((m + 1)) month')"
    done
  fi
  sed "s/bench_samples/\"$shape\"/" Benchmarks/lua/pgbench-multi.sql > "$work/$shape.sql"
done
declare -A rates
for round in $(seq 1 "$rounds"); do
  for shape in "${shapes[@]}"; do
    psql "$url" -qc "VACUUM (ANALYZE) \"$shape\"" -c "CHECKPOINT" >/dev/null; sync
    tps="$("$bin/pgbench" -n -c 16 -j 2 -T "$duration" -f "$work/$shape.sql" "$url" 2>/dev/null | awk '/^tps/{print int($3)}')"
    rates[$shape]="${rates[$shape]:-} $((tps * 100))"
  done
done
echo "| shape | rows/s per round | median | × plain-pk-id |"
echo "|---|---|---|---|"
for shape in "${shapes[@]}"; do
  python3 -c "
import statistics
r = [int(x) for x in '${rates[$shape]}'.split()]; b = [int(x) for x in '${rates[plain-pk-id]}'.split()]
print(f'| $shape | {\", \".join(f\"{x:,}\" for x in r)} | {statistics.median(r):,.0f} | {statistics.median(r) / statistics.median(b):.2f} |')"
done
