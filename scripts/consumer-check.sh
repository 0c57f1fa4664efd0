#!/usr/bin/env bash
# Uses corral the way an adopter does, from an already built build directory:
#   scripts/consumer-check.sh build
#  1. cmake --install into a temp prefix; tests/consumers built with find_package(corral) and
#     run: the plain app, one with its own config.hpp/runtime/config.hpp first on its include
#     path (each an #error), and one asking for C++14 (raised to 17 by corral::corral).
#     No consumer compile line may mention PostgreSQL's include directory.
#  2. corral.pc: pkg-config --cflags --libs builds and runs the app; -std=c++14 fails with
#     corral's own message.
#  3. add_subdirectory(<corral source>) with the stores off: no test, bench or example target
#     exists, and the app does not link libpq or hiredis.
#  4. As root only: cpack -G DEB, apt-get install the .deb, build the app against /usr with no
#     CMAKE_PREFIX_PATH, then remove the package again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:?usage: scripts/consumer-check.sh <build dir>}" && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
consumer="$root/tests/consumers"
work="$build/consumer-check"
rm -rf "$work"
mkdir -p "$work"
cmake_args=(-G Ninja)
if command -v ccache >/dev/null; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
say() { echo "consumer-check: $*"; }
fail() { echo "consumer-check: FAILED: $*" >&2; exit 1; }

say "1. find_package against an installed prefix"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$consumer" -B "$work/package" "${cmake_args[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" \
  >/dev/null
cmake --build "$work/package" -j "$jobs" >/dev/null || fail "consumer build against the prefix"
for app in app app-shadowed app-cxx14; do
  "$work/package/$app" || fail "$app"
done
grep '"command":.*app-cxx14\.dir' "$work/package/compile_commands.json" | grep -q -- '-std=c++17' ||
  fail "app-cxx14 was not raised to C++17"
if grep -q postgresql "$work/package/compile_commands.json"; then
  fail "a consumer compile line names PostgreSQL's include directory"
fi

say "2. pkg-config"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
pc_flags="$(pkg-config --cflags --libs corral)" || fail "pkg-config --cflags --libs corral"
say "   $pc_flags"
# shellcheck disable=SC2086 # the flags are words
c++ -std=c++17 "$consumer/main.cpp" -o "$work/app-pc" $pc_flags || fail "build with pkg-config"
"$work/app-pc" || fail "app built with pkg-config"
# shellcheck disable=SC2086,SC2046 # the flags are words
if c++ -std=c++14 -fsyntax-only "$consumer/main.cpp" $(pkg-config --cflags corral) \
  2>"$work/cxx14.log"; then
  fail "a C++14 compile of corral's headers succeeded"
fi
grep -q 'corral needs C++17' "$work/cxx14.log" || fail "C++14 error does not say why"
unset PKG_CONFIG_PATH

say "3. add_subdirectory, PostgreSQL and Redis stores off"
cmake -S "$consumer" -B "$work/subdir" "${cmake_args[@]}" -DCORRAL_SOURCE_DIR="$root" \
  -DCORRAL_WITH_POSTGRES=OFF -DCORRAL_WITH_REDIS=OFF >/dev/null
if ninja -C "$work/subdir" -t targets all | grep -E '^(corral-tests|corral-bench|corral-demo|corral-price-fetcher)[: ]'; then
  fail "add_subdirectory builds corral's tests, bench or examples"
fi
if ninja -C "$work/subdir" -t targets all | grep -E '(postgres|redis)_store\.cpp\.o'; then
  fail "a store switched off is still compiled"
fi
cmake --build "$work/subdir" -j "$jobs" --target app >/dev/null || fail "add_subdirectory build"
"$work/subdir/app" || fail "app built with add_subdirectory"
if ldd "$work/subdir/app" | grep -E 'libpq|libhiredis'; then
  fail "with the stores off the app still links their client libraries"
fi

say "4. the corral-dev .deb"
if [[ $(id -u) -ne 0 ]]; then
  say "   skipped: installing a package needs root (CI runs as root)"
else
  (cd "$build" && cpack -G DEB -B "$work/deb" >/dev/null) || fail "cpack -G DEB"
  deb="$(ls "$work"/deb/corral-dev_*.deb)"
  say "   $(basename "$deb")"
  if dpkg-query -W -f='${Status}' corral-dev 2>/dev/null | grep -q "install ok installed"; then
    fail "corral-dev is installed already; remove it first (apt-get remove corral-dev)"
  fi
  remove_deb() {
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq corral-dev >"$work/remove.log" 2>&1 ||
      { cat "$work/remove.log"; echo "consumer-check: could not remove corral-dev" >&2; }
  }
  trap remove_deb EXIT # also when a step fails: the machine is left as it was
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "installing $deb"; }
  cmake -S "$consumer" -B "$work/system" "${cmake_args[@]}" >/dev/null ||
    fail "find_package(corral) against the system install"
  cmake --build "$work/system" -j "$jobs" --target app >/dev/null || fail "build against /usr"
  "$work/system/app" || fail "app built against the system install"
  pkg-config --exists corral || fail "corral.pc is not found in the system pkg-config path"
  remove_deb
  trap - EXIT
  [[ ! -e /usr/lib/cmake/corral ]] || fail "removing corral-dev left /usr/lib/cmake/corral"
fi
say "ok"
