# Shared by tools/setup.sh and tools/bench/run.sh (source it; it defines one function).

# install_missing_packages LABEL PACKAGE...: installs with apt-get the Debian packages among
# PACKAGE... that are not installed yet (apt-get update first); nothing when all are there.
install_missing_packages() {
  local label="$1"
  shift
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "$label: installing ${missing[*]}" >&2
  local sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}
