#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds one preset and runs every test with CTest.
#   usage: tools/test.sh [PRESET]     (default: ci = release build, warnings as errors)
set -euo pipefail

preset="${1:-ci}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bash "$here/tools/setup.sh" "$preset"
cd "$here"
ctest --preset "$preset" -j "$(nproc)"
