"""The browser's HTTP proxy in the end-to-end test: passes every request through unchanged, except that it
repairs how Glewlwyd serves its own web app (the login page), which no browser could otherwise show.

The Glewlwyd that ../shared/op/start-glewlwyd.sh configures has no ``static_files_mime_types``, so it serves its
login page as ``application/octet-stream`` (a browser downloads it instead of showing it); and Debian's
glewlwyd-common links jQuery, Bootstrap and Fork Awesome into the web app from other packages' folders, which
Glewlwyd refuses to serve (404). Scripts (login.py) do not care; Chromium does. So for the OP's web-app files
this proxy sets the Content-Type from the file name and, where Glewlwyd answers 404, serves the file from the
web app's folder on disk. Every OP API call (``/api/...``) and the demo app's traffic pass unchanged. HTTPS to
the OP is terminated here with the OP's own test certificate and forwarded over TLS verified against its CA.
"""

import http.client
import mimetypes
import socketserver
import ssl
import threading
import urllib.parse
from pathlib import Path
from typing import Dict

_HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "content-length"}


class ContentTypeProxy:
    def __init__(self, certificate: str, key: str, upstream_ca: str, web_app_folder: str,
                 replacements: Dict[str, bytes]) -> None:
        self.web_app_folder = Path(web_app_folder).resolve()
        self.replacements = replacements
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_context.load_cert_chain(certificate, key)
        self.upstream_context = ssl.create_default_context(cafile=upstream_ca)
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                proxy.serve(self.connection, self.rfile)

        socketserver.ThreadingTCPServer.daemon_threads = True
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, connection, reader) -> None:
        head = _read_head(reader)
        if head is None:
            return
        method, target, headers = head
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            tls = self.server_context.wrap_socket(connection, server_side=True)
            reader = tls.makefile("rb")
            while (head := _read_head(reader)) is not None:
                method, path, headers = head
                self.forward(tls, reader, "https", host, int(port), method, path, headers)
            return
        while head is not None:
            method, target, headers = head
            url = urllib.parse.urlsplit(target)
            path = url.path + (f"?{url.query}" if url.query else "")
            self.forward(connection, reader, url.scheme, url.hostname, url.port or 80, method, path, headers)
            head = _read_head(reader)

    def forward(self, client, reader, scheme, host, port, method, path, headers) -> None:
        length = int(next((value for name, value in headers if name.lower() == "content-length"), "0"))
        body = reader.read(length) if length else None
        if scheme == "https":
            upstream = http.client.HTTPSConnection(host, port, context=self.upstream_context, timeout=60)
        else:
            upstream = http.client.HTTPConnection(host, port, timeout=60)
        try:
            upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    upstream.putheader(name, value)
            if body is not None:
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body)
            response = upstream.getresponse()
            status, reason, content = response.status, response.reason, response.read()
            response_headers = [(name, value) for name, value in response.getheaders()
                                if name.lower() not in _HOP_BY_HOP]
        except OSError:
            # Chromium's own background requests to the Internet, which this machine may not reach.
            status, reason, content, response_headers = 502, "Bad Gateway", b"", []
        finally:
            upstream.close()
        file_path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        guessed = mimetypes.guess_type(file_path)[0]
        if scheme == "https" and guessed and not file_path.startswith("/api/"):
            local = self.web_app_folder / file_path.lstrip("/")
            if file_path in self.replacements:
                status, reason, content = 200, "OK", self.replacements[file_path]
            elif status == 404 and method == "GET" and ".." not in file_path.split("/") and local.is_file():
                status, reason, content = 200, "OK", local.read_bytes()
            response_headers = [(name, value) for name, value in response_headers if name.lower() != "content-type"]
            response_headers.append(("Content-Type", guessed))
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{name}: {value}" for name, value in response_headers]
        lines += [f"Content-Length: {len(content)}", "", ""]
        client.sendall("\r\n".join(lines).encode("latin-1") + content)


def _read_head(reader):
    """The request line and headers of the next request, or None when the browser closed the connection."""
    try:
        line = reader.readline(65536)
    except (OSError, ssl.SSLError):
        return None
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    while True:
        header = reader.readline(65536).decode("latin-1").rstrip("\r\n")
        if not header:
            return method, target, headers
        name, _, value = header.partition(":")
        headers.append((name.strip(), value.strip()))
