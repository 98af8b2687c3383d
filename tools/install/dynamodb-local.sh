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

. "$(dirname "${BASH_SOURCE[0]}")/npm-tool.sh"
version="${DYNALITE_VERSION:-4.0.0}"
npm_tool dynalite dynalite "$version"
"$bin/dynalite" --help >/dev/null 2>&1 || { echo "dynalite $version installed but does not run" >&2; exit 1; }
echo "dynalite $version: $bin/dynalite"
