"""The demo app's callback without a browser, against the real relyd and Glewlwyd."""

import urllib.parse

from relyd import Client

from test_browser import DemoServer


def test_a_callback_relyd_refuses_gets_the_refusal_page(relyd_glewlwyd, glewlwyd):
    server = DemoServer(Client(relyd_glewlwyd.socket_path, timeout=60), glewlwyd)
    try:
        browser = server.app.test_client()
        started = browser.get("/login")
        assert started.status_code == 302
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(started.location).query))["state"]
        # This browser's own state, but a code the OP never issued: relyd's exchange fails, the app refuses.
        answer = browser.get(f"/callback?code=not-a-code&state={state}")
        assert answer.status_code == 400 and b'id="refused"' in answer.data and b"op_error" in answer.data
        # relyd consumed the state with that attempt: the same state cannot be tried again.
        again = browser.get(f"/callback?code=not-a-code&state={state}")
        assert again.status_code == 400 and b"invalid_state" in again.data
        assert browser.get("/claims").status_code == 302
    finally:
        server.stop()
