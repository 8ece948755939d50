#!/usr/bin/env bash
# Installs DBOS Transact TypeScript 5.3.0 (npm package @dbos-inc/dbos-sdk, with the exact
# dependency versions of tests/interop/package-lock.json) into DIR/node_modules, for the
# interoperation test (tests/interop). npm's download cache is kept in DIR too. Does nothing when
# that version is already there; exits 3 when node >= 20 or npm is missing.
#
# Usage: scripts/install_ts_peer.sh DIR      (scripts/test.sh uses build/ci/interop-node)
set -euo pipefail

(($# == 1)) || { echo "usage: $0 DIR" >&2; exit 2; }
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$(realpath -m "$1")"
wanted=5.3.0

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "install_ts_peer: $tool is not installed" >&2; exit 3; }
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major < 20)); then
  echo "install_ts_peer: node $(node --version) is older than 20, which @dbos-inc/dbos-sdk $wanted needs" >&2
  exit 3
fi

installed="$dir/node_modules/@dbos-inc/dbos-sdk/package.json"
if [[ -f "$installed" ]] &&
  [[ "$(node -p "require('$installed').version")" == "$wanted" ]]; then
  echo "install_ts_peer: @dbos-inc/dbos-sdk $wanted present in $dir"
  exit 0
fi

mkdir -p "$dir"
cp "$repo/tests/interop/package.json" "$repo/tests/interop/package-lock.json" "$dir/"
echo "install_ts_peer: installing @dbos-inc/dbos-sdk $wanted into $dir"
npm_config_cache="$dir/npm-cache" npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
