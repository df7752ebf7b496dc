#!/usr/bin/env bash
# Registers a site with an OP through relyd and prints a login URL for it, as JSON on stdout: the protocol from a
# shell, with jq building and reading the JSON lines and socat (or nc -U) carrying them over the Unix socket.
#   usage: example.sh SOCKET_PATH OP_HOST REDIRECT_URI
# Exit status 1 with "error: <code>: <description>" on stderr when relyd answers with an error.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 SOCKET_PATH OP_HOST REDIRECT_URI" >&2; exit 2; }
socket_path=$1 op_host=$2 redirect_uri=$3

# One request line in, its data out; relyd answers and, at the end of our input, closes the connection.
# -t 60: socat waits that long for the answer after sending (the daemon may wait on the OP).
relyd() {
  local command=$1 params=$2 response
  if command -v socat >/dev/null; then
    response=$(jq -cn --arg command "$command" --argjson params "$params" '{id: 1, command: $command, params: $params}' \
      | socat -t 60 - "UNIX-CONNECT:$socket_path")
  else
    response=$(jq -cn --arg command "$command" --argjson params "$params" '{id: 1, command: $command, params: $params}' \
      | nc -U -q 60 "$socket_path")
  fi
  if [ "$(jq -r .status <<<"$response")" != ok ]; then
    jq -r '"error: \(.data.error): \(.data.error_description)"' <<<"$response" >&2
    exit 1
  fi
  jq -c .data <<<"$response"
}

site=$(relyd register_site "$(jq -cn --arg op "$op_host" --arg cb "$redirect_uri" \
  '{op_host: $op, authorization_redirect_uri: $cb}')")
oxd_id=$(jq -r .oxd_id <<<"$site")
login=$(relyd get_authorization_url "$(jq -cn --arg id "$oxd_id" '{oxd_id: $id}')")
jq -cn --arg oxd_id "$oxd_id" --argjson login "$login" \
  '{oxd_id: $oxd_id, authorization_url: $login.authorization_url, state: $login.state}'
