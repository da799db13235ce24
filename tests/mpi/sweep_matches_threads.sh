#!/usr/bin/env bash
# The same sweep on 2 MPI ranks and on 2 threads writes the same bytes (CTest, MPI builds only).
#   usage: sweep_matches_threads.sh TECHDEP MPIEXEC SCENARIO
set -euo pipefail
techdep="$1"
mpiexec="$2"
scenario="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$techdep" sweep "$scenario" --timeseries --threads 2 --progress none --out "$work/threads" >/dev/null
# --oversubscribe: CI machines may have fewer cores than ranks; --allow-run-as-root: CI containers.
"$mpiexec" --oversubscribe --allow-run-as-root -np 2 \
  "$techdep" sweep "$scenario" --timeseries --progress none --out "$work/mpi" >/dev/null

for file in summary.csv timeseries.csv points.csv runs.csv scenario.resolved.yaml; do
  cmp "$work/threads/$file" "$work/mpi/$file"
done
grep -q '"mpi_ranks": 2' "$work/mpi/manifest.json"
echo "MPI sweep matches the threaded sweep byte for byte"
