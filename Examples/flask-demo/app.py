"""A small web app that signs its users in with OpenID Connect through relyd, in the spirit of oxd-python's
demosite: home, "Sign in", the callback, a page with the user's claims, and "Sign out".

The app holds no client secret and no OAuth code of its own: relyd registered the client, keeps its secret,
makes state, nonce and PKCE, redeems the code and validates the ID token. The app keeps only its own session:
a random id in an HttpOnly, SameSite=Lax cookie, pointing to server-side data (claims and the ID token, kept for
the logout hint), so no token ever reaches the browser.

Run (relyd running, with a site registered for http://127.0.0.1:5000/callback)::

    RELYD_SOCKET=.relyd/relyd.sock DEMO_OXD_ID=<oxd_id> python app.py

or let it register one at start: ``DEMO_OP_HOST=https://op.example`` instead of ``DEMO_OXD_ID``.
"""

import os
import secrets
import threading
from typing import Any, Dict, Optional

from flask import Flask, redirect, render_template, request
from relyd import Client, RelydError

SESSION_COOKIE = "demo_session"


class Sessions:
    """Server-side sessions by random id; the browser only ever holds the id."""

    def __init__(self) -> None:
        self._data: Dict[str, Dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, session_id: Optional[str]) -> Dict[str, Any]:
        with self._lock:
            return dict(self._data.get(session_id or "", {}))

    def put(self, data: Dict[str, Any]) -> str:
        """Stores ``data`` under a new id: a login gets a fresh id, so an id planted before it is worth nothing."""
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._data[session_id] = data
        return session_id

    def drop(self, session_id: Optional[str]) -> None:
        with self._lock:
            self._data.pop(session_id or "", None)


def create_app(relyd: Client, oxd_id: str, secure_cookies: bool = False) -> Flask:
    app = Flask(__name__)
    sessions = Sessions()

    def current() -> Dict[str, Any]:
        return sessions.get(request.cookies.get(SESSION_COOKIE))

    def with_session(response, data: Optional[Dict[str, Any]]):
        sessions.drop(request.cookies.get(SESSION_COOKIE))
        if data is None:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Lax", secure=secure_cookies)
        else:
            response.set_cookie(SESSION_COOKIE, sessions.put(data), httponly=True, samesite="Lax",
                                secure=secure_cookies)
        return response

    def refused(reason: str, status: int = 400):
        return render_template("refused.html", reason=reason), status

    @app.get("/")
    def home():
        return render_template("home.html", user=current().get("userinfo"))

    @app.get("/login")
    def login():
        authorization = relyd.get_authorization_url(oxd_id)
        # The state binds the callback to this browser: a response started elsewhere is refused below.
        return with_session(redirect(authorization.authorization_url), {"login_state": authorization.state})

    @app.route("/callback", methods=["GET", "POST"])
    def callback():
        values = request.values
        if "error" in values:
            return refused(f"The sign-in service refused: {values['error']}.")
        state, code = values.get("state", ""), values.get("code", "")
        expected = current().get("login_state")
        if not state or not code or expected is None or not secrets.compare_digest(state, expected):
            return refused("This sign-in response was not started in this browser, or was already used.")
        try:
            tokens = relyd.get_tokens_by_code(oxd_id, code=code, state=state, iss=values.get("iss"))
            userinfo = relyd.get_user_info(oxd_id, tokens.access_token).claims
        except RelydError as error:
            # A replayed, expired, forged or mixed-up response; anything else (relyd down, ...) is a server error.
            if error.code in ("invalid_state", "op_error", "id_token_invalid", "issuer_mismatch",
                              "userinfo_invalid"):
                return refused(f"The sign-in could not be completed ({error.code}).")
            raise
        response = redirect("/claims")
        return with_session(response, {"userinfo": userinfo, "id_token_claims": tokens.id_token_claims,
                                       "id_token": tokens.id_token})

    @app.get("/claims")
    def claims():
        session = current()
        if "userinfo" not in session:
            return redirect("/")
        return render_template("claims.html", userinfo=session["userinfo"],
                               id_token_claims=session["id_token_claims"])

    @app.post("/logout")
    def logout():
        session = current()
        target = "/logged-out"
        if "id_token" in session:
            try:
                target = relyd.get_logout_uri(oxd_id, id_token_hint=session["id_token"]).uri
            except RelydError as error:
                if error.code != "op_unsupported":
                    raise
        return with_session(redirect(target), None)

    @app.get("/logged-out")
    def logged_out():
        return render_template("logged_out.html")

    return app


def main() -> None:
    relyd = Client(os.environ.get("RELYD_SOCKET"))
    port = int(os.environ.get("DEMO_PORT", "5000"))
    base_url = f"http://127.0.0.1:{port}"
    oxd_id = os.environ.get("DEMO_OXD_ID")
    if not oxd_id:
        site = relyd.register_site(os.environ["DEMO_OP_HOST"], f"{base_url}/callback",
                                   post_logout_redirect_uri=f"{base_url}/logged-out", client_name="relyd flask demo")
        oxd_id = site.oxd_id
        print(f"registered site {oxd_id}; set DEMO_OXD_ID={oxd_id} to keep it")
    create_app(relyd, oxd_id).run(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
