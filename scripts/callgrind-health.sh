#!/usr/bin/env bash
# Counts relyd's user-space instructions per `health` request at 64 connections under valgrind's callgrind: the
# figure does not move with the machine's load, so a change of a few percent in the request path shows, where
# relyd-bench's throughput moves by more between two runs of the same build. Builds release unless RELYD is given.
# Prints the count and the callgrind file (read it with `callgrind_annotate --auto=no FILE | swift demangle`).
#
# usage: scripts/callgrind-health.sh [REQUESTS (default 6000)]     RELYD=path/to/relyd to measure another build
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-6000}"
scripts/install-deps.sh --bench
relyd="${RELYD:-}"
if [ -z "$relyd" ]; then
  swift build -c release --product relyd >&2
  relyd=.build/release/relyd
fi
work=$(mktemp -d /tmp/relyd-callgrind.XXXXXX)
printf 'socket_path = %s\nstate_dir = %s\nlog_level = warning\nmax_connections_per_uid = 2000\n' \
  "$work/relyd.sock" "$work/state" > "$work/relyd.cfg"
# Instrumentation starts off: start-up is not counted, only the requests after a warm-up.
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$relyd" --config "$work/relyd.cfg" > "$work/valgrind.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -S "$work/relyd.sock" ] && break; sleep 0.2; done
[ -S "$work/relyd.sock" ] || { echo "relyd did not start under valgrind: $work/valgrind.log" >&2; exit 1; }

# 64 connections, one request outstanding on each; callgrind counts between `-i on` and the dump.
python3 - "$work/relyd.sock" "$requests" "$daemon" <<'PYTHON'
import selectors, socket, subprocess, sys
path, total, daemon = sys.argv[1], int(sys.argv[2]), sys.argv[3]
request = b'{"id":1,"command":"health"}\n'
connections = []
for _ in range(64):
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(path)
    connection.setblocking(False)
    connections.append(connection)
selector = selectors.DefaultSelector()
for connection in connections:
    selector.register(connection, selectors.EVENT_READ)

def run(count):
    sent = answered = 0
    for connection in connections:
        connection.send(request)
        sent += 1
    while answered < count:
        for key, _ in selector.select():
            if b"\n" in key.fileobj.recv(65536):
                answered += 1
                if sent < count:
                    key.fileobj.send(request)
                    sent += 1

run(500)
subprocess.run(["callgrind_control", "-i", "on", daemon], check=True, capture_output=True)
run(total)
subprocess.run(["callgrind_control", "-d", daemon], check=True, capture_output=True)
PYTHON

dump=$(ls "$work"/callgrind.out.* | head -1)
instructions=$(awk '/^summary:/ {print $2}' "$dump")
echo "$((instructions / requests)) user-space instructions per health request ($instructions over $requests; $dump)"
