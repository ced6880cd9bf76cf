#!/usr/bin/env bash
# HTTP benchmark: Soot and Hummingbird 2 (and nginx answering a fixed body, as the ceiling, when installed) serve the
# same two routes; wrk runs against each in turn, alternating, at each connection count:
#   GET  /bench/hello       a small text body
#   POST /bench/emissions   a ~650-byte CodeCarbon-shaped JSON sample, decoded and validated, answered 201 + small JSON
# Prints a Markdown table (median of the repeats: req/s, p50, p99, errors, server RSS) and the Soot/peer ratios.
# Usage: Benchmarks/http.sh [seconds per run, default 10] [repeats, default 3] [connections..., default "64 256 1024"]
# BENCH_SOOT_VARIANTS="info:on warning:on warning:off" runs one Soot per log level:metrics pair side by side (wrk
# alternates between them and the peers), to measure what the access log and the metrics observer cost.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/.." && pwd)"
duration="${1:-10}"; repeats="${2:-3}"; shift 2 || shift $# || true
connections="${*:-64 256 1024}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
cd "$root"
swift build -c release --product soot >/dev/null
swift build -c release --package-path Benchmarks --product HummingbirdPeer >/dev/null 2>&1
work="$(mktemp -d /tmp/soot-http-XXXXXX)"; chmod 755 "$work"
export SOOT_DATA_DIR="$work/data" LOG_LEVEL="${BENCH_LOG_LEVEL:-warning}"  # BENCH_LOG_LEVEL=info: with the access log
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_up() { for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$1/bench/hello" >/dev/null && return 0; sleep 0.2; done; echo "port $1 did not answer" >&2; exit 1; }

soot_port=$((20000 + RANDOM % 10000)); hb_port=$((soot_port + 1)); nginx_port=$((soot_port + 2))
declare -A pid_of port_by
peers=""
if [ -z "${BENCH_SOOT_VARIANTS:-}" ]; then
  .build/release/soot serve --port "$soot_port" --benchmark-routes > "$work/soot.log" 2>&1 & pids+=($!)
  pid_of[soot]=$!; port_by[soot]=$soot_port; peers="soot"
else
  next=$((nginx_port + 1))
  for variant in $BENCH_SOOT_VARIANTS; do
    level="${variant%%:*}"; metrics="${variant##*:}"; name="soot-$level-metrics-$metrics"
    listen=off; [ "$metrics" = on ] && listen=127.0.0.1:0
    LOG_LEVEL="$level" SOOT_METRICS_LISTEN="$listen" .build/release/soot serve --port "$next" --benchmark-routes > "$work/$name.log" 2>&1 &
    pids+=($!); pid_of[$name]=$!; port_by[$name]=$next; peers="$peers $name"; next=$((next + 1))
  done
fi
Benchmarks/.build/release/HummingbirdPeer "$hb_port" > "$work/hb.log" 2>&1 & pids+=($!); pid_of[hummingbird]=$!; port_by[hummingbird]=$hb_port
peers="$peers hummingbird"
if command -v nginx >/dev/null; then
  mkdir -p "$work/nginx/logs"
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port reuseport backlog=4096;
    location = /bench/hello { default_type text/plain; return 200 "Hello from the benchmark route.\n"; }
    location = /bench/emissions { default_type application/json; return 201 '{"accepted":true}'; }
  }
}
CONF
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>/dev/null & pids+=($!); pid_of[nginx]=$!; port_by[nginx]=$nginx_port
  peers="$peers nginx"
fi
port_of() { echo "${port_by[$1]}"; }
for peer in $peers; do wait_up "$(port_of "$peer")"; done
rss_mb() { # resident memory of a server and its children (nginx workers), in MB
  local total=0; for p in "$1" $(pgrep -P "$1" || true); do total=$((total + $(awk '/^VmRSS/{print $2}' /proc/$p/status))); done
  echo $((total / 1024)); }

# wrk's figures: req/s, p50 and p99 in ms, errors (socket errors + non-2xx).
measure() { # peer path connections
  local port; port="$(port_of "$1")"
  local script=(); [ "$2" = "/bench/emissions" ] && script=(-s Benchmarks/lua/bench-post.lua)
  wrk -t2 -c"$3" -d"${duration}s" --latency "${script[@]}" "http://127.0.0.1:$port$2" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\b", text, re.M)
    if not m: return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(rps, ms("50"), ms("99"), errors + (int(non2xx.group(1)) if non2xx else 0))'
}

results="$work/results.txt"; : > "$results"
for c in $connections; do
  for path in /bench/hello /bench/emissions; do
    for r in $(seq 1 "$repeats"); do
      for peer in $peers; do
        read -r rps p50 p99 errors <<< "$(measure "$peer" "$path" "$c")"
        echo "$peer $path $c $rps $p50 $p99 $errors $(rss_mb "${pid_of[$peer]}")" >> "$results"
      done
    done
  done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
groups = {}
for peer, path, c, rps, p50, p99, errors, rss in rows:
    groups.setdefault((path, int(c), peer), []).append((float(rps), float(p50), float(p99), int(errors), int(rss)))
print("| route | connections | server | req/s (median) | p50 ms | p99 ms | errors | RSS MB |")
print("|---|---|---|---|---|---|---|---|")
order = {"hummingbird": 1, "nginx": 2}
for (path, c, peer), runs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "/bench/hello", kv[0][1], order.get(kv[0][2], 0), kv[0][2])):
    median = sorted(runs)[len(runs) // 2]
    label = "GET /bench/hello" if path == "/bench/hello" else "POST /bench/emissions"
    print(f"| {label} | {c} | {peer} | {median[0]:,.0f} | {median[1]:.2f} | {median[2]:.2f} | {sum(r[3] for r in runs)} | {max(r[4] for r in runs)} |")
print()
def median(path, c, peer): return sorted(groups[(path, c, peer)])[len(groups[(path, c, peer)]) // 2][0]
soots = sorted({peer for (_, _, peer) in groups if peer.startswith("soot")})
for (path, c, peer), runs in sorted(groups.items()):
    if not peer.startswith("soot"): continue
    name = "Soot" if peer == "soot" else peer
    for other in ("hummingbird", "nginx"):
        if (path, c, other) in groups:
            print(f"- {path} at {c} connections: {name}/{other} = {median(path, c, peer) / median(path, c, other):.2f}")
# Variants against the last one (the quietest, e.g. warning:off): what each costs, in % of its req/s.
if len(soots) > 1:
    base = soots[-1] if "soot-warning-metrics-off" not in soots else "soot-warning-metrics-off"
    for (path, c, peer) in sorted(groups):
        if peer.startswith("soot") and peer != base:
            cost = 1 - median(path, c, peer) / median(path, c, base)
            print(f"- {path} at {c} connections: {peer} costs {cost * 100:.1f} % against {base}")
    for (path, c, peer) in sorted(groups):
        if peer == "soot-info-metrics-on" and (path, c, "soot-warning-metrics-on") in groups:
            cost = 1 - median(path, c, peer) / median(path, c, "soot-warning-metrics-on")
            print(f"- {path} at {c} connections: the access log (info against warning, metrics on in both) costs {cost * 100:.1f} %")
PY
