import RelydCrypto
import Testing

@Suite("Digests, HMAC, comparison and randomness")
struct DigestTests {
    /// SHA-2 of "abc" and of the empty string match the FIPS 180-4 example values.
    @Test(arguments: [
        (DigestAlgorithm.sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha384, "abc", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
        (.sha512, "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (.sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.sha384, "", "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"),
        (.sha512, "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    ])
    func digestMatchesKnownAnswer(algorithm: DigestAlgorithm, input: String, expected: String) throws {
        #expect(try digest(algorithm, Array(input.utf8)) == hex(expected))
    }

    /// HMAC matches RFC 4231 test cases 1, 2 and 6 (short key, text key, key longer than the block).
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), "Hi There", [
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ]),
        (Array("Jefe".utf8), "what do ya want for nothing?", [
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ]),
        ([UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First", [
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ]),
    ])
    func hmacMatchesRFC4231(key: [UInt8], data: String, expected: [String]) throws {
        for (algorithm, mac) in zip([DigestAlgorithm.sha256, .sha384, .sha512], expected) {
            #expect(try hmac(algorithm, key: key, data: Array(data.utf8)) == hex(mac))
        }
    }

    /// An empty HMAC key is refused rather than silently accepted.
    @Test func hmacRefusesEmptyKey() {
        #expect(throws: CryptoError.self) { try hmac(.sha256, key: [], data: [1]) }
    }

    /// Constant-time equality is true only for identical bytes of identical length.
    @Test func constantTimeEqualityComparesBytesAndLength() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(constantTimeEquals([], []))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
    }

    /// OpenSSLRandom returns the requested number of bytes, different on each call, and refuses a negative count.
    @Test func randomReturnsFreshBytesOfRequestedLength() throws {
        let random = OpenSSLRandom()
        let first = try random.bytes(32)
        #expect(first.count == 32)
        #expect(try random.bytes(32) != first)
        #expect(try random.bytes(0).isEmpty)
        #expect(throws: CryptoError.self) { try random.bytes(-1) }
    }
}
