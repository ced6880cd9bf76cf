#!/usr/bin/env bash
# The browser test: a real `soot serve` with demo data, walked in headless Chromium (Debian's `chromium` and
# `chromium-driver`, driven by Selenium from PyPI) as a signed-in user from the login page to a run, at 1280 and
# 390 px wide. Every page must fit a 390 px screen and pass axe-core's WCAG 2.2 A/AA rules (Tests/Browser/walk.py).
# Usage: Tests/Browser/run.sh [screenshot folder]   (SOOT_BINARY: the soot to test; with a folder, full-page
# screenshots of each page at both widths are written there: Public/screenshots is the README's)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="${SOOT_BINARY:-$root/.build/debug/soot}"
venv="$root/.build/browser-venv"
axe="$venv/axe/axe_playwright_python/axe.min.js"
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "browser: $tool is missing (apt-get install chromium chromium-driver)" >&2; exit 1; }
done
if [ ! -f "$venv/.ready" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check selenium==4.51.0
  # axe-core itself (a JavaScript file) comes in this pure-Python wheel; only the file is used.
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$venv/axe" axe-playwright-python==0.1.8
  "$venv/bin/python" -c "import glob, zipfile; zipfile.ZipFile(glob.glob('$venv/axe/*.whl')[0]).extractall('$venv/axe')"
  touch "$venv/.ready"
fi
. "$root/Tests/serve.sh"
soot_test_workspace browser
demo="$("$binary" demo --samples 20000 --runs 60 2>/dev/null)"
password="$(printf '%s' "$demo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')"
soot_test_serve browser
shots=""
if [ -n "${1:-}" ]; then mkdir -p "$1"; shots="$(cd "$1" && pwd)"; fi
SHOTS="$shots" AXE_JS="$axe" "$venv/bin/python" "$root/Tests/Browser/walk.py" "http://127.0.0.1:$port" demo@soot.local "$password"
