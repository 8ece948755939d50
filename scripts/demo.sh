#!/usr/bin/env bash
# Builds the examples (Release, ccache) and runs examples/quickstart.cpp in the scratch folder
# build/demo, so its SQLite file (quickstart's default database) lands there.
# Usage: scripts/demo.sh [ARGS...]   (ARGS go to quickstart)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
build="$repo/build/release"

scripts/install_deps.sh >&2
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DDBOS_BUILD_TESTS=OFF -DDBOS_BUILD_BENCH=OFF -DDBOS_BUILD_EXAMPLES=ON >&2
cmake --build "$build" -j "$(nproc)" --target quickstart >&2

mkdir -p "$repo/build/demo"
cd "$repo/build/demo"
exec "$build/examples/quickstart" "$@"
