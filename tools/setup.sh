#!/usr/bin/env bash
# Installs the Debian packages techdep needs (only those missing), then configures and builds one
# CMake preset. Idempotent; run as root (or with sudo) on a fresh Debian 12 machine.
#   usage: tools/setup.sh [PRESET]     (default: release; see CMakePresets.json)
#          tools/setup.sh --packages-only (install the packages, build nothing)
set -euo pipefail

preset="${1:-release}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build git pkg-config
  libcpp-httplib-dev libsqlite3-dev chromium
  libeigen3-dev libyaml-cpp-dev libyaml-dev libboost-graph-dev catch2 libfmt-dev libcli11-dev
  clang libclang-rt-14-dev valgrind
  nlohmann-json3-dev libssl-dev libnlopt-dev
  pybind11-dev python3-dev python3-pybind11 python3-numpy python3-pandas python3-matplotlib
  python3-pytest python3-networkx python3-tqdm
)

# The mpi preset (TECHDEP_WITH_MPI) also needs Open MPI.
if [[ "$preset" == mpi ]]; then packages+=(libopenmpi-dev openmpi-bin); fi

# shellcheck source=tools/lib/packages.sh
source "$here/tools/lib/packages.sh"
install_missing_packages setup "${packages[@]}"

# Node.js and npm for engine/web/: uPlot (embedded into the binary at build time) and
# playwright-core (the browser tests). A machine whose nodejs package already brings npm keeps it;
# Debian's nodejs and npm packages are the fallback. npm ci installs exactly the committed
# engine/web/package-lock.json, and must run before CMake, which embeds
# engine/web/node_modules/uplot.
if ! command -v npm >/dev/null 2>&1; then
  install_missing_packages setup nodejs npm
fi
if [[ ! -f "$here/engine/web/node_modules/.package-lock.json" ||
      "$here/engine/web/package-lock.json" -nt "$here/engine/web/node_modules/.package-lock.json" ]]; then
  echo "setup: npm ci in engine/web/" >&2
  (cd "$here/engine/web" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [[ "$preset" == --packages-only ]]; then exit 0; fi
cd "$here"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
echo "setup: built preset '$preset' in build/$preset (binary: build/$preset/engine/techdep)" >&2
