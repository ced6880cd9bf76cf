#!/usr/bin/env bash
# Builds the request-parser fuzzer with libFuzzer and AddressSanitizer and runs it.
# Usage: Tests/Fuzz/run.sh [runs]   (default 400000, about 20-30 s; the seed is fixed so CI runs are repeatable;
# FUZZ_SEED=0 picks a random seed for exploring)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs="${1:-400000}"
seed="${FUZZ_SEED:-1}"
out="$root/.build/fuzz"
rm -rf "$out/corpus"
mkdir -p "$out/corpus"
cp "$here"/corpus/* "$out/corpus/"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ParserFuzz \
  "$root"/Sources/HTTPServer/Parser/*.swift \
  "$root"/Sources/HTTPServer/HTTPMethod.swift \
  "$root"/Sources/HTTPServer/HTTPStatus.swift \
  "$root"/Sources/HTTPServer/HTTPHeaders.swift \
  "$here"/FuzzRequestParser.swift \
  -o "$out/fuzz-request-parser" 2> "$out/build.log" || { cat "$out/build.log"; exit 1; }
if ! "$out/fuzz-request-parser" -runs="$runs" -seed="$seed" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" > "$out/fuzz.log" 2>&1; then
  tail -n 60 "$out/fuzz.log"
  echo "fuzz: the request parser fuzzer found a failure (inputs saved under $out/)" >&2
  exit 1
fi
grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/fuzz.log" | sed 's/^/fuzz: /'

