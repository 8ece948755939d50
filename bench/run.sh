#!/usr/bin/env bash
# The side-by-side benchmark in one command: builds dbos_bench (Release, build/bench), runs it on
# SQLite and on a throwaway PostgreSQL (scripts/pg_cluster.sh), runs the DBOS Transact TypeScript
# peer (bench/peers/dbos-ts/run.sh, its own PostgreSQL on port 5499), then prints the table and
# writes it into docs/benchmarks.md between <!-- bench:begin --> and <!-- bench:end -->.
#
#   bash bench/run.sh
#   SEQ_N=100 CONC_N=500 REC_N=200 bash bench/run.sh     # smaller counts (the peer gets them too)
#
# Env: SEQ_N WARMUP CONC_N CONC_RUNS REC_N (passed to both programs); WAIT_N, WAIT_THREADS and WAIT_SLEEP_S
# (C++: workflows waiting at once, default 100000, started and released from WAIT_THREADS threads, default
# 10 here, and the sleep of the sleeping round, default 60 s here: 100,000 starts take longer than 30 s on a
# 2-core machine, and the round measures them all asleep at once; the peer's waiters.js runs PEER_WAIT_N,
# default 10000, started one after the other); QUEUE_N QUEUE_WC QUEUE_LAT_N QUEUE_RUNS QUEUE_ENQ_THREADS QUEUE_BACKLOG_N
# (C++ queues);
# SKIP_PEER=1 reuses the peer's latest result; PEER_TESTS (default seq,conc,queue,msg: the peer's
# tests the table needs); PEER_DIR (default bench/peers/dbos-ts); BUILD_DIR (default build/bench).
# Raw outputs: build/bench-results/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build/bench}"
PG_AREA="build/bench-pg"
OUT="build/bench-results"
PEER_DIR="${PEER_DIR:-$ROOT/bench/peers/dbos-ts}"
PEER_RESULTS="${DBOS_TS_SCRATCH:-/tmp/dbos-ts-peer}/results"
PG_BIN="${DBOS_PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { echo "bench/run.sh: $*" >&2; }

# The command line that reproduces this run, with the knobs that were set.
command_line() {
  local knobs=() name
  for name in SEQ_N WARMUP CONC_N CONC_RUNS REC_N WAIT_N WAIT_THREADS WAIT_SLEEP_S PEER_WAIT_N QUEUE_N QUEUE_WC QUEUE_LAT_N QUEUE_RUNS QUEUE_ENQ_THREADS QUEUE_BACKLOG_N SKIP_PEER PEER_TESTS; do
    [[ -n "${!name:-}" ]] && knobs+=("$name=${!name}")
  done
  echo "${knobs[*]}${knobs[*]:+ }bash bench/run.sh"
}

export WAIT_THREADS="${WAIT_THREADS:-10}" WAIT_SLEEP_S="${WAIT_SLEEP_S:-60}"
LOAD_AT_START="$(cut -d ' ' -f 1-3 /proc/loadavg)"
mkdir -p "$OUT"
rm -f "$OUT"/cpp-sqlite.json "$OUT"/cpp-postgres.json "$OUT"/peer.json

log "building dbos_bench (Release) in $BUILD_DIR"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDBOS_BUILD_TESTS=OFF -DDBOS_BUILD_BENCH=ON "${launcher[@]}" \
  >"$OUT/cmake.log"
cmake --build "$BUILD_DIR" -j2 --target dbos_bench
BIN="$BUILD_DIR/bench/dbos_bench"

# C++ on SQLite: fresh files in a temp folder.
log "C++ on SQLite"
"$BIN" --backend sqlite --json "$OUT/cpp-sqlite.json" | tee "$OUT/cpp-sqlite.log" ||
  log "dbos_bench on SQLite failed (see $OUT/cpp-sqlite.log)"

# C++ on PostgreSQL: a throwaway cluster with default settings, stopped on exit.
trap 'bash scripts/pg_cluster.sh stop "$PG_AREA" >/dev/null 2>&1 || true' EXIT
PG_URL="$(bash scripts/pg_cluster.sh start "$PG_AREA")"
PG_VERSION="$("$PG_BIN/psql" -X -Atc 'show server_version' "$PG_URL")"
log "C++ on PostgreSQL $PG_VERSION at $PG_URL"
"$BIN" --backend postgres --url "$PG_URL" --json "$OUT/cpp-postgres.json" |
  tee "$OUT/cpp-postgres.log" || log "dbos_bench on PostgreSQL failed (see $OUT/cpp-postgres.log)"
bash scripts/pg_cluster.sh stop "$PG_AREA" >/dev/null 2>&1 || true # do not compete with the peer

# The TypeScript peer (skips its queue and messaging tests unless PEER_TESTS asks for them).
peer_note=""
if [[ "${SKIP_PEER:-0}" != 1 ]]; then
  log "DBOS Transact TypeScript peer ($PEER_DIR/run.sh)"
  if TESTS="${PEER_TESTS:-seq,conc,queue,msg}" bash "$PEER_DIR/run.sh" >"$OUT/peer.log" 2>&1; then
    peer_note="run now with TESTS=${PEER_TESTS:-seq,conc,queue,msg} (log: $OUT/peer.log)."
  else
    log "the peer failed (see $OUT/peer.log); reusing its latest result if any"
    peer_note="this run failed; figures reused from an earlier run."
  fi
else
  peer_note="SKIP_PEER=1: figures reused from an earlier run."
fi
if [[ -f "$PEER_RESULTS/latest.json" ]]; then
  cp "$PEER_RESULTS/latest.json" "$OUT/peer.json"
  stamp="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("timestamp",""))' \
    "$OUT/peer.json")"
  peer_note="$peer_note Result $stamp from $PEER_RESULTS/latest.json; its PostgreSQL 15 on port 5499."
else
  peer_note="no peer result found in $PEER_RESULTS."
fi

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$commit" != unknown && -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]]; then
  commit="$commit (with uncommitted changes)"
fi
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
machine="$(nproc) cores (${cpu:-unknown CPU}), $(free -g | awk '/^Mem:/ {print $2}') GB RAM,"
machine="$machine PostgreSQL $PG_VERSION, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit,"
machine="$machine load average at start $LOAD_AT_START"

echo
python3 bench/bench_table.py --sqlite "$OUT/cpp-sqlite.json" --postgres "$OUT/cpp-postgres.json" \
  --peer "$OUT/peer.json" --peer-note "$peer_note" --machine "$machine" \
  --command "$(command_line)" --doc docs/benchmarks.md
