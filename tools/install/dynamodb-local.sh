#!/usr/bin/env bash
# Installs dynalite, the DynamoDB-compatible server (LevelDB underneath) the
# sync engine's tests run against, into .tools/dynalite of the repository,
# and links .tools/bin/dynalite to it. Idempotent: does nothing when that
# version is already installed.
#
#   tools/install/dynamodb-local.sh
#
# Needs node and npm (Debian's nodejs and npm packages; installed with apt
# when missing). Environment: DYNALITE_VERSION (default 4.0.0).
#
# dynalite implements the item, query, scan, batch and table APIs with
# conditions and global secondary indexes, and TTL settings; it does not
# implement transactions or streams, and the sync engine does not use them.
# Amazon's DynamoDB Local is not used: its licence does not allow it here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="${DYNALITE_VERSION:-4.0.0}"
dir="$root/.tools/dynalite"
bin="$root/.tools/bin"

installed() {
  [ -f "$dir/node_modules/dynalite/package.json" ] &&
    grep -q "\"version\": \"$version\"" "$dir/node_modules/dynalite/package.json"
}

if ! command -v npm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ||
    { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }
fi

if ! installed; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || printf '{"name":"cloud-tools-dynalite","private":true}\n' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "dynalite@$version")
fi

mkdir -p "$bin"
ln -sf "../dynalite/node_modules/.bin/dynalite" "$bin/dynalite"
"$bin/dynalite" --help >/dev/null 2>&1 || { echo "dynalite $version installed but does not run" >&2; exit 1; }
echo "dynalite $version: $bin/dynalite"
