# Shared by Tests/Schemathesis/run.sh and Tests/Browser/run.sh; sourced, not run. Needs $binary and $root.

# soot_test_workspace NAME: a throwaway folder in $work with the embedded cluster's data, removed at exit with the
# server started by soot_test_serve.
soot_test_workspace() {
  work="$(mktemp -d "/tmp/soot-$1-XXXXXX")"; chmod 755 "$work"
  export SOOT_DATA_DIR="$work/data" LOG_LEVEL=warning DATABASE_URL=""
  server=""
  trap 'soot_test_cleanup' EXIT
}

soot_test_cleanup() {
  [ -n "$server" ] && kill -INT "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}

# soot_test_serve NAME: `soot serve` on a free port (in $port, its pid in $server) once it says so; metrics off, so
# that it never contends for the metrics port with another Soot on the machine.
soot_test_serve() {
  "$binary" serve --port 0 --metrics-listen off --public-dir "$root/Public" > "$work/serve.log" 2>&1 &
  server=$!
  port=""
  for _ in $(seq 1 300); do
    port="$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  cat "$work/serve.log"
  echo "$1: soot serve did not start" >&2
  exit 1
}
