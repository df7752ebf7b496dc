#!/usr/bin/env bash
# Stops a cluster started by scripts/start-postgres.sh and removes its folder.
set -euo pipefail
folder="${1:?usage: scripts/stop-postgres.sh FOLDER}"
[ -x "$folder/ctl" ] || { echo "$folder: not a folder of scripts/start-postgres.sh" >&2; exit 1; }
"$folder/ctl" stop -m immediate >/dev/null 2>&1 || true
rm -rf "$folder"
