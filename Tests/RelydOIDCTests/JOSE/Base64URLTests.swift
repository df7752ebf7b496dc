import RelydOIDC
import Testing

@Suite("base64url")
struct Base64URLTests {
    /// The RFC 4648 §10 vectors encode without padding and decode back.
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"),
                      ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")])
    func rfc4648VectorsRoundTrip(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
    }

    /// The two URL-safe characters stand for 62 and 63.
    @Test func urlSafeAlphabetIsUsed() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
    }

    /// Every byte value and every length up to 64 survives encode then decode.
    @Test func arbitraryBytesRoundTrip() {
        for length in 0...64 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        let all = (0...255).map(UInt8.init)
        #expect(Base64URL.decode(Base64URL.encode(all)) == all)
    }

    /// Padding, standard-alphabet characters, whitespace, non-ASCII text, impossible lengths and non-zero
    /// unused bits are all refused.
    @Test(arguments: ["Zg==", "Zm8=", "+w", "/w", "Zm 9v", "Zm9v\n", "Zm9vé", "Z", "Zm9vY", "Zh", "Zm9", "Zm+v"])
    func invalidTextIsRefused(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    /// A character outside the alphabet is refused wherever it stands, in a whole group of four or in the last,
    /// short one.
    @Test(arguments: ["=", ".", "+", "/", " ", "\u{7F}", "é"])
    func foreignCharacterIsRefusedAtEveryPosition(character: String) {
        let valid = Base64URL.encode(Array("any carnal pleasur".utf8))  // 24 characters: six whole groups
        let short = valid + "Zm8"
        for text in [valid, short] {
            let characters = Array(text)
            for position in characters.indices {
                var changed = characters
                changed[position] = Character(character)
                #expect(Base64URL.decode(String(changed)) == nil, "at \(position)")
            }
        }
    }
}
