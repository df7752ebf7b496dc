import RelydBasics
import RelydCrypto
import Testing

@Suite("Private key generation, PEM round trip and signing")
struct PrivateKeyTests {
    static let signingKinds: [(PublicKey.Kind, SignatureScheme)] = [
        (.rsa, .rsaPKCS1v15(.sha256)), (.ec(.p256), .ecdsa(.sha256)), (.ed25519, .ed25519),
    ]

    /// A generated key signs, and its own public key verifies the signature (RS256, ES256 and EdDSA).
    @Test(arguments: [0, 1, 2])
    func generatedKeySignature_verifiesWithItsPublicKey(index: Int) throws {
        let (kind, scheme) = Self.signingKinds[index]
        let key = try PrivateKey(generating: kind)
        let message = Array("header.payload".utf8)
        let signature = try key.sign(message, scheme: scheme)
        let publicKey = try key.publicKey()
        #expect(publicKey.kind == kind)
        #expect(try publicKey.verify(signature, of: message, scheme: scheme))
        #expect(try !publicKey.verify(signature, of: Array("header.other".utf8), scheme: scheme))
    }

    /// RSA keys are 2048 bits; ES256 signatures are the 64-byte raw r||s of RFC 7518 3.4.
    @Test func generatedKeys_haveJOSESizes() throws {
        let rsa = try PrivateKey(generating: .rsa)
        #expect(try rsa.publicKey().bits == 2048)
        let ec = try PrivateKey(generating: .ec(.p256))
        for _ in 0..<20 {  // r or s with leading zero bytes still gives 64 bytes
            #expect(try ec.sign([1, 2, 3], scheme: .ecdsa(.sha256)).count == 64)
        }
    }

    /// A key read back from its PEM has the same public components and its signatures verify with the original.
    @Test(arguments: [0, 1])
    func pemRoundTrip_keepsTheKey(index: Int) throws {
        let (kind, scheme) = Self.signingKinds[index]
        let key = try PrivateKey(generating: kind)
        let pem = try key.pem()
        #expect(pem.revealed.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let restored = try PrivateKey(pem: pem)
        #expect(restored.kind == kind)
        #expect(try restored.publicComponents() == key.publicComponents())
        let signature = try restored.sign([42], scheme: scheme)
        #expect(try key.publicKey().verify(signature, of: [42], scheme: scheme))
    }

    /// Text that is not a PEM private key is refused.
    @Test func garbagePEM_isRefused() {
        #expect(throws: CryptoError.self) { try PrivateKey(pem: Secret("-----BEGIN PRIVATE KEY-----\nAAAA\n")) }
    }

    /// An encrypted PEM is refused without prompting for a passphrase (this one is P-256 under "wt4-test").
    @Test func encryptedPEM_isRefusedWithoutPrompting() {
        let encrypted = """
            -----BEGIN ENCRYPTED PRIVATE KEY-----
            MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjRILUwQI9EEQICCAAw
            DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEDY3CpB8rxTWw6Zamw1A+OMEgZAu
            u/sBLlBrdYwBK1V8GAwuT84KaX0IciBo/dzlcFxn274nCW7jSuDI0UsJ0Dk6fY3B
            Vio+pdZyhdwR5v5AQrPE3QqX4sUjlHe7J5jyZO/7M7CmlrvbEKFzw1NJ5aF/a2O3
            9M/MBiQtd9P3Sq9iwajLIRXZOkiVuWca9I1ETuHY768h0u+xxXsudikq5IafUdQ=
            -----END ENCRYPTED PRIVATE KEY-----

            """
        #expect(throws: CryptoError.self) { try PrivateKey(pem: Secret(encrypted)) }
    }

    /// A scheme that does not fit the key is refused, never tried.
    @Test func mismatchedScheme_isRefused() throws {
        let key = try PrivateKey(generating: .ec(.p256))
        #expect(throws: CryptoError.self) { try key.sign([1], scheme: .rsaPKCS1v15(.sha256)) }
    }

    /// An Ed25519 key publishes its 32-byte public key and signs 64-byte signatures (RFC 8032).
    @Test func ed25519Key_hasRFC8032Sizes() throws {
        let key = try PrivateKey(generating: .ed25519)
        guard case .ed25519(let x) = try key.publicComponents() else {
            Issue.record("not Ed25519 components")
            return
        }
        #expect(x.count == 32)
        #expect(try key.sign([1, 2, 3], scheme: .ed25519).count == 64)
    }
}
