"""The Python peer of relyd-bench's login measurement: the same relying-party work with Authlib and joserfc.

Per login, like relyd: an authorization URL with state, nonce and PKCE S256; the code exchange with
client_secret_basic; full ID token validation (RS256 signature with the cached JWKS, iss, aud, exp, iat, sub,
nonce, at_hash); userinfo with the sub check. The browser step (GET /authorize, 302 with the code) is not timed,
as in relyd-bench. Discovery and the JWKS are fetched once, as relyd caches them.

usage: bench_peer.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI SECONDS WARMUP OUTPUT_JSON
"""
import base64
import hashlib
import json
import sys
import time
import warnings
from urllib.parse import parse_qs, urlsplit

warnings.simplefilter("ignore")

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402


def main():
    issuer, client_id, client_secret, redirect_uri, seconds, warmup, output = sys.argv[1:8]
    seconds, warmup = float(seconds), int(warmup)
    http = requests.Session()
    discovery = http.get(issuer + "/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(http.get(discovery["jwks_uri"]).json())
    browser = requests.Session()
    # One session for every login, so its connections to the OP stay alive as relyd's do.
    client = OAuth2Session(client_id, client_secret, scope="openid", redirect_uri=redirect_uri,
                           code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")

    def login():
        started = time.perf_counter()
        nonce, verifier = generate_token(32), generate_token(48)
        url, state = client.create_authorization_url(discovery["authorization_endpoint"], nonce=nonce,
                                                     code_verifier=verifier)
        url_built = time.perf_counter()

        redirect = browser.get(url, allow_redirects=False).headers["location"]
        answer = parse_qs(urlsplit(redirect).query)
        code, returned_state = answer["code"][0], answer["state"][0]

        resumed = time.perf_counter()
        if returned_state != state:
            raise SystemExit("state mismatch")
        token = client.fetch_token(discovery["token_endpoint"], grant_type="authorization_code", code=code,
                                   code_verifier=verifier)
        id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, aud={"essential": True, "value": client_id},
                              sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                              nonce={"essential": True, "value": nonce}).validate(id_token.claims)
        digest = hashlib.sha256(token["access_token"].encode()).digest()
        at_hash = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
        if id_token.claims.get("at_hash") != at_hash:
            raise SystemExit("at_hash mismatch")
        userinfo = client.get(discovery["userinfo_endpoint"]).json()
        if userinfo.get("sub") != id_token.claims["sub"]:
            raise SystemExit("userinfo sub mismatch")
        finished = time.perf_counter()
        return (url_built - started) + (finished - resumed)

    walls = [login() for _ in range(warmup)]
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        walls.append(login())
    with open(output, "w") as file:
        json.dump({"walls": walls, "warmup": warmup}, file)


main()
