#!/usr/bin/env bash
# Debian packages the test suite needs; installs only what is missing (needs root or sudo).
set -euo pipefail
# nginx: the deployment test puts two app processes behind it (deploy/); its service is never started here
packages=(chromium fonts-noto-cjk poppler-utils nginx)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  # no package may start a service while it installs (nginx would take port 80): policy-rc.d says "denied"
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && own_policy=1
  fi
  trap 'if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; fi' EXIT
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
