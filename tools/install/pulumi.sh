#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy into the project's tools
# directory. The CLI cannot be downloaded on our machines, and `go install
# pkg@version` refuses the pulumi/pkg module (it has replace directives), so a
# throwaway module requires pkg and sdk at the same version and builds the
# command. Idempotent: does nothing when the right version is already there.
set -euo pipefail

version="${PULUMI_VERSION:-v3.274.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="${CLOUD_TOOLS:-$root/.tools}"
dest="$tools/pulumi/$version"
bin="$dest/pulumi"

if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$version" ]; then
  ln -sfn "$bin" "$tools/bin/pulumi" 2>/dev/null || { mkdir -p "$tools/bin"; ln -sfn "$bin" "$tools/bin/pulumi"; }
  echo "pulumi $version already built: $bin"
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
