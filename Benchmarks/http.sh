#!/usr/bin/env bash
# HTTP benchmark: Soot and Hummingbird 2 (and nginx answering a fixed body, as the ceiling, when installed) serve the
# same two routes; wrk runs against each in turn, alternating, at each connection count:
#   GET  /bench/hello       a small text body
#   POST /bench/emissions   a ~650-byte CodeCarbon-shaped JSON sample, decoded and validated, answered 201 + small JSON
# Prints a Markdown table (median of the repeats: req/s, p50, p99, errors, server RSS) and the Soot/peer ratios.
# Usage: Benchmarks/http.sh [seconds per run, default 10] [repeats, default 3] [connections..., default "64 256 1024"]
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
.build/release/soot serve --port "$soot_port" --benchmark-routes > "$work/soot.log" 2>&1 & pids+=($!); soot_pid=$!
Benchmarks/.build/release/HummingbirdPeer "$hb_port" > "$work/hb.log" 2>&1 & pids+=($!); hb_pid=$!
declare -A pid_of=([soot]=$soot_pid [hummingbird]=$hb_pid)
peers="soot hummingbird"
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
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>/dev/null & pids+=($!); pid_of[nginx]=$!
  peers="$peers nginx"
fi
port_of() { case "$1" in soot) echo "$soot_port";; hummingbird) echo "$hb_port";; nginx) echo "$nginx_port";; esac; }
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
order = {"soot": 0, "hummingbird": 1, "nginx": 2}
for (path, c, peer), runs in sorted(groups.items(), key=lambda kv: (kv[0][0] != "/bench/hello", kv[0][1], order[kv[0][2]])):
    median = sorted(runs)[len(runs) // 2]
    label = "GET /bench/hello" if path == "/bench/hello" else "POST /bench/emissions"
    print(f"| {label} | {c} | {peer} | {median[0]:,.0f} | {median[1]:.2f} | {median[2]:.2f} | {sum(r[3] for r in runs)} | {max(r[4] for r in runs)} |")
print()
for (path, c, peer), runs in sorted(groups.items()):
    if peer != "soot": continue
    soot = sorted(runs)[len(runs) // 2][0]
    for other in ("hummingbird", "nginx"):
        if (path, c, other) in groups:
            theirs = sorted(groups[(path, c, other)])[len(groups[(path, c, other)]) // 2][0]
            print(f"- {path} at {c} connections: Soot/{other} = {soot / theirs:.2f}")
PY
