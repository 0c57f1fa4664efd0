#!/usr/bin/env bash
# Installs the Debian packages corral needs. Idempotent: does nothing when all are present.
#   scripts/setup.sh build   what building the library and the demo needs (packages.txt)
#   scripts/setup.sh test    that plus the test servers, Catch2 and CI tools (packages-test.txt)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lists=("$here/packages.txt")
case "${1:-test}" in
  build) ;;
  test) lists+=("$here/packages-test.txt") ;;
  *) echo "usage: scripts/setup.sh build|test" >&2; exit 2 ;;
esac
mapfile -t wanted < <(cat "${lists[@]}" | grep -v '^\s*#' | grep -v '^\s*$')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
