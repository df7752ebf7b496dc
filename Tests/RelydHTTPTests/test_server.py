#!/usr/bin/env python3
"""A small HTTP(S) server for RelydHTTPTests. Standard library only.

usage: test_server.py [--cert CHAIN.pem --key KEY.pem] [--host ADDRESS]

Binds ADDRESS (default 127.0.0.1; use another loopback address, never a public one) on a free port, prints "PORT <n>" on stdout once listening, and serves until stdin is closed
(the test process exits or closes the pipe) or it receives SIGTERM.

Routes:
  GET  /json              small JSON document
  ANY  /echo              JSON {"method", "header" (X-Test), "body", "content_type"}; response header X-Echo-Method
  GET  /slow?ms=N         answers after N milliseconds
  GET  /hang              never answers
  GET  /big?bytes=N       N bytes with Content-Length; add &nolength=1 to omit it (body ends at connection close)
  GET  /redirect          302 to http://other.invalid/elsewhere
  GET  /status/N          empty response with status N
  GET  /continue          an interim "100 Continue" block with its own header, then 200
  GET  /headers           repeated and mixed-case response headers
  GET  /peer              the client's TCP port (equal ports on two requests mean the connection was reused)
"""
import http.server
import json
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive, so the client can reuse connections
    disable_nagle_algorithm = True     # otherwise Nagle + delayed ACK cost 40 ms per response
    wbufsize = -1

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _route(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        body = self._body()
        if path == "/json":
            self._send(200, b'{"issuer":"http://127.0.0.1","ok":true}', [("Content-Type", "application/json")])
        elif path == "/echo":
            doc = {
                "method": self.command,
                "header": self.headers.get("X-Test"),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(doc, sort_keys=True).encode(),
                       [("Content-Type", "application/json"), ("X-Echo-Method", self.command)])
        elif path == "/slow":
            time.sleep(int(query.get("ms", ["100"])[0]) / 1000.0)
            self._send(200, b"slow")
        elif path == "/hang":
            time.sleep(3600)
        elif path == "/big":
            n = int(query.get("bytes", ["0"])[0])
            payload = b"x" * n
            if query.get("nolength"):
                self.close_connection = True
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            else:
                self._send(200, payload)
        elif path == "/redirect":
            self._send(302, b"moved", [("Location", "http://other.invalid/elsewhere")])
        elif path.startswith("/status/"):
            self._send(int(path[len("/status/"):]))
        elif path == "/continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
            self.wfile.flush()
            self._send(200, b"after continue", [("X-Final", "yes")])
        elif path == "/peer":
            self._send(200, str(self.client_address[1]).encode())
        elif path == "/headers":
            self._send(200, b"h", [("X-Mixed-Case", "Value"), ("X-Repeated", "first"), ("X-Repeated", "second"),
                                   ("X-Padded", " \t padded value\t "), ("X-Empty", ""),
                                   # send_header encodes latin-1: these two characters are the UTF-8 of é.
                                   ("X-Utf8", "caf\u00c3\u00a9")])
        else:
            self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256           # many concurrent connects must not overflow the backlog
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # clients aborting TLS handshakes are expected
        pass


def main():
    args = sys.argv[1:]
    cert = key = None
    host = "127.0.0.1"
    while args:
        flag = args.pop(0)
        if flag == "--cert":
            cert = args.pop(0)
        elif flag == "--key":
            key = args.pop(0)
        elif flag == "--host":
            host = args.pop(0)
        else:
            sys.exit("unknown argument " + flag)
    server = Server((host, 0), Handler)
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        # Handshake in the handler thread, not in accept(): a client that stalls must not block the server.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        sys.stdin.read()               # returns at EOF: the test process closed the pipe or died
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
