#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: loopback only, trust auth, a free port.
#
#   scripts/pg_cluster.sh start AREA   starts a fresh cluster; prints its URL on stdout
#                                      (postgresql://postgres@127.0.0.1:PORT/dbos_test)
#   scripts/pg_cluster.sh stop AREA    stops it and deletes its data (no-op when none is there)
#   scripts/pg_cluster.sh url AREA     prints the URL of the running cluster
#   scripts/pg_cluster.sh restart AREA restarts the running server (fast shutdown: every client
#                                      connection is cut), keeping its data; for outage tests
#
# AREA is a folder (test.sh uses build/ci/pg). The cluster lives in AREA itself when the `postgres`
# OS user can reach it and the path is short enough for a unix socket; otherwise (e.g. a checkout
# under /root, which postgres cannot traverse) in a mktemp folder /tmp/dbos-pg.XXXXXX, and
# AREA/location records where, so `stop` — and the next `start`, after a killed run — finds it.
# Layout of the cluster folder: data/ (PGDATA, owned by postgres), run/ (unix socket), postgres.log.
#
# initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user (runuser);
# as any other user, as that user.
#
# Environment: DBOS_PG_PORT_BASE (first port tried, default 55432), DBOS_PG_DATABASE (default
# dbos_test), DBOS_PG_BIN (PostgreSQL binaries, default /usr/lib/postgresql/15/bin).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|url|restart AREA" >&2
  exit 2
}
(($# == 2)) || usage
cmd="$1"
area="$(realpath -m "$2")"

pg_bin="${DBOS_PG_BIN:-/usr/lib/postgresql/15/bin}"
port_base="${DBOS_PG_PORT_BASE:-55432}"
database="${DBOS_PG_DATABASE:-dbos_test}"

log() { echo "pg_cluster: $*" >&2; }

# Runs a command as the cluster's owner, from / (postgres may not be able to read the caller's cwd).
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# True when nothing listens on 127.0.0.1:$1.
port_free() {
  local port="$1"
  if command -v ss >/dev/null && [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]; then
    return 1
  fi
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# Prints the first free port at or after $1.
free_port_from() {
  local port="$1" last=$(($1 + 200))
  while ((port <= last)); do
    if port_free "$port"; then
      echo "$port"
      return 0
    fi
    port=$((port + 1))
  done
  log "no free port in $1..$last"
  return 1
}

# The folder holding the cluster recorded for AREA, or "" when none.
recorded_root() {
  if [[ -f "$area/location" ]]; then
    cat "$area/location"
  elif [[ -d "$area/data" ]]; then
    echo "$area"
  fi
}

# True when process $1 runs (a zombie left by a killed postmaster does not count).
pid_alive() {
  [[ "$1" =~ ^[0-9]+$ && -r "/proc/$1/stat" ]] || return 1
  local state
  state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z && "$state" != X ]]
}

stop_cluster() {
  local root pid
  root="$(recorded_root)"
  if [[ -n "$root" && -f "$root/data/postmaster.pid" ]] &&
    pid_alive "$(head -n 1 "$root/data/postmaster.pid")"; then
    log "stopping the cluster in $root"
    if ! as_pg "$pg_bin/pg_ctl" -D "$root/data" stop -m fast -w -t 30 >&2; then
      as_pg "$pg_bin/pg_ctl" -D "$root/data" stop -m immediate -w -t 30 >&2 || true
    fi
    # Last resort for a postmaster that ignored both: kill exactly the one this cluster recorded.
    if [[ -f "$root/data/postmaster.pid" ]]; then
      pid="$(head -n 1 "$root/data/postmaster.pid")"
      if pid_alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]]; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  # Delete only what this script creates: AREA itself or one of its /tmp/dbos-pg.* folders.
  if [[ -n "$root" && "$root" != "$area" && "$root" == /tmp/dbos-pg.* ]]; then
    rm -rf -- "$root"
  fi
  rm -rf -- "$area"
}

start_cluster() {
  local root port url attempt
  stop_cluster # a previous run's cluster, or a stale one left by a killed run
  mkdir -p "$area"
  chmod 755 "$area"

  root="$area"
  # 107 bytes is the limit of a unix socket path; keep a margin for "/run/.s.PGSQL.NNNNN".
  if ((EUID == 0)) && ! runuser -u postgres -- test -x "$area"; then
    root="$(mktemp -d /tmp/dbos-pg.XXXXXX)"
    log "$area is not reachable by the postgres user; the cluster lives in $root"
  elif ((${#area} > 80)); then
    root="$(mktemp -d /tmp/dbos-pg.XXXXXX)"
    log "$area is too long for a unix socket path; the cluster lives in $root"
  fi
  chmod 755 "$root"
  [[ "$root" == "$area" ]] || echo "$root" >"$area/location"

  mkdir -p "$root/data" "$root/run"
  touch "$root/postgres.log"
  if ((EUID == 0)); then
    chown postgres:postgres "$root/data" "$root/run" "$root/postgres.log"
  fi
  chmod 700 "$root/data"

  as_pg "$pg_bin/initdb" -D "$root/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
    >"$area/initdb.log" 2>&1 || {
    cat "$area/initdb.log" >&2
    log "initdb failed"
    return 1
  }
  cat >>"$root/data/postgresql.conf" <<CONF
# Added by scripts/pg_cluster.sh: a throwaway test cluster on loopback.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$root/run'
max_connections = 200
CONF

  # Another process may take the port between the probe and the bind: then try the next one.
  port="$port_base"
  for attempt in 1 2 3 4 5; do
    port="$(free_port_from "$port")"
    if as_pg "$pg_bin/pg_ctl" -D "$root/data" -l "$root/postgres.log" -o "-p $port" \
      start -w -t 60 >&2; then
      break
    fi
    if ((attempt == 5)) || ! grep -q 'could not bind\|could not create any TCP/IP sockets' \
      "$root/postgres.log"; then
      tail -n 30 "$root/postgres.log" >&2
      log "the server did not start"
      return 1
    fi
    log "port $port was taken meanwhile; trying another"
    port=$((port + 1))
  done

  for _ in $(seq 1 60); do
    if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1; then
      break
    fi
    sleep 1
  done
  "$pg_bin/pg_isready" -h 127.0.0.1 -p "$port" -t 5 >&2 || {
    tail -n 30 "$root/postgres.log" >&2
    log "the server does not accept connections"
    return 1
  }

  "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE DATABASE \"$database\"" >&2
  url="postgresql://postgres@127.0.0.1:$port/$database"
  echo "$url" >"$area/url"
  log "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') ready at $url (data: $root/data)"
  echo "$url"
}

# pg_ctl restart reuses the options the server was started with (postmaster.opts).
restart_cluster() {
  local root
  root="$(recorded_root)"
  [[ -n "$root" && -f "$root/data/postmaster.pid" ]] || { log "no running cluster in $area"; return 1; }
  as_pg "$pg_bin/pg_ctl" -D "$root/data" -l "$root/postgres.log" restart -m fast -w -t 60 >&2
}

case "$cmd" in
  start) start_cluster ;;
  restart) restart_cluster ;;
  stop) stop_cluster ;;
  url) cat "$area/url" ;;
  *) usage ;;
esac
