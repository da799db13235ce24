#!/usr/bin/env bash
# Sets up, builds the release preset and runs the main shipped scenario; the run folder it
# prints is under runs/. Extra arguments go to `techdep run` (e.g. --set mode=aggregate).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scenario="scenarios/sanctions-2022.yaml"

bash "$here/tools/setup.sh" release
cd "$here"
exec build/release/engine/techdep run "$scenario" "$@"
