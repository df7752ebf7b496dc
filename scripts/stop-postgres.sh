#!/usr/bin/env bash
# Stops a cluster started by scripts/start-postgres.sh and removes its folder.
set -euo pipefail
folder="${1:?usage: scripts/stop-postgres.sh FOLDER}"
[ -f "$folder/env" ] || { echo "$folder: not a folder of scripts/start-postgres.sh" >&2; exit 1; }
bin="${POSTGRESQL_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
as_owner=()
[ "$(id -u)" -eq 0 ] && as_owner=(runuser -u nobody --)
"${as_owner[@]}" "$bin/pg_ctl" -D "$folder/data" -m immediate -w stop >/dev/null 2>&1 || true
rm -rf "$folder"
