# Sourced by the install scripts of the npm-packaged development servers
# (dynamodb-local.sh, cognito-local.sh): one way to get npm and to install
# a pinned package into .tools/<name>, linked from .tools/bin.
#
#   npm_tool NAME PACKAGE VERSION   # installs PACKAGE@VERSION unless there, links .tools/bin/NAME

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.tools/bin"

ensure_npm() {
  command -v npm >/dev/null 2>&1 && return
  local sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ||
    { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }
}

npm_tool() {
  local name="$1" pkg="$2" version="$3"
  local dir="$root/.tools/$name"
  local manifest="$dir/node_modules/$pkg/package.json"
  if ! { [ -f "$manifest" ] && grep -q "\"version\": \"$version\"" "$manifest"; }; then
    ensure_npm
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || printf '{"name":"cloud-tools-%s","private":true}\n' "$name" > "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$pkg@$version")
  fi
  mkdir -p "$bin"
  ln -sf "../$name/node_modules/.bin/$pkg" "$bin/$name"
}
