#!/usr/bin/env bash
# Fresh machine to running daemon: installs what is missing, builds relyd (release), and runs it in the
# foreground on its embedded default: SQLite state and the socket under ./.relyd/. Extra arguments go to relyd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product relyd
swift build -c release --product relyctl
echo "relyd: socket ./.relyd/relyd.sock; try: .build/release/relyctl health" >&2
exec .build/release/relyd "$@"
