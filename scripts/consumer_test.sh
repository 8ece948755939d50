#!/usr/bin/env bash
# Checks the installed package the way a user consumes it: installs BUILD_DIR into
# BUILD_DIR/install-prefix, then configures, builds and runs tests/consumer/ (find_package(dbos
# CONFIG REQUIRED), default flags) against that prefix. Run by ctest as consumer_package_test.
# Usage: scripts/consumer_test.sh BUILD_DIR   (a configured and built build folder)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(realpath "${1:?usage: $0 BUILD_DIR}")"
prefix="$build/install-prefix"
consumer_build="$build/consumer-build"

rm -rf "$prefix" "$consumer_build"
cmake --install "$build" --prefix "$prefix"

# The only flags that are not the defaults: when the library was built with -DDBOS_SANITIZE=ON
# (as in CI), its objects call into the ASan/UBSan runtimes, which a program linking the static
# library must link as well.
flags=()
if grep -q '^DBOS_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
  flags+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined"
          -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined")
fi

cmake -S "$repo/tests/consumer" -B "$consumer_build" -DCMAKE_PREFIX_PATH="$prefix" "${flags[@]}"
cmake --build "$consumer_build"
cd "$consumer_build"
./consumer
