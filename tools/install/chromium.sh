#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser the dashboard's browser
# test (server/web) drives with chromedp. Idempotent: does nothing when
# /usr/bin/chromium already exists.
#
#   tools/install/chromium.sh
#
# Uses sudo only when not running as root; runs `apt-get update` and retries
# when the first install fails (e.g. stale package lists).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

install() {
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
}

if ! install; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  install
fi
/usr/bin/chromium --version
