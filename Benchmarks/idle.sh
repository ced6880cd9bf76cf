#!/usr/bin/env bash
# Idle connections: N keep-alive connections (default 10,000) each make one request and then stay open sending
# nothing. Prints Soot's RSS growth per connection, and wrk's figures for 8 busy connections before and while the
# idle ones are held (does holding them slow the others?).
# Usage: Benchmarks/idle.sh [connections, default 10000]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
count="${1:-10000}"
ulimit -n "$(ulimit -Hn)"
cd "$root"
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace idle
holder=""
trap 'kill $holder 2>/dev/null; soot_stop' EXIT
soot_serve
rss() { awk '/^VmRSS/{print $2}' /proc/$server/status; }
busy() { wrk -t1 -c8 -d5s --latency "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/{r=$2} $1=="50%"{p50=$2} $1=="99%"{p99=$2} END{print r, p50, p99}'; }

read -r base_rps base_p50 base_p99 <<< "$(busy)"
before="$(rss)"
python3 - "$port" "$count" > "$work/holder.out" 2>&1 <<'PY' &
import selectors, socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
request = b"GET /healthz HTTP/1.1\r\nHost: idle.test\r\n\r\n"
sockets, answered = [], 0
selector = selectors.DefaultSelector()
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    s.setblocking(False)
    selector.register(s, selectors.EVENT_READ)
    sockets.append(s)
    while True:  # keep the backlog short: read what has arrived
        events = selector.select(timeout=0)
        if not events: break
        for key, _ in events:
            data = key.fileobj.recv(4096)
            if data.endswith(b"}"):
                answered += 1; selector.unregister(key.fileobj)
while answered < count:
    for key, _ in selector.select(timeout=5):
        data = key.fileobj.recv(4096)
        if data.endswith(b"}"):
            answered += 1; selector.unregister(key.fileobj)
print("ready", answered, flush=True)
time.sleep(300)
PY
holder=$!
for _ in $(seq 1 600); do grep -q ready "$work/holder.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/holder.out" || { cat "$work/holder.out" >&2; exit 1; }
sleep 1
after="$(rss)"
open="$(ss -Htn state established "( sport = :$port )" | wc -l)"
read -r idle_rps idle_p50 idle_p99 <<< "$(busy)"
still="$(ss -Htn state established "( sport = :$port )" | wc -l)"
echo "| idle keep-alive connections | Soot RSS before → with them | per connection | 8 busy connections, /healthz: req/s, p50, p99 |"
echo "|---|---|---|---|"
python3 -c "print(f'| $count (open: $open, still open after: $still) | {$before/1024:.1f} → {$after/1024:.1f} MB | {($after-$before)/$count:.2f} KB | before: {$base_rps:,.0f}, $base_p50, $base_p99; with them: {$idle_rps:,.0f}, $idle_p50, $idle_p99 |')"
