#!/usr/bin/env bash
# Installs what relyd needs to build and test, when missing: the C libraries it links (OpenSSL 3 libcrypto,
# SQLite 3, libcurl with OpenSSL, libpq) and what the tests drive (pyca/cryptography for independent JWS checks, Python
# requests for ../shared/op/login.py, Glewlwyd, which ../shared/op/start-glewlwyd.sh would otherwise install on first use;
# Debian's PostgreSQL server and psql for the throw-away clusters of scripts/start-postgres.sh; for the client tests:
# python3-venv for their virtualenv, Chromium and its WebDriver for the browser test of the Flask demo, Node.js, socat
# and jq for the other-language examples).
set -euo pipefail

packages=(libssl-dev libsqlite3-dev libcurl4-openssl-dev libpq-dev pkg-config python3 openssl)
if [ "${1:-}" = "--test" ]; then
  packages+=(glewlwyd rnbyc postgresql)
  packages+=(python3-venv chromium chromium-driver nodejs socat jq)
fi
# scripts/bench.sh: the references it measures relyd against, and the venv of its Python peer;
# scripts/callgrind-health.sh: valgrind.
if [ "${1:-}" = "--bench" ]; then
  packages+=(redis-server sqlite3 postgresql python3-venv valgrind)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# The python3 on PATH may not be Debian's (pyenv here), so its modules are checked and installed with its own pip.
for module in requests cryptography; do
  if ! python3 -c "import $module" 2>/dev/null; then
    python3 -m pip install -q "$module"
  fi
done
if ! command -v swift >/dev/null; then
  echo "swift is not on PATH: install the Swift 6 toolchain (https://www.swift.org/install/linux/)" >&2
  exit 1
fi
