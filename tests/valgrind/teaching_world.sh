#!/usr/bin/env bash
# Runs the teaching world under valgrind's memcheck (docs/reliability.md): any memory error or
# definite leak fails. Registered with CTest (label `valgrind`) in builds without sanitizers.
#   usage: tests/valgrind/teaching_world.sh TECHDEP_BINARY SCENARIO
set -euo pipefail
binary="$1"
scenario="$2"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
  "$binary" run "$scenario" --out "$out/run" >/dev/null
test -f "$out/run/manifest.json"
echo "valgrind: 0 errors, no definite leaks: $scenario"
