#!/usr/bin/env bash
# DBOS Transact TypeScript peer benchmark.
# One command:  bash bench/peers/dbos-ts/run.sh
#   - starts the scratch Postgres (../limits/pg.sh) on 127.0.0.1:5499 if it is not up
#   - installs @dbos-inc/dbos-sdk into /tmp/dbos-ts-peer if missing (DBOS_VERSION, default latest)
#   - copies bench.js there and runs: main (tests 1-4, 6) then recovery (test 5)
#   - writes $SCRATCH/results/dbos-ts-<timestamp>.json (+ latest.json); stops Postgres if it started it
# Env knobs: DBOS_VERSION, SEQ_N, WARMUP, CONC_N, CONC_RUNS, QUEUE_N, QUEUE_WC, QUEUE_POLL_MS,
#            MSG_N, REC_N, POOL, SKIP_MAIN=1, SKIP_RECOVERY=1, SKIP_WAITERS=1, PEER_WAIT_N
#            (waiters.js: workflows waiting in recv at once, default 10000), KEEP_PG=1
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${DBOS_TS_SCRATCH:-/tmp/dbos-ts-peer}
PORT=${PGPORT_PEER:-5499}
export DBOS_BENCH_URL=${DBOS_BENCH_URL:-postgresql://postgres@127.0.0.1:$PORT/dbos_bench}
RESULTS=${RESULTS_DIR:-$SCRATCH/results}
mkdir -p "$SCRATCH" "$RESULTS"

started_pg=0
if ! PGCONNECT_TIMEOUT=2 psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  bash "$HERE/../limits/pg.sh" start; started_pg=1
fi
cleanup() { if [ "$started_pg" = 1 ] && [ "${KEEP_PG:-0}" != 1 ]; then bash "$HERE/../limits/pg.sh" stop; fi; }
trap cleanup EXIT

if [ ! -f "$SCRATCH/node_modules/@dbos-inc/dbos-sdk/package.json" ] || [ -n "${DBOS_VERSION:-}" ]; then
  V=${DBOS_VERSION:-$(npm view @dbos-inc/dbos-sdk version 2>/dev/null)}
  echo "installing @dbos-inc/dbos-sdk@$V into $SCRATCH"
  [ -f "$SCRATCH/package.json" ] || echo '{ "name": "dbos-ts-peer-bench", "version": "1.0.0", "private": true }' >"$SCRATCH/package.json"
  (cd "$SCRATCH" && npm install --no-audit --no-fund --save-exact "@dbos-inc/dbos-sdk@$V")
fi
cp "$HERE/bench.js" "$SCRATCH/bench.js"
cp "$HERE/waiters.js" "$SCRATCH/waiters.js"
TS=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS/dbos-ts-$TS.json"
cd "$SCRATCH"
main='null'; rec='null'; waiters='null'
if [ "${SKIP_MAIN:-0}" != 1 ]; then
  main=$(node bench.js main | sed -n 's/^RESULT //p')
fi
if [ "${SKIP_RECOVERY:-0}" != 1 ]; then
  rec=$(node bench.js recovery | sed -n 's/^RESULT //p')
fi
if [ "${SKIP_WAITERS:-0}" != 1 ]; then
  waiters=$(node waiters.js "${PEER_WAIT_N:-10000}" | sed -n 's/^RESULT //p')
fi
echo "{\"timestamp\":\"$TS\",\"main\":${main:-null},\"recovery\":${rec:-null},\"waiters\":${waiters:-null}}" >"$OUT"
cp "$OUT" "$RESULTS/latest.json"
node -e 'const r=require(process.argv[1]);console.log(JSON.stringify(r,null,1))' "$OUT"
echo "wrote $OUT"
