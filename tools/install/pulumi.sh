#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy into the project's tools
# directory. The CLI cannot be downloaded on our machines, and `go install
# pkg@version` refuses the pulumi/pkg module (it has replace directives), so a
# throwaway module requires pkg and sdk at the same version and builds the
# command. Then the YAML language host (pulumi-yaml), which project stacks
# with `runtime: yaml` need, goes next to it (the other language hosts cannot
# be built here). Idempotent: does nothing when the right versions are there.
set -euo pipefail

version="${PULUMI_VERSION:-v3.274.1}"
yaml_version="${PULUMI_YAML_VERSION:-v1.25.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${CLOUD_TOOLS:-$root/.tools}"
dest="$tools/pulumi/$version"
bin="$dest/pulumi"
mkdir -p "$tools/bin"

# The YAML language host: `go install` works for this module. Built after
# the CLI, so Pulumi's modules are already in the module cache.
yaml_host() {
  local ydest="$tools/pulumi-yaml/$yaml_version"
  local ybin="$ydest/pulumi-language-yaml"
  if [ ! -x "$ybin" ]; then
    echo "building pulumi-language-yaml $yaml_version..."
    mkdir -p "$ydest"
    GOBIN="$ydest" GOFLAGS="-trimpath" go install "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@$yaml_version"
  fi
  # Pulumi bundles the YAML host: it looks for it next to its own binary
  # and warns ("using pulumi-language-yaml from $PATH") on every run when
  # the one on PATH is another file. So the host is linked in beside the
  # CLI and PATH's entry names that very file.
  local beside="$dest/pulumi-language-yaml"
  if [ ! "$beside" -ef "$ybin" ]; then
    ln -f "$ybin" "$beside" 2>/dev/null || cp -f "$ybin" "$beside"
  fi
  ln -sfn "$beside" "$tools/bin/pulumi-language-yaml"
  echo "pulumi-language-yaml $yaml_version: $ybin"
}

if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$version" ]; then
  ln -sfn "$bin" "$tools/bin/pulumi"
  echo "pulumi $version already built: $bin"
  yaml_host
  exit 0
fi

mkdir -p "$dest" "$tools/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module cloud.local/pulumi-build

go 1.26
MOD
cat > tools.go <<'SRC'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
SRC
echo "building pulumi $version (first build takes several minutes)..."
export GOFLAGS="${GOFLAGS:-} -mod=mod"
go get "github.com/pulumi/pulumi/pkg/v3@$version" "github.com/pulumi/pulumi/sdk/v3@$version" >/dev/null
go build -trimpath -o "$bin.tmp" \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$bin.tmp" "$bin"
ln -sfn "$bin" "$tools/bin/pulumi"
echo "pulumi $("$bin" version) built: $bin"
yaml_host
