# Shared by the benchmark scripts; sourced, not run. Run from the repository's root.

# soot_workspace NAME: a throwaway folder in $work (or the kept one in $REUSE) that the postgres user can traverse,
# SOOT_DATA_DIR inside it, the access log off (BENCH_LOG_LEVEL=info turns it on), and a port in $port.
soot_workspace() {
  work="${REUSE:-$(mktemp -d "/tmp/soot-$1-XXXXXX")}"; chmod 755 "$work"
  export SOOT_DATA_DIR="$work/data" LOG_LEVEL="${BENCH_LOG_LEVEL:-warning}"
  port=$((20000 + RANDOM % 20000))
}

# soot_serve [serve options...]: the release build on $port in the background ($server), once it is ready.
soot_serve() {
  .build/release/soot serve --port "$port" "$@" > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "Soot did not become ready; see $work/serve.log" >&2
  return 1
}

# soot_stop: stops the server and removes the workspace unless KEEP or REUSE is set.
soot_stop() {
  kill -INT "${server:-}" 2>/dev/null || true
  wait "${server:-}" 2>/dev/null || true
  [ -n "${KEEP:-}${REUSE:-}" ] || rm -rf "$work"
}

# soot_login JAR EMAIL PASSWORD: signs in like a browser, keeping the session in cookie jar JAR.
soot_login() {
  local csrf
  csrf="$(curl -s -c "$1" "http://127.0.0.1:$port/login" | grep -o 'name="csrf_token" value="[^"]*"' | sed 's/.*value="//;s/"//')"
  curl -s -b "$1" -c "$1" -o /dev/null -X POST "http://127.0.0.1:$port/login" --data-urlencode "csrf_token=$csrf" \
    --data-urlencode "email=$2" --data-urlencode "password=$3"
}

# soot_psql ARGS...: psql on the embedded cluster of the workspace.
soot_psql() { psql "host=$SOOT_DATA_DIR/run dbname=soot user=soot" "$@"; }

# soot_ingest_project: bootstraps an organization with one project for the ingest benchmarks; sets $token (the
# project's token) and $experiment.
soot_ingest_project() {
  local boot
  boot="$(.build/release/soot bootstrap --organization Bench --team Ingest --project Load --experiment Default --email bench@soot.test)"
  token="$(printf '%s' "$boot" | python3 -c 'import json,sys; print(json.load(sys.stdin)["project_token"])')"
  experiment="$(printf '%s' "$boot" | python3 -c 'import json,sys; print(json.load(sys.stdin)["experiment_id"])')"
}
