#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan, UBSan) and fuzzes each for a share of
# SECONDS, seeded with the shipped scenarios, the error fixtures, the test data and every kept
# crash input. Exits 1 when a target finds a crash, leak, timeout or broken property; the input
# is left in build/fuzz/findings/ (copy it to tests/fuzz/regressions/<target>/ once fixed).
#   usage: tools/fuzz.sh SECONDS [TARGET...]   (targets: fuzz_scenario fuzz_overrides; default both)
# TECHDEP_FUZZ_SEED fixes libFuzzer's seed (CI uses 1, so a CI finding replays); 0 or unset: random.
set -euo pipefail

seconds="${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if ((${#targets[@]} == 0)); then targets=(fuzz_scenario fuzz_overrides); fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$here/build/fuzz"

if ! command -v clang++ >/dev/null || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  bash "$here/tools/setup.sh" --packages-only
fi
cd "$here"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

# Seeds: scenarios and YAML/CSV fixtures for the scenario target, --set lines for the other.
seed_dirs() {
  case "$1" in
    fuzz_scenario) echo "$here/scenarios $here/tests/scenario_errors $here/tests/data/cli" \
                        "$here/tests/data/scenario $here/tests/data/scenario/tables" ;;
    fuzz_overrides) echo "$here/tests/fuzz/override_seeds" ;;
  esac
}

share=$((seconds / ${#targets[@]}))
((share > 0)) || share=1
status=0
mkdir -p "$build/findings"
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  regressions="$here/tests/fuzz/regressions/$target"
  extra=()
  if [[ -d "$regressions" ]]; then extra+=("$regressions"); fi
  echo "fuzz: $target for ${share}s (corpus $corpus)" >&2
  # shellcheck disable=SC2046  # seed_dirs lists several directories on purpose
  if ! nice -n 10 "$build/tests/fuzz/$target" "$corpus" $(seed_dirs "$target") "${extra[@]}" \
      -dict="$here/tests/fuzz/scenario.dict" -max_total_time="$share" -max_len=16384 \
      -seed="${TECHDEP_FUZZ_SEED:-0}" \
      -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/findings/$target-" 2>"$build/$target.log"; then
    status=1
    echo "fuzz: $target found a problem; see $build/$target.log and $build/findings/" >&2
    tail -n 40 "$build/$target.log" >&2
  else
    grep -E '^stat::number_of_executed_units|^Done' "$build/$target.log" >&2 || true
  fi
done
exit "$status"
