#!/usr/bin/env python3
"""Independent back-channel logout token fixtures for RelydOIDCTests, made with pyca/cryptography.

Run from the package root:  python3 Tests/RelydOIDCTests/Fixtures/make_logout_fixtures.py
It writes Tests/RelydOIDCTests/Fixtures/logout_tokens.json: its own JWKS, the default expectations, and one case per
OpenID certification logout token test (rp-backchannel-rpinitlogout-lt-*) plus relyd's further checks. Each case
names the IDTokenFailure.Check it must fail, "valid", or "replayed" (valid once, refused the second time).
The signing and encoding helpers are make_fixtures.py's; the keys are fresh on every run, so the output changes.
"""
import pathlib
import sys

from cryptography.hazmat.primitives.asymmetric import ec, rsa

sys.dont_write_bytecode = True  # no __pycache__ inside the test target's resources
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_fixtures as base  # noqa: E402  (the shared helpers; its own outputs are written only when run itself)

OUT = base.OIDC_OUT / "logout_tokens.json"
ISSUER, CLIENT_ID, CLIENT_SECRET = base.ISSUER, base.CLIENT_ID, base.CLIENT_SECRET
IAT, NOW = 1700000000, 1700000030
EVENT = "http://schemas.openid.net/event/backchannel-logout"

rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_unpublished = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP256R1())
JWKS = {"keys": [base.jwk(rsa_key, "lt-rsa", use="sig"), base.jwk(ec_key, "lt-ec", use="sig")]}
SIGNERS = {"RS256": (rsa_key, "lt-rsa"), "ES256": (ec_key, "lt-ec"), "HS256": (CLIENT_SECRET.encode(), None)}
DROP = base.DROP


def claims(**changes) -> dict:
    body = {"iss": ISSUER, "aud": CLIENT_ID, "iat": IAT, "exp": IAT + 120, "jti": "bWJq",
            "sub": "248289761001", "sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "events": {EVENT: {}}}
    for name, value in changes.items():
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def token(alg="RS256", key=None, kid="default", **changes) -> str:
    signer_key, signer_kid = SIGNERS[alg]
    header = {"alg": alg, "typ": "logout+jwt"}
    kid = signer_kid if kid == "default" else kid
    if kid is not None:
        header["kid"] = kid
    key = signer_key if key is None else key
    return base.compact(header, claims(**changes), lambda data: base.sign(alg, key, data))


def case(name, description, tok, expect="valid", **expectations):
    return {"name": name, "description": description, "token": tok, "expect": expect,
            "expectations": expectations}


def cases() -> list:
    return [
        # Accepted shapes (Back-Channel Logout 1.0 2.4: sub, sid, or both).
        case("valid-sub-and-sid", "RS256 with sub and sid", token(jti="jti-both")),
        case("valid-sub-only", "RS256 with sub and no sid", token(jti="jti-sub", sid=DROP)),
        case("valid-sid-only", "ES256 with sid and no sub", token("ES256", jti="jti-sid", sub=DROP)),
        case("valid-no-exp", "no exp: acceptable for the maximum age after iat", token(jti="jti-noexp", exp=DROP)),
        case("valid-aud-array", "aud is an array containing the client", token(jti="jti-aud", aud=[CLIENT_ID, "x"])),
        case("valid-hs256", "HS256 with the client secret", token("HS256", jti="jti-hs")),
        # The certification cases rp-backchannel-rpinitlogout-lt-*.
        case("lt-alg-none", "alg none with an empty signature",
             base.compact({"alg": "none"}, claims(jti="jti-none"), lambda _: b""), "algorithm"),
        case("lt-wrong-alg", "ES256 token while the client accepts RS256 only", token("ES256", jti="jti-wa"),
             "algorithm", allowedAlgorithms=["RS256"]),
        case("lt-bad-signature", "RS256 with one signature bit flipped",
             base.flip_signature_bit(token(jti="jti-sig")), "signature"),
        case("lt-wrong-key", "RS256 signed by an unpublished key under the published kid",
             token(key=rsa_unpublished, jti="jti-key"), "signature"),
        case("lt-wrong-issuer", "iss of another OP", token(jti="jti-iss", iss="https://evil.example.com"), "issuer"),
        case("lt-wrong-aud", "aud names another client", token(jti="jti-aud2", aud="someone-else"), "audience"),
        case("lt-no-events", "no events claim", token(jti="jti-ev", events=DROP), "events"),
        case("lt-wrong-event", "events without the back-channel logout member",
             token(jti="jti-ev2", events={"http://schemas.openid.net/event/other": {}}), "events"),
        case("lt-event-not-object", "the back-channel logout member is not a JSON object",
             token(jti="jti-ev3", events={EVENT: "yes"}), "events"),
        case("lt-with-nonce", "a nonce is present", token(jti="jti-nonce", nonce="n-0S6_WzA2Mj"), "nonce"),
        case("lt-no-jti", "no jti", token(jti=DROP), "tokenID"),
        case("lt-no-sub-no-sid", "neither sub nor sid", token(jti="jti-none2", sub=DROP, sid=DROP), "subject"),
        case("lt-sid-not-string", "sid is a number", token(jti="jti-sidn", sid=7), "subject"),
        case("lt-iat-missing", "no iat", token(jti="jti-iat", iat=DROP), "issuedAt"),
        case("lt-iat-future", "iat 300 s in the future", token(jti="jti-iatf", iat=NOW + 300), "issuedAt"),
        case("lt-iat-too-old", "iat beyond the maximum age plus skew, no exp",
             token(jti="jti-old", iat=NOW - 1000, exp=DROP), "issuedAt"),
        case("lt-expired", "exp 120 s in the past", token(jti="jti-exp", exp=NOW - 120), "expired"),
        case("lt-unknown-kid", "kid not in the JWKS", token(jti="jti-kid", kid="rotated-away"), "unknownKey"),
        case("lt-replayed-jti", "a valid token presented twice", token(jti="jti-replay"), "replayed"),
    ]


if __name__ == "__main__":
    defaults = {"issuer": ISSUER, "clientID": CLIENT_ID, "clientSecret": CLIENT_SECRET, "now": NOW,
                "clockSkew": 60, "maximumAge": 300, "allowedAlgorithms": sorted(SIGNERS)}
    base.dump(OUT, {"jwks": JWKS, "defaults": defaults, "cases": cases()})
