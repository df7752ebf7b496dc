"""A blocking, thread-safe client of the relyd daemon (docs/PROTOCOL.md)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
import time
from typing import Any, Dict, List, Optional

from .errors import CONNECTION_FAILED, CONNECTION_LOST, PROTOCOL_VIOLATION, TIMEOUT, RelydError
from .results import (JWKS, AuthorizationURL, ClientToken, Health, IdTokenCheck, Introspection, LogoutToken,
                      LogoutURI, RegisteredSite, RemovedSite, Site, Stats, Tokens, UserInfo, from_data)

#: Commands sent a second time, on a fresh connection, when the connection broke after the request went out.
#: Each only reads, or makes something the daemon throws away unused (a pending login state, a cached client
#: token). Every other command (``register_site``, ``get_tokens_by_code``, refresh, revocation, ...) changes
#: something or redeems something once, so after a broken connection it fails with ``connection_lost`` and the
#: caller decides.
RETRIED_COMMANDS = frozenset({
    "health", "stats", "get_site", "list_sites", "get_discovery", "get_issuer", "get_jwks",
    "get_authorization_url", "get_logout_uri", "get_user_info", "check_id_token", "introspect_access_token",
    "get_client_token",
})

_MAXIMUM_RESPONSE_BYTES = 16 * 1024 * 1024


def default_socket_path() -> str:
    """``$RELYD_SOCKET`` when set and not empty, otherwise the daemon's embedded default ``./.relyd/relyd.sock``."""
    return os.environ.get("RELYD_SOCKET") or "./.relyd/relyd.sock"


class _SendFailure(Exception):
    def __init__(self, written: int, error: OSError) -> None:
        super().__init__(str(error))
        self.written = written


class _Connection:
    """One socket to the daemon with its read buffer; used by one thread at a time."""

    def __init__(self, path: str, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.buffer = bytearray()
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise

    def send_line(self, line: bytes, deadline: float) -> None:
        """Writes the whole line; MSG_NOSIGNAL turns a closed peer into EPIPE even where SIGPIPE is not ignored."""
        written = 0
        while written < len(line):
            try:
                self.sock.settimeout(max(0.001, deadline - time.monotonic()))
                written += self.sock.send(line[written:], socket.MSG_NOSIGNAL)
            except OSError as error:
                raise _SendFailure(written, error) from error

    def read_line(self, deadline: float) -> bytes:
        """Returns the next line without its newline; ``EOFError`` when the daemon closed the connection."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                return line
            if len(self.buffer) > _MAXIMUM_RESPONSE_BYTES:
                raise RelydError(PROTOCOL_VIOLATION, f"a response is longer than {_MAXIMUM_RESPONSE_BYTES} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout()
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError()
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class Client:
    """A client of relyd over its Unix socket, with one method per command of docs/PROTOCOL.md.

    ::

        from relyd import Client, RelydError

        relyd = Client("/run/relyd/relyd.sock")
        site = relyd.register_site(op_host="https://op.example",
                                   authorization_redirect_uri="https://app.example/callback")
        login = relyd.get_authorization_url(site.oxd_id)      # redirect the browser to login.authorization_url
        try:
            tokens = relyd.get_tokens_by_code(site.oxd_id, code=code, state=state)
        except RelydError as error:
            if error.code != "invalid_state":
                raise
            # a stale or replayed callback: start the login again

    **Threads.** One ``Client`` may be shared by any number of threads (a WSGI app's workers, for example).
    Each request borrows an idle connection or opens one, so requests from different threads run side by side
    and a slow OP call does not hold the others up; at most ``max_idle_connections`` idle connections are kept.
    A connection is never used by two threads at once.

    **Timeouts.** ``timeout`` (seconds, default 30: the daemon may wait on the OP) bounds each request, from
    connecting to the last byte of the answer. After a timeout the connection is closed, since its answer may
    still come, and the request fails with ``timeout``: it may have been carried out.

    **Reconnecting.** A connection found broken (the daemon restarted) is replaced. A request is sent again on
    the new connection only when that is safe: when not a byte of it had been written, or when the command is in
    :data:`RETRIED_COMMANDS` (it only reads, or makes nothing that matters when made twice). Commands outside that
    set (``register_site``, ``get_tokens_by_code``, ``get_access_token_by_refresh_token``, ``revoke_token``,
    ``update_site``, ``remove_site``, ``validate_logout_token``) are never sent twice: a connection that breaks
    after they went out gives ``connection_lost``, and the request may have been carried out.

    Every failure is a :class:`RelydError`; its ``code`` is the daemon's wire code or a local one.
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: float = 30.0,
                 max_idle_connections: int = 4) -> None:
        self.socket_path = socket_path or default_socket_path()
        self.timeout = timeout
        self._max_idle = max(1, max_idle_connections)
        self._idle: List[_Connection] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False

    def close(self) -> None:
        """Closes the idle connections; requests under way finish, and later ones fail with connection_failed."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # Sending

    def call(self, command: str, params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Sends any command by name and returns the response's ``data``; for commands newer than this library."""
        with self._lock:
            request_id = next(self._ids)
        line = json.dumps({"id": request_id, "command": command, "params": params or {}},
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        deadline = time.monotonic() + self.timeout
        may_resend = command in RETRIED_COMMANDS
        while True:
            connection, reused = self._borrow(deadline)
            try:
                connection.send_line(line, deadline)
                response = connection.read_line(deadline)
            except _SendFailure as failure:
                self._discard(connection)
                if failure.written == 0 and reused:
                    continue  # a stale connection: the daemon never saw the request
                if failure.written == 0:
                    raise RelydError(CONNECTION_FAILED, f"cannot write to relyd: {failure}; the request was not sent")
                raise RelydError(CONNECTION_LOST, f"writing the request failed midway: {failure}; "
                                                  "it may have been carried out") from None
            except socket.timeout:
                self._discard(connection)
                raise RelydError(TIMEOUT, f"no answer from relyd within {self.timeout} s; "
                                          "the request may have been carried out") from None
            except (EOFError, OSError) as error:
                self._discard(connection)
                if reused and may_resend:
                    may_resend = False
                    continue
                raise RelydError(CONNECTION_LOST, f"the connection to relyd broke before the answer ({error!r}); "
                                                  "the request may have been carried out") from None
            except RelydError:
                self._discard(connection)
                raise
            try:
                data = self._decode(response, request_id)
            except RelydError as error:
                if error.code == PROTOCOL_VIOLATION:
                    self._discard(connection)
                else:
                    self._give_back(connection)
                raise
            self._give_back(connection)
            return data

    def _borrow(self, deadline: float) -> "tuple[_Connection, bool]":
        with self._lock:
            if self._closed:
                raise RelydError(CONNECTION_FAILED, "the client was closed")
            if self._idle:
                return self._idle.pop(), True
        try:
            return _Connection(self.socket_path, max(0.001, deadline - time.monotonic())), False
        except OSError as error:
            raise RelydError(CONNECTION_FAILED,
                             f"cannot connect to '{self.socket_path}': {error}; is relyd running?") from None

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _discard(self, connection: _Connection) -> None:
        """Closes a failed connection and the idle ones too: when one broke, the daemon most likely restarted."""
        with self._lock:
            idle, self._idle = self._idle, []
        for each in [connection] + idle:
            each.close()

    @staticmethod
    def _decode(line: bytes, request_id: int) -> Dict[str, Any]:
        try:
            response = json.loads(line)
        except ValueError:
            raise RelydError(PROTOCOL_VIOLATION, "relyd sent a line that is not JSON") from None
        if not isinstance(response, dict) or not isinstance(response.get("data"), dict):
            raise RelydError(PROTOCOL_VIOLATION, "relyd sent a line that is not a response")
        # A null id answers a request the daemon could not read; one connection carries one request at a time.
        if response.get("id") not in (request_id, None):
            raise RelydError(PROTOCOL_VIOLATION, f"relyd answered id {response.get('id')!r}, not {request_id}")
        data = response["data"]
        status = response.get("status")
        if status == "ok":
            return data
        if status == "error" and isinstance(data.get("error"), str):
            raise RelydError(data["error"], str(data.get("error_description", "")))
        raise RelydError(PROTOCOL_VIOLATION, f"relyd sent a response with status {status!r}")

    def _send(self, command: str, **params: Any) -> Dict[str, Any]:
        return self.call(command, {name: value for name, value in params.items() if value is not None})

    # Commands, in the order of docs/PROTOCOL.md

    def register_site(self, op_host: str, authorization_redirect_uri: str, *,
                      post_logout_redirect_uri: Optional[str] = None, scope: Optional[List[str]] = None,
                      client_name: Optional[str] = None, grant_types: Optional[List[str]] = None,
                      response_types: Optional[List[str]] = None,
                      token_endpoint_auth_method: Optional[str] = None, signing_alg: Optional[str] = None,
                      id_token_signed_response_alg: Optional[str] = None, client_id: Optional[str] = None,
                      client_secret: Optional[str] = None, authorization_endpoint: Optional[str] = None,
                      token_endpoint: Optional[str] = None,
                      userinfo_endpoint: Optional[str] = None) -> RegisteredSite:
        """Discovers the OP and registers a client (or adopts ``client_id``); never retried."""
        data = self._send("register_site", op_host=op_host, authorization_redirect_uri=authorization_redirect_uri,
                          post_logout_redirect_uri=post_logout_redirect_uri, scope=scope, client_name=client_name,
                          grant_types=grant_types, response_types=response_types,
                          token_endpoint_auth_method=token_endpoint_auth_method, signing_alg=signing_alg,
                          id_token_signed_response_alg=id_token_signed_response_alg, client_id=client_id,
                          client_secret=client_secret, authorization_endpoint=authorization_endpoint,
                          token_endpoint=token_endpoint, userinfo_endpoint=userinfo_endpoint)
        return from_data(RegisteredSite, data, "register_site")

    def get_authorization_url(self, oxd_id: str, *, scope: Optional[List[str]] = None,
                              acr_values: Optional[List[str]] = None, prompt: Optional[str] = None,
                              max_age: Optional[int] = None, login_hint: Optional[str] = None,
                              ui_locales: Optional[List[str]] = None, claims: Optional[Dict[str, Any]] = None,
                              response_mode: Optional[str] = None,
                              custom_parameters: Optional[Dict[str, str]] = None) -> AuthorizationURL:
        """A login URL with a fresh state, nonce and PKCE challenge."""
        data = self._send("get_authorization_url", oxd_id=oxd_id, scope=scope, acr_values=acr_values,
                          prompt=prompt, max_age=max_age, login_hint=login_hint, ui_locales=ui_locales,
                          claims=claims, response_mode=response_mode, custom_parameters=custom_parameters)
        return from_data(AuthorizationURL, data, "get_authorization_url")

    def get_tokens_by_code(self, oxd_id: str, code: str, state: str, *, iss: Optional[str] = None) -> Tokens:
        """Redeems the code and state of the OP's redirect; the ID token comes back validated. Never retried."""
        data = self._send("get_tokens_by_code", oxd_id=oxd_id, code=code, state=state, iss=iss)
        return from_data(Tokens, data, "get_tokens_by_code")

    def get_user_info(self, oxd_id: str, access_token: str) -> UserInfo:
        """The userinfo claims for an access token."""
        return from_data(UserInfo, self._send("get_user_info", oxd_id=oxd_id, access_token=access_token),
                         "get_user_info")

    def health(self) -> Health:
        """The daemon's status, version and uptime; never calls the OP."""
        return from_data(Health, self._send("health"), "health")

    def update_site(self, oxd_id: str, *, authorization_redirect_uri: Optional[str] = None,
                    post_logout_redirect_uri: Optional[str] = None, scope: Optional[List[str]] = None,
                    client_name: Optional[str] = None, grant_types: Optional[List[str]] = None,
                    response_types: Optional[List[str]] = None,
                    id_token_signed_response_alg: Optional[str] = None) -> Site:
        """Changes the given metadata, at the OP too for a dynamically registered client; never retried."""
        data = self._send("update_site", oxd_id=oxd_id, authorization_redirect_uri=authorization_redirect_uri,
                          post_logout_redirect_uri=post_logout_redirect_uri, scope=scope, client_name=client_name,
                          grant_types=grant_types, response_types=response_types,
                          id_token_signed_response_alg=id_token_signed_response_alg)
        return from_data(Site, data, "update_site")

    def remove_site(self, oxd_id: str) -> RemovedSite:
        """Forgets the site and deregisters its client at the OP where possible; never retried."""
        return from_data(RemovedSite, self._send("remove_site", oxd_id=oxd_id), "remove_site")

    def get_site(self, oxd_id: str) -> Site:
        """The site's stored metadata, without secrets."""
        return from_data(Site, self._send("get_site", oxd_id=oxd_id), "get_site")

    def list_sites(self) -> List[Site]:
        """Every site's metadata, sorted by oxd_id."""
        sites = self._send("list_sites").get("sites")
        if not isinstance(sites, list):
            raise RelydError(PROTOCOL_VIOLATION, "list_sites: the result has no list 'sites'")
        return [from_data(Site, site, "list_sites") for site in sites]

    def get_discovery(self, *, op_host: Optional[str] = None, oxd_id: Optional[str] = None) -> Dict[str, Any]:
        """The OP's discovery document, by issuer or by one of its sites."""
        document = self._send("get_discovery", op_host=op_host, oxd_id=oxd_id).get("discovery")
        if not isinstance(document, dict):
            raise RelydError(PROTOCOL_VIOLATION, "get_discovery: the result has no object 'discovery'")
        return document

    def get_issuer(self, resource: str) -> str:
        """The issuer of ``acct:user@host``, ``user@host`` or an https URL, found by WebFinger."""
        issuer = self._send("get_issuer", resource=resource).get("issuer")
        if not isinstance(issuer, str):
            raise RelydError(PROTOCOL_VIOLATION, "get_issuer: the result has no string 'issuer'")
        return issuer

    def get_logout_uri(self, oxd_id: str, *, id_token_hint: Optional[str] = None,
                       post_logout_redirect_uri: Optional[str] = None, state: Optional[str] = None,
                       ui_locales: Optional[List[str]] = None) -> LogoutURI:
        """The OP's RP-initiated logout URL to send the browser to."""
        data = self._send("get_logout_uri", oxd_id=oxd_id, id_token_hint=id_token_hint,
                          post_logout_redirect_uri=post_logout_redirect_uri, state=state, ui_locales=ui_locales)
        return from_data(LogoutURI, data, "get_logout_uri")

    def validate_logout_token(self, oxd_id: str, logout_token: str) -> LogoutToken:
        """Checks a back-channel logout token; never retried, since a second try would be refused as a replay."""
        data = self._send("validate_logout_token", oxd_id=oxd_id, logout_token=logout_token)
        return from_data(LogoutToken, data, "validate_logout_token")

    def get_access_token_by_refresh_token(self, oxd_id: str, refresh_token: str, *,
                                          scope: Optional[List[str]] = None) -> Tokens:
        """New tokens for a refresh token; never retried, since the OP may rotate (use up) the refresh token."""
        data = self._send("get_access_token_by_refresh_token", oxd_id=oxd_id, refresh_token=refresh_token,
                          scope=scope)
        return from_data(Tokens, data, "get_access_token_by_refresh_token")

    def get_client_token(self, oxd_id: str, *, scope: Optional[List[str]] = None) -> ClientToken:
        """A token for the site itself (client credentials), cached by the daemon."""
        return from_data(ClientToken, self._send("get_client_token", oxd_id=oxd_id, scope=scope),
                         "get_client_token")

    def introspect_access_token(self, oxd_id: str, token: str, *,
                                token_type_hint: Optional[str] = None) -> Introspection:
        """The OP's introspection answer for a token (RFC 7662)."""
        data = self._send("introspect_access_token", oxd_id=oxd_id, token=token, token_type_hint=token_type_hint)
        if not isinstance(data.get("active"), bool):
            raise RelydError(PROTOCOL_VIOLATION, "introspect_access_token: the result has no boolean 'active'")
        return Introspection(active=data["active"], response=data)

    def revoke_token(self, oxd_id: str, token: str, *, token_type_hint: Optional[str] = None) -> None:
        """Revokes an access or refresh token at the OP (RFC 7009); returns when the OP accepted."""
        self._send("revoke_token", oxd_id=oxd_id, token=token, token_type_hint=token_type_hint)

    def check_id_token(self, oxd_id: str, id_token: str, *, nonce: Optional[str] = None,
                       access_token: Optional[str] = None) -> IdTokenCheck:
        """Validates an ID token the app holds; an invalid one raises ``id_token_invalid``."""
        data = self._send("check_id_token", oxd_id=oxd_id, id_token=id_token, nonce=nonce, access_token=access_token)
        return from_data(IdTokenCheck, data, "check_id_token")

    def get_jwks(self, oxd_id: str) -> JWKS:
        """The site's public JWK Set (``private_key_jwt``); empty for sites without a key."""
        return from_data(JWKS, self._send("get_jwks", oxd_id=oxd_id), "get_jwks")

    def stats(self) -> Stats:
        """Uptime, requests and errors per command, connections and store size."""
        return from_data(Stats, self._send("stats"), "stats")
