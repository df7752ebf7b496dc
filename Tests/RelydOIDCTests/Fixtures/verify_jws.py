#!/usr/bin/env python3
"""An implementation of JWS verification independent of relyd (pyca/cryptography), for relyd's client assertions.

Usage:  verify_jws.py JWK_JSON COMPACT_JWS       (RS256 or ES256 with the public JWK)
        verify_jws.py --hmac SECRET COMPACT_JWS  (HS256 with the client secret)
On success prints {"header": ..., "payload": ..., "thumbprint": RFC 7638 thumbprint of the JWK or null} and
exits 0; on any failure prints the reason to stderr and exits 1.
"""
import base64
import hashlib
import hmac
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64decode(text):
    if "=" in text:
        raise ValueError("padded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def integer(text):
    return int.from_bytes(b64decode(text), "big")


def thumbprint(jwk):
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(key_argument, secret, compact):
    encoded_header, encoded_payload, encoded_signature = compact.split(".")
    header = json.loads(b64decode(encoded_header))
    payload = json.loads(b64decode(encoded_payload))
    signing_input = (encoded_header + "." + encoded_payload).encode()
    signature = b64decode(encoded_signature)
    if secret is not None:
        if header["alg"] != "HS256":
            raise ValueError("alg is not HS256")
        expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise InvalidSignature()
        return header, payload, None
    jwk = json.loads(key_argument)
    if header["alg"] != jwk["alg"] or header.get("kid") != jwk["kid"]:
        raise ValueError("alg or kid does not match the JWK")
    if jwk["kty"] == "RSA" and header["alg"] == "RS256":
        key = rsa.RSAPublicNumbers(integer(jwk["e"]), integer(jwk["n"])).public_key()
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif jwk["kty"] == "EC" and jwk["crv"] == "P-256" and header["alg"] == "ES256":
        if len(signature) != 64:
            raise ValueError("ES256 signature is not 64 bytes")
        key = ec.EllipticCurvePublicNumbers(integer(jwk["x"]), integer(jwk["y"]), ec.SECP256R1()).public_key()
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError("unsupported key or algorithm")
    return header, payload, thumbprint(jwk)


def main():
    if len(sys.argv) != 4 and len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "--hmac":
        key_argument, secret, compact = None, sys.argv[2], sys.argv[3]
    else:
        key_argument, secret, compact = sys.argv[1], None, sys.argv[2]
    try:
        header, payload, print_ = verify(key_argument, secret, compact)
    except Exception as error:  # any failure is a refusal
        print(f"refused: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"header": header, "payload": payload, "thumbprint": print_}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
