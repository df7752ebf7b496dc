#!/usr/bin/env bash
# Runs the benchmark (issue 7) and writes docs/BENCHMARKS.md: every figure of relyd beside a reference measured in
# the same run (redis-server, openssl speed, a Python RP, the sqlite3 CLI, psql). Installs what it needs when
# missing: redis-server, sqlite3 and PostgreSQL (a throw-away cluster of scripts/start-postgres.sh) from Debian;
# Authlib, joserfc and requests from PyPI into a venv under ~/.cache/relyd-tests/. Extra arguments go to
# relyd-bench (for example `--only transport,login --seconds 2`). Not part of scripts/test.sh; about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench

venv="$HOME/.cache/relyd-tests/bench-venv"
if ! "$venv/bin/python" -c "import authlib, joserfc, requests" 2>/dev/null; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q authlib joserfc requests
fi

swift build -c release
started=$(date -u +%s)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
command=(.build/release/relyd-bench --python "$venv/bin/python" --peer-script scripts/bench_peer.py "$@")
"${command[@]}" > "$results"
elapsed=$(( $(date -u +%s) - started ))

{
  echo "# relyd benchmarks"
  echo
  echo "Produced by \`scripts/bench.sh${*:+ $*}\`, which ran \`${command[*]}\` on $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "in ${elapsed} s: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
  echo "$(free -g | awk '/^Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), $(swift --version 2>/dev/null | head -1),"
  echo "$(openssl version), $(redis-server --version | cut -d' ' -f1-3), SQLite $(sqlite3 --version | cut -d' ' -f1),"
  echo "Python $("$venv/bin/python" -c 'import sys, authlib, joserfc; print(sys.version.split()[0], "Authlib", authlib.__version__, "joserfc", joserfc.__version__)')."
  echo
  echo "Every relyd figure stands beside a reference measured in the same run on the same machine; the ratio is the"
  echo "figure to compare between runs, since absolute numbers move with whatever else the machine is doing (other"
  echo "builds ran alongside this one). Load generators, servers and references share the same cores."
  cat "$results"
} > docs/BENCHMARKS.md
echo "wrote docs/BENCHMARKS.md (${elapsed} s)" >&2
