#!/usr/bin/env python3
"""Writes fuzzing seeds made from the unit tests' fixtures, so that the fuzzers start from real keys and tokens.

usage: fixture_seeds.py TARGET DIRECTORY

FuzzJOSE gets one seed per ID token and logout token case: its JWKS, a newline, the token (the target's input
format). FuzzOPResponses gets every JWKS document. The keys of RelydCryptoTests' crypto.json (hex) become one more
JWKS for both. The fixtures are read, never changed; seeds are named after their case so reruns overwrite them.
"""
import base64
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OIDC = ROOT / "Tests/RelydOIDCTests/Fixtures"
CRYPTO = ROOT / "Tests/RelydCryptoTests/Fixtures/crypto.json"


def compact(document):
    return json.dumps(document, separators=(",", ":"))


def crypto_jwks():
    """The crypto fixtures' keys as a JWKS: hex parameters re-encoded as base64url, the key name as kid."""
    def b64url(hex_text):
        return base64.urlsafe_b64encode(bytes.fromhex(hex_text)).rstrip(b"=").decode()
    keys = []
    for name, key in json.loads(CRYPTO.read_text())["keys"].items():
        jwk = {k: (b64url(v) if k in ("n", "e", "x", "y") else v) for k, v in key.items()}
        keys.append(dict(jwk, kid=name))
    return {"keys": keys}


def seeds(target):
    id_tokens = json.loads((OIDC / "id_tokens.json").read_text())
    logout_tokens = json.loads((OIDC / "logout_tokens.json").read_text())
    key_sets = json.loads((OIDC / "jwks.json").read_text())
    if target == "FuzzJOSE":
        for case in id_tokens["cases"]:
            yield "id-" + case["name"], compact(key_sets[case["jwks"]]) + "\n" + case["token"]
        for case in logout_tokens["cases"]:
            yield "logout-" + case["name"], compact(logout_tokens["jwks"]) + "\n" + case["token"]
        yield "crypto-keys", compact(crypto_jwks()) + "\n"
    elif target == "FuzzOPResponses":
        for name, key_set in key_sets.items():
            yield "jwks-" + name, compact(key_set)
        yield "jwks-logout", compact(logout_tokens["jwks"])
        yield "jwks-crypto-keys", compact(crypto_jwks())


def main():
    target, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in seeds(target):
        (directory / name).write_text(text)


if __name__ == "__main__":
    main()
