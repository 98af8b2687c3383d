#!/usr/bin/env bash
# Installs the third-party graphql-transport-ws clients the server's
# protocol tests run (server/wsclient_test.go): the npm packages ws (a
# plain WebSocket client, to send what a correct client never would) and
# graphql-ws (the protocol's reference client, with graphql, its peer),
# into .tools/graphql-ws-clients of the repository, and writes
# .tools/bin/graphql-ws-node, node with those packages on its NODE_PATH.
# Idempotent: does nothing when those versions are already installed.
#
#   tools/install/graphql-ws-clients.sh
#
# Needs node (20 or later) and npm (Debian's nodejs and npm packages;
# installed with apt when missing). Environment: WS_VERSION (default
# 8.23.0), GRAPHQL_WS_VERSION (6.4.2), GRAPHQL_JS_VERSION (16.11.0).
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/npm-tool.sh"
dir="$root/.tools/graphql-ws-clients"
pkgs=("ws@${WS_VERSION:-8.23.0}" "graphql-ws@${GRAPHQL_WS_VERSION:-6.4.2}" "graphql@${GRAPHQL_JS_VERSION:-16.11.0}")

installed() { # PACKAGE@VERSION
  local manifest="$dir/node_modules/${1%@*}/package.json"
  [ -f "$manifest" ] && grep -q "\"version\": \"${1##*@}\"" "$manifest"
}

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  ensure_npm
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || printf '{"name":"cloud-tools-graphql-ws-clients","private":true}\n' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "${pkgs[@]}")
fi

mkdir -p "$bin"
cat > "$bin/graphql-ws-node" <<'SH'
#!/usr/bin/env bash
# node with the packages of tools/install/graphql-ws-clients.sh on its NODE_PATH.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_PATH="$here/graphql-ws-clients/node_modules${NODE_PATH:+:$NODE_PATH}" exec node "$@"
SH
chmod +x "$bin/graphql-ws-node"
"$bin/graphql-ws-node" -e 'require("ws"); require("graphql-ws")' ||
  { echo "graphql-ws clients installed but do not load" >&2; exit 1; }
echo "ws, graphql-ws: $bin/graphql-ws-node"
