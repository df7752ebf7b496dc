"""The relyd Python client against the real daemon (and, for fault injection, a scripted fake daemon)."""

import json
import shutil
import socket
import threading
import time

import pytest

from relyd import (CONNECTION_FAILED, CONNECTION_LOST, PROTOCOL_VIOLATION, RETRIED_COMMANDS, TIMEOUT, Client,
                   RelydError, default_socket_path)
from relyd_fixtures import short_temporary_directory

REDIRECT_URI = "http://127.0.0.1:8765/callback"
POST_LOGOUT_URI = "http://127.0.0.1:8765/logged-out"


def error_code(call) -> str:
    with pytest.raises(RelydError) as raised:
        call()
    return raised.value.code


# Against the real daemon, without an OP

def test_health_and_stats_are_typed(relyd):
    with Client(relyd.socket_path, timeout=10) as client:
        health = client.health()
        assert health.status == "ok"
        assert isinstance(health.version, str) and isinstance(health.uptime_seconds, int)
        stats = client.stats()
        assert stats.commands["health"]["requests"] == 1
        assert stats.connections["open"] >= 1


def test_daemon_errors_carry_the_wire_code(relyd):
    client = Client(relyd.socket_path, timeout=10)
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(RelydError) as raised:
        client.get_site(missing)
    assert raised.value.code == "unknown_site"
    assert not raised.value.is_local and not raised.value.is_connection_failure
    assert error_code(lambda: client.get_authorization_url(missing, custom_parameters={"nonce": "x"})) \
        in ("invalid_parameter", "unknown_site")
    assert error_code(lambda: client.call("no_such_command")) == "unknown_command"
    assert error_code(lambda: client.call("health", {"verbose": True})) == "invalid_parameter"
    assert client.list_sites() == []
    # The connection that carried the errors stays usable.
    assert client.health().status == "ok"


def test_no_daemon_is_connection_failed(tmp_path):
    client = Client(str(tmp_path / "absent.sock"), timeout=5)
    with pytest.raises(RelydError) as raised:
        client.health()
    assert raised.value.code == CONNECTION_FAILED
    assert raised.value.is_local and raised.value.is_connection_failure


def test_socket_path_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("RELYD_SOCKET", "/run/relyd/relyd.sock")
    assert Client().socket_path == "/run/relyd/relyd.sock"
    monkeypatch.delenv("RELYD_SOCKET")
    assert default_socket_path() == "./.relyd/relyd.sock"


def test_reconnects_after_a_daemon_restart(relyd):
    client = Client(relyd.socket_path, timeout=10)
    assert client.health().status == "ok"
    relyd.restart()
    # The kept connection is dead; health is safe to resend, so the caller sees no failure.
    assert client.health().uptime_seconds >= 0
    relyd.restart()
    # list_sites only reads: retried too.
    assert client.list_sites() == []


def test_closed_client_refuses_requests(relyd):
    client = Client(relyd.socket_path, timeout=10)
    client.health()
    client.close()
    assert error_code(client.health) == CONNECTION_FAILED


def test_threads_share_one_client(relyd):
    """Many threads on one Client: every answer reaches the thread that asked, nothing fails."""
    client = Client(relyd.socket_path, timeout=60, max_idle_connections=3)
    failures = []

    def work(index: int) -> None:
        try:
            # A plain OAuth 2.0 site: registering it fetches nothing, so no OP is needed.
            site = client.register_site("https://127.0.0.1:9/", REDIRECT_URI, client_id=f"client-{index}",
                                        client_secret="secret", authorization_endpoint="https://127.0.0.1:9/authorize",
                                        token_endpoint="https://127.0.0.1:9/token")
            for round_number in range(25):
                if round_number % 2:
                    assert client.health().status == "ok"
                else:
                    assert client.get_site(site.oxd_id).client_id == f"client-{index}"
        except BaseException as error:  # noqa: B036 - collected and reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    stats = client.stats()
    assert stats.commands["health"]["requests"] == 8 * 12
    assert stats.commands["get_site"] == {"requests": 8 * 13, "errors": 0}
    assert len(client.list_sites()) == 8
    # Idle connections are reused rather than one opened per request.
    assert stats.connections["total"] < 8 * 26


# Against the real daemon and Glewlwyd

def test_login_and_every_site_command_against_glewlwyd(relyd_glewlwyd, glewlwyd):
    client = Client(relyd_glewlwyd.socket_path, timeout=60)
    site = client.register_site(glewlwyd.issuer, REDIRECT_URI, post_logout_redirect_uri=POST_LOGOUT_URI,
                                scope=["openid", "profile", "email"], client_name="relyd-python-test",
                                grant_types=["authorization_code", "refresh_token"])
    assert site.op_host == glewlwyd.issuer and site.client_id

    login = client.get_authorization_url(site.oxd_id, login_hint=glewlwyd.user)
    assert login.authorization_url.startswith(glewlwyd.issuer)
    redirect = glewlwyd.login(login.authorization_url)
    assert redirect["state"] == login.state
    tokens = client.get_tokens_by_code(site.oxd_id, code=redirect["code"], state=redirect["state"],
                                       iss=redirect.get("iss"))
    assert tokens.id_token_claims["iss"] == glewlwyd.issuer
    assert tokens.token_type.lower() == "bearer"
    assert "openid" in tokens.scope
    # The same callback a second time: the state was redeemed.
    assert error_code(lambda: client.get_tokens_by_code(site.oxd_id, code=redirect["code"],
                                                        state=redirect["state"])) == "invalid_state"

    user = client.get_user_info(site.oxd_id, tokens.access_token)
    assert user.claims["sub"] == tokens.id_token_claims["sub"]
    assert user.claims["email"] == "alice@example.com", user.claims

    check = client.check_id_token(site.oxd_id, tokens.id_token, access_token=tokens.access_token)
    assert check.valid and check.claims["sub"] == tokens.id_token_claims["sub"]
    assert error_code(lambda: client.check_id_token(site.oxd_id, tokens.id_token + "x")) == "id_token_invalid"

    introspection = client.introspect_access_token(site.oxd_id, tokens.access_token)
    assert introspection.active is True and introspection.response["active"] is True

    refreshed = client.get_access_token_by_refresh_token(site.oxd_id, tokens.refresh_token)
    assert refreshed.access_token and refreshed.refresh_token
    client.revoke_token(site.oxd_id, refreshed.refresh_token, token_type_hint="refresh_token")

    logout = client.get_logout_uri(site.oxd_id, id_token_hint=tokens.id_token, state="bye")
    assert "id_token_hint=" in logout.uri and "state=bye" in logout.uri
    assert error_code(lambda: client.get_logout_uri(site.oxd_id, post_logout_redirect_uri="https://evil.example/")) \
        == "invalid_parameter"

    assert client.get_discovery(op_host=glewlwyd.issuer)["issuer"] == glewlwyd.issuer
    assert client.get_discovery(oxd_id=site.oxd_id)["issuer"] == glewlwyd.issuer
    assert client.get_jwks(site.oxd_id).keys == []
    assert error_code(lambda: client.validate_logout_token(site.oxd_id, "not.a.token")) == "logout_token_invalid"

    stored = client.get_site(site.oxd_id)
    assert stored.oxd_id == site.oxd_id and stored.provider_kind == "oidc" and stored.dynamically_registered
    assert [each.oxd_id for each in client.list_sites()] == [site.oxd_id]
    updated = client.update_site(site.oxd_id, client_name="renamed")
    assert updated.client_name == "renamed"
    removed = client.remove_site(site.oxd_id)
    assert removed.oxd_id == site.oxd_id
    assert error_code(lambda: client.get_site(site.oxd_id)) == "unknown_site"


def test_register_site_with_private_key_jwt_publishes_its_key(relyd_glewlwyd, glewlwyd):
    client = Client(relyd_glewlwyd.socket_path, timeout=60)
    site = client.register_site(glewlwyd.issuer, REDIRECT_URI, client_id="rp-rs256",
                                token_endpoint_auth_method="private_key_jwt", signing_alg="ES256")
    [key] = client.get_jwks(site.oxd_id).keys
    assert key["kty"] == "EC" and "d" not in key


def test_an_unreachable_op_is_op_unreachable(relyd):
    client = Client(relyd.socket_path, timeout=60)
    issuer = "https://127.0.0.1:9/op"
    assert error_code(lambda: client.register_site(issuer, REDIRECT_URI)) == "op_unreachable"


# Against a scripted fake daemon: failures the real one does not make on purpose

class FakeDaemon:
    """A Unix socket server answering each request line with ``answer(request, count)``: a response object,
    ``"close"`` to hang up without answering, or ``"silence"`` to never answer."""

    def __init__(self, answer) -> None:
        self.directory = short_temporary_directory("relyd-fake-")
        self.socket_path = str(self.directory / "fake.sock")
        self.answer = answer
        self.requests = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.socket_path)
        self.server.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as lines:
            for line in lines:
                request = json.loads(line)
                self.requests.append(request)
                answer = self.answer(request, len(self.requests))
                if answer == "close":
                    return
                if answer == "silence":
                    time.sleep(30)
                    return
                connection.sendall(json.dumps(answer).encode() + b"\n")

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def ok(request, data=None):
    return {"id": request["id"], "status": "ok", "data": data or {"status": "ok", "version": "0", "uptime_seconds": 1}}


@pytest.fixture
def fake_daemon():
    daemons = []

    def make(answer):
        daemons.append(FakeDaemon(answer))
        return daemons[-1]
    yield make
    for daemon in daemons:
        daemon.close()


def test_a_command_that_changes_state_is_not_resent_after_the_connection_broke(fake_daemon):
    # The first request succeeds and leaves its connection idle; the second is read and then the line drops.
    daemon = fake_daemon(lambda request, count: ok(request) if count == 1 else "close")
    client = Client(daemon.socket_path, timeout=10)
    client.health()
    assert error_code(lambda: client.register_site("https://op.example", REDIRECT_URI)) == CONNECTION_LOST
    assert [request["command"] for request in daemon.requests] == ["health", "register_site"]


def test_get_tokens_by_code_is_not_resent_either(fake_daemon):
    daemon = fake_daemon(lambda request, count: ok(request) if count == 1 else "close")
    client = Client(daemon.socket_path, timeout=10)
    client.health()
    assert error_code(lambda: client.get_tokens_by_code("site", code="c", state="s")) == CONNECTION_LOST
    assert [request["command"] for request in daemon.requests] == ["health", "get_tokens_by_code"]


def test_a_reading_command_is_resent_once_on_a_new_connection(fake_daemon):
    daemon = fake_daemon(lambda request, count: "close" if count == 2 else ok(request))
    client = Client(daemon.socket_path, timeout=10)
    client.health()
    assert client.health().status == "ok"
    assert [request["command"] for request in daemon.requests] == ["health", "health", "health"]
    assert "health" in RETRIED_COMMANDS and "register_site" not in RETRIED_COMMANDS


def test_a_silent_daemon_times_out_and_the_connection_is_dropped(fake_daemon):
    daemon = fake_daemon(lambda request, count: "silence" if count == 1 else ok(request))
    client = Client(daemon.socket_path, timeout=0.5)
    started = time.monotonic()
    assert error_code(client.health) == TIMEOUT
    assert time.monotonic() - started < 20  # loose: the machine is shared
    # A late answer on the old connection can never be taken for the next request's.
    assert client.health().status == "ok"


def test_an_answer_to_another_request_is_a_protocol_violation(fake_daemon):
    daemon = fake_daemon(lambda request, count: dict(ok(request), id=request["id"] + 1000))
    client = Client(daemon.socket_path, timeout=10)
    assert error_code(client.health) == PROTOCOL_VIOLATION


def test_a_result_without_its_required_members_is_a_protocol_violation(fake_daemon):
    daemon = fake_daemon(lambda request, count: ok(request, {"state": "only"}))
    client = Client(daemon.socket_path, timeout=10)
    assert error_code(lambda: client.get_authorization_url("site")) == PROTOCOL_VIOLATION


def test_a_null_id_answers_the_request_on_the_connection(fake_daemon):
    daemon = fake_daemon(lambda request, count: {"id": None, "status": "error",
                                                 "data": {"error": "request_too_large", "error_description": "…"}})
    client = Client(daemon.socket_path, timeout=10)
    assert error_code(client.health) == "request_too_large"


def test_client_token_request_and_result(fake_daemon):
    # Glewlwyd refuses the client credentials grant to dynamically registered clients, so the fake answers.
    daemon = fake_daemon(lambda request, count: ok(request, {"access_token": "at", "token_type": "Bearer",
                                                             "scope": ["api"], "expires_in": 60, "future": 1}))
    token = Client(daemon.socket_path, timeout=10).get_client_token("site", scope=["api"])
    assert (token.access_token, token.scope, token.expires_in, token.expires_at) == ("at", ["api"], 60, None)
    assert daemon.requests[0]["params"] == {"oxd_id": "site", "scope": ["api"]}
