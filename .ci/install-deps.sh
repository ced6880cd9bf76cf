#!/usr/bin/env bash
# Installs the system packages Soot needs to build, run and test, when they are missing:
# libpq-dev and libssl-dev (linked), pkg-config (finds them), postgresql (initdb/pg_ctl for the embedded
# cluster and the tests); with --test also what the tests use: python3-venv (the codecarbon client, schemathesis,
# Selenium), chromium and chromium-driver (the browser test), prometheus (promtool and a real Prometheus) and pgbouncer
# (transaction pooling), nginx (the topology test).
set -euo pipefail
packages=(libpq-dev libssl-dev pkg-config postgresql)
[ "${1:-}" = "--test" ] && packages+=(python3-venv chromium chromium-driver prometheus pgbouncer nginx)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Soot needs: ${missing[*]} (Debian/Ubuntu names). Install them with your package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Soot needs: ${missing[*]}. Run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "Installing ${missing[*]} ..." >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
