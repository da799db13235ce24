#!/usr/bin/env bash
# The only way to rewrite the golden outputs in tests/golden/: runs each golden scenario with the
# given techdep binary and copies its CSV files over the approved ones, then prints what changed.
# Review the diff (git diff tests/golden) before committing it.
#   usage: tools/update_golden.sh [TECHDEP_BINARY]   (default: build/dev/engine/techdep)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
techdep="${1:-$here/build/dev/engine/techdep}"
if [[ ! -x "$techdep" ]]; then
  echo "error: no techdep binary at $techdep (build it, or pass its path)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$here"
for scenario in teaching-world; do
  expected="tests/golden/$scenario/expected"
  "$techdep" run "scenarios/$scenario.yaml" --out "$work/$scenario" >/dev/null
  mkdir -p "$expected"
  for file in timeseries.csv observations.csv events.csv; do
    if [[ -f "$expected/$file" ]] && cmp -s "$work/$scenario/$file" "$expected/$file"; then
      echo "$expected/$file: unchanged"
    elif [[ -f "$expected/$file" ]]; then
      changed="$(diff "$expected/$file" "$work/$scenario/$file" | grep -c '^>' || true)"
      cp "$work/$scenario/$file" "$expected/$file"
      echo "$expected/$file: $changed line(s) changed"
    else
      cp "$work/$scenario/$file" "$expected/$file"
      echo "$expected/$file: created ($(wc -l < "$expected/$file") lines)"
    fi
  done
done
git -C "$here" diff --stat -- tests/golden || true
