#!/usr/bin/env bash
# Physical limits of durable checkpointing on this machine.
# One command:  bash bench/peers/limits/run.sh
# Env knobs: DUR (seconds per pgbench/sqlite run, default 10), CLIENTS (default "1 4 16"),
#            KEEP_PG=1 to leave the scratch Postgres running afterwards (default: stop it if we started it).
# Output: table on stdout + results/limits-<timestamp>.txt (+ results/latest.txt).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-10}
CLIENTS=${CLIENTS:-"1 4 16"}
PORT=${PGPORT_PEER:-5499}
SCRATCH=${PGBENCH_PEER_ROOT:-/tmp/pgbench-peer}
PGBENCH=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
DB=limits
RESULTS=${RESULTS_DIR:-/tmp/limits-peer/results}
mkdir -p "$RESULTS"
OUT="$RESULTS/limits-$(date -u +%Y%m%dT%H%M%SZ).txt"

started_pg=0
if ! "$PSQL" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  bash "$HERE/pg.sh" start; started_pg=1
fi
cleanup() { if [ "$started_pg" = 1 ] && [ "${KEEP_PG:-0}" != 1 ]; then bash "$HERE/pg.sh" stop; fi; }
trap cleanup EXIT

"$PSQL" -d postgres -Atc "select 1 from pg_database where datname='$DB'" | grep -q 1 || "$PSQL" -d postgres -qc "create database $DB"

log() { echo "$*" | tee -a "$OUT"; }
log "# limits run $(date -u +%FT%TZ) host=$(hostname) cores=$(nproc) kernel=$(uname -r)"
log "# $("$PSQL" -d $DB -Atc 'select version()')"
log "# settings: $("$PSQL" -d $DB -Atc "select string_agg(name||'='||current_setting(name), ' ') from pg_settings where name in ('fsync','synchronous_commit','wal_sync_method','shared_buffers','wal_buffers','max_wal_size','full_page_writes','commit_delay','max_connections')")"
log "# duration per run: ${DUR}s; pgbench -M prepared; threads=min(clients,$(nproc))"
log ""
log "| test | sync_commit | clients | TPS | rows/s | mean lat ms |"
log "|---|---|---|---|---|---|"

# run_pgbench <label> <script> <rows_per_txn> <sync_commit> <clients>
run_pgbench() {
  local label=$1 script=$2 rows=$3 sc=$4 c=$5
  local j=$(( c < $(nproc) ? c : $(nproc) ))
  if [ "$rows" != 0 ]; then
    "$PSQL" -d $DB -q -f "$HERE/sql/schema.sql" >/dev/null 2>&1
    "$PSQL" -d $DB -qc 'checkpoint' >/dev/null
  fi
  local raw
  raw=$(PGOPTIONS="-c synchronous_commit=$sc" "$PGBENCH" -n -M prepared -T "$DUR" -c "$c" -j "$j" -f "$HERE/sql/$script" $DB 2>&1)
  echo "$raw" >>"$OUT.raw"
  local tps lat
  tps=$(echo "$raw" | awk '/^tps = /{printf "%.0f", $3}')
  lat=$(echo "$raw" | awk '/^latency average = /{print $4}')
  local rps=$(( ${tps:-0} * (rows == 0 ? 1 : rows) ))
  [ "$rows" = 0 ] && rps="-"
  log "| $label | $sc | $c | ${tps:-ERR} | $rps | ${lat:-ERR} |"
}

for sc in on off; do
  for c in $CLIENTS; do run_pgbench "insert 1 row/txn" insert1.sql 1 $sc $c; done
  for c in $CLIENTS; do run_pgbench "insert 10 rows/txn (10 stmts)" insert10_stmts.sql 10 $sc $c; done
  for c in $CLIENTS; do run_pgbench "insert 10 rows/txn (1 multi-row stmt)" insert10_multirow.sql 10 $sc $c; done
done
run_pgbench "SELECT 1 (round trip)" select1.sql 0 on 1
run_pgbench "SELECT 1 (round trip)" select1.sql 0 on 4

log ""
log "## SQLite (python3 sqlite3 module, WAL, file in $SCRATCH)"
mkdir -p "$SCRATCH"
for s in FULL NORMAL; do
  log "$(python3 "$HERE/sqlite_bench.py" "$SCRATCH/sqlite-bench.db" "$DUR" $s 1)"
done
log "$(python3 "$HERE/sqlite_bench.py" "$SCRATCH/sqlite-bench.db" "$DUR" FULL 10)"

log ""
log "## Disk sync latency (C loop, file in $SCRATCH, 5 s each)"
gcc -O2 -o "$SCRATCH/fsync_lat" "$HERE/fsync_lat.c"
for m in "overwrite fdatasync" "append fdatasync" "append fsync" "overwrite odsync"; do
  log "$("$SCRATCH/fsync_lat" "$SCRATCH/fsync-test.bin" 5 $m 128)"
done
log "$("$SCRATCH/fsync_lat" "$SCRATCH/fsync-test.bin" 5 overwrite fdatasync 8192)"

if [ "${PG_TEST_FSYNC:-1}" = 1 ]; then
  log ""
  log "## pg_test_fsync -s 2 (file in $SCRATCH)"
  /usr/lib/postgresql/15/bin/pg_test_fsync -s 2 -f "$SCRATCH/pg_test_fsync.out" 2>&1 | tee -a "$OUT" >/dev/null
  rm -f "$SCRATCH/pg_test_fsync.out"
fi
cp "$OUT" "$RESULTS/latest.txt"
echo "wrote $OUT"
