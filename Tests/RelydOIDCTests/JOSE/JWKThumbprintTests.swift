import RelydCrypto
import RelydOIDC
import Testing

/// The thumbprint is a site key's `kid`, which OPs match against the registered JWKS: it must be byte-exact.
@Suite("JWK thumbprint (RFC 7638)")
struct JWKThumbprintTests {
    /// RFC 7638 §3.1.
    @Test func rsaKey_matchesTheRFCExample() throws {
        let modulus = try #require(Base64URL.decode(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"))
        let key = PublicKeyComponents.rsa(modulus: modulus, exponent: [0x01, 0x00, 0x01])
        #expect(try key.jwkThumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    }

    /// RFC 8037 Appendix A.3.
    @Test func ed25519Key_matchesTheRFCExample() throws {
        let x = try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
        #expect(try PublicKeyComponents.ed25519(x: x).jwkThumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }
}
