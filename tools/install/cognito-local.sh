#!/usr/bin/env bash
# Installs cognito-local, the Cognito user pool emulator (users, groups,
# app clients, InitiateAuth, RS256 tokens and a JWKS) the auth packages'
# tests run against, into .tools/cognito-local of the repository, and links
# .tools/bin/cognito-local to it. Idempotent: does nothing when that version
# is already installed.
#
#   tools/install/cognito-local.sh
#
# Needs node and npm (Debian's nodejs and npm packages; installed with apt
# when missing). Environment: COGNITO_LOCAL_VERSION (default 5.3.0).
#
# cognito-local keeps its state in .cognito/ under its working directory and
# reads its port from PORT; auth/cognitolocal runs it in a temporary
# directory per test. It signs every token with one key pair shipped in the
# package, so its tokens prove nothing outside tests.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/npm-tool.sh"
version="${COGNITO_LOCAL_VERSION:-5.3.0}"
npm_tool cognito-local cognito-local "$version"

# It has no --help or --version: start it on a free port in a scratch
# directory (it writes .cognito/ there) and wait for it to say it listens.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && PORT=0 HOST=127.0.0.1 AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1 exec "$bin/cognito-local") >"$tmp/log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 300); do
  grep -q "Cognito Local running on" "$tmp/log" && { ok=1; break; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -n "$ok" ] || { echo "cognito-local $version installed but does not run:" >&2; cat "$tmp/log" >&2; exit 1; }
echo "cognito-local $version: $bin/cognito-local"
