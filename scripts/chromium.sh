#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing: the console's browser tests
# (internal/web) drive it headless through chromedp. Safe to run again and again.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "chromium: installing Debian's chromium for the console's browser tests"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium
fi
