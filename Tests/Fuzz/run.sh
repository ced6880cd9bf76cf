#!/usr/bin/env bash
# Builds the request-parser fuzzer with libFuzzer and AddressSanitizer and runs it for a while.
# Usage: Tests/Fuzz/run.sh [seconds]   (default 30)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-30}"
out="$root/.build/fuzz"
mkdir -p "$out/corpus"
cp -n "$here"/corpus/* "$out/corpus/" 2>/dev/null || true
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ParserFuzz \
  "$root"/Sources/HTTPServer/Parser/*.swift \
  "$root"/Sources/HTTPServer/HTTPMethod.swift \
  "$root"/Sources/HTTPServer/HTTPStatus.swift \
  "$root"/Sources/HTTPServer/HTTPHeaders.swift \
  "$here"/FuzzRequestParser.swift \
  -o "$out/fuzz-request-parser" 2> "$out/build.log" || { cat "$out/build.log"; exit 1; }
if ! "$out/fuzz-request-parser" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" > "$out/fuzz.log" 2>&1; then
  tail -n 60 "$out/fuzz.log"
  echo "fuzz: the request parser fuzzer found a failure (inputs saved under $out/)" >&2
  exit 1
fi
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/fuzz.log" | sed 's/^/fuzz: /'

