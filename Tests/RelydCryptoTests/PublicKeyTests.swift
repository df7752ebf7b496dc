import RelydCrypto
import Testing

@Suite("Public key import and signature verification")
struct PublicKeyTests {
    let fixtures = CryptoFixtures.shared

    /// Every fixture key imports with the kind and size its JWK describes.
    @Test func fixtureKeysImportWithTheirKindAndSize() throws {
        let expected: [(String, PublicKey.Kind, Int)] = [
            ("rsa2048", .rsa, 2048), ("rsa3072", .rsa, 3072), ("p256", .ec(.p256), 256),
            ("p384", .ec(.p384), 384), ("p521", .ec(.p521), 521), ("ed25519", .ed25519, 256),
        ]
        for (name, kind, bits) in expected {
            let key = try fixtures.publicKey(name)
            #expect(key.kind == kind, "\(name)")
            #expect(key.bits == bits, "\(name)")
        }
    }

    /// An RSA key under 2048 bits is refused.
    @Test func rsa1024IsRefused() {
        #expect(throws: CryptoError.self) { try fixtures.publicKey("rsa1024") }
    }

    /// An RSA key with an even or unit exponent is refused by the public key check.
    @Test(arguments: [[0x01], [0x01, 0x00, 0x00]] as [[UInt8]])
    func rsaWithBadExponentIsRefused(exponent: [UInt8]) throws {
        let modulus = hex(try #require(fixtures.keys["rsa2048"]?.n))
        #expect(throws: CryptoError.self) { try PublicKey(rsaModulus: modulus, exponent: exponent) }
    }

    /// Fuzzing finding: OpenSSL's public key check of an RSA modulus costs time that grows with the cube of its size
    /// (seconds at 16384 bits), so an OP's JWKS of huge keys stalled relyd for minutes. Moduli over 8192 bits are
    /// refused before that check.
    @Test func rsaModulusOver8192Bits_isRefusedBeforeTheCostlyCheck() {
        // 2^16383 + 9: odd, no factor under 752: it passes OpenSSL's cheap checks and reaches the costly one.
        var modulus = [UInt8](repeating: 0, count: 2048)
        modulus[0] = 0x80
        modulus[2047] = 9
        #expect(throws: CryptoError.self) { try PublicKey(rsaModulus: modulus, exponent: [0x01, 0x00, 0x01]) }
    }

    /// The largest modulus allowed still imports: 2^8191 + 3, odd and without factors under 752.
    @Test func rsaModulusOf8192Bits_isAccepted() throws {
        var modulus = [UInt8](repeating: 0, count: 1024)
        modulus[0] = 0x80
        modulus[1023] = 3
        #expect(try PublicKey(rsaModulus: modulus, exponent: [0x01, 0x00, 0x01]).bits == 8192)
    }

    /// A P-256 point that is not on the curve is refused, with OpenSSL's reason in the error.
    @Test func offCurvePointIsRefused() throws {
        let error = try #require(throws: CryptoError.self) { try fixtures.publicKey("p256OffCurve") }
        #expect(!error.reason.isEmpty)
    }

    /// EC coordinates of the wrong length for the curve are refused, even if their value would fit.
    @Test func ecCoordinatesOfWrongLengthAreRefused() throws {
        let key = try #require(fixtures.keys["p256"])
        let x = hex(try #require(key.x)), y = hex(try #require(key.y))
        #expect(throws: CryptoError.self) { try PublicKey(curve: .p256, x: [0] + x, y: [0] + y) }
        #expect(throws: CryptoError.self) { try PublicKey(curve: .p384, x: x, y: y) }
        #expect(throws: CryptoError.self) { try PublicKey(curve: .p256, x: Array(x.dropFirst()), y: y) }
    }

    /// An Ed25519 key that is not 32 bytes is refused.
    @Test func ed25519OfWrongLengthIsRefused() {
        #expect(throws: CryptoError.self) { try PublicKey(ed25519: [UInt8](repeating: 1, count: 31)) }
    }

    /// Each Python-made signature verifies under its key and scheme.
    @Test(arguments: CryptoFixtures.shared.signatures)
    func goodSignatureVerifies(_ case: CryptoFixtures.Signature) throws {
        let key = try fixtures.publicKey(`case`.key)
        #expect(try key.verify(hex(`case`.signature), of: hex(fixtures.message), scheme: fixtures.scheme(of: `case`)))
    }

    /// A flipped bit in the signature or the message, or a truncated or extended signature, fails without throwing.
    @Test(arguments: CryptoFixtures.shared.signatures)
    func alteredSignatureOrMessageFails(_ case: CryptoFixtures.Signature) throws {
        let key = try fixtures.publicKey(`case`.key)
        let scheme = try fixtures.scheme(of: `case`)
        let signature = hex(`case`.signature), message = hex(fixtures.message)
        var flipped = signature
        flipped[flipped.count / 2] ^= 0x01
        var changedMessage = message
        changedMessage[0] ^= 0x80
        #expect(try !key.verify(flipped, of: message, scheme: scheme))
        #expect(try !key.verify(signature, of: changedMessage, scheme: scheme))
        #expect(try !key.verify(Array(signature.dropLast()), of: message, scheme: scheme))
        #expect(try !key.verify(signature + [0], of: message, scheme: scheme))
        #expect(try !key.verify([], of: message, scheme: scheme))
    }

    /// A signature checked with the right scheme but another key of the same kind fails.
    @Test func signatureUnderAnotherKeyFails() throws {
        let message = hex(fixtures.message)
        for signature in fixtures.signatures where signature.key == "rsa2048" {
            let other = try fixtures.publicKey("rsa3072")
            #expect(try !other.verify(hex(signature.signature), of: message, scheme: fixtures.scheme(of: signature)))
        }
    }

    /// RS256 and PS256 signatures do not verify under each other's padding.
    @Test func pkcs1AndPSSAreNotInterchangeable() throws {
        let key = try fixtures.publicKey("rsa2048")
        let message = hex(fixtures.message)
        let rs256 = try #require(fixtures.signatures.first { $0.name == "RS256" })
        let ps256 = try #require(fixtures.signatures.first { $0.name == "PS256" })
        #expect(try !key.verify(hex(rs256.signature), of: message, scheme: .rsaPSS(.sha256)))
        #expect(try !key.verify(hex(ps256.signature), of: message, scheme: .rsaPKCS1v15(.sha256)))
    }

    /// One key instance checks signatures of several schemes in turn, each after a failed one: the verification
    /// contexts it keeps between calls carry no padding or digest from another scheme, and a bad signature leaves
    /// them usable.
    @Test func oneKeyAlternatesSchemesAndFailures() throws {
        let key = try fixtures.publicKey("rsa2048")
        let message = hex(fixtures.message)
        let cases = try fixtures.signatures.filter { $0.key == "rsa2048" }
            .map { (hex($0.signature), try fixtures.scheme(of: $0)) }
        #expect(cases.count == 4)
        for _ in 0..<3 {
            for (signature, scheme) in cases {
                var flipped = signature
                flipped[0] ^= 0x01
                #expect(try !key.verify(flipped, of: message, scheme: scheme))
                #expect(try key.verify(signature, of: message, scheme: scheme))
                for (other, otherScheme) in cases where otherScheme != scheme {
                    #expect(try !key.verify(other, of: message, scheme: scheme))
                }
            }
        }
    }

    /// A scheme that does not fit the key's kind throws instead of being tried.
    @Test func schemeForAnotherKeyKindThrows() throws {
        let rsa = try fixtures.publicKey("rsa2048")
        let ec = try fixtures.publicKey("p256")
        let ed = try fixtures.publicKey("ed25519")
        #expect(throws: CryptoError.self) { try rsa.verify([1], of: [1], scheme: .ecdsa(.sha256)) }
        #expect(throws: CryptoError.self) { try rsa.verify([1], of: [1], scheme: .ed25519) }
        #expect(throws: CryptoError.self) { try ec.verify([1], of: [1], scheme: .rsaPKCS1v15(.sha256)) }
        #expect(throws: CryptoError.self) { try ed.verify([1], of: [1], scheme: .rsaPSS(.sha256)) }
    }

    /// 32 tasks sharing one key of each kind all verify their signatures concurrently.
    @Test func concurrentVerificationWithSharedKeys() async throws {
        let message = hex(fixtures.message)
        let jobs = try fixtures.signatures.map { signature in
            (try fixtures.publicKey(signature.key), hex(signature.signature), try fixtures.scheme(of: signature))
        }
        let results = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for task in 0..<32 {
                let (key, signature, scheme) = jobs[task % jobs.count]
                group.addTask {
                    (0..<20).allSatisfy { _ in (try? key.verify(signature, of: message, scheme: scheme)) == true }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 32)
        #expect(results.allSatisfy { $0 })
    }
}
