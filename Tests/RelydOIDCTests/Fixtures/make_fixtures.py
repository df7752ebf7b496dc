#!/usr/bin/env python3
"""Independent test fixtures for RelydCryptoTests and RelydOIDCTests, made with pyca/cryptography.

Run from the package root:  python3 Tests/RelydOIDCTests/Fixtures/make_fixtures.py
It writes
  Tests/RelydCryptoTests/Fixtures/crypto.json   keys as hex JWK components, signatures over a fixed message
  Tests/RelydOIDCTests/Fixtures/jwks.json       the JWK sets the ID token cases name
  Tests/RelydOIDCTests/Fixtures/id_tokens.json  ID token cases: token, JWKS name, expectations, expected result
Keys are fresh on every run, so the output changes; the tests rely only on the committed files.
"""
import base64
import hashlib
import hmac
import json
import pathlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ROOT = pathlib.Path(__file__).resolve().parents[3]
CRYPTO_OUT = ROOT / "Tests/RelydCryptoTests/Fixtures/crypto.json"
OIDC_OUT = ROOT / "Tests/RelydOIDCTests/Fixtures"

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def i2b(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")


def coord_len(key) -> int:
    return (key.curve.key_size + 7) // 8


# --- keys -------------------------------------------------------------------------------------
rsa_1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_ps = rsa.generate_private_key(public_exponent=65537, key_size=3072)
rsa_enc = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # never published
rsa_weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
ec_keys = {crv: ec.generate_private_key(cls()) for crv, cls in CURVES.items()}
p256_other = ec.generate_private_key(ec.SECP256R1())  # never published
ed = ed25519.Ed25519PrivateKey.generate()


def jwk_components(private_key) -> dict:
    """The public JWK members as raw bytes."""
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"kty": "RSA", "n": i2b(numbers.n), "e": i2b(numbers.e)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers, size = public.public_numbers(), coord_len(public)
        crv = {v.name: k for k, v in CURVES.items()}[public.curve.name]
        return {"kty": "EC", "crv": crv, "x": i2b(numbers.x, size), "y": i2b(numbers.y, size)}
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": raw}


def jwk(private_key, kid: str | None, **extra) -> dict:
    members = {k: (b64u(v) if isinstance(v, bytes) else v) for k, v in jwk_components(private_key).items()}
    if kid is not None:
        members["kid"] = kid
    members.update(extra)
    return members


def hexed(private_key) -> dict:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in jwk_components(private_key).items()}


def off_curve_p256() -> dict:
    """A P-256 point with a valid x and a y that is not on the curve."""
    members = jwk_components(ec_keys["P-256"])
    y = (int.from_bytes(members["y"], "big") + 1) % P256_P
    members["y"] = i2b(y, 32)
    return members


# --- signing ----------------------------------------------------------------------------------
def sign(alg: str, key, data: bytes) -> bytes:
    if alg.startswith("HS"):
        return hmac.new(key, data, getattr(hashlib, "sha" + alg[2:])).digest()
    if alg == "EdDSA":
        return key.sign(data)
    digest = HASHES[alg[2:]]()
    if alg.startswith("RS"):
        return key.sign(data, padding.PKCS1v15(), digest)
    if alg.startswith("PS"):
        return key.sign(data, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), digest)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
    return i2b(r, coord_len(key)) + i2b(s, coord_len(key))


def at_hash(alg: str, access_token: str) -> str:
    name = "sha512" if alg == "EdDSA" else "sha" + alg[2:]
    full = hashlib.new(name, access_token.encode()).digest()
    return b64u(full[: len(full) // 2])


# --- crypto fixtures ----------------------------------------------------------------------------
MESSAGE = b"relyd signing input: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ"


def crypto_fixtures() -> dict:
    keys = {
        "rsa2048": hexed(rsa_1),
        "rsa3072": hexed(rsa_ps),
        "rsa1024": hexed(rsa_weak),
        "p256": hexed(ec_keys["P-256"]),
        "p384": hexed(ec_keys["P-384"]),
        "p521": hexed(ec_keys["P-521"]),
        "ed25519": hexed(ed),
        "p256OffCurve": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in off_curve_p256().items()},
    }
    plan = [
        ("RS256", "rsaPKCS1v15", "sha256", "rsa2048", rsa_1),
        ("RS384", "rsaPKCS1v15", "sha384", "rsa2048", rsa_1),
        ("RS512", "rsaPKCS1v15", "sha512", "rsa3072", rsa_ps),
        ("PS256", "rsaPSS", "sha256", "rsa2048", rsa_1),
        ("PS384", "rsaPSS", "sha384", "rsa3072", rsa_ps),
        ("PS512", "rsaPSS", "sha512", "rsa2048", rsa_1),
        ("ES256", "ecdsa", "sha256", "p256", ec_keys["P-256"]),
        ("ES384", "ecdsa", "sha384", "p384", ec_keys["P-384"]),
        ("ES512", "ecdsa", "sha512", "p521", ec_keys["P-521"]),
        ("EdDSA", "ed25519", None, "ed25519", ed),
    ]
    signatures = [
        {"name": name, "scheme": scheme, "digest": digest, "key": key_name,
         "signature": sign(name, key, MESSAGE).hex()}
        for name, scheme, digest, key_name, key in plan
    ]
    return {"message": MESSAGE.hex(), "keys": keys, "signatures": signatures}


# --- ID token fixtures --------------------------------------------------------------------------
ISSUER = "https://op.example.com"
CLIENT_ID = "relyd-client"
CLIENT_SECRET = "client-secret-that-is-long-enough-for-hs512-0123456789abcdef0123456789"
NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "ya29.a0AfH6SMBx-access-token"
IAT, EXP, NOW = 1700000000, 1700003600, 1700000100

JWKS = {
    "main": {"keys": [
        jwk(rsa_1, "rsa-1", use="sig"),
        jwk(rsa_2, "rsa-2"),
        jwk(rsa_ps, "rsa-ps256", alg="PS256"),
        jwk(rsa_enc, "rsa-enc", use="enc"),
        jwk(ec_keys["P-256"], "ec-p256", use="sig", alg="ES256"),
        jwk(ec_keys["P-384"], "ec-p384", key_ops=["verify"]),
        jwk(ec_keys["P-521"], "ec-p521"),
        jwk(ed, "ed-1"),
        # Each of the following is unusable and must be skipped without failing the set.
        jwk(rsa_weak, "rsa-weak"),
        {"kty": "oct", "kid": "hmac-1", "k": b64u(CLIENT_SECRET.encode())},
        {"kty": "EC", "kid": "ec-off-curve", "crv": "P-256",
         **{k: b64u(v) for k, v in off_curve_p256().items() if k in ("x", "y")}},
        {"kty": "EC", "kid": "ec-short", "crv": "P-256",
         "x": b64u(jwk_components(ec_keys["P-256"])["x"][1:]), "y": jwk(ec_keys["P-256"], None)["y"]},
        {"kty": "OKP", "kid": "ed448", "crv": "Ed448", "x": b64u(bytes(57))},
        {"kty": "PQC", "kid": "future"},
        "not an object",
    ]},
    "single-rsa": {"keys": [jwk(rsa_1, None)]},
}

SIGNERS = {  # alg -> (key, kid) used for the valid case of each algorithm
    **{f"RS{n}": (rsa_1, "rsa-1") for n in HASHES},
    **{f"PS{n}": (rsa_1, "rsa-1") for n in HASHES},
    "ES256": (ec_keys["P-256"], "ec-p256"),
    "ES384": (ec_keys["P-384"], "ec-p384"),
    "ES512": (ec_keys["P-521"], "ec-p521"),
    "EdDSA": (ed, "ed-1"),
    **{f"HS{n}": (CLIENT_SECRET.encode(), None) for n in HASHES},
}


def claims(alg: str, **changes) -> dict:
    body = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "248289761001", "iat": IAT, "exp": EXP,
            "nonce": NONCE, "auth_time": IAT - 100, "acr": "urn:example:loa:2",
            "at_hash": at_hash(alg, ACCESS_TOKEN), "email": "jane@example.com"}
    for name, value in changes.items():
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


DROP = object()


def compact(header: dict, payload, signature_of) -> str:
    signing_input = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())).encode()
    return signing_input.decode() + "." + b64u(signature_of(signing_input))


def token(alg: str, key=None, kid="default", header_extra=None, payload=None, **changes) -> str:
    signer_key, signer_kid = SIGNERS.get(alg, (None, None))
    key = signer_key if key is None else key
    header = {"alg": alg, "typ": "JWT"}
    kid = signer_kid if kid == "default" else kid
    if kid is not None:
        header["kid"] = kid
    header.update(header_extra or {})
    body = claims(alg, **changes) if payload is None else payload
    return compact(header, body, lambda data: sign(alg, key, data))


def flip_signature_bit(compact_token: str) -> str:
    head, body, sig = compact_token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64u(bytes(raw))}"


def tamper_payload(compact_token: str) -> str:
    head, _, sig = compact_token.split(".")
    return f"{head}.{b64u(json.dumps(claims('RS256', sub='attacker')).encode())}.{sig}"


def case(name, description, tok, expect="valid", jwks="main", **expectations):
    return {"name": name, "description": description, "token": tok, "jwks": jwks,
            "expect": expect, "expectations": expectations}


def id_token_cases() -> list:
    rsa_pem = rsa_1.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    rsa_n = jwk_components(rsa_1)["n"]
    cases = [case(f"valid-{alg}", f"{alg} token signed by a published key", token(alg)) for alg in SIGNERS]
    cases += [
        case("valid-no-kid-single-key", "ES256 without kid, one compatible key", token("ES256", kid=None)),
        case("valid-no-kid-tries-each-key", "RS256 without kid signed by the second compatible RSA key",
             token("RS256", key=rsa_2, kid=None)),
        case("valid-no-kid-single-rsa-jwks", "RS256 without kid against a JWKS whose only key has no kid",
             token("RS256", kid=None), jwks="single-rsa"),
        case("valid-ps256-3072", "PS256 with a 3072-bit key restricted to PS256",
             token("PS256", key=rsa_ps, kid="rsa-ps256")),
        case("valid-aud-array-with-azp", "several audiences with azp equal to the client",
             token("RS256", aud=[CLIENT_ID, "other"], azp=CLIENT_ID)),
        case("valid-fractional-integral-times", "iat and exp written as integral fractions",
             token("RS256", iat=float(IAT), exp=float(EXP))),
        case("valid-expired-within-skew", "exp 30 s in the past is inside the 60 s skew",
             token("RS256", exp=NOW - 30)),
        case("valid-max-age-and-acr", "auth_time within max_age and acr among the requested values",
             token("RS256"), maxAge=3600, acrValues=["urn:example:loa:1", "urn:example:loa:2"]),
        case("valid-nbf-past", "nbf in the past", token("RS256", nbf=IAT)),
        case("valid-no-at-hash", "at_hash absent while an access token is known", token("RS256", at_hash=DROP)),
        case("valid-no-nonce-expected", "nonce not expected and not present",
             token("RS256", nonce=DROP), nonce=None),
        # Signature failures, one per family, plus tampering and wrong keys.
        *[case(f"bad-signature-{alg}", f"{alg} with one signature bit flipped",
               flip_signature_bit(token(alg)), "signature")
          for alg in ("RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", "HS256")],
        case("tampered-payload", "RS256 payload changed after signing", tamper_payload(token("RS256")),
             "signature"),
        case("wrong-rsa-key", "RS256 signed by an unpublished key under a published kid",
             token("RS256", key=rsa_other), "signature"),
        case("wrong-ec-key", "ES256 signed by an unpublished key under a published kid",
             token("ES256", key=p256_other), "signature"),
        case("truncated-ecdsa-signature", "ES256 with the last byte of r||s removed",
             (lambda t: t.rsplit(".", 1)[0] + "." + b64u(base64.urlsafe_b64decode(
                 t.rsplit(".", 1)[1] + "==")[:-1]))(token("ES256")), "signature"),
        case("hs256-wrong-secret", "HS256 signed with another secret", token("HS256", key=b"not-the-secret"),
             "signature"),
        case("confusion-hs256-rsa-pem", "HS256 signed with the RSA public key PEM as secret, kid of the RSA key",
             token("HS256", key=rsa_pem, kid="rsa-1"), "signature"),
        case("confusion-hs256-rsa-n", "HS256 signed with the RSA modulus as secret, kid of the RSA key",
             token("HS256", key=rsa_n, kid="rsa-1"), "signature"),
        case("confusion-hs256-no-secret", "HS256 signed with the RSA public key PEM, client has no secret",
             token("HS256", key=rsa_pem, kid="rsa-1"), "algorithm", clientSecret=None),
        # Algorithm policy.
        case("alg-none", "alg none with an empty signature",
             compact({"alg": "none"}, claims("RS256"), lambda _: b""), "algorithm"),
        case("alg-none-allowed", "alg none refused even when listed as allowed",
             compact({"alg": "none"}, claims("RS256"), lambda _: b""), "algorithm",
             allowedAlgorithms=["none", "RS256"]),
        case("alg-not-allowed", "RS256 token while only ES256 is allowed", token("RS256"), "algorithm",
             allowedAlgorithms=["ES256"]),
        case("alg-unknown", "unrecognised alg RS1",
             compact({"alg": "RS1", "kid": "rsa-1"}, claims("RS256"), lambda d: sign("RS256", rsa_1, d)),
             "algorithm"),
        # Key selection.
        case("unknown-kid", "kid not in the JWKS", token("RS256", kid="rotated-away"), "unknownKey"),
        case("kid-of-wrong-key-type", "RS256 naming the kid of an EC key",
             token("RS256", kid="ec-p256"), "unknownKey"),
        case("kid-of-wrong-curve", "ES384 naming the kid of the P-256 key",
             token("ES384", kid="ec-p256"), "unknownKey"),
        case("kid-of-enc-key", "RS256 signed by a key published for encryption",
             token("RS256", key=rsa_enc, kid="rsa-enc"), "unknownKey"),
        case("kid-of-key-for-other-alg", "RS256 naming a key restricted to PS256",
             token("RS256", key=rsa_ps, kid="rsa-ps256"), "unknownKey"),
        case("kid-of-skipped-weak-key", "RS256 signed by the 1024-bit key the JWKS parser skipped",
             token("RS256", key=rsa_weak, kid="rsa-weak"), "unknownKey"),
        case("kid-of-oct-key", "HS256 naming the symmetric JWK is still checked with the client secret only",
             token("HS256", key=CLIENT_SECRET.encode(), kid="hmac-1"), "valid"),
        case("no-kid-no-compatible-key", "ES256 without kid against an RSA-only JWKS",
             token("ES256", kid=None), "unknownKey", jwks="single-rsa"),
        # Claims.
        case("issuer-mismatch", "iss of another OP", token("RS256", iss="https://evil.example.com"), "issuer"),
        case("issuer-trailing-slash", "iss differing by a trailing slash", token("RS256", iss=ISSUER + "/"),
             "issuer"),
        case("issuer-missing", "no iss", token("RS256", iss=DROP), "issuer"),
        case("aud-without-client", "aud names another client", token("RS256", aud="someone-else"), "audience"),
        case("aud-array-without-client", "aud array without the client",
             token("RS256", aud=["a", "b"], azp=CLIENT_ID), "audience"),
        case("aud-missing", "no aud", token("RS256", aud=DROP), "audience"),
        case("aud-not-string", "aud is a number", token("RS256", aud=42), "audience"),
        case("aud-several-without-azp", "several audiences and no azp",
             token("RS256", aud=[CLIENT_ID, "other"]), "authorizedParty"),
        case("azp-mismatch", "azp names another client", token("RS256", azp="other"), "authorizedParty"),
        case("expired", "exp 120 s in the past, beyond the skew", token("RS256", exp=NOW - 120), "expired"),
        case("exp-missing", "no exp", token("RS256", exp=DROP), "expired"),
        case("exp-not-number", "exp as a string", token("RS256", exp=str(EXP)), "expired"),
        case("exp-non-integral", "exp with a fractional part", token("RS256", exp=EXP + 0.5), "expired"),
        case("iat-future", "iat 300 s in the future", token("RS256", iat=NOW + 300), "issuedAt"),
        case("iat-missing", "no iat", token("RS256", iat=DROP), "issuedAt"),
        case("nbf-future", "nbf 300 s in the future", token("RS256", nbf=NOW + 300), "notYetValid"),
        case("sub-missing", "no sub", token("RS256", sub=DROP), "subject"),
        case("sub-empty", "empty sub", token("RS256", sub=""), "subject"),
        case("sub-not-string", "sub is a number", token("RS256", sub=12), "subject"),
        case("nonce-missing", "nonce expected but absent", token("RS256", nonce=DROP), "nonce"),
        case("nonce-mismatch", "nonce of another request", token("RS256", nonce="replayed"), "nonce"),
        case("at-hash-mismatch", "at_hash of another access token",
             token("RS256", at_hash=at_hash("RS256", "other-token")), "accessTokenHash"),
        case("at-hash-wrong-alg-hash", "ES384 token whose at_hash uses SHA-256",
             token("ES384", at_hash=at_hash("RS256", ACCESS_TOKEN)), "accessTokenHash"),
        case("max-age-exceeded", "auth_time older than max_age plus skew",
             token("RS256", auth_time=NOW - 4000), "authTime", maxAge=3600),
        case("auth-time-missing", "max_age requested but no auth_time",
             token("RS256", auth_time=DROP), "authTime", maxAge=3600),
        case("acr-not-allowed", "acr not among the requested values", token("RS256"), "acr",
             acrValues=["urn:example:loa:3"]),
        case("acr-missing", "acr requested but absent", token("RS256", acr=DROP), "acr",
             acrValues=["urn:example:loa:2"]),
        # Structure.
        case("crit-header", "crit header names an extension we do not support",
             token("RS256", header_extra={"crit": ["exp"], "exp": 1}), "malformed"),
        case("payload-array", "payload is a JSON array", token("RS256", payload=[1, 2]), "malformed"),
        case("two-parts", "compact serialization with two parts", ".".join(token("RS256").split(".")[:2]),
             "malformed"),
        case("four-parts", "compact serialization with four parts", token("RS256") + ".e30", "malformed"),
        case("padded-signature", "base64url signature with = padding", token("RS256") + "==", "malformed"),
        case("jwe", "an encrypted token (five parts)", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", "malformed"),
    ]
    return cases


def dump(path: pathlib.Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    dump(CRYPTO_OUT, crypto_fixtures())
    dump(OIDC_OUT / "jwks.json", JWKS)
    defaults = {"issuer": ISSUER, "clientID": CLIENT_ID, "clientSecret": CLIENT_SECRET, "nonce": NONCE,
                "accessToken": ACCESS_TOKEN, "now": NOW, "clockSkew": 60,
                "allowedAlgorithms": sorted(SIGNERS)}
    dump(OIDC_OUT / "id_tokens.json", {"defaults": defaults, "cases": id_token_cases()})
