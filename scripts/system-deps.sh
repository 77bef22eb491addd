#!/usr/bin/env bash
# Debian packages the platform and its tests need, installed only when missing (idempotent).
# PostgreSQL itself is provided by the machine; its client tools are listed for pg_isready/psql.
set -euo pipefail
PACKAGES=(postgresql-client chromium fonts-noto-cjk fonts-wqy-zenhei poppler-utils libnss3-tools)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# npm installs the front-end packages (package.json); Node.js usually comes with the machine.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
