#!/usr/bin/env bash
# Ingest benchmark: CodeCarbon POST /emissions with a real project token over many keep-alive connections,
# durable (201 only after COMMIT), next to PostgreSQL's own insert rate on the same machine and table shape,
# measured in the same run. Prints a Markdown table.
#
# Usage: [ROUNDS=3] [BENCH_PGBOUNCER=1|direct-writers] [BENCH_NGINX=1|2] Benchmarks/ingest.sh [seconds per point, default 10] [connections..., default "64 256"]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-10}"; shift || true
connections="${*:-64 256}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/pgbench" ] || bin="$(dirname "$(command -v pgbench)")"

cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace ingest
soot=.build/release/soot

extra=()
cleanup() {
  kill -INT "${server:-}" 2>/dev/null || true; wait "${server:-}" 2>/dev/null || true
  bench_stop_extras
  soot_stop
}
trap cleanup EXIT
# BENCH_PGBOUNCER=1: Soot through pgbouncer in transaction mode (SOOT_DATABASE_POOLING=transaction) in front of the same
# cluster; BENCH_PGBOUNCER=direct-writers: the same, with the group-commit writers straight to PostgreSQL
# (SOOT_INGEST_DATABASE_URL). An idle Soot on the embedded cluster keeps it running meanwhile.
if [ -n "${BENCH_PGBOUNCER:-}" ]; then
  # Started before the bootstrap, so the cluster is never stopped in between.
  .build/release/soot serve --port $((port + 1)) --metrics-listen off > "$work/holder.log" 2>&1 & extra+=($!)
  bench_wait_ready $((port + 1)) "$work/holder.log"
fi
soot_ingest_project
if [ -n "${BENCH_PGBOUNCER:-}" ]; then
  bench_pgbouncer $((port + 2))
  export DATABASE_URL="$pgbouncer_url" SOOT_DATABASE_POOLING=transaction
  [ "$BENCH_PGBOUNCER" = direct-writers ] && export SOOT_INGEST_DATABASE_URL="host=$SOOT_DATA_DIR/run dbname=soot user=soot"
fi
soot_serve --database-connections 8
# BENCH_NGINX=1: the posts go through nginx to this instance; BENCH_NGINX=2: to this one and a second, balanced.
target=$port; sooted="$server"
if [ -n "${BENCH_NGINX:-}" ]; then
  upstreams=("$port")
  if [ "$BENCH_NGINX" = 2 ]; then
    .build/release/soot serve --port $((port + 3)) --database-connections 8 --metrics-listen off > "$work/second.log" 2>&1 & extra+=($!)
    sooted="$server $!"
    bench_wait_ready $((port + 3)) "$work/second.log"
    upstreams+=($((port + 3)))
  fi
  bench_nginx $((port + 4)) "${upstreams[@]}"
  target=$((port + 4))
fi
psql_url="host=$SOOT_DATA_DIR/run dbname=soot user=soot"
# BENCH_BUDGETS=N: N budgets (three per team of N/3 extra teams, and a tight one on the posting project, crossed at
# once), two webhooks to a local receiver answering 204, and budgets checked every second (SOOT_ALERT_INTERVAL=1 on
# the server: set it in the environment too) instead of every 15 s.
if [ -n "${BENCH_BUDGETS:-}" ]; then
  receiver_port=$((port + 6))
  python3 -c "
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0))); self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', $receiver_port), H).serve_forever()" & extra+=($!)
  psql "$psql_url" -q <<SQL
INSERT INTO teams (organization_id, name, slug)
SELECT o.id, 'Budget team ' || g, 'budget-team-' || g FROM organizations o, generate_series(1, ($BENCH_BUDGETS - 1) / 3) g WHERE o.slug = 'bench';
INSERT INTO budgets (organization_id, team_id, period, limit_kg)
SELECT t.organization_id, t.id, p, 1000 FROM teams t, unnest(ARRAY['month', 'quarter', 'year']) p WHERE t.name LIKE 'Budget team %';
INSERT INTO budgets (organization_id, team_id, project_id, period, limit_kg) SELECT organization_id, team_id, id, 'month', 0.000001 FROM projects;
INSERT INTO webhooks (organization_id, url, secret) SELECT id, 'http://127.0.0.1:$receiver_port/hook', 'bench-secret-0123456789' FROM organizations o, generate_series(1, 2) WHERE o.slug = 'bench';
SQL
  echo "budgets: $(psql "$psql_url" -Atc "SELECT count(*) FROM budgets"), webhooks: $(psql "$psql_url" -Atc "SELECT count(*) FROM webhooks")" >&2
fi

# One run per agent, as many agents as connections at most.
runs="$work/runs.txt"
bench_make_runs 256 "$target" "$runs"

count() { psql "$psql_url" -Atc "SELECT count(*) FROM emission_samples"; }
# CPU time (user + system, clock ticks) of the given processes, from /proc.
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# This workspace's PostgreSQL: the postmaster and its children (backends, WAL writer, ...).
pg_pids() { local pm; pm="$(head -1 "$SOOT_DATA_DIR/cluster/postmaster.pid")"; echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"; }
hz="$(getconf CLK_TCK)"
# Soot and pgbench's 100-row INSERT alternate, ROUNDS times (default 3): this machine's speed drifts within a
# minute, so each round's ratio compares Soot with the pgbench run right after it, and the median is reported.
rounds="${ROUNDS:-3}"
# The same shape as Soot's table: partitioned by month (migration 0011), this month's partition, the same indexes.
psql "$psql_url" -qc "DROP TABLE IF EXISTS bench_samples" \
  -c "CREATE TABLE bench_samples (LIKE emission_samples INCLUDING ALL) PARTITION BY RANGE (\"timestamp\")" \
  -c "CREATE TABLE bench_samples_now PARTITION OF bench_samples FOR VALUES FROM (date_trunc('month', now())) TO (date_trunc('month', now()) + interval '1 month')" >/dev/null
# Before each measurement, Soot's or pgbench's: the work the one before left behind is done first, so that neither
# pays for the other's (see the README's Performance notes). Otherwise autovacuum would visit the table the other
# just filled (every page read, hint bits set, 100 MB and more written) during the next measurement; the buffers it
# left dirty in PostgreSQL's shared memory would be written out by this run's writers; and the kernel would write
# back the page cache it left 30 s later, competing with this run's WAL flushes. The checkpoint also makes this run
# start as a long-running server does, just after one (every page's first change logs a full image of it).
settle() { psql "$psql_url" -qc "VACUUM (ANALYZE) emission_samples, bench_samples" -c "CHECKPOINT" >/dev/null; sync; }
pg() { settle; "$bin/pgbench" -n -c 16 -j 2 -T "$duration" -f "$1" "$psql_url" 2>/dev/null | awk '/^tps/{print int($3)}'; }
echo "| round | load | samples or rows committed/s | p50 | p99 | non-201 | socket errors | CPU per sample: PostgreSQL / Soot |"
echo "|---|---|---|---|---|---|---|---|"
declare -A ratios
for round in $(seq 1 "$rounds"); do
  declare -A rate=()
  for c in $connections; do
    settle
    before="$(count)"
    pg_before="$(ticks $(pg_pids))"; soot_before="$(ticks $sooted)"
    out="$(TOKEN="$token" RUNS_FILE="$runs" wrk -t2 -c"$c" -d"${duration}s" --latency -s Benchmarks/lua/emissions.lua "http://127.0.0.1:$target/emissions")"
    pg_after="$(ticks $(pg_pids))"; soot_after="$(ticks $sooted)"
    after="$(count)"
    committed=$(( (after - before) / duration ))
    cpu="$(python3 -c "n=max(1, $after - $before); print(f'{($pg_after - $pg_before) / $hz * 1e6 / n:.0f} / {($soot_after - $soot_before) / $hz * 1e6 / n:.0f} µs')")"
    p50="$(printf '%s\n' "$out" | awk '$1=="50%"{print $2}')"
    p99="$(printf '%s\n' "$out" | awk '$1=="99%"{print $2}')"
    non201="$(printf '%s\n' "$out" | awk '/Non-2xx/{print $5}')"
    socket="$(printf '%s\n' "$out" | awk -F': ' '/Socket errors/{print $2}')"
    rate[$c]=$committed
    echo "| $round | Soot, CodeCarbon POST /emissions, $c connections | $committed | $p50 | $p99 | ${non201:-0} | ${socket:-none} | $cpu |"
  done
  # PostgreSQL's own limit on the same machine and table shape, right after.
  multi=$(( $(pg Benchmarks/lua/pgbench-multi.sql) * 100 ))
  echo "| $round | pgbench, 100-row INSERT per transaction, 16 clients | $multi | | | | | |"
  for c in $connections; do ratios[$c]="${ratios[$c]:-} $(python3 -c "print(f'{${rate[$c]}/$multi:.2f}')")"; done
done
single="$(pg Benchmarks/lua/pgbench-single.sql)"
echo "| | pgbench, 1-row INSERT per transaction, 16 clients | $single | | | | | |"
echo
for c in $connections; do
  python3 -c "
import statistics
r = [float(x) for x in '${ratios[$c]}'.split()]
print(f'Soot at $c connections: median {statistics.median(r):.2f} of the multi-row INSERT rate over {len(r)} rounds ({\", \".join(f\"{x:.2f}\" for x in r)}); last round {${rate[$c]}/$single:.2f}x the one-row-per-transaction rate')"
done
