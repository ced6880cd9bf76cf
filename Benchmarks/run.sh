#!/usr/bin/env bash
# Runs the benchmarks and writes one Markdown report (to stdout and .build/benchmarks/results.md):
#   http        Soot vs Hummingbird 2 (and nginx, the ceiling) on a small GET and a CodeCarbon-shaped JSON POST
#   idle        10,000 idle keep-alive connections: RSS per connection, and whether others slow down
#   ingest      durable CodeCarbon POST /emissions vs PostgreSQL's own INSERT rate (pgbench) in the same run
#   dashboards  organization/team/project/run pages over 10 million demo samples
#   csv         a one-million-run organization report: rows/s, first byte, server RSS
# Usage: Benchmarks/run.sh [all|http|idle|ingest|dashboards|csv ...]   (QUICK=1 for short runs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/.." && pwd)"
cd "$root"
which="${*:-all}"
[ "$which" = all ] && which="http idle ingest dashboards csv"
out="$root/.build/benchmarks"; mkdir -p "$out"
report="$out/results.md"
{
  echo "# Soot benchmarks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown);" \
       "$(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM," \
       "$(uname -sr); load generator, Soot and PostgreSQL share the machine."
} > "$report"
for bench in $which; do
  case "$bench" in
    http) title="HTTP: Soot vs Hummingbird 2 (and nginx)"; if [ -n "${QUICK:-}" ]; then args=(3 1 64 1024); else args=(10 3 64 256 1024); fi ;;
    idle) title="Idle keep-alive connections"; args=(10000) ;;
    ingest) title="Durable ingest (CodeCarbon POST /emissions) vs PostgreSQL"; if [ -n "${QUICK:-}" ]; then args=(5 256); else args=(10 64 256); fi ;;
    dashboards) title="Dashboards over demo data"; if [ -n "${QUICK:-}" ]; then args=(1000000 50); else args=(10000000 200); fi ;;
    csv) title="CSV export of an organization's runs report"; if [ -n "${QUICK:-}" ]; then args=(200000 1); else args=(1000000 3); fi ;;
    *) echo "unknown benchmark: $bench" >&2; exit 2 ;;
  esac
  echo "running $bench (${args[*]})…" >&2
  { echo; echo "## $title"; echo; echo "\`Benchmarks/$bench.sh ${args[*]}\`"; echo; "$here/$bench.sh" "${args[@]}"; } >> "$report"
done
cat "$report"
