#!/usr/bin/env bash
# The benchmark harness of docs/performance.md: builds the engine (Release) and techdep_bench,
# writes the workloads, runs the engine and its peers on each in the same session, checks their
# answers agree, and writes docs/performance-results.md (plus the raw JSON beside the build).
#   usage: tools/bench/run.sh [--quick] [--build-dir DIR] [--w5-replicates N] [--w7-replicates N]
#          [--only W1,W2,...] [--out FILE]
#   --quick: the CI smoke version (small step counts, few repeats, no NetworkX; < 2 minutes once
#            built); it checks the same agreements but its timings are not the published ones.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

build_dir="$here/build/bench"
build_type=Release
args=()
while (($#)); do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --build-type) build_type="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

mapfile -t packages < <(grep -v '^#' "$here/tools/bench/packages.txt" | tr ' ' '\n' | grep -v '^$')
# shellcheck source=tools/lib/packages.sh
source "$here/tools/lib/packages.sh"
install_missing_packages bench "${packages[@]}"

# An existing build directory keeps its own build type (CI reuses its release build).
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
fi
cmake -S "$here" -B "$build_dir" -DTECHDEP_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target techdep_cli techdep_bench

exec /usr/bin/python3 "$here/tools/bench/harness.py" --build-dir "$build_dir" "${args[@]}"
