#!/usr/bin/env bash
# Screenshots of the main pages with headless Chromium (Debian package `chromium`), for looking at the layout.
# Starts Soot on a throwaway data folder with demo data, logs in, and writes PNGs to .build/screenshots/.
# Usage: Tests/Screenshots/take.sh [samples, default 100000]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
command -v chromium >/dev/null || { echo "install chromium first: apt-get install chromium" >&2; exit 1; }
swift build -c release --product soot >/dev/null
. Benchmarks/common.sh
soot_workspace shots
out="$root/.build/screenshots"; mkdir -p "$out"
summary="$(.build/release/soot demo --samples "${1:-100000}" --runs 400 2>/dev/null)"
password="$(printf '%s' "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')"
trap soot_stop EXIT
soot_serve
jar="$work/cookies"
soot_login "$jar" demo@soot.local "$password"
shoot() { # name path
  curl -s -b "$jar" "http://127.0.0.1:$port$2" | sed "s|href=\"/static/|href=\"http://127.0.0.1:$port/static/|" > "$work/$1.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 \
    --screenshot="$out/$1.png" "file://$work/$1.html" >/dev/null 2>&1
  echo "$out/$1.png"
}
shoot home "/"
shoot organization "/o/demo-research?range=year"
shoot team "/o/demo-research/vision?range=90d"
shoot project "/o/demo-research/vision/detector-1?range=all"
run="$(soot_psql -Atc "SELECT id FROM runs ORDER BY sample_count DESC LIMIT 1")"
shoot run "/run/$run"
shoot methodology "/methodology"
curl -s "http://127.0.0.1:$port/login" | sed "s|href=\"/static/|href=\"http://127.0.0.1:$port/static/|" > "$work/login.html"
chromium --headless --no-sandbox --disable-gpu --window-size=1280,900 --screenshot="$out/login.png" "file://$work/login.html" >/dev/null 2>&1
echo "$out/login.png"
