#!/usr/bin/env bash
# Runs schemathesis (PyPI) against the two OpenAPI documents a real `soot serve` publishes: Soot's own API
# (/api/v1/openapi.json) and the CodeCarbon-compatible one (/openapi.json, routes at / and /api). Each document is
# fuzzed with a project token and then with a personal token, with a fixed seed, and must hold on every route:
# no server error, only documented status codes, and responses (type and body) as documented.
# Usage: Tests/Schemathesis/run.sh [examples per operation, default 15]   (SOOT_BINARY: the soot to test)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
examples="${1:-15}"
binary="${SOOT_BINARY:-$root/.build/debug/soot}"
venv="$root/.build/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
fi
. "$root/Tests/serve.sh"
soot_test_workspace schemathesis
boot="$("$binary" bootstrap --organization "Fuzz Org" --team "Fuzz Team" --project "Fuzz Project" --email fuzz@soot.test)"
field() { printf '%s' "$boot" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
personal="$(field personal_token)"; project="$(field project_token)"
soot_test_serve schemathesis
status=0
run() {  # run NAME DOCUMENT HEADER
  echo "schemathesis: $1"
  if ! (cd "$work" && "$venv/bin/st" run "http://127.0.0.1:$port$2" -H "$3" --seed 1 -n "$examples" --no-color \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method \
        --output-truncate true --warnings off > "$work/st.log" 2>&1); then
    grep -E '^_+ [A-Z]+ |^- ST|Received:|Documented:|^\[[0-9]+\]|Server error' "$work/st.log" | head -60
    status=1
  fi
  grep -E '^(Test cases:|  [0-9]+ generated)|passed|failures? in' "$work/st.log" | sed 's/^/  /' | tail -3
}
run "CodeCarbon API, project token" /openapi.json "x-api-token: $project"
run "Soot API, project token" /api/v1/openapi.json "x-api-token: $project"
run "CodeCarbon API, personal token" /openapi.json "Authorization: Bearer $personal"
run "Soot API, personal token" /api/v1/openapi.json "Authorization: Bearer $personal"
if grep -qE 'handler failed|Fatal error|database error' "$work/serve.log"; then
  echo "schemathesis: the server logged failures:" >&2
  grep -E 'handler failed|Fatal error|database error' "$work/serve.log" | head -20 >&2
  status=1
fi
kill -0 "$server" 2>/dev/null || { echo "schemathesis: the server died" >&2; status=1; }
exit $status
