#!/usr/bin/env bash
# The project's test command (README) and what CI runs (.ci/run):
#   1. installs missing Debian packages (scripts/install_deps.sh);
#   2. checks formatting of include/ src/ tests/ bench/ examples/ (clang-format 14, .clang-format)
#      and that includes follow the layers of src/ (scripts/check_layers.sh);
#   3. configures and builds build/ci: warnings as errors, ASan+UBSan, -O1 -g, ccache;
#   4. starts a throwaway PostgreSQL 15 on a free loopback port (scripts/pg_cluster.sh; data in
#      build/ci/pg, or a /tmp/dbos-pg.* folder when the postgres user cannot reach the checkout);
#   5. installs DBOS Transact TypeScript 5.3.0 from npm into build/ci/interop-node when node is
#      present (scripts/install_ts_peer.sh), for the interoperation test;
#   6. runs ctest with DBOS_TEST_POSTGRES_URL pointing at it;
#   7. on a full run that passed: builds the database and crash suites again with ThreadSanitizer
#      (build/ci-tsan) and runs them against the same cluster;
#   then always stops the cluster and deletes its data, whatever happened; exits with the first
#   failing ctest's status.
#
# Usage: scripts/test.sh [CTEST_ARGS...]     e.g. scripts/test.sh -R dbos_unit_tests
# Environment:
#   DBOS_BUILD_DIR=DIR   build folder (default build/ci)
#   TEST_SH_ONLY_PG=1    only start the cluster, run `select 1` against it, and stop it
#   TEST_SH_SKIP_FORMAT=1  skip the formatting check (local iterations only; CI never sets it)
#   TEST_SH_SKIP_TSAN=1    skip the ThreadSanitizer stage (local iterations only)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
build="${DBOS_BUILD_DIR:-$repo/build/ci}"
pg_area="$build/pg"

section() { printf '\n==== %s ====\n' "$*"; }

section "dependencies"
scripts/install_deps.sh

# Always stop the cluster (started or half-started) and delete its data, keeping the exit status.
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  "$repo/scripts/pg_cluster.sh" stop "$pg_area" || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_postgres() {
  section "PostgreSQL"
  mkdir -p "$build"
  DBOS_TEST_POSTGRES_URL="$(scripts/pg_cluster.sh start "$pg_area")"
  # The outage test restarts this server through scripts/pg_cluster.sh restart.
  export DBOS_TEST_POSTGRES_URL DBOS_TEST_PG_AREA="$pg_area"
  echo "DBOS_TEST_POSTGRES_URL=$DBOS_TEST_POSTGRES_URL"
}

if [[ "${TEST_SH_ONLY_PG:-}" == 1 ]]; then
  start_postgres
  psql "$DBOS_TEST_POSTGRES_URL" -X -v ON_ERROR_STOP=1 -c 'select 1'
  exit 0
fi

if [[ "${TEST_SH_SKIP_FORMAT:-}" != 1 ]]; then
  section "format ($(clang-format --version))"
  mapfile -d '' sources < <(find include src tests bench examples -type f \
    \( -name '*.hpp' -o -name '*.cpp' \) -print0 2>/dev/null | sort -z)
  if ((${#sources[@]} > 0)) && ! clang-format --dry-run -Werror "${sources[@]}"; then
    echo "Formatting check failed: run clang-format -i on the files above." >&2
    exit 1
  fi
  echo "${#sources[@]} files formatted"
fi

section "layers"
scripts/check_layers.sh

section "configure and build ($build)"
# ccache (picked up by CMakeLists.txt): hash paths relative to the checkout, so a fresh clone in
# another folder (as CI makes) still hits the cache the developer's builds filled.
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1
# -O1 instead of RelWithDebInfo's -O2 -DNDEBUG: faster to build, keeps assert() on, and gives
# sanitizer reports usable stacks.
cmake -S "$repo" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DDBOS_WERROR=ON -DDBOS_SANITIZE=ON -DDBOS_CONSUMER_TEST=ON \
  -DDBOS_BUILD_TESTS=ON -DDBOS_BUILD_BENCH=ON -DDBOS_BUILD_EXAMPLES=ON
cmake --build "$build" -j "$(nproc)"

section "DBOS Transact TypeScript 5.3.0 for tests/interop"
# The interoperation test runs the real npm package with node; without node (>= 20) it is skipped
# and prints why.
if command -v node >/dev/null; then
  peer_status=0
  scripts/install_ts_peer.sh "$build/interop-node" || peer_status=$?
  if ((peer_status == 3)); then
    echo "no usable node: dbos_interop_tests will skip the interoperation test"
  elif ((peer_status != 0)); then
    exit "$peer_status"
  fi
else
  echo "node is not installed: dbos_interop_tests will skip the interoperation test"
fi

start_postgres

section "tests"
# LeakSanitizer works here as root (checked on this machine: it reports leaks, including from
# other threads); scripts/lsan.supp lists third-party leaks we cannot fix.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$repo/scripts/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
set +e
ctest --test-dir "$build" --output-on-failure "$@"
status=$?
set -e
if ((status != 0)) || (($# > 0)) || [[ "${TEST_SH_SKIP_TSAN:-}" == 1 ]]; then
  exit "$status"
fi

# ThreadSanitizer cannot share a build with ASan: a second, smaller build of the suites that run
# workflows on many threads. setarch -R turns off address randomization, whose high entropy on
# recent kernels TSan's memory layout does not accept.
tsan_build="$build-tsan"
section "ThreadSanitizer build ($tsan_build)"
cmake -S "$repo" -B "$tsan_build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DDBOS_WERROR=ON -DDBOS_SANITIZE=OFF -DDBOS_CONSUMER_TEST=OFF \
  -DDBOS_BUILD_TESTS=ON -DDBOS_BUILD_BENCH=OFF -DDBOS_BUILD_EXAMPLES=OFF
cmake --build "$tsan_build" -j "$(nproc)" --target dbos_db_tests dbos_chaos_tests dbos_crash_worker

section "tests under ThreadSanitizer"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
set +e
setarch "$(uname -m)" -R ctest --test-dir "$tsan_build" --output-on-failure \
  -R '^(dbos_db_tests|dbos_chaos_tests)$'
status=$?
set -e
exit "$status"
