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

# bench_pgbouncer PORT: pgbouncer in transaction mode on 127.0.0.1:PORT in front of the workspace's embedded cluster
# (in $work/pgbouncer-PORT; its pid in $extra); sets $pgbouncer_url. Stopped by bench_stop_extras.
bench_pgbouncer() {
  local dir="$work/pgbouncer-$1"
  mkdir -p "$dir"; chmod 777 "$dir"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=$SOOT_DATA_DIR/run user=soot
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $1
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 20
max_client_conn = 2000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  chmod 644 "$dir/pgbouncer.ini"
  if [ "$(id -u)" = 0 ]; then /usr/sbin/runuser -u postgres -- /usr/sbin/pgbouncer "$dir/pgbouncer.ini" & else /usr/sbin/pgbouncer "$dir/pgbouncer.ini" & fi
  extra+=($!); sleep 1
  pgbouncer_url="host=127.0.0.1 port=$1 dbname=soot user=soot"
}

# bench_nginx PORT UPSTREAM_PORT...: nginx on 127.0.0.1:PORT balancing the given local ports (keep-alive to them),
# in $work/nginx-PORT; its pid in $extra. Stopped by bench_stop_extras.
bench_nginx() {
  local listen="$1" dir="$work/nginx-$1" upstreams="" p; shift
  for p in "$@"; do upstreams="$upstreams server 127.0.0.1:$p;"; done
  mkdir -p "$dir/logs"; chmod -R 777 "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
  upstream soot { $upstreams keepalive 64; }
  server {
    listen 127.0.0.1:$listen backlog=4096;
    location / { proxy_pass http://soot; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
  /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' & extra+=($!)
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$listen/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "nginx on $listen did not answer; see $dir/logs/error.log" >&2; return 1
}

# bench_stop_extras: stops what bench_pgbouncer and bench_nginx started, and any other pid in $extra.
bench_stop_extras() {
  local pidfile pid
  # pgbouncer under runuser: signal pgbouncer itself (runuser does not pass signals on).
  for pidfile in "$work"/pgbouncer*/pgbouncer.pid; do [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true; done
  # INT first (Soot drains and stops); then TERM, for what ignores INT as a background job (a Python receiver).
  for pid in "${extra[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${extra[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}

# bench_wait_ready PORT [LOG]: waits up to 30 s for a Soot on PORT to answer /readyz.
bench_wait_ready() {
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.2; done
  echo "Soot on port $1 did not become ready${2:+; see $2}" >&2; [ -z "${2:-}" ] || cat "$2" >&2; return 1
}

# bench_make_runs COUNT PORT FILE: COUNT CodeCarbon runs of $experiment made through POST /runs on PORT with the
# project's $token, their ids appended to FILE (one per line), for wrk's emissions.lua.
bench_make_runs() {
  for _ in $(seq 1 "$1"); do
    curl -sf -X POST "http://127.0.0.1:$2/runs" -H "x-api-token: $token" -H 'Content-Type: application/json' \
      -d "{\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%S+00:00)\",\"experiment_id\":\"$experiment\",\"os\":\"Linux\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' >> "$3"
  done
}
