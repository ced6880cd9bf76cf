#!/usr/bin/env bash
# The upgrade to month-partitioned samples (migration 0011) on a populated table: how long it takes per million
# samples. Usage: Benchmarks/sample-migration.sh [MILLIONS...]   (default: 1 4)
# For each size: a fresh embedded cluster migrated to 0010, MILLIONS million samples of 2,000 runs spread over the
# last 12 months (one in twenty with a client key, as imports have), a CHECKPOINT, then `soot migrate` timed.
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/common.sh
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1 4)
swift build -c release --product soot >/dev/null

for millions in "${sizes[@]}"; do
  soot_workspace sample-migration
  old="$work/migrations-0010"; mkdir -p "$old"
  for file in Migrations/*.sql; do
    version="$(basename "$file" | cut -d_ -f1)"
    [ "$((10#$version))" -le 10 ] && cp "$file" "$old/"
  done
  SOOT_MIGRATIONS_DIR="$old" soot_serve --metrics-listen off
  soot_psql -qc "
    INSERT INTO emission_samples (id, organization_id, run_id, \"timestamp\", duration_seconds, emissions_kg, emissions_rate,
                                  cpu_power_w, ram_power_w, cpu_energy_kwh, ram_energy_kwh, energy_kwh, cpu_utilization_percent,
                                  water_liters, client_key)
    SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', ('00000000-0000-0000-0001-' || lpad((i % 2000)::text, 12, '0'))::uuid,
           now() - (i::float8 / ($millions * 1e6)) * interval '365 days', 15, random() / 1e4, random() / 1e6, 40 + random(), 8,
           random() / 1e4, random() / 1e5, random() / 1e4, random() * 100, 0, CASE WHEN i % 20 = 0 THEN 'csv:' || i END
    FROM generate_series(1, ($millions * 1000000)::int) i" -c "CHECKPOINT"
  size_before="$(soot_psql -Atc "SELECT pg_size_pretty(pg_total_relation_size('emission_samples'))")"
  started="$(date +%s.%N)"
  .build/release/soot migrate > "$work/migrate.log" 2>&1
  finished="$(date +%s.%N)"
  size_after="$(soot_psql -Atc "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits WHERE inhparent = 'emission_samples'::regclass")"
  partitions="$(soot_psql -Atc "SELECT count(*) FROM pg_inherits WHERE inhparent = 'emission_samples'::regclass")"
  rows="$(soot_psql -Atc "SELECT count(*) FROM emission_samples")"
  python3 - "$millions" "$started" "$finished" "$rows" "$partitions" "$size_before" "$size_after" <<'PY'
import sys
millions, started, finished, rows, partitions, before, after = sys.argv[1:]
seconds = float(finished) - float(started)
print(f"{millions} M samples: migration 0011 took {seconds:.1f} s ({seconds / float(millions):.1f} s per million), "
      f"{rows} rows in {partitions} partitions; table with indexes {before} before, {after} after")
PY
  soot_stop
done
