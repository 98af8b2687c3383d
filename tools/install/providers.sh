#!/usr/bin/env bash
# Builds the project's own Pulumi resource provider plugins into the tools
# directory (.tools/bin by default), next to the Pulumi CLI. The runner puts
# the CLI's directory first on PATH, and the engine picks up any
# pulumi-resource-NAME binary on PATH as an ambient plugin — so building here
# is all the "installation" a provider needs; nothing can be downloaded on
# our machines anyway.
#
#   tools/install/providers.sh
#
# Today that is one provider, pulumi-resource-localfile (providers/localfile),
# which manages local files so refresh and drift detection can be tested
# offline. Idempotent: go's build cache makes an unchanged rebuild cheap, and
# the binary is replaced by an atomic rename so an engine starting the plugin
# meanwhile never sees a half-written file. Environment: GO (default go),
# CLOUD_TOOLS (default .tools under the repository root).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
go_cmd="${GO:-go}"
tools="${CLOUD_TOOLS:-$root/.tools}"
mkdir -p "$tools/bin"

for name in localfile; do
  bin="$tools/bin/pulumi-resource-$name"
  tmp="$(mktemp "$tools/bin/.pulumi-resource-$name.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  "$go_cmd" build -trimpath -o "$tmp" "./cmd/pulumi-resource-$name"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin"
  trap - EXIT
  echo "built $bin"
done
