#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the tests and prints its folder on stdout.
#
# The cluster lives in a new temporary folder (data, Unix socket and log), listens on 127.0.0.1 on a free port,
# trusts local connections (nothing but loopback reaches it) and has a superuser and a database both named relyd.
# The folder's `env` file sets RELYD_TEST_POSTGRESQL_URL to its URL. initdb refuses to run as root, so as root
# the server runs as `nobody`. fsync is off: the cluster is thrown away, and the tests' durability concerns are
# relyd's, not the disk's. Stop it with scripts/stop-postgres.sh FOLDER; with `--stop-when-gone PID` a detached
# watcher also stops it once process PID has exited (a test process that crashed or ended without cleaning up).
set -euo pipefail
# A test process may spawn this while it binds a socket under a narrow umask (umask is process-wide and inherited):
# start from the usual one, whatever the parent had at that moment.
umask 022
watched_pid=""
if [ "${1:-}" = "--stop-when-gone" ]; then watched_pid="${2:?--stop-when-gone needs a pid}"; fi

bin="${POSTGRESQL_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/install-deps.sh --test" >&2
  exit 1
fi
folder="$(mktemp -d "${TMPDIR:-/tmp}/relyd-postgres.XXXXXX")"
# A start that fails half-way leaves no server and no folder behind.
started=""
cleanup() {
  [ -n "$started" ] && return
  [ -x "$folder/ctl" ] && "$folder/ctl" stop -m immediate >/dev/null 2>&1
  rm -rf "$folder"
}
trap cleanup EXIT
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown nobody: "$folder"
  as_owner=(runuser -u nobody --)
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"${as_owner[@]}" "$bin/initdb" -D "$folder/data" -U relyd --auth=trust -E UTF8 --locale=C >"$folder/initdb.log" 2>&1 \
  || { cat "$folder/initdb.log" >&2; exit 1; }
# `FOLDER/ctl start|stop|restart [pg_ctl options]` controls this cluster, as its owner, with its settings: tests
# use it to take the server away and bring it back.
cat >"$folder/ctl" <<CTL
#!/usr/bin/env bash
exec ${as_owner[*]} "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \\
  -o "-c listen_addresses=127.0.0.1 -p $port -k $folder -c fsync=off -c max_connections=200" "\$@"
CTL
chmod +x "$folder/ctl"
"$folder/ctl" start >/dev/null || { cat "$folder/server.log" >&2; exit 1; }
"$bin/createdb" -h 127.0.0.1 -p "$port" -U relyd relyd
echo "RELYD_TEST_POSTGRESQL_URL=postgresql://relyd@127.0.0.1:$port/relyd" >"$folder/env"
started=1
if [ -n "$watched_pid" ]; then
  setsid bash -c "while kill -0 $watched_pid 2>/dev/null; do sleep 1; done; '$(dirname "$0")/stop-postgres.sh' '$folder'" \
    </dev/null >/dev/null 2>&1 &
fi
echo "$folder"
