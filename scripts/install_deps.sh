#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and running the demo need. Idempotent:
# asks dpkg first and calls apt-get only when something is missing, so a second run is instant.
# Run as root (or as a user with sudo).
#
# Names checked against Debian 12 (bookworm). PostgreSQL is pinned to 15, bookworm's version:
# `postgresql-15`/`postgresql-client-15` are what the metapackages `postgresql`/`postgresql-client`
# pull in, and scripts/pg_cluster.sh runs the 15 binaries from /usr/lib/postgresql/15/bin.
#
# node is not installed here: the interoperation test (tests/interop) needs node >= 20, newer than
# bookworm's 18. When a node >= 20 is on PATH, scripts/test.sh installs DBOS Transact TypeScript
# 5.3.0 from npm into the build folder (scripts/install_ts_peer.sh); otherwise that test is skipped
# and says why.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache
  libpq-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libssl-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-client-15
  clang-format
  libhowardhinnant-date-dev tzdata
)

missing=()
for pkg in "${packages[@]}"; do
  # "ii " = installed and configured; anything else (absent, half-installed, removed) is missing.
  if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)" != "ii " ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install_deps: run as root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
