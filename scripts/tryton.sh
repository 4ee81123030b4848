#!/usr/bin/env bash
# Makes sure a Tryton server and the modules the tryton driver's tests activate are
# installed (Debian packages). The tests create their own databases and start their own
# trytond on free loopback ports (internal/drivers/tryton/trytontest). Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(tryton-server tryton-modules-sale tryton-modules-stock tryton-modules-product tryton-modules-party)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tryton: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v trytond >/dev/null && command -v trytond-admin >/dev/null
