#!/usr/bin/env bash
# Runs every command of README.md's "A short tour" as written, in order, on a fresh copy: a
# temporary folder holding the scenarios, the facts and the built binary where the tour's first
# line expects it (build/release/engine/techdep). Fails, naming the command, on the first one that
# does not exit 0. `serve` never returns by itself: it is started, must print its URL and answer
# on it, and is stopped with SIGINT (exit 130 expected). CTest runs it as `readme_tour`.
#   usage: tools/tour.sh BINARY [README]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
binary="$(realpath "${1:?usage: tools/tour.sh BINARY [README]}")"
readme="$(realpath "${2:-$here/README.md}")"

work="$(mktemp -d "${TMPDIR:-/tmp}/techdep-tour.XXXXXX")"
serve_pid=""
cleanup() {
  if [[ -n "$serve_pid" ]]; then kill -INT "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$here/scenarios" "$here/seeds" "$work/"
mkdir -p "$work/build/release/engine"
ln -s "$binary" "$work/build/release/engine/techdep"

# The tour's block: from the ```sh after "## A short tour" to the closing ```. A line ending in a
# backslash continues on the next; lines holding only a comment are skipped.
commands=()
current=""
in_block=0
seen_heading=0
while IFS= read -r line; do
  if [[ $seen_heading -eq 0 ]]; then
    [[ "$line" == "## A short tour" ]] && seen_heading=1
    continue
  fi
  if [[ $in_block -eq 0 ]]; then
    [[ "$line" == '```sh' ]] && in_block=1
    continue
  fi
  [[ "$line" == '```' ]] && break
  if [[ -z "$current" && "$line" =~ ^[[:space:]]*(#.*)?$ ]]; then continue; fi
  if [[ "$line" =~ \\$ ]]; then
    current+="${line%\\} "
    continue
  fi
  commands+=("$current$line")
  current=""
done < "$readme"
if [[ ${#commands[@]} -lt 5 ]]; then
  echo "tour: found ${#commands[@]} commands in $readme; is the \"A short tour\" block there?" >&2
  exit 1
fi

cd "$work"
number=0
for command in "${commands[@]}"; do
  number=$((number + 1))
  echo "tour [$number/${#commands[@]}]: $command" >&2
  started=$(date +%s.%N)
  if [[ "$command" =~ ^\$techdep[[:space:]]+serve([[:space:]]|$) ]]; then
    # The page must come up; then Ctrl-C, as a user would. `exec`: the background job is the
    # server itself, so the signal reaches it (not a subshell waiting on it).
    eval "exec $command" > serve.out 2> serve.err &
    serve_pid=$!
    url=""
    for _ in $(seq 1 1200); do
      url="$(grep -o 'http://[^ ]*' serve.out || true)"
      [[ -n "$url" ]] && break
      if ! kill -0 "$serve_pid" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [[ -z "$url" ]]; then
      status=0
      wait "$serve_pid" || status=$?
      serve_pid=""
      if grep -q "cannot listen" serve.err; then
        # Another program holds the port on this shared machine: not the tour's failure.
        echo "tour: skipped, the port is taken: $(cat serve.err)" >&2
        continue
      fi
      echo "tour: FAILED (exit $status, no URL printed): $command" >&2
      cat serve.err >&2
      exit 1
    fi
    port="${url##*:}"
    port="${port%%/*}"
    page_ok=0
    exec 3<> "/dev/tcp/127.0.0.1/$port" && {
      printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      head -c 12 <&3 | grep -q "200" && page_ok=1
      exec 3<&-
    }
    kill -INT "$serve_pid"
    status=0
    wait "$serve_pid" || status=$?
    serve_pid=""
    if [[ $page_ok -ne 1 || ( $status -ne 130 && $status -ne 0 ) ]]; then
      echo "tour: FAILED (page answered: $page_ok, exit after SIGINT: $status): $command" >&2
      cat serve.err >&2
      exit 1
    fi
  else
    status=0
    eval "$command" > last.out 2> last.err || status=$?
    if [[ $status -ne 0 ]]; then
      echo "tour: FAILED (exit $status): $command" >&2
      tail -n 20 last.out last.err >&2
      exit 1
    fi
  fi
  awk -v n="$number" -v a="$started" -v b="$(date +%s.%N)" \
    'BEGIN { printf "tour [%d]: ok in %.1f s\n", n, b - a }' >&2
done
echo "tour: all ${#commands[@]} commands of the README tour exit 0" >&2
